"""The one attribute vocabulary shared by the text classifier and the music model."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from .errors import CodeplayError
from .instruments import FAMILY_NAMES, parse_instruments

GENRES: tuple[str, ...] = (
    "pop", "rock", "jazz", "classical", "folk", "electronic", "hiphop", "game", "blues", "latin", "country",
)
EMOTIONS: tuple[str, ...] = ("happy", "sad", "calm", "tense", "epic", "romantic", "mysterious", "playful")
TEMPO_BINS: tuple[str, ...] = ("slow", "moderate", "fast", "very_fast")
TEMPO_BIN_EDGES_BPM: tuple[float, ...] = (90.0, 120.0, 150.0)  # slow < 90 <= moderate < 120 <= fast < 150
TEMPO_BIN_DEFAULT_BPM: dict[str, float] = {"slow": 72.0, "moderate": 104.0, "fast": 132.0, "very_fast": 168.0}
INSTRUMENTS: tuple[str, ...] = FAMILY_NAMES
PITCH_CLASSES: tuple[str, ...] = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MODES: tuple[str, ...] = ("major", "minor")
KEYS: tuple[str, ...] = tuple(f"{pc} {m}" for m in MODES for pc in PITCH_CLASSES)
UNKNOWN = "unknown"

# VGMIDI valence/arousal quadrants -> emotion
QUADRANT_EMOTION = {(1, 1): "happy", (1, -1): "calm", (-1, 1): "tense", (-1, -1): "sad"}

_PC_BY_NAME = {
    "C": 0, "B#": 0, "C#": 1, "DB": 1, "D": 2, "D#": 3, "EB": 3, "E": 4, "FB": 4, "F": 5, "E#": 5,
    "F#": 6, "GB": 6, "G": 7, "G#": 8, "AB": 8, "A": 9, "A#": 10, "BB": 10, "B": 11, "CB": 11,
}


def pitch_class(name: str) -> int:
    n = name.strip().upper().replace("♯", "#").replace("♭", "B")
    n = n[0] + n[1:].replace("SHARP", "#").replace("FLAT", "B").replace(" ", "")
    if n not in _PC_BY_NAME:
        raise CodeplayError(f"unknown note name {name!r}; use e.g. C, F#, Bb")
    return _PC_BY_NAME[n]


def normalize_key(key: str | None) -> str | None:
    """``"a minor"``, ``"Am"``, ``"F# major"``, ``"bb min"`` -> canonical ``"A minor"`` style, or ``None``."""
    if key is None:
        return None
    s = key.strip()
    if not s or s.lower() == UNKNOWN:
        return None
    parts = s.replace("-", " ").split()
    tonic = parts[0]
    rest = " ".join(parts[1:]).lower()
    if len(parts) == 1 and len(tonic) > 1 and tonic.endswith("m") and tonic[:-1].upper() in _PC_BY_NAME:
        tonic, rest = tonic[:-1], "minor"
    mode = "minor" if rest.startswith("min") or rest == "m" else "major" if rest in ("", "maj", "major") else None
    if mode is None:
        raise CodeplayError(f"unknown key {key!r}; write it like 'A minor' or 'Eb major'")
    return f"{PITCH_CLASSES[pitch_class(tonic)]} {mode}"


def transpose_key(key: str, semitones: int) -> str:
    tonic, mode = normalize_key(key).split()
    return f"{PITCH_CLASSES[(pitch_class(tonic) + semitones) % 12]} {mode}"


def tempo_bin(bpm: float | None) -> str | None:
    if bpm is None:
        return None
    for name, edge in zip(TEMPO_BINS, TEMPO_BIN_EDGES_BPM, strict=False):
        if bpm < edge:
            return name
    return TEMPO_BINS[-1]


def _check(value: str | None, allowed: tuple[str, ...], what: str) -> str | None:
    if value is None or value == UNKNOWN:
        return None
    v = value.strip().lower().replace(" ", "_").replace("-", "")
    v = {"hiphop": "hiphop", "hip_hop": "hiphop", "veryfast": "very_fast"}.get(v, v)
    if v not in allowed:
        raise CodeplayError(f"unknown {what} {value!r}; choose one of: {', '.join(allowed)}")
    return v


@dataclass(frozen=True)
class Attributes:
    """Musical attributes of a piece or a request; ``None`` means unknown / left to the model."""

    genre: str | None = None
    emotion: str | None = None
    bpm: float | None = None
    key: str | None = None
    time_signature: tuple[int, int] | None = None
    instruments: tuple[str, ...] = ()
    chords: tuple[str, ...] | None = None  # one chord label per bar ("A_min", "N", "unknown"), or no lane
    probabilities: dict = field(default_factory=dict, compare=False)
    notes: tuple[str, ...] = field(default=(), compare=False)  # messages for the user (e.g. genre mapped)

    def __post_init__(self) -> None:
        object.__setattr__(self, "genre", _check(self.genre, GENRES, "genre"))
        object.__setattr__(self, "emotion", _check(self.emotion, EMOTIONS, "emotion"))
        object.__setattr__(self, "key", normalize_key(self.key))
        if self.bpm is not None and not 10 <= float(self.bpm) <= 400:
            raise CodeplayError(f"tempo {self.bpm} BPM is out of range; use 10-400 BPM")
        if self.time_signature is not None:
            num, den = self.time_signature
            if not (1 <= num <= 32 and den in (1, 2, 4, 8, 16, 32)):
                raise CodeplayError(f"unsupported time signature {num}/{den}")
            object.__setattr__(self, "time_signature", (int(num), int(den)))
        object.__setattr__(self, "instruments", parse_instruments(self.instruments) if self.instruments else ())
        if self.chords is not None:
            from .chords import CHORD_LABELS, parse_chords

            labels = tuple(self.chords) if not isinstance(self.chords, str) else parse_chords(self.chords)
            if labels and not all(c in CHORD_LABELS for c in labels):
                labels = parse_chords(list(labels))
            object.__setattr__(self, "chords", labels or None)

    @property
    def tempo_bin(self) -> str | None:
        return tempo_bin(self.bpm)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["tempo_bin"] = self.tempo_bin
        d["instruments"] = list(self.instruments)
        d["notes"] = list(self.notes)
        d["chords"] = list(self.chords) if self.chords else None
        if self.time_signature:
            d["time_signature"] = f"{self.time_signature[0]}/{self.time_signature[1]}"
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    def merged(self, **overrides) -> Attributes:
        """A copy where every override that is not ``None`` (or empty) replaces the current value."""
        from dataclasses import replace

        return replace(self, **{k: v for k, v in overrides.items() if v not in (None, (), [], "")})


def attribute_vocabulary() -> dict[str, list[str]]:
    """The label sets as JSON-able lists (saved next to every checkpoint)."""
    return {
        "genre": list(GENRES),
        "emotion": list(EMOTIONS),
        "tempo_bin": list(TEMPO_BINS),
        "instruments": list(INSTRUMENTS),
        "key": list(KEYS),
    }
