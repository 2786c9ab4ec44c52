"""Prompt -> :class:`~codeplay_nb.attributes.Attributes`: a frozen encoder, trained heads and rules.

How the two sources are combined (the rules win where they read an explicit statement):

- genre: head probabilities; a genre or sub-style named in the prompt moves 75% of the mass onto it.
  The genre stays ``None`` when the "no genre" class wins or no genre reaches ``GENRE_MIN_PROB``.
- emotion: head probabilities, always a best guess; emotion words stated in the prompt move 40% of the
  mass onto them (85% for a non-English prompt, where the English-only encoder is unreliable); with no
  emotion word, a named sub-style with a usual mood (bossa nova -> calm, dubstep -> tense) moves 50%.
- tempo bin: head probabilities; an explicit BPM or tempo word (with negation: "not too fast") moves 85%
  of the mass onto the stated bin, a named sub-style with a typical tempo (drum and bass) 60%. The BPM is
  the stated number, else the default BPM of the chosen bin. With no tempo cue at all, 30% of the mass
  goes to the tempo the chosen emotion usually has (calm -> slow), keeping the two heads consistent
  (85% for a non-English prompt).
- instruments: a family named in the prompt has probability 1, an excluded one ("no drums") 0, the rest
  keep the head's probability; families at or above ``INSTRUMENT_MIN_PROB`` are returned, named first.
- key: only when the prompt names one ("in A minor"); never guessed.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from ..attributes import GENRES, TEMPO_BIN_DEFAULT_BPM, Attributes
from ..errors import CodeplayError
from .backbones import TransformerBackbone, load_backbone
from .lexicon import EMOTION_DEFAULT_TEMPO
from .rules import RuleFindings, find_rules

if TYPE_CHECKING:
    from .heads import PromptHeads

DEFAULT_WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights" / "classifier"
MAX_PROMPT_CHARS = 1000
GENRE_MIN_PROB = 0.4
INSTRUMENT_MIN_PROB = 0.6
RULE_WEIGHT_GENRE = 0.75
RULE_WEIGHT_TEMPO = 0.85
RULE_WEIGHT_STYLE_TEMPO = 0.6
RULE_WEIGHT_EMOTION = 0.4
RULE_WEIGHT_EMOTION_FOREIGN = 0.85
RULE_WEIGHT_STYLE_MOOD = 0.5
WEIGHT_EMOTION_TEMPO = 0.3


class EmptyPromptError(CodeplayError):
    """The prompt is empty or only whitespace."""


class PromptClassifier:
    """A backbone plus trained heads; call :meth:`classify` or :meth:`classify_many`."""

    def __init__(self, backbone: TransformerBackbone, heads: PromptHeads, *, vocabulary: str = "all") -> None:
        if backbone.feature_dim(heads.config.features) != heads.config.input_dim:
            raise CodeplayError(
                f"the heads expect {heads.config.input_dim} features but backbone {backbone.name!r} gives "
                f"{backbone.feature_dim(heads.config.features)}: train heads for this backbone first"
            )
        self.backbone = backbone
        self.heads = heads.eval()
        self.vocabulary = vocabulary  # "train" scores held-out prompts without their held-out words

    def head_probabilities(self, prompts: Sequence[str]) -> list[dict[str, dict[str, float]]]:
        """The heads' own probabilities (no rules), one dict per prompt."""
        probs = self.heads.probabilities(self.backbone.features(list(prompts), self.heads.config.features))
        cfg = self.heads.config
        out = []
        for i in range(len(prompts)):
            out.append({h: dict(zip(cfg.labels(h), map(float, p[i].tolist()), strict=True)) for h, p in probs.items()})
        return out

    def classify(self, prompt: str) -> Attributes:
        return self.classify_many([prompt])[0]

    def classify_many(self, prompts: Sequence[str]) -> list[Attributes]:
        prepared = [_prepare(p, self.backbone) for p in prompts]
        head_probs = self.head_probabilities([text for text, _ in prepared])
        return [
            _combine(text, notes, hp, self.backbone, find_rules(text, self.vocabulary))
            for (text, notes), hp in zip(prepared, head_probs, strict=True)
        ]


def _prepare(prompt: str, backbone: TransformerBackbone | None) -> tuple[str, list[str]]:
    if not isinstance(prompt, str) or not prompt.strip():
        raise EmptyPromptError("the prompt is empty: describe the music you want, e.g. 'a calm piano piece for studying'")
    text = " ".join(prompt.split())
    notes: list[str] = []
    if len(text) > MAX_PROMPT_CHARS:
        text = text[:MAX_PROMPT_CHARS]
        notes.append(f"the prompt is long; only its first {MAX_PROMPT_CHARS} characters were read")
    elif backbone is not None and backbone.count_tokens(text) > backbone.max_tokens:
        notes.append(f"the prompt is long; the text model read only its first {backbone.max_tokens} tokens")
    return text, notes


def _mix(head: dict[str, float], stated: Sequence[str], weight: float) -> dict[str, float]:
    if not stated:
        return dict(head)
    share = weight / len(stated)
    return {k: (1 - weight) * v + (share if k in stated else 0.0) for k, v in head.items()}


def _combine(
    text: str, notes: list[str], hp: dict[str, dict[str, float]], backbone: TransformerBackbone, rules: RuleFindings
) -> Attributes:
    foreign = rules.language != "English"
    # genre
    genre_p = _mix(hp["genre"], rules.genres, RULE_WEIGHT_GENRE)
    best_genre = max(genre_p, key=genre_p.get)
    genre = best_genre if best_genre in GENRES and genre_p[best_genre] >= GENRE_MIN_PROB else None
    # emotion
    if rules.emotions:
        emotion_p = _mix(hp["emotion"], rules.emotions, RULE_WEIGHT_EMOTION_FOREIGN if foreign else RULE_WEIGHT_EMOTION)
    else:
        emotion_p = _mix(hp["emotion"], [rules.genre_mood] if rules.genre_mood else [], RULE_WEIGHT_STYLE_MOOD)
    emotion = max(emotion_p, key=emotion_p.get)
    # tempo
    if rules.tempo_bin:
        tempo_p = _mix(hp["tempo_bin"], [rules.tempo_bin], RULE_WEIGHT_TEMPO)
    elif rules.genre_tempo:
        tempo_p = _mix(hp["tempo_bin"], [rules.genre_tempo], RULE_WEIGHT_STYLE_TEMPO)
    else:
        weight = RULE_WEIGHT_EMOTION_FOREIGN if foreign else WEIGHT_EMOTION_TEMPO
        tempo_p = _mix(hp["tempo_bin"], [EMOTION_DEFAULT_TEMPO[emotion]], weight)
    tbin = max(tempo_p, key=tempo_p.get)
    bpm = rules.bpm if rules.bpm is not None else TEMPO_BIN_DEFAULT_BPM[tbin]
    # instruments
    inst_p = dict(hp["instruments"])
    inst_p.update({f: 1.0 for f in rules.instruments})
    inst_p.update({f: 0.0 for f in rules.excluded_instruments})
    extra = [f for f, p in sorted(inst_p.items(), key=lambda kv: -kv[1]) if p >= INSTRUMENT_MIN_PROB]
    instruments = tuple(dict.fromkeys([*rules.instruments, *extra]))
    # messages
    if rules.excluded_instruments:
        notes.append(f"asked for no {', '.join(rules.excluded_instruments)}")
    if foreign and backbone.english_only:
        notes.append(
            f"the prompt looks {rules.language}; the text model ({backbone.name}) is English-only, so these "
            "attributes are rough guesses. Writing the prompt in English works best; a multilingual "
            "backbone (e.g. paraphrase-multilingual-MiniLM-L12-v2) would need its own trained heads."
        )
    probabilities = {
        "genre": {g: round(genre_p.get(g, 0.0), 4) for g in GENRES},
        "emotion": {k: round(v, 4) for k, v in emotion_p.items()},
        "tempo_bin": {k: round(v, 4) for k, v in tempo_p.items()},
        "instruments": {k: round(v, 4) for k, v in inst_p.items()},
    }
    return Attributes(
        genre=genre, emotion=emotion, bpm=bpm, key=rules.key, instruments=instruments,
        probabilities=probabilities, notes=tuple(notes),
    )


def load_classifier(path: str | Path | None = None, *, backbone: TransformerBackbone | None = None) -> PromptClassifier:
    """Heads from ``path`` (default: the shipped weights) on their backbone (loaded by name if not given)."""
    from .heads import load_heads

    heads = load_heads(path or DEFAULT_WEIGHTS_DIR)
    return PromptClassifier(backbone or load_backbone(heads.config.backbone), heads)


@lru_cache(maxsize=1)
def default_classifier() -> PromptClassifier:
    """The shipped classifier, loaded once per process."""
    return load_classifier()


def classify(prompt: str, *, model: PromptClassifier | str | Path | None = None) -> Attributes:
    """Read genre, emotion, tempo, instruments (and a named key) from a prompt, with probabilities.

    ``model``: ``None`` for the shipped classifier, a :class:`PromptClassifier`, or a folder of trained heads.
    ``Attributes.notes`` carries messages for the user (long prompt truncated, non-English prompt, ...).
    """
    if not isinstance(prompt, str) or not prompt.strip():
        _prepare(prompt, None)  # raises EmptyPromptError before any model is loaded
    if model is None:
        clf = default_classifier()
    elif isinstance(model, PromptClassifier):
        clf = model
    else:
        clf = _load_cached(str(model))
    return clf.classify(prompt)


@lru_cache(maxsize=4)
def _load_cached(path: str) -> PromptClassifier:
    return load_classifier(path)
