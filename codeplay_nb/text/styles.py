"""The style table (``codeplay_nb/data/styles.tsv``) and the Korean word table (``data/words_ko.tsv``).

A style is a genre, sub-genre, ensemble, scene, mood or use a prompt may name ("synthwave", "jazz trio",
"boss battle", "coffee shop", "wedding"); each maps to a genre, typical instrument families, a usual tempo bin
and a usual emotion. :func:`find_styles` finds the styles a prompt names (English or Korean aliases);
:func:`gloss_korean` turns a Korean or mixed Korean/English prompt into English words, so the English encoder,
heads and rules can read it.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache

from ..attributes import EMOTIONS, GENRES, INSTRUMENTS, TEMPO_BINS
from .lexicon import DATA_DIR

KINDS = ("genre", "style", "ensemble", "scene", "mood", "use")
HANGUL = "\uac00-\ud7a3"
_HANGUL_RE = re.compile(f"[{HANGUL}]")
_PARTICLES = "은는이가을를의에로과와도만요"
# English aliases too ambiguous to count fully alone ("a haunted house", "a trap", "the club", "march 3rd")
AMBIGUOUS = frozenset((
    "house", "trap", "drill", "swing", "march", "rave", "jungle", "club", "western", "tropical", "arcade",
    "medieval", "opera", "ballet", "prelude", "latin", "inn", "shuffle", "chase", "spy", "caravan", "rock",
    "soul", "funk", "jig", "reel", "sleep", "focus", "reading", "beach", "summer", "winter", "waves", "sea",
    "dawn", "dusk", "ghost", "war", "army", "fusion", "dub", "drone", "hymn", "anthem", "cafe", "journey",
    "ocean", "forest", "woods", "memorial", "bedtime", "running", "training", "breakup", "goodbye", "farewell",
))


@dataclass(frozen=True)
class Style:
    """One row of the style table (``None`` / ``()`` where the style implies nothing)."""

    name: str
    kind: str
    genre: str | None
    instruments: tuple[str, ...]
    tempo: str | None
    emotion: str | None
    aliases: tuple[str, ...] = ()
    korean: tuple[str, ...] = ()

    def description(self) -> str:
        """An English sentence for the zero-shot encoder ("synthwave: electronic music, synth and drums, ...")."""
        bits = [self.name]
        if self.aliases:
            bits.append(f"({', '.join(self.aliases[:3])})")
        if self.genre:
            bits.append(f"{self.genre} music")
        if self.emotion:
            bits.append(f"{self.emotion} mood")
        if self.instruments:
            bits.append("with " + " and ".join(self.instruments))
        return " ".join(bits)


def _none(v: str) -> str | None:
    v = v.strip()
    return None if v in ("", "-") else v


def _list(v: str, sep: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in v.split(sep) if x.strip() and x.strip() != "-")


@lru_cache(maxsize=1)
def load_styles() -> tuple[Style, ...]:
    """Every row of ``styles.tsv``, checked against the attribute vocabulary."""
    lines = [ln for ln in (DATA_DIR / "styles.tsv").read_text(encoding="utf-8").splitlines() if not ln.startswith("#")]
    out = []
    for row in csv.DictReader(lines, delimiter="\t"):
        s = Style(
            name=row["name"].strip(), kind=row["kind"].strip(), genre=_none(row["genre"]),
            instruments=_list(row["instruments"], ","), tempo=_none(row["tempo"]), emotion=_none(row["emotion"]),
            aliases=_list(row["aliases"], ";"), korean=_list(row["ko"], ";"),
        )
        if (s.kind not in KINDS or (s.genre and s.genre not in GENRES) or (s.tempo and s.tempo not in TEMPO_BINS)
                or (s.emotion and s.emotion not in EMOTIONS) or not set(s.instruments) <= set(INSTRUMENTS)):
            raise ValueError(f"styles.tsv: bad row {row}")
        out.append(s)
    return tuple(out)


@lru_cache(maxsize=1)
def load_artists() -> dict[str, str]:
    """``artists.tsv``: a name people use in prompts (artist, composer, band, game) -> the style row it implies."""
    lines = [ln for ln in (DATA_DIR / "artists.tsv").read_text(encoding="utf-8").splitlines() if not ln.startswith("#")]
    names = {s.name for s in load_styles()}
    out = {}
    for row in csv.DictReader(lines, delimiter="\t"):
        name, style = row["name"].strip().lower(), row["style"].strip()
        if style not in names:
            raise ValueError(f"artists.tsv: {name!r} names no row of styles.tsv ({style!r})")
        out[name] = style
    return out


@lru_cache(maxsize=1)
def korean_words() -> dict[str, str]:
    """Korean word (stem) -> English gloss, from ``words_ko.tsv`` plus the Korean style aliases."""
    lines = [ln for ln in (DATA_DIR / "words_ko.tsv").read_text(encoding="utf-8").splitlines() if not ln.startswith("#")]
    table = {r["korean"].strip(): r["english"].strip() for r in csv.DictReader(lines, delimiter="\t")}
    for s in load_styles():
        for k in s.korean:
            table.setdefault(k.lower(), s.name)
    for name, style in load_artists().items():
        if has_hangul(name):
            table.setdefault(name, style)
    return table


@lru_cache(maxsize=1)
def _style_pattern() -> tuple[re.Pattern, dict[str, int]]:
    index: dict[str, int] = {}
    styles = load_styles()
    for i, s in enumerate(styles):
        for phrase in (s.name, *s.aliases):
            index.setdefault(phrase.lower(), i)
    row = {s.name: i for i, s in enumerate(styles)}
    for name, style in load_artists().items():
        if not has_hangul(name):
            index.setdefault(name, row[style])
    alts = sorted(index, key=len, reverse=True)
    body = "|".join(re.escape(a).replace(r"\ ", r"[\s-]?").replace(r"\-", r"[\s-]?") for a in alts)
    return re.compile(rf"(?<![a-z0-9])(?:{body})(?![a-z0-9])"), {re.sub(r"[\s-]+", "", k): v for k, v in index.items()}


@dataclass(frozen=True)
class StyleMatch:
    style: Style
    phrase: str
    start: int
    ambiguous: bool


def find_styles(text: str) -> tuple[StyleMatch, ...]:
    """Styles named in an (English or glossed) prompt, leftmost-longest, in order of appearance."""
    pattern, index = _style_pattern()
    t = " " + re.sub(r"\s+", " ", text.lower().replace("’", "'")) + " "
    styles = load_styles()
    out = []
    for m in pattern.finditer(t):
        key = re.sub(r"[\s-]+", "", m.group(0))
        if key in index:
            out.append(StyleMatch(styles[index[key]], m.group(0), m.start(), m.group(0) in AMBIGUOUS))
    return tuple(out)


# ---------------------------------------------------------------- Korean
@lru_cache(maxsize=1)
def _korean_pattern() -> re.Pattern:
    words = sorted(korean_words(), key=len, reverse=True)
    alts = []
    for w in words:
        body = re.escape(w).replace(r"\ ", r"\s?")
        if len(w) == 1:  # one syllable: a whole word, optionally with a particle
            body = rf"(?<![{HANGUL}]){body}(?=[{_PARTICLES}]?(?:[^{HANGUL}]|$))"
        alts.append(body)
    return re.compile("|".join(alts))


_KO_NEGATION = re.compile(rf"([{HANGUL}a-z0-9]+?)[{_PARTICLES}]?\s*(?:없이|빼고|말고|제외하고|없는|는 빼고|은 빼고)")


def has_hangul(text: str) -> bool:
    return bool(_HANGUL_RE.search(text))


def gloss_korean(text: str) -> str:
    """English words for a Korean or mixed prompt: Korean words from the tables are replaced by their gloss,
    Latin-script words are kept, other Korean words are dropped (``"슬픈 피아노 곡"`` -> ``"sad piano piece"``)."""
    table = korean_words()
    t = text.lower()
    t = re.sub(rf"([a-z0-9])(?=[{HANGUL}])", r"\1 ", t)  # "epic한" -> "epic 한"
    t = _KO_NEGATION.sub(lambda m: f" without {m.group(1)} ", t)
    pattern = _korean_pattern()
    t = pattern.sub(lambda m: " " + _gloss_of(table, m.group(0)) + " ", t)
    t = re.sub(f"[{HANGUL}]+", " ", t)
    return " ".join(t.split())


def _gloss_of(table: dict[str, str], match: str) -> str:
    return table.get(match) or table.get(re.sub(r"\s+", " ", match)) or table.get(re.sub(r"\s+", "", match), "")
