"""A compositional generator of labelled music prompts (the classifier's training data).

A prompt is sampled as attributes first (emotion always; genre, tempo and instruments stated, implied or
left out), then each attribute is rendered as a phrase with one of many wordings, and the phrases are
assembled by one of several sentence frames, with casing noise and typos on top. Vocabulary items and
frames are split once (:func:`codeplay_nb.text.lexicon.is_held_out`): ``split="val"`` prompts use only
held-out words and frames, so validation accuracy measures generalisation rather than memorised templates.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..attributes import EMOTIONS, GENRES, TEMPO_BINS
from ..instruments import FAMILY_NAMES
from .lexicon import (
    EMOTION_DEFAULT_TEMPO,
    EMOTION_SCENES,
    EMOTION_WORDS,
    GAME_CONTEXTS,
    GAME_SCENES,
    GENRE_MOODS,
    GENRE_PLACES,
    GENRE_WORDS,
    INSTRUMENT_WORDS,
    TEMPO_WORDS,
    is_held_out,
    nrc_emotion_words,
    split_hint,
)
from .styles import load_styles

SPLITS = ("train", "val")
STYLE_SHARE = 0.35  # share of prompts built around a style-table entry
NO_GENRE = "none"


@dataclass(frozen=True)
class PromptExample:
    """One generated prompt and its labels (``genre`` ``None`` = no genre stated or implied)."""

    text: str
    emotion: str
    tempo_bin: str
    genre: str | None = None
    instruments: tuple[str, ...] = ()
    frame: str = ""


def _pick_split(items: Sequence, split: str, key: Callable = str) -> list:
    chosen = [x for x in items if is_held_out(key(x)) == (split == "val")]
    return chosen or list(items)


class _Vocab:
    """The vocabulary of one split."""

    def __init__(self, split: str, use_nrc: bool) -> None:
        self.genre_words = {g: _pick_split(ws, split) for g, ws in GENRE_WORDS.items()}
        self.genre_places = {g: _pick_split(ws, split) for g, ws in GENRE_PLACES.items() if ws}
        self.game_scenes = _pick_split(GAME_SCENES, split, key=lambda s: s[0])
        self.game_contexts = _pick_split(GAME_CONTEXTS, split)
        self.instruments = {f: _pick_split(ws, split) for f, ws in INSTRUMENT_WORDS.items()}
        self.tempo_words = {b: _pick_split(ws, split) for b, ws in TEMPO_WORDS.items()}
        self.emotion_words = {e: _pick_split(ws, split) for e, ws in EMOTION_WORDS.items()}
        self.emotion_scenes = {e: _pick_split(ws, split) for e, ws in EMOTION_SCENES.items()}
        self.styles = _pick_split(load_styles(), split, key=lambda st: st.name)
        self.nrc = {e: _pick_split(ws, split) for e, ws in nrc_emotion_words().items()} if use_nrc else {}
        self.split = split


_NOUNS = (
    "song", "track", "piece", "tune", "theme", "loop", "music", "melody", "soundtrack", "bgm", "jam", "instrumental",
    "number", "composition", "beat", "score", "background music", "cue", "ditty", "anthem", "groove", "vibe",
)
_PREFIXES = (
    "", "", "", "a ", "make me a ", "i want a ", "give me a ", "compose a ", "generate a ", "write a ",
    "can you make a ", "need a ", "looking for a ", "play me a ", "create a ", "please make a ", "i'd like a ",
    "could you write me a ", "some ", "just a ", "quick ", "yo make a ", "produce a ", "hit me with a ",
)
_FRAMES_NP = ("np", "np_with", "np_for", "np_that")
_FRAMES_LIST = ("list_comma", "list_slash", "list_dot", "list_dash")
_FRAMES_SENT = ("sent_feel", "sent_need", "sent_imagine", "sent_scene", "sent_question")
FRAMES: tuple[str, ...] = _FRAMES_NP + _FRAMES_LIST + _FRAMES_SENT


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 4 or not word.isalpha():
        return word
    i = rng.randrange(1, len(word) - 1)
    op = rng.randrange(4)
    if op == 0:
        return word[:i] + word[i + 1:]
    if op == 1:
        return word[:i] + word[i] + word[i:]
    if op == 2:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    return word[:i] + rng.choice("aeiourstnl") + word[i + 1:]


def add_noise(text: str, rng: random.Random, typo_rate: float = 0.03) -> str:
    """Typos, casing and punctuation noise of the kind people type."""
    words = [(_typo(w, rng) if rng.random() < typo_rate else w) for w in text.split(" ")]
    text = " ".join(words)
    r = rng.random()
    if r < 0.08:
        text = text.upper()
    elif r < 0.25:
        text = text[:1].upper() + text[1:]
    elif r < 0.32:
        text = text.title()
    r = rng.random()
    if r < 0.1:
        text += "!"
    elif r < 0.18:
        text += "."
    elif r < 0.22:
        text += " pls"
    elif r < 0.25:
        text += " :)"
    return text


class PromptGenerator:
    """Samples :class:`PromptExample` objects for one split, reproducibly from ``seed``."""

    def __init__(self, split: str = "train", seed: int = 0, use_nrc: bool = True) -> None:
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}")
        self.v = _Vocab(split, use_nrc)
        self.rng = random.Random(seed)
        frames = [f for f in FRAMES if is_held_out("frame:" + f, 4) == (split == "val")]
        self.frames = frames or list(FRAMES)
        self.prefixes = [*_pick_split(_PREFIXES, split, key=lambda p: "prefix:" + p), ""]
        self.nouns = _pick_split(_NOUNS, split)

    # --- attribute phrases -------------------------------------------------------------------------
    def _emotion_adj(self, emotion: str) -> str:
        rng = self.rng
        if self.v.nrc.get(emotion) and rng.random() < 0.04:
            return rng.choice(self.v.nrc[emotion])
        w = rng.choice(self.v.emotion_words[emotion])
        r = rng.random()
        if r < 0.12:
            return f"{rng.choice(('very', 'really', 'super', 'kinda', 'slightly', 'so', 'deeply', 'a bit'))} {w}"
        if r < 0.22:
            return f"{w} and {rng.choice(self.v.emotion_words[emotion])}"
        return w

    def _emotion_clause(self, emotion: str) -> str:
        adj = self._emotion_adj(emotion)
        return self.rng.choice((
            f"that feels {adj}", f"with a {adj} mood", f"that makes me feel {adj}", f"{adj} vibes", f"{adj} mood",
            f"feeling {adj}", f"the mood is {adj}", f"something {adj}", f"{adj} feel", f"it should sound {adj}",
            f"mood: {adj}", f"{adj} energy", f"sounding {adj}", f"{adj} atmosphere", adj,
        ))

    def _scene(self, emotion: str) -> tuple[str, str | None]:
        scene, hint = split_hint(self.rng.choice(self.v.emotion_scenes[emotion]))
        return scene, hint

    def _scene_phrase(self, scene: str) -> str:
        return self.rng.choice((
            f"for {scene}", f"for {scene}", scene, f"like {scene}", f"soundtrack to {scene}",
            f"the feeling of {scene}", f"music for {scene}", f"background for {scene}", f"about {scene}",
            f"inspired by {scene}", f"to play during {scene}", f"scene: {scene}", f"imagine {scene}",
        ))

    def _genre_phrase(self, word: str) -> tuple[str, str]:
        """(pre-noun form, clause form)."""
        clause = self.rng.choice((
            f"in a {word} style", f"{word} vibes", f"{word}-ish", f"kind of {word}", f"think {word}",
            f"genre: {word}", f"a bit of {word}", f"{word} style", f"{word}", f"in the style of {word}",
            f"something like {word}", f"{word} influenced",
        ))
        return word, clause

    def _tempo_phrase(self, tbin: str) -> tuple[str | None, str, float | None]:
        """(pre-noun adjective or None, clause, stated bpm)."""
        rng = self.rng
        r = rng.random()
        if r < 0.25:
            lo, hi = {"slow": (50, 89), "moderate": (90, 119), "fast": (120, 149), "very_fast": (150, 200)}[tbin]
            bpm = rng.randint(lo, hi)
            clause = rng.choice((
                f"at {bpm} bpm", f"{bpm} bpm", f"around {bpm} BPM", f"tempo {bpm}", f"{bpm}bpm",
                f"at {bpm} beats per minute", f"bpm: {bpm}", f"about {bpm} bpm",
            ))
            return None, clause, float(bpm)
        if r < 0.35 and tbin == "moderate":
            clause = rng.choice(("not too fast", "not too slow", "nothing too fast", "not too fast, not too slow"))
            return None, clause, None
        w = rng.choice(self.v.tempo_words[tbin])
        clause = rng.choice((w, f"{w} tempo", f"keep it {w}", f"with a {w} pace", f"{w} paced", f"tempo: {w}", w))
        pre = w if len(w.split()) <= 2 and "tempo" not in w else None
        return pre, clause, None

    def _instrument_phrase(self, fams: Sequence[str], excluded: str | None) -> str:
        rng = self.rng
        words = [rng.choice(self.v.instruments[f]) for f in fams]
        parts = []
        if words:
            listed = words[0] if len(words) == 1 else ", ".join(words[:-1]) + rng.choice((" and ", " & ", ", ")) + words[-1]
            parts.append(rng.choice((
                f"with {listed}", f"featuring {listed}", f"{listed} only", f"lots of {listed}", f"led by {listed}",
                f"{listed}", f"instruments: {listed}", f"using {listed}", f"played on {listed}",
                f"{listed} up front", f"heavy on the {listed}", f"with some {listed}",
            )))
        if excluded:
            w = rng.choice(self.v.instruments[excluded])
            parts.append(rng.choice((f"no {w}", f"without {w}", f"but no {w}", f"skip the {w}")))
        return ", ".join(parts)

    # --- sampling --------------------------------------------------------------------------------
    def sample(self) -> PromptExample:
        if self.rng.random() < STYLE_SHARE:
            return self.sample_style()
        return self._sample_words()

    def sample_style(self) -> PromptExample:
        """A prompt that names a style, ensemble, scene or use from the style table; its labels are the
        table's (genre, implied instruments for genres/styles/ensembles, usual tempo and emotion) unless the
        prompt states otherwise."""
        rng = self.rng
        st = rng.choice(self.v.styles)
        phrase = rng.choice((st.name, *st.aliases))
        emotion = st.emotion if st.emotion and rng.random() < 0.65 else rng.choice(EMOTIONS)
        say_emotion = emotion != st.emotion or rng.random() < 0.35
        implied = set(st.instruments) if st.kind in ("genre", "style", "ensemble") else set()
        named = set(rng.sample(FAMILY_NAMES, rng.choices((0, 1, 2), weights=(0.6, 0.3, 0.1))[0]))
        excluded = rng.choice(sorted(implied)) if implied and rng.random() < 0.06 else None
        fams = (implied | named) - {excluded}
        stated_tempo = rng.random() < 0.3
        tbin = rng.choice(TEMPO_BINS) if stated_tempo else (st.tempo or EMOTION_DEFAULT_TEMPO[emotion])
        if not stated_tempo and emotion != st.emotion:
            tbin = EMOTION_DEFAULT_TEMPO[emotion] if st.kind in ("scene", "use", "mood") else tbin
        adj = self._emotion_adj(emotion) if say_emotion else ""
        noun = rng.choice(self.nouns)
        if st.kind in ("scene", "use", "mood"):
            core = rng.choice((
                f"{adj} music for {phrase}", f"a {adj} {noun} for a {phrase}", f"{phrase}, {adj}",
                f"soundtrack for {phrase} {adj}", f"{adj} {phrase} vibes", f"something {adj} for the {phrase}",
                f"{phrase} {noun}", f"background music for {phrase}, {adj}",
            ))
        else:
            core = rng.choice((
                f"{adj} {phrase} {noun}", f"a {adj} {phrase} piece", f"{phrase}, {adj}", f"{adj} {phrase}",
                f"something {phrase}-ish and {adj}", f"{phrase} {noun} that feels {adj}", f"{phrase}",
                f"{adj} {noun} in a {phrase} style",
            ))
        if not adj:
            core = core.replace(" and ,", "").replace("that feels ", "").replace(", ,", ",")
        parts = [core]
        if rng.random() < 0.3:
            scene, _ = self._scene(emotion)
            parts.append(self._scene_phrase(scene))
        if stated_tempo:
            parts.append(self._tempo_phrase(tbin)[1])
        if named or excluded:
            parts.append(self._instrument_phrase(sorted(named - implied), excluded))
        text = rng.choice(self.prefixes) + ", ".join(p for p in parts if p.strip())
        text = " ".join(text.replace(" ,", ",").split()).replace("a a ", "a ").replace("a an ", "an ")
        text = add_noise(text, rng)
        return PromptExample(text, emotion, tbin, st.genre, tuple(f for f in FAMILY_NAMES if f in fams), "style")

    def _sample_words(self) -> PromptExample:
        rng = self.rng
        emotion = rng.choice(EMOTIONS)
        genre: str | None = None
        genre_pre = genre_clause = ""
        genre_tempo = None
        scene = scene_tempo = None
        mood_from_genre = False
        r = rng.random()
        if r < 0.5:
            genre = rng.choice(GENRES)
            word, genre_tempo = split_hint(rng.choice(self.v.genre_words[genre]))
            genre_pre, genre_clause = self._genre_phrase(word)
            if word in GENRE_MOODS and rng.random() < 0.4:
                # the style's usual mood is the only emotion cue ("bossa nova by the pool")
                emotion, mood_from_genre = GENRE_MOODS[word], True
        elif r < 0.62:
            # game scene: implies the game genre and the scene's own emotion and tempo
            scene, emotion, scene_tempo = rng.choice(self.v.game_scenes)
            scene = f"{scene} {rng.choice(self.v.game_contexts)}" if rng.random() < 0.8 else scene
            genre = "game"
        elif r < 0.7:
            genre = rng.choice(sorted(self.v.genre_places))
            scene = rng.choice(self.v.genre_places[genre])
        # emotion expression: adjective, situation, or both (a place implies a genre, not an emotion)
        r = rng.random()
        use_adj = (scene is not None and (r < 0.4 or genre != "game")) or (scene is None and r < 0.75)
        if mood_from_genre:
            use_adj = False
            if rng.random() < 0.5:
                scene, scene_tempo = self._scene(emotion)
        elif scene is None and (r >= 0.5 or not use_adj):
            scene, scene_tempo = self._scene(emotion)
        # tempo
        stated_tempo = rng.random() < 0.45
        if stated_tempo:
            tbin = rng.choice(TEMPO_BINS)
        else:
            tbin = scene_tempo or genre_tempo or EMOTION_DEFAULT_TEMPO[emotion]
        tempo_pre, tempo_clause, _ = self._tempo_phrase(tbin) if stated_tempo else (None, "", None)
        # instruments
        k = rng.choices((0, 1, 2, 3), weights=(0.4, 0.3, 0.2, 0.1))[0]
        fams = rng.sample(FAMILY_NAMES, k)
        excluded = rng.choice([f for f in FAMILY_NAMES if f not in fams]) if rng.random() < 0.08 else None
        parts = {
            "emotion_adj": self._emotion_adj(emotion) if use_adj else "",
            "emotion_clause": self._emotion_clause(emotion) if use_adj else "",
            "scene": self._scene_phrase(scene) if scene else "",
            "scene_np": scene or "",
            "genre_pre": genre_pre,
            "genre_clause": genre_clause,
            "tempo_pre": tempo_pre or "",
            "tempo_clause": tempo_clause,
            "instruments": self._instrument_phrase(fams, excluded),
        }
        frame = rng.choice(self.frames)
        text = _render(frame, parts, rng, self.prefixes, self.nouns)
        text = add_noise(" ".join(text.split()), rng)
        return PromptExample(text, emotion, tbin, genre, tuple(f for f in FAMILY_NAMES if f in fams), frame)

    def generate(self, n: int) -> list[PromptExample]:
        return [self.sample() for _ in range(n)]


def _join(parts: list[str], rng: random.Random, seps: Sequence[str]) -> str:
    parts = [p for p in parts if p]
    rng.shuffle(parts)
    return rng.choice(seps).join(parts)


def _render(frame: str, p: dict[str, str], rng: random.Random, prefixes: list[str], nouns: list[str]) -> str:
    noun = rng.choice(nouns)
    if frame.startswith("np"):
        pre = [p["emotion_adj"], p["tempo_pre"] if p["tempo_pre"] else "", p["genre_pre"]]
        clause_tempo = "" if p["tempo_pre"] else p["tempo_clause"]
        head = " ".join(x for x in pre if x) + " " + noun
        post = [p["scene"], p["instruments"], clause_tempo]
        if frame == "np_with" and p["instruments"]:
            post = [p["instruments"], p["scene"], clause_tempo]
        elif frame == "np_that" and p["emotion_adj"]:
            head = " ".join(x for x in pre[1:] if x) + " " + noun
            post = [f"that sounds {p['emotion_adj']}", *post]
        return rng.choice(prefixes) + head + " " + _join(post, rng, (", ", " ", " and ", ", "))
    if frame.startswith("list"):
        sep = {"list_comma": ", ", "list_slash": " / ", "list_dot": ". ", "list_dash": " - "}[frame]
        items = [p["scene_np"] or p["scene"], p["emotion_clause"], p["genre_clause"], p["tempo_clause"], p["instruments"]]
        return _join(items, rng, (sep,))
    rest = _join([p["genre_clause"], p["tempo_clause"], p["instruments"]], rng, (", ", ", "))
    adj = p["emotion_adj"]
    if frame == "sent_feel" and adj:
        lead = rng.choice((f"i'm feeling {adj}", f"today i feel {adj}", f"i feel so {adj}", f"feeling {adj} today"))
        return f"{lead}. {rng.choice(prefixes) or 'a '}{noun} {p['scene']} {rest}"
    if frame == "sent_need":
        what = f"music for {p['scene_np']}" if p["scene_np"] else f"a {adj} {noun}"
        return f"{rng.choice(('i need', 'need', 'we need', 'looking for'))} {what}. {adj if p['scene_np'] else ''} {rest}"
    if frame == "sent_imagine" and p["scene_np"]:
        return f"imagine {p['scene_np']}. {('make it ' + adj + '.') if adj else ''} {rest}"
    if frame == "sent_question":
        what = f"a {adj} {noun}" if adj else f"a {noun}"
        return f"can you write {what} {p['scene']}? {rest}"
    return _join([p["scene"], p["emotion_clause"], rest], rng, (", ", ". ", " - "))


def generate_prompts(n: int, *, split: str = "train", seed: int = 0, use_nrc: bool = True) -> list[PromptExample]:
    """``n`` labelled prompts from one split, reproducible from ``seed``."""
    return PromptGenerator(split, seed, use_nrc).generate(n)

