"""Frozen, validated configuration dataclasses for the music model, its training and its sampling."""

from __future__ import annotations

import contextlib
import contextvars
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


class _JsonMixin:
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls: type[T], d: dict[str, Any]) -> T:
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items() if k in names})

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=1))

    @classmethod
    def load(cls: type[T], path: str | Path) -> T:
        return cls.from_dict(json.loads(Path(path).read_text()))  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ModelConfig(_JsonMixin):
    """GPT-2 shape. ``tiny`` trains in about a minute on a laptop CPU (CI); ``default`` is shipped."""

    n_layer: int = 4
    n_embd: int = 256
    n_head: int = 4
    n_positions: int = 768
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if self.n_embd % self.n_head:
            raise ValueError("n_embd must be divisible by n_head")
        if min(self.n_layer, self.n_embd, self.n_head, self.n_positions) <= 0:
            raise ValueError("model sizes must be positive")

    @classmethod
    def tiny(cls) -> ModelConfig:
        return cls(n_layer=2, n_embd=64, n_head=2, n_positions=512, dropout=0.0)


@dataclass(frozen=True)
class TrainConfig(_JsonMixin):
    """Training run settings (Hugging Face Trainer underneath: one CPU, one GPU or many via accelerate)."""

    max_steps: int = 2000  # the shipped run (30 minutes on a 2-core CPU)
    batch_size: int = 12
    block_size: int = 768
    learning_rate: float = 1.5e-3
    warmup_steps: int = 50
    weight_decay: float = 0.05
    seed: int = 1234
    bf16: bool = True
    eval_steps: int = 200
    logging_steps: int = 10
    save_steps: int = 100
    gradient_accumulation_steps: int = 1

    def __post_init__(self) -> None:
        if self.max_steps <= 0 or self.batch_size <= 0 or self.block_size <= 8:
            raise ValueError("max_steps, batch_size must be positive and block_size > 8")
        if not 0 < self.learning_rate < 1:
            raise ValueError("learning_rate must be in (0, 1)")

    @classmethod
    def tiny(cls) -> TrainConfig:
        return cls(max_steps=30, batch_size=4, block_size=512, learning_rate=3e-3, warmup_steps=3,
                   bf16=False, eval_steps=15, logging_steps=5, save_steps=1000)


# The decoding strengths (see SamplingConfig); decoding_overrides() changes the defaults for a block of code.
# Chosen on training songs held out as a tuning set (`codeplay eval --two-sample --songs tuning --decoding ...`),
# never on the validation songs the README reports: see MODEL_CARD.md "Decoding settings".
DECODING_DEFAULTS: dict[str, float] = {
    "top_p": 0.95,  # nucleus sampling: the smallest set of tokens holding this much probability
    "out_of_key_penalty": 2.0,  # logits subtracted from pitches outside the requested key's scale
    # key emphasis, kept light: at 2.5 on the beat (an earlier default) clips sat on the tonic (1.8 bits of
    # pitch-class entropy against real music's 2.7) and the two-sample test heard it first; with degree_balance
    # doing the work of keeping real degree rates, only a half-strength tonic on the beat stays (POP909 tuning
    # songs, n = 60: Krumhansl key 75% with none, 82% with 0.5, 93% with the earlier 1 / 0.3 / 0.5, whose
    # two-sample accuracy was 82% against 77.5%)
    "tonic_bonus": 0.0,  # logits added to the tonic off the beat ...
    "tonic_bonus_on_beat": 0.5,  # ... and on a beat (where a listener -- and a key profile -- weighs it)
    "third_bonus": 0.0,  # the key's third
    "fifth_bonus": 0.0,  # the key's fifth
    "groove_bias": 4.0,  # drums: logits towards repeating the previous bar's hits
    # logits added to the chord tones of a bar whose chord was asked for: on POP909 tuning songs 0.5 / 1 / 1.5
    # put 0.64 / 0.74 / 0.82 of the notes on the requested chords (real POP909: 0.80) and the music21 default /
    # Krumhansl key on the requested key 80/83%, 80/87%, 75/83%: 1 keeps a margin on the key
    "chord_tone_bonus": 1.0,
    # the same for chords the model chose itself (a learned progression, no chords asked): a plan, not a request;
    # at 1.5 Nottingham tuning clips held 0.91 chord tones (real 0.73) and 1.9 bits of pitch classes (real 2.7)
    "chosen_chord_tone_bonus": 0.0,
    # the key biases (out-of-key penalty, tonic/third/fifth bonuses) times this for a key the model chose itself
    # (auto_key). 1: a chosen key is played as a requested one (it is written into the file and shown, so it
    # should be the key a listener hears). Compositions from the 74 prompts of the tuning half of prompt set c
    # (8 bars; drums-only clips left out), key = chosen key under music21's default / Krumhansl estimator, at
    # 0 / 0.5 / 0.75 / 1 / 1.5: 79% / 76%, 76% / 76%, 79% / 80%, 69% / 85%, 76% / 87% (the key token alone,
    # at 0, kept notes in the scale but often centred them on the relative key)
    "chosen_key_bias": 1.0,
    # logits per semitone outside a family's 10th-90th percentile band (0: only the 0.5th-99.5th percentile
    # range holds; the pull put a melody and its accompaniment in one band, 28-31 semitones against 42)
    "register_penalty": 0.0,
    # a family asked for more than once (a tune and its chords on two pianos): logits per semitone outside
    # the 10th-90th percentile band of that part in the training data (family_ranges.json "roles": the k-th
    # highest of n tracks of the family); 0: off. Tuning windows (session 13) at 0.5: Nottingham two-sample
    # 90.8% -> 94.2%, POP909 82.5% -> 82.5%, Freedoom 68.8% -> 65.6%; per-track range POP909 20.2 -> 16.7
    # (real 20.9): a band per note narrows each part, and the data's second piano (mean 55) is not folk's (45)
    "role_register_penalty": 0.0,
    # Line shaping (model/shaping.py) and phrase/degree pulls, chosen on tuning songs (MODEL_CARD "Decoding
    # settings", session 8): each alone moved the two-sample accuracy within the noise (+-4 points at n = 60);
    # together with degree_balance, POP909 tuning 91.7% -> 77.5%, Nottingham 94.2% -> 93.3%.
    # pitched tracks: logits subtracted from a pitch per earlier onset of it in the same bar and track
    "repeat_penalty": 1.0,
    # ... counting only the onsets past this many (1: a line may play a pitch twice in a bar unpenalised)
    "repeat_grace": 1.0,
    # pitched tracks: logits per semitone by which a pitch would widen its track's span (lowest to highest
    # note so far) beyond span_limit semitones (0: off): per-track range 30 -> 21 semitones on POP909 tuning
    # clips (real 21), 25 -> 17 on Nottingham (real 15)
    "span_penalty": 0.5,
    "span_limit": 19.0,
    # pitched tracks: logits subtracted from one more note at an onset, per note it already holds (0: off)
    "chord_penalty": 0.0,
    # a new pitched track's first note: logits per semitone it falls closer than spread_gap to an earlier
    # track's mean pitch (0: off)
    "spread_penalty": 1.0,
    "spread_gap": 12.0,
    "spread_hold": 0.0,  # 1: the spread penalty on every note of a later track, not only its first
    # a later pitched track, once below (above) an earlier one: logits per semitone a note would cross the
    # earlier track's note sounding at that onset (0: off). On tuning windows 1 brought the parts' crossings
    # and spacing to real music's (POP909 16% -> 8% of notes crossing, real 10%) but lowered POP909's key
    # agreement (music21 default 72% -> 62% at 1, 55% at 2): off
    "cross_penalty": 0.0,
    # logits off a SHIFT that lands between the 8th notes, as a tilt among the moves (whether a track moves on
    # is the model's; how far, less often off the grid; 0: off). Tuning windows (session 10), off-grid share
    # at 0 / 0.5 / 1 / 2: Freedoom 0.289 / 0.247 / 0.187 / 0.069 (real 0.174), POP909 0.090 / 0.050 / 0.025 /
    # 0.010 (real 0.073); two-sample POP909 73.3% / 80.0% / 79.2% / 76.7%
    "grid_penalty": 0.5,
    # >0: the tonic/third/fifth emphasis applies only while the notes so far do not establish the requested key
    # (it must lead every other key by this much correlation with the Temperley-Kostka-Payne profiles); 0: always
    "key_feedback": 0.0,
    # pitched tracks: logits added towards the notes of the bar 4 bars before (a phrase returns; 0: off); the
    # repeat and degree pulls lower bar-vs-4-later similarity (POP909 tuning 0.11 without it, 0.15 with 1)
    "phrase_bias": 1.0,
    # >0: logits (times log(target / played)) towards the scale degrees a clip is short of, against the
    # training songs' degree rates (key_degrees.json beside the weights); needs a key; 0: off. Pitch-class
    # entropy of POP909 tuning clips 2.28 -> 2.69 bits (real 2.70), the two-sample test's strongest tell
    "degree_balance": 1.0,
    "guidance": 7.0,  # classifier-free guidance on the genre (1: off; >1 follows it more)
    "drum_guidance": 3.0,  # the same inside drum tracks (weaker: genres whose data has few drums thin them out)
    # 1: with no genre asked (or heard in the prompt), draw one from the training windows' genres given what was
    # asked (ensemble, meter, tempo bin, mode, emotion: model/genre_plan.py), and condition on it. Off: on tuning
    # windows (session 13, chosen-genre guidance 1) two-sample Nottingham 90.8% -> 93.3%, POP909 82.5% -> 84.2%,
    # Freedoom 68.8% -> 68.8% (guidance 3: Nottingham 90.8%); the model's unknown-genre mixture already is this
    "auto_genre": 0.0,
    # the genre guidance (and the drum guidance, at most this) for a genre the model chose itself: a plan, not
    # a request
    "chosen_genre_guidance": 1.0,
    "auto_chords": 1.0,  # 1: with a key but no chords asked, follow a progression learned from the data
    # 1: with no key asked (or heard in the prompt), choose one: its mode from the emotion, and condition on it
    # (with chosen_key_bias 0, no key biases): 15 prompts without a key kept 0.96 of their notes in one scale
    # and 2.5 bits of pitch classes (real pop 0.97-0.98 / 2.7); without a key, 0.89 (as low as 0.76) / 2.8
    "auto_key": 1.0,
    # 1: in a bar with a chord, the key's tonic/third/fifth bonuses give way to chord_root_bonus on the chord's
    # root on the beats (0: the key's emphasis holds through every chord; on tuning songs 1 lowered key
    # agreement from 68%/85% to 42%/52% and left the two-sample test at 97.5%, so it is off by default)
    "harmony_bias": 0.0,
    "chord_root_bonus": 2.5,
}
_OVERRIDES: contextvars.ContextVar[dict | None] = contextvars.ContextVar("codeplay_decoding", default=None)


def _knob(name: str):
    return field(default_factory=lambda: float((_OVERRIDES.get() or {}).get(name, DECODING_DEFAULTS[name])))


@contextlib.contextmanager
def decoding_overrides(**values: float):
    """Within the block, new :class:`SamplingConfig` objects default to these decoding strengths (the
    evaluation uses it to compare settings without changing every call path)."""
    unknown = sorted(set(values) - set(DECODING_DEFAULTS))
    if unknown:
        raise ValueError(f"unknown decoding setting(s) {', '.join(unknown)}; known: {', '.join(DECODING_DEFAULTS)}")
    token = _OVERRIDES.set({**(_OVERRIDES.get() or {}), **{k: float(v) for k, v in values.items()}})
    try:
        yield
    finally:
        _OVERRIDES.reset(token)


KEY_BIASES = ("out_of_key_penalty", "tonic_bonus", "tonic_bonus_on_beat", "third_bonus", "fifth_bonus")
# the line-shaping (model/shaping.py), phrase, degree and grid pulls: what a test of one decoding knob turns off
SHAPING_KNOBS = ("repeat_penalty", "repeat_grace", "span_penalty", "spread_penalty", "chord_penalty", "cross_penalty",
                 "phrase_bias", "degree_balance", "grid_penalty")


def plan_strengths(sampling: SamplingConfig | None = None, *, chords_chosen: bool, key_chosen: bool,
                   genre_chosen: bool = False) -> dict[str, float]:
    """The decoding strengths for chords, a key or a genre the model chose itself (a plan, not a request), for
    :func:`decoding_overrides`: the chord-tone bonus becomes ``chosen_chord_tone_bonus``, the key biases are
    scaled by ``chosen_key_bias`` and the genre guidance becomes ``chosen_genre_guidance`` (the key, chord and
    genre tokens still condition the model). Compose and every
    later edit of the song use it, so an extension keeps the character of the bars it continues."""
    sampling = sampling or SamplingConfig()
    out: dict[str, float] = {}
    if chords_chosen:
        out["chord_tone_bonus"] = sampling.chosen_chord_tone_bonus
    if key_chosen:
        out.update({k: getattr(sampling, k) * sampling.chosen_key_bias for k in KEY_BIASES})
    if genre_chosen:
        out["guidance"] = sampling.chosen_genre_guidance
        out["drum_guidance"] = min(sampling.drum_guidance, sampling.chosen_genre_guidance)
    return out


def parse_decoding(spec: str | None) -> dict[str, float]:
    """``"groove_bias=3,guidance=1.5"`` -> ``{"groove_bias": 3.0, "guidance": 1.5}`` (ValueError if bad)."""
    out: dict[str, float] = {}
    for part in (spec or "").split(","):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or name not in DECODING_DEFAULTS:
            raise ValueError(f"bad decoding setting {part!r}: use NAME=VALUE with NAME one of "
                             f"{', '.join(DECODING_DEFAULTS)}")
        out[name] = float(value)
    return out


@dataclass(frozen=True)
class SamplingConfig(_JsonMixin):
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = _knob("top_p")
    max_tokens_per_bar: int = 160  # per track per bar: a runaway bar is closed by the grammar
    out_of_key_penalty: float = _knob("out_of_key_penalty")
    tonic_bonus: float = _knob("tonic_bonus")
    tonic_bonus_on_beat: float = _knob("tonic_bonus_on_beat")
    third_bonus: float = _knob("third_bonus")
    fifth_bonus: float = _knob("fifth_bonus")
    groove_bias: float = _knob("groove_bias")
    chord_tone_bonus: float = _knob("chord_tone_bonus")
    chosen_chord_tone_bonus: float = _knob("chosen_chord_tone_bonus")
    chosen_key_bias: float = _knob("chosen_key_bias")
    auto_genre: float = _knob("auto_genre")
    chosen_genre_guidance: float = _knob("chosen_genre_guidance")
    register_penalty: float = _knob("register_penalty")
    role_register_penalty: float = _knob("role_register_penalty")
    repeat_penalty: float = _knob("repeat_penalty")
    repeat_grace: float = _knob("repeat_grace")
    span_penalty: float = _knob("span_penalty")
    span_limit: float = _knob("span_limit")
    chord_penalty: float = _knob("chord_penalty")
    spread_penalty: float = _knob("spread_penalty")
    spread_gap: float = _knob("spread_gap")
    spread_hold: float = _knob("spread_hold")
    cross_penalty: float = _knob("cross_penalty")
    grid_penalty: float = _knob("grid_penalty")
    key_feedback: float = _knob("key_feedback")
    phrase_bias: float = _knob("phrase_bias")
    degree_balance: float = _knob("degree_balance")
    guidance: float = _knob("guidance")
    drum_guidance: float = _knob("drum_guidance")
    auto_chords: float = _knob("auto_chords")
    auto_key: float = _knob("auto_key")
    harmony_bias: float = _knob("harmony_bias")
    chord_root_bonus: float = _knob("chord_root_bonus")

    def __post_init__(self) -> None:
        if self.temperature <= 0:
            raise ValueError("temperature must be > 0")
        if not 0 < self.top_p <= 1:
            raise ValueError("top_p must be in (0, 1]")
        if self.top_k < 0:
            raise ValueError("top_k must be >= 0")
        if self.guidance <= 0 or self.drum_guidance <= 0:
            raise ValueError("guidance and drum_guidance must be > 0 (1 turns it off)")
