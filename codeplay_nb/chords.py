"""Chord symbols: parsing what people write ("Am", "F#m7", "Bbmaj7", "C/E", "Gsus4"), POP909's Harte labels
("A:min7"), and estimating one chord per bar from notes. One chord per bar is what the music model is
conditioned on (token ``CHORD_<root>_<quality>``, ``CHORD_N`` for no chord, ``CHORD_unknown``)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np

from .attributes import PITCH_CLASSES, pitch_class
from .errors import CodeplayError
from .music import Note, Piece

QUALITIES: dict[str, tuple[int, ...]] = {
    "maj": (0, 4, 7), "min": (0, 3, 7), "7": (0, 4, 7, 10), "maj7": (0, 4, 7, 11), "min7": (0, 3, 7, 10),
    "dim": (0, 3, 6), "aug": (0, 4, 8), "sus": (0, 5, 7),
}
NO_CHORD = "N"
UNKNOWN = "unknown"
CHORD_LABELS: tuple[str, ...] = (*tuple(f"{r}_{q}" for r in PITCH_CLASSES for q in QUALITIES), NO_CHORD, UNKNOWN)
_SUFFIX_QUALITY = [  # (regex on the suffix after the root, quality) - first match wins
    (r"^(maj7|ma7|M7|Δ7?|maj9|M9|maj13)", "maj7"),
    (r"^(m7b5|ø7?|min7b5|-7b5)", "dim"),
    (r"^(dim7?|°7?|o7?)", "dim"),
    (r"^(m7|min7|-7|m9|min9|m11|m13|mi7)", "min7"),
    (r"^(mM7|mmaj7|m\(maj7\))", "min"),
    (r"^(m|min|-|mi)(?![a-z])", "min"),
    (r"^(m6|min6)", "min"),
    (r"^(aug|\+)", "aug"),
    (r"^(7sus4|7sus|sus4|sus2|sus)", "sus"),
    (r"^(7|9|11|13|7b9|7#9|7#11|7b5|7#5)", "7"),
    (r"^(maj|M|6|add9|2|5|)$", "maj"),
    (r"^(6|add9|add2|69|6/9)", "maj"),
]
_ROOT_RE = re.compile(r"^([A-Ga-g])([#♯b♭]?)(.*)$")
_HARTE = {"maj": "maj", "min": "min", "7": "7", "maj7": "maj7", "min7": "min7", "dim": "dim", "dim7": "dim",
          "hdim7": "dim", "aug": "aug", "sus4": "sus", "sus2": "sus", "sus4(b7)": "sus", "maj6": "maj",
          "min6": "min", "9": "7", "min9": "min7", "maj9": "maj7", "minmaj7": "min"}


def chord_label(root_pc: int, quality: str) -> str:
    return f"{PITCH_CLASSES[root_pc % 12]}_{quality}"


def parse_chord(symbol: str) -> str:
    """A chord symbol -> our label (``"A_min"``); ``N``/``NC``/``-``/``x`` -> ``"N"``; ``?`` -> unknown.
    Raises :class:`CodeplayError` with a hint for anything else."""
    s = symbol.strip()
    if s.upper() in ("N", "NC", "N.C.", "-", "X", "%"):
        return NO_CHORD
    if s in ("?", "*", "_") or s.lower() == UNKNOWN:
        return UNKNOWN
    m = _ROOT_RE.match(s)
    if not m:
        raise CodeplayError(f"chord {symbol!r} not understood; write chords like Am, F, C7, Bbmaj7, F#m7b5, Gsus4")
    root = m[1].upper() + m[2].replace("♯", "#").replace("♭", "b")
    rest = m[3].split("/")[0]
    for pattern, quality in _SUFFIX_QUALITY:
        if re.match(pattern, rest):
            return chord_label(pitch_class(root), quality)
    raise CodeplayError(f"chord {symbol!r}: unknown chord quality {rest!r}; try maj, m, 7, maj7, m7, dim, aug, sus4")


def parse_chords(text: str | Sequence[str] | None, n_bars: int | None = None) -> tuple[str, ...] | None:
    """``"Am F C G"`` (spaces, commas or bar lines) or a list -> one label per bar. With ``n_bars`` the
    progression repeats (or is cut) to that many bars."""
    if text is None:
        return None
    parts = re.split(r"[\s,|]+", text.strip()) if isinstance(text, str) else [str(x) for x in text]
    labels = [parse_chord(p) for p in parts if p and p.strip()]
    if not labels:
        return None
    if len(labels) > 256:
        raise CodeplayError("at most 256 chords (one per bar)")
    if n_bars is not None:
        labels = [labels[i % len(labels)] for i in range(n_bars)]
    return tuple(labels)


def harte_to_label(label: str) -> str:
    """POP909 / Harte ``"A:min7/b3"`` -> ``"A_min7"``; ``"N"`` -> ``"N"``."""
    if label in ("N", "X") or ":" not in label:
        return NO_CHORD
    root, qual = label.split(":", 1)
    qual = qual.split("/")[0]
    try:
        pc = pitch_class(root)
    except (CodeplayError, KeyError, ValueError):
        return UNKNOWN
    return chord_label(pc, _HARTE.get(qual, "min" if qual.startswith("min") else "maj"))


def chord_root(label: str) -> int | None:
    """Root pitch class of a label (None for N / unknown)."""
    return None if label in (NO_CHORD, UNKNOWN) else pitch_class(label.rsplit("_", 1)[0])


def chord_pitch_classes(label: str) -> frozenset[int]:
    """Pitch classes of a label (empty for N / unknown)."""
    r = chord_root(label)
    if r is None:
        return frozenset()
    return frozenset((r + i) % 12 for i in QUALITIES[label.rsplit("_", 1)[1]])


def transpose_label(label: str, semitones: int) -> str:
    if label in (NO_CHORD, UNKNOWN):
        return label
    root, qual = label.rsplit("_", 1)
    return chord_label(pitch_class(root) + semitones, qual)


def display(label: str) -> str:
    """``"A_min"`` -> ``"Am"`` (for the piano roll and messages)."""
    if label == UNKNOWN:
        return "?"
    if label == NO_CHORD:
        return "N.C."
    root, qual = label.rsplit("_", 1)
    return root + {"maj": "", "min": "m", "7": "7", "maj7": "maj7", "min7": "m7", "dim": "dim", "aug": "aug",
                   "sus": "sus4"}[qual]


def _templates() -> tuple[list[str], np.ndarray]:
    labels, rows = [], []
    for r in range(12):
        for q, ivs in QUALITIES.items():
            v = np.zeros(12)
            for i in ivs:
                v[(r + i) % 12] = 1.0
            labels.append(chord_label(r, q))
            rows.append(v)
    m = np.array(rows)
    return labels, m


_LABELS, _TEMPLATES = _templates()
_PRIOR = np.array([{"maj": 1.0, "min": 0.98, "7": 0.9, "maj7": 0.85, "min7": 0.88, "dim": 0.7, "aug": 0.6,
                    "sus": 0.7}[lab.rsplit("_", 1)[1]] for lab in _LABELS])


def estimate_chord(notes: Iterable[Note], start: int, end: int) -> str:
    """The chord best matching the pitched notes sounding in ``[start, end)`` (duration-weighted pitch
    classes, the lowest note counted twice); ``"N"`` when nothing sounds."""
    hist = np.zeros(12)
    low: tuple[int, int] | None = None
    for n in notes:
        a, b = max(n.start, start), min(n.end, end)
        if b <= a:
            continue
        hist[n.pitch % 12] += b - a
        if low is None or n.pitch < low[0]:
            low = (n.pitch, b - a)
    total = hist.sum()
    if total <= 0:
        return NO_CHORD
    if low is not None:
        hist[low[0] % 12] += 0.5 * total / max(1, np.count_nonzero(hist))
    h = hist / hist.sum()
    # fit: weight inside the chord minus weight outside, per template size
    inside = _TEMPLATES @ h
    score = (inside - 0.6 * (1 - inside)) * _PRIOR
    root_w = np.array([h[pitch_class(lab.rsplit("_", 1)[0])] for lab in _LABELS])
    score = score + 0.15 * root_w
    return _LABELS[int(np.argmax(score))]


def bar_chords(piece: Piece, n_bars: int | None = None) -> tuple[str, ...]:
    """One estimated chord per bar from the piece's pitched tracks."""
    n = piece.n_bars if n_bars is None else n_bars
    starts = piece.bar_starts(until=piece.bar_span(0, max(n - 1, 0))[1])[: n + 1]
    notes = sorted((x for t in piece.tracks if not t.is_drum for x in t.notes), key=lambda x: x.start)
    out = []
    j0 = 0
    for b in range(n):
        s, e = starts[b], starts[b + 1] if b + 1 < len(starts) else starts[b]
        while j0 < len(notes) and notes[j0].start < s - 16 * piece.tpq:  # skip notes that ended long ago
            j0 += 1
        out.append(estimate_chord((x for x in notes[j0:] if x.start < e), s, e))
    return tuple(out)


def annotated_bar_chords(piece: Piece, changes: Sequence[tuple[int, str]], n_bars: int | None = None,
                         offset: int = 0) -> tuple[str, ...]:
    """One chord per bar from annotated changes ``(tick, Harte label)`` (ticks on the piece's grid shifted
    by ``offset``): the chord sounding longest in the bar (its segments in the bar added up; the earlier
    chord on a tie), ``N`` where none sounds."""
    n = piece.n_bars if n_bars is None else n_bars
    starts = piece.bar_starts(until=piece.bar_span(0, max(n - 1, 0))[1])[: n + 1]
    ch = sorted((t - offset, harte_to_label(lab)) for t, lab in changes)
    out = []
    for b in range(n):
        s, e = starts[b], starts[b + 1] if b + 1 < len(starts) else starts[b]
        held: dict[str, int] = {}
        for i, (t, lab) in enumerate(ch):
            t_end = ch[i + 1][0] if i + 1 < len(ch) else 1 << 62
            overlap = min(t_end, e) - max(t, s)
            if overlap > 0:
                held[lab] = held.get(lab, 0) + overlap
        out.append(max(held, key=held.get) if held else NO_CHORD)
    return tuple(out)
