"""The rule layer: what a prompt states explicitly, read without a model.

Rules are used where they are more reliable than the learned heads:

- an explicit tempo (``"at 174 bpm"``, ``"tempo 90"``) gives the BPM and its bin exactly;
- tempo words with negation (``"not too fast"`` -> moderate, ``"super fast"`` -> very fast);
- a named genre or sub-style (``"bossa nova"`` -> latin);
- named instruments through :data:`codeplay_nb.instruments.ALIASES` plus the larger lexicon, minus the
  ones the prompt excludes (``"no drums"``, ``"without piano"``);
- an explicit key (``"in A minor"``, ``"key of Eb major"``) -- the only way a key is ever returned;
- emotion words stated in the prompt (``"gentle"``, ``"mournful"``; not after "not"), which nudge the
  emotion head; and for non-English prompts a short list of basic words per label in a few languages
  (:data:`~codeplay_nb.text.lexicon.FOREIGN_WORDS`), since the default encoder reads English only;
- the script / common words of the prompt, to say when it is probably not English.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ..attributes import normalize_key, tempo_bin
from ..errors import CodeplayError
from ..instruments import ALIASES, FAMILY_NAMES
from .lexicon import (
    EMOTION_WORDS,
    FOREIGN_WORDS,
    GENRE_MOODS,
    GENRE_WORDS,
    INSTRUMENT_WORDS,
    NOT_INSTRUMENTS,
    TEMPO_NEGATIONS,
    TEMPO_WORDS,
    is_held_out,
    split_hint,
)

# "all": the whole lexicon (normal use); "train": without held-out words, to score validation prompts honestly
VOCABULARIES = ("all", "train")

_BPM_RE = re.compile(
    r"(?<![\d.])(\d{2,3})(?:\.\d+)?\s*(?:-\s*\d{2,3}\s*)?(?:bpm|b\.p\.m\.?|beats per minute|beats a minute|beats/min)\b"
    r"|\btempo\s*(?:of|at|=|:|around|about)?\s*(\d{2,3})\b"
    r"|\b(?:bpm|tempo)\s*(?:of|=|:)?\s*(\d{2,3})\b",
    re.IGNORECASE,
)
_KEY_RE = re.compile(
    r"\b(?:in(?: the key of)?|key of|key:?)\s+([A-Ga-g])(\s?(?:#|♯|♭|b|sharp|flat)?)\s*-?\s*(major|minor|maj|min|m)\b",
    re.IGNORECASE,
)
_NEGATORS = r"(?:no|not|without|minus|except|zero|skip|avoid|ditch|lose|drop|never|nothing but not|w/o)"
_WORD_RE = re.compile(r"[a-z0-9&'+#-]+")

def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_ENGLISH_HINTS = _words(
    "the a an and with for of to in on my me some something song music track piece tune that like make i want "
    "is it be at by feel feeling please very really not no but or from this about"
)
_FOREIGN_HINTS: dict[str, frozenset[str]] = {
    "Spanish": _words("una uno canción cancion música musica para con de el la los las y muy triste alegre lento rápido que"),
    "French": _words("une un chanson musique pour avec de le la les et très triste joyeux lent rapide calme dormir"),
    "German": _words("ein eine lied musik für mit und der die das sehr traurig fröhlich langsam schnelle schnell ruhig"),
    "Italian": _words("una canzone musica per con di il la e molto triste allegra lenta veloce d'amore romantica"),
    "Portuguese": _words("uma canção música musica para com de e muito triste alegre lenta rápida relaxante estudar"),
}
_SCRIPTS: tuple[tuple[str, str], ...] = (
    ("Korean", "\uac00-\ud7af\u1100-\u11ff"), ("Japanese", "\u3040-\u30ff"), ("Chinese", "\u4e00-\u9fff"),
    ("Cyrillic-script", "\u0400-\u04ff"), ("Arabic", "\u0600-\u06ff"), ("Greek", "\u0370-\u03ff"),
    ("Hebrew", "\u0590-\u05ff"), ("Thai", "\u0e00-\u0e7f"), ("Devanagari-script", "\u0900-\u097f"),
)


@dataclass(frozen=True)
class RuleFindings:
    """What a prompt states explicitly."""

    bpm: float | None = None
    tempo_bin: str | None = None
    genres: tuple[str, ...] = ()
    genre_tempo: str | None = None  # the tempo a named sub-style implies (e.g. drum and bass -> very fast)
    genre_mood: str | None = None  # the emotion a named sub-style usually has (e.g. bossa nova -> calm)
    instruments: tuple[str, ...] = ()
    excluded_instruments: tuple[str, ...] = ()
    key: str | None = None
    language: str = "English"
    emotions: tuple[str, ...] = ()  # emotion words stated in the prompt


def normalise_text(text: str) -> str:
    """Lower case, unified dashes and quotes, single spaces."""
    t = text.lower().replace("’", "'").replace("–", "-").replace("—", "-")
    return " " + re.sub(r"\s+", " ", t).strip() + " "


def _phrase_pattern(phrases) -> re.Pattern:
    alts = sorted({p.lower() for p in phrases}, key=len, reverse=True)
    body = "|".join(re.escape(a).replace(r"\ ", r"[\s-]?").replace(r"\-", r"[\s-]?") for a in alts)
    return re.compile(rf"(?<![a-z0-9])(?:{body})(?![a-z0-9])")


# sub-style words too ambiguous for a rule alone ("a haunted house", "a trap in the dungeon"); the heads
# still learn them in context
_AMBIGUOUS_GENRE_WORDS = _words(
    "house trap drill swing march western jungle rave tropical arcade medieval opera ballet emo grime rap "
    "prelude overture latin"
)


def _keep(word: str, vocabulary: str) -> bool:
    if vocabulary not in VOCABULARIES:
        raise ValueError(f"vocabulary must be one of {VOCABULARIES}")
    return vocabulary == "all" or not is_held_out(word)


@lru_cache(maxsize=2)
def _genre_table(vocabulary: str = "all") -> tuple[re.Pattern, dict[str, tuple[str, str | None]]]:
    table: dict[str, tuple[str, str | None]] = {}
    for genre, words in GENRE_WORDS.items():
        for item in words:
            word, hint = split_hint(item)
            if word.lower() not in _AMBIGUOUS_GENRE_WORDS and _keep(item, vocabulary):
                table[word.lower()] = (genre, hint)
    return _phrase_pattern(table), table


@lru_cache(maxsize=2)
def _instrument_table(vocabulary: str = "all") -> tuple[re.Pattern, dict[str, str]]:
    table: dict[str, str] = {fam: fam for fam in FAMILY_NAMES}
    table.update({k: v for k, v in ALIASES.items() if k not in ("lead", "grand", "kit", "string")})
    for fam, words in INSTRUMENT_WORDS.items():
        table.update({w.lower(): fam for w in words if _keep(w, vocabulary)})
    for fam, words in FOREIGN_WORDS["instruments"].items():
        table.update({w.lower(): fam for w in words})
    return _phrase_pattern(table), table


@lru_cache(maxsize=2)
def _tempo_table(vocabulary: str = "all") -> tuple[re.Pattern, dict[str, str], re.Pattern, dict[str, str]]:
    words = {w: b for b, ws in TEMPO_WORDS.items() for w in ws if _keep(w, vocabulary)}
    words.update({w: b for w, b in _rule_words("tempo_words.tsv").items() if _keep(w, vocabulary)})
    words.update({w: b for b, ws in FOREIGN_WORDS["tempo_bin"].items() for w in ws})
    negs = dict(TEMPO_NEGATIONS)
    return _phrase_pattern(words), words, _phrase_pattern(negs), negs


@lru_cache(maxsize=4)
def _rule_words(filename: str) -> dict[str, str]:
    """Rule-only English words (``codeplay_nb/data/FILENAME``: word<TAB>label), not used by the prompt generator,
    so adding one does not change the generated training prompts."""
    from ..attributes import EMOTIONS, TEMPO_BINS
    from .lexicon import DATA_DIR

    labels = {"tempo_words.tsv": TEMPO_BINS, "emotion_words.tsv": EMOTIONS}[filename]
    out: dict[str, str] = {}
    for ln in (DATA_DIR / filename).read_text(encoding="utf-8").splitlines():
        if ln.strip() and not ln.startswith("#"):
            word, label = (x.strip() for x in ln.split("\t"))
            if label not in labels:
                raise ValueError(f"{filename}: unknown label {label!r} for {word!r}")
            out[word.lower()] = label
    return out


@lru_cache(maxsize=2)
def _emotion_table(vocabulary: str = "all") -> tuple[re.Pattern, dict[str, str]]:
    table: dict[str, str] = {}
    for emotion, words in EMOTION_WORDS.items():
        # single words only, and not the ones that also describe tempo or sound ("dark", "soft")
        table.update({w: emotion for w in words if " " not in w and w not in _VAGUE_EMOTION_WORDS and _keep(w, vocabulary)})
    table.update({w: e for w, e in _rule_words("emotion_words.tsv").items() if _keep(w, vocabulary)})
    for emotion, words in FOREIGN_WORDS["emotion"].items():
        table.update({w.lower(): emotion for w in words})
    return _phrase_pattern(table), table


_VAGUE_EMOTION_WORDS = frozenset(
    ("dark", "soft", "quiet", "blue", "down", "warm", "sweet", "huge", "massive", "fun", "love", "still", "ambient",
     "unknown", "mad", "lazy", "bright", "strange", "curious", "dramatic", "intense", "moody", "sneaky", "grand",
     "powerful", "positive", "exciting", "thrilling", "funky", "tiptoe", "alien", "cosmic", "horror", "broken")
)


def _lookup(table: dict[str, str], match: str):
    key = re.sub(r"[\s-]+", " ", match)
    for cand in (match, key, key.replace(" ", "-"), key.replace(" ", "")):
        if cand in table:
            return table[cand]
    for k, v in table.items():
        if re.sub(r"[\s-]+", "", k) == re.sub(r"[\s-]+", "", match):
            return v
    return None


def find_bpm(text: str) -> float | None:
    """An explicit tempo in the prompt, 30-300 BPM, or ``None``."""
    for m in _BPM_RE.finditer(text):
        value = float(next(g for g in m.groups() if g))
        if 30 <= value <= 300:
            return value
    return None


def find_key(text: str) -> str | None:
    """A key named in the prompt (``"in A minor"``), else ``None``; a key is never guessed."""
    m = _KEY_RE.search(text)
    if m and m.group(1) == "a" and not m.group(2).strip():
        # "in a minor mood" is not a key: a lower-case "a" counts only before an ending or a linking word
        nxt = re.match(r"\s*([a-z]+)", text[m.end():].lower())
        if nxt and nxt.group(1) not in ("key", "scale", "at", "with", "and", "for", "please", "pls", "bpm", "tempo"):
            m = None
    if not m:
        return None
    acc = m.group(2).strip().lower()
    acc = {"#": "#", "♯": "#", "sharp": "#", "b": "b", "♭": "b", "flat": "b"}.get(acc, "")
    mode = "minor" if m.group(3).lower() in ("minor", "min", "m") else "major"
    try:
        return normalize_key(f"{m.group(1).upper()}{acc} {mode}")
    except CodeplayError:
        return None


def find_tempo_words(text: str, vocabulary: str = "all") -> str | None:
    """The tempo bin stated in words (negations first: ``"not too fast"`` -> moderate)."""
    word_re, words, neg_re, negs = _tempo_table(vocabulary)
    t = normalise_text(text)
    m = neg_re.search(t)
    if m:
        return _lookup(negs, m.group(0))
    bins = [_lookup(words, m.group(0)) for m in word_re.finditer(t)]
    bins = [b for b in bins if b]
    if not bins:
        return None
    # "very fast" beats "fast"; otherwise the first stated
    return "very_fast" if "very_fast" in bins else bins[0]


def find_genres(text: str, vocabulary: str = "all") -> tuple[tuple[str, ...], str | None, str | None]:
    """Genres named in the prompt (order of appearance), and the tempo and usual emotion of the first
    genre's sub-styles (``"bossa nova"`` -> latin, moderate, calm)."""
    pattern, table = _genre_table(vocabulary)
    found: list[str] = []
    hint = mood = None
    for m in pattern.finditer(normalise_text(text)):
        entry = _lookup(table, m.group(0))
        if entry is None:
            continue
        genre, h = entry
        if genre not in found:
            found.append(genre)
        if genre == found[0]:
            hint = hint or h
            mood = mood or _lookup(GENRE_MOODS, m.group(0))
    return tuple(found), hint, mood


def find_instruments(text: str, vocabulary: str = "all") -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(named, excluded)`` instrument families; ``"no drums"``/``"without piano"`` go to excluded."""
    pattern, table = _instrument_table(vocabulary)
    t = normalise_text(text)
    for phrase in NOT_INSTRUMENTS:
        t = t.replace(phrase, " " * len(phrase))
    named: list[str] = []
    excluded: list[str] = []
    for m in pattern.finditer(t):
        fam = _lookup(table, m.group(0))
        if fam is None:
            continue
        before = t[max(0, m.start() - 24): m.start()]
        negated = re.search(rf"\b{_NEGATORS}\s+(?:the\s+|any\s+|more\s+|real\s+)?(?:[a-z-]+\s+)?$", before)
        after = t[m.end(): m.end() + 8]
        if negated or after.startswith("less") or after.startswith("-free") or after.startswith(" free"):
            if fam not in excluded:
                excluded.append(fam)
        elif fam not in named:
            named.append(fam)
    return tuple(f for f in named if f not in excluded), tuple(excluded)


def find_emotions(text: str, vocabulary: str = "all") -> tuple[str, ...]:
    """Emotions whose words the prompt states (order of appearance), skipping negated ones ("not sad")."""
    pattern, table = _emotion_table(vocabulary)
    t = normalise_text(text)
    found: list[str] = []
    for m in pattern.finditer(t):
        emotion = _lookup(table, m.group(0))
        if emotion is None or re.search(r"\b(?:not|no|never|nothing|without|less)\s+(?:too\s+|very\s+|so\s+)?$", t[: m.start()]):
            continue
        if emotion not in found:
            found.append(emotion)
    return tuple(found)


def detect_language(text: str) -> str:
    """A rough guess: a script name, a Latin-script language from common words, or ``"English"``."""
    for name, ranges in _SCRIPTS:
        if re.search(f"[{ranges}]", text):
            return name
    words = _WORD_RE.findall(text.lower())
    if not words:
        return "English"
    english = sum(w in _ENGLISH_HINTS for w in words)
    best, best_n = "English", english
    for lang, hints in _FOREIGN_HINTS.items():
        n = sum(w in hints for w in words) - sum(w in _ENGLISH_HINTS for w in words if w in hints)
        if n > best_n and n >= 2:
            best, best_n = lang, n
    return best


def find_rules(text: str, vocabulary: str = "all") -> RuleFindings:
    """Everything the rule layer reads from one prompt (``vocabulary="train"`` leaves held-out words out)."""
    bpm = find_bpm(text)
    genres, genre_tempo, genre_mood = find_genres(text, vocabulary)
    named, excluded = find_instruments(text, vocabulary)
    return RuleFindings(
        bpm=bpm,
        tempo_bin=tempo_bin(bpm) if bpm is not None else find_tempo_words(text, vocabulary),
        genres=genres,
        genre_tempo=genre_tempo,
        genre_mood=genre_mood,
        instruments=named,
        excluded_instruments=excluded,
        key=find_key(text),
        language=detect_language(text),
        emotions=find_emotions(text, vocabulary),
    )
