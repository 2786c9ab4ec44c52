"""Cheap, CPU-only musical metrics and control-accuracy checks on a :class:`~codeplay_nb.music.Piece`.

All metrics work on a whole piece or on a window cut with :func:`windows` / :func:`crop_bars`. The
definitions are fixed so figures compare across projects (issue 8):

* ``pitch_class_entropy`` -- non-drum note *onsets* (not durations) counted in 12 pitch-class bins,
  Shannon entropy in bits (log base 2); 0.0 with no notes (Wu & Yang 2020).
* ``scale_consistency`` -- the largest fraction of non-drum notes whose pitch class lies in one of the
  24 major / natural-minor scales; 0.0 with no notes (Mogren 2016).
* ``groove_consistency`` -- every onset (drums included) is quantised to 12 steps per quarter note
  (round half up) and marked in a binary onset vector of its bar (bar lengths from
  :meth:`Piece.bar_starts`, so 3/4 and 6/8 work). Vectors run from the first bar holding an onset to the
  last bar holding an onset, empty bars in between included. The score is
  1 - mean Hamming distance (fraction of differing steps; a shorter bar is padded with silent steps to
  the longer one) over consecutive pairs; 1.0 with fewer than 2 bars.
* ``empty_beat_rate`` -- see :func:`empty_beat_rate`.
* ``polyphony`` -- mean number of non-drum notes sounding at the distinct non-drum onset times.
* ``notes_per_bar`` -- non-drum notes divided by :func:`bar_count`.
* ``pitch_range`` -- highest minus lowest non-drum pitch (0 with no notes).
* ``key`` -- :func:`estimate_key`; ``tempo_bpm`` -- :func:`tempo_bpm`; ``n_bars`` -- :func:`bar_count`;
  ``n_notes`` -- all notes, drums included.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from itertools import pairwise

import numpy as np

from .attributes import KEYS, PITCH_CLASSES, TEMPO_BINS, normalize_key, tempo_bin
from .errors import CodeplayError
from .instruments import family_of_program, parse_instruments
from .music import Note, Piece, Track, slice_bars

STEPS_PER_QUARTER = 12
MAJOR_SCALE: tuple[int, ...] = (0, 2, 4, 5, 7, 9, 11)
MINOR_SCALE: tuple[int, ...] = (0, 2, 3, 5, 7, 8, 10)  # natural minor
# Krumhansl-Kessler profiles, as used by music21.analysis.discrete.KrumhanslSchmuckler
KK_MAJOR: tuple[float, ...] = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
KK_MINOR: tuple[float, ...] = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)

METRIC_KEYS: tuple[str, ...] = (
    "pitch_class_entropy", "scale_consistency", "groove_consistency", "empty_beat_rate", "polyphony",
    "notes_per_bar", "pitch_range", "n_bars", "n_notes", "key", "tempo_bpm",
)
# the numeric metrics that describe musical quality (compared between generated and real music)
QUALITY_METRICS: tuple[str, ...] = METRIC_KEYS[:7]


# ------------------------------------------------------------------ helpers
def pitched_notes(piece: Piece) -> list[Note]:
    """All non-drum notes of the piece (any order)."""
    return [n for t in piece.tracks if not t.is_drum for n in t.notes]


def all_notes(piece: Piece) -> list[Note]:
    return [n for t in piece.tracks for n in t.notes]


def bar_count(piece: Piece) -> int:
    """Number of bars of the piece.

    When ``piece.length`` lies on a bar line (generated pieces and :func:`windows` set it there) this is
    ``piece.n_bars``. Otherwise the length comes from a note ringing past the last bar line, and the bars
    are counted up to the bar holding the last onset, so a ringing tail never adds a bar.
    """
    if piece.length <= 0:
        return 0
    starts = piece.bar_starts()
    if piece.length in starts:
        return piece.n_bars
    onsets = [n.start for n in all_notes(piece)]
    return piece.bar_of(max(onsets)) + 1 if onsets else piece.n_bars


def crop_bars(piece: Piece, first: int, last: int) -> Piece:
    """Bars ``first..last`` (0-based, inclusive) as a piece whose length is exactly those bars: like
    :func:`codeplay_nb.music.slice_bars`, and notes ringing past the end are cut at it."""
    sliced = slice_bars(piece, first, last)
    start, end = piece.bar_span(first, last)
    span = end - start
    tracks = [
        Track(t.program, t.is_drum, t.name,
              tuple(Note(n.pitch, n.velocity, n.start, max(1, min(n.duration, span - n.start))) for n in t.notes))
        for t in sliced.tracks
    ]
    return sliced.replace(tracks=tuple(tracks), length=span)


def windows(piece: Piece, bars: int = 4) -> list[Piece]:
    """Consecutive, non-overlapping ``bars``-bar windows (only complete ones) over :func:`bar_count` bars,
    each cut with :func:`crop_bars` so every window is exactly ``bars`` bars long."""
    if bars < 1:
        raise CodeplayError(f"a window needs at least 1 bar, not {bars}")
    total = bar_count(piece)
    return [crop_bars(piece, i, i + bars - 1) for i in range(0, total - bars + 1, bars)]


# ------------------------------------------------------------------ pitch metrics
def pitch_class_histogram(piece: Piece) -> np.ndarray:
    """Counts of non-drum note onsets per pitch class (12 bins)."""
    hist = np.zeros(12, dtype=np.int64)
    for n in pitched_notes(piece):
        hist[n.pitch % 12] += 1
    return hist


def pitch_class_entropy(piece: Piece) -> float:
    """Shannon entropy (bits) of the onset pitch-class histogram of non-drum notes; 0.0 with no notes."""
    hist = pitch_class_histogram(piece)
    total = hist.sum()
    if total == 0:
        return 0.0
    p = hist[hist > 0] / total
    return float(-(p * np.log2(p)).sum()) + 0.0


def scale_consistency(piece: Piece) -> float:
    """Best fraction of non-drum notes inside one of the 24 major / natural-minor scales; 0.0 with no notes."""
    hist = pitch_class_histogram(piece)
    total = hist.sum()
    if total == 0:
        return 0.0
    best = 0
    for scale in (MAJOR_SCALE, MINOR_SCALE):
        for tonic in range(12):
            best = max(best, int(sum(hist[(tonic + s) % 12] for s in scale)))
    return best / int(total)


def pitch_range(piece: Piece) -> int:
    pitches = [n.pitch for n in pitched_notes(piece)]
    return max(pitches) - min(pitches) if pitches else 0


def polyphony(piece: Piece) -> float:
    """Mean number of non-drum notes sounding (``start <= t < end``) at each distinct non-drum onset time
    ``t``; 0.0 with no notes."""
    notes = pitched_notes(piece)
    if not notes:
        return 0.0
    starts = np.sort(np.array([n.start for n in notes]))
    ends = np.sort(np.array([n.end for n in notes]))
    times = np.unique(starts)
    sounding = np.searchsorted(starts, times, side="right") - np.searchsorted(ends, times, side="right")
    return float(sounding.mean())


def notes_per_bar(piece: Piece) -> float:
    """Non-drum notes divided by :func:`bar_count` (0.0 for an empty piece)."""
    bars = bar_count(piece)
    return len(pitched_notes(piece)) / bars if bars else 0.0


# ------------------------------------------------------------------ rhythm metrics
def _quantise(tick: int, tpq: int) -> int:
    """Tick -> step on the 12-steps-per-quarter grid, rounding half up (integer arithmetic, exact)."""
    return (2 * STEPS_PER_QUARTER * tick + tpq) // (2 * tpq)


def bar_onset_steps(piece: Piece) -> list[tuple[int, set[int]]]:
    """``(bar length in steps, set of onset steps)`` for each bar from the first to the last bar holding
    an onset (all tracks, drums included), on the 12-steps-per-quarter grid."""
    onsets = sorted({n.start for n in all_notes(piece)})
    if not onsets:
        return []
    starts = [_quantise(t, piece.tpq) for t in piece.bar_starts(until=onsets[-1] + piece.tpq)]
    bars: dict[int, set[int]] = {}
    for t in onsets:
        step = _quantise(t, piece.tpq)
        i = bisect.bisect_right(starts, step) - 1
        bars.setdefault(i, set()).add(step - starts[i])
    first, last = min(bars), max(bars)
    return [(starts[i + 1] - starts[i], bars.get(i, set())) for i in range(first, last + 1)]


def groove_consistency(piece: Piece) -> float:
    """1 - mean Hamming distance between consecutive bars' onset vectors (see the module docstring)."""
    bars = bar_onset_steps(piece)
    if len(bars) < 2:
        return 1.0
    dists = []
    for (len_a, a), (len_b, b) in pairwise(bars):
        dists.append(len(a ^ b) / max(len_a, len_b, 1))
    return 1.0 - sum(dists) / len(dists)


def beat_spans(piece: Piece) -> list[tuple[int, int]]:
    """``[start, end)`` tick spans of the quarter-note beats of the :func:`bar_count` bars: each bar is cut
    into beats of one quarter note from its start; a bar that is not a whole number of quarters (7/8)
    ends with a shorter beat."""
    n = bar_count(piece)
    if n == 0:
        return []
    starts = piece.bar_starts()
    if len(starts) < n + 1:
        starts = piece.bar_starts(until=piece.bar_span(n - 1)[1])
    spans = []
    for i in range(n):
        b0, b1 = starts[i], starts[i + 1]
        for t in range(b0, b1, piece.tpq):
            spans.append((t, min(t + piece.tpq, b1)))
    return spans


def empty_beat_rate(piece: Piece) -> float:
    """Fraction of the beats of :func:`beat_spans` during which no note at all sounds.

    A beat ``[b0, b1)`` is *not* empty when some note of any track (drums included) overlaps it:
    ``note.start < b1 and note.end > b0``; a note held over from an earlier beat counts. 0.0 for a piece
    with no bars.
    """
    spans = beat_spans(piece)
    if not spans:
        return 0.0
    beat_starts = np.array([s for s, _ in spans])
    beat_ends = np.array([e for _, e in spans])
    covered = np.zeros(len(spans) + 1, dtype=np.int64)
    for n in all_notes(piece):
        first = int(np.searchsorted(beat_ends, n.start, side="right"))  # first beat ending after the onset
        last = int(np.searchsorted(beat_starts, n.end, side="left")) - 1  # last beat starting before the end
        if first <= last:
            covered[first] += 1
            covered[last + 1] -= 1
    sounding = np.cumsum(covered)[:-1] > 0
    return int((~sounding).sum()) / len(spans)


# ------------------------------------------------------------------ key and tempo
def pitch_class_durations(piece: Piece) -> np.ndarray:
    """Sum of non-drum note durations per pitch class, in quarter notes (what key finding weighs)."""
    dist = np.zeros(12, dtype=np.float64)
    for n in pitched_notes(piece):
        dist[n.pitch % 12] += n.duration / piece.tpq
    return dist


def _key_name(pc: int, mode: str) -> str:
    return f"{PITCH_CLASSES[pc % 12]} {mode}"


def estimate_key_numpy(piece: Piece) -> str | None:
    """Krumhansl-Schmuckler key finding in numpy: Pearson correlation of the duration-weighted
    pitch-class distribution with the 24 rotated Krumhansl-Kessler profiles; ``None`` with no notes."""
    dist = pitch_class_durations(piece)
    if dist.sum() <= 0:
        return None
    scores = []
    for mode, profile in (("major", KK_MAJOR), ("minor", KK_MINOR)):
        prof = np.array(profile)
        for tonic in range(12):
            rotated = np.roll(prof, tonic)  # rotated[j] = profile[(j - tonic) % 12]
            r = np.corrcoef(dist, rotated)[0, 1] if dist.std() > 0 else 0.0
            scores.append((float(r), tonic, mode))
    best = max(scores, key=lambda s: s[0])
    return _key_name(best[1], best[2])


def _distribution_stream(dist: np.ndarray):
    """A music21 stream of one note per sounding pitch class holding its summed duration: the key analyses
    read only this distribution, so they answer as on the whole piece (~100x faster)."""
    from music21 import note, stream

    s = stream.Stream()
    for pc in range(12):
        if dist[pc] > 0:
            n = note.Note(60 + pc)
            n.quarterLength = round(float(dist[pc]), 4) or 0.0001
            s.append(n)
    return s


def music21_keys(piece: Piece, methods: Sequence[str] = ("key.krumhansl",)) -> dict[str, str | None]:
    """``{method: key}`` for music21 key-analysis method names as ``Stream.analyze`` takes them (``"key"``:
    music21's default, the Aarden-Essen weights; ``"key.krumhansl"``; ``"key.temperley"`` ...), spelled as
    :data:`codeplay_nb.attributes.KEYS`; ``None`` values with no pitched notes. Same answer as
    ``stream.analyze(method)``, without building the 23 alternative ``Key`` objects ``analyze`` makes."""
    dist = pitch_class_durations(piece)
    if dist.sum() <= 0:
        return dict.fromkeys(methods)
    from music21.analysis import discrete

    s = _distribution_stream(dist)
    out = {}
    for method in methods:
        (tonic, mode, _), _ = discrete.analysisClassFromMethodName(method)().process(s)
        name = _key_name(int(tonic.pitchClass), str(mode))
        out[method] = name if name in KEYS else None
    return out


def estimate_key(piece: Piece) -> str | None:
    """The key (``"A minor"`` style, spelled as :data:`codeplay_nb.attributes.KEYS`) of the non-drum notes,
    by music21's Krumhansl-Schmuckler analysis (``analysis.discrete.KrumhanslSchmuckler``, via
    :func:`music21_keys`); ``None`` when the piece has no pitched notes. If music21 fails,
    :func:`estimate_key_numpy` (same profiles and correlation) answers."""
    if pitch_class_durations(piece).sum() <= 0:
        return None
    try:
        name = music21_keys(piece)["key.krumhansl"]
        if name is None:  # pragma: no cover - music21 only answers major/minor here
            raise ValueError(name)
        return name
    except Exception:  # music21 missing or failing: same analysis in numpy
        return estimate_key_numpy(piece)


def tempo_bpm(piece: Piece) -> float:
    """Average tempo in quarter notes per minute over the piece (the tempo itself when it never changes)."""
    if len(piece.tempos) == 1 or piece.length <= 0:
        return float(piece.tempos[0].qpm)
    secs = piece.seconds(piece.length)
    return float(piece.length / piece.tpq / (secs / 60.0)) if secs > 0 else float(piece.tempos[0].qpm)


# ------------------------------------------------------------------ control accuracy
def families_present(piece: Piece) -> set[str]:
    """Instrument families (``codeplay_nb.instruments``) of the tracks that hold at least one note."""
    return {family_of_program(t.program, t.is_drum) for t in piece.tracks if t.notes}


def _requested_bin(requested: float | int | str) -> str:
    if isinstance(requested, str):
        s = requested.strip().lower().replace(" ", "_").replace("-", "_")
        if s in TEMPO_BINS:
            return s
        try:
            return tempo_bin(float(s))
        except ValueError:
            raise CodeplayError(
                f"unknown tempo {requested!r}: give a BPM number or one of {', '.join(TEMPO_BINS)}"
            ) from None
    return tempo_bin(float(requested))


def tempo_bin_match(piece: Piece, requested: float | int | str) -> bool:
    """Whether the piece's tempo (:func:`tempo_bpm`) falls in the requested tempo bin (a BPM number, whose
    bin is taken, or a bin name such as ``"fast"``)."""
    return tempo_bin(tempo_bpm(piece)) == _requested_bin(requested)


def key_match(piece: Piece, requested_key: str) -> bool:
    """Whether :func:`estimate_key` equals the requested key exactly (tonic and mode)."""
    return estimate_key(piece) == normalize_key(requested_key)


def instrument_match(piece: Piece, requested: str | Iterable[str]) -> bool:
    """Every requested family is present with notes, and no other family is."""
    return families_present(piece) == set(parse_instruments(requested))


def bar_count_match(piece: Piece, n: int) -> bool:
    return bar_count(piece) == n


# ------------------------------------------------------------------ chords
def chord_adherence(piece: Piece, chords: Sequence[str | None]) -> float | None:
    """Share of non-drum notes whose pitch class belongs to the chord requested for the bar the note starts
    in: ``chords[i]`` is bar ``i``'s symbol (``"Am"``, ``"F#m7"``, Harte ``"A:min7"`` ...), read by
    :mod:`codeplay_nb.chords` into the chord label the model is conditioned on, so a note is a chord tone
    when it is in that label's pitch classes. Bars without a chord (``None``, ``"N"``, ``"?"``) or past the
    list are not counted; ``None`` when no note starts in a bar with a chord."""
    from .chords import chord_pitch_classes, harte_to_label, parse_chord

    def pcs(symbol: str | None) -> frozenset[int]:
        if symbol is None:
            return frozenset()
        return chord_pitch_classes(harte_to_label(symbol) if ":" in symbol else parse_chord(symbol))

    sets = [pcs(c) for c in chords]
    starts = piece.bar_starts(until=max(piece.length, 1))
    inside = total = 0
    for n in pitched_notes(piece):
        bar = bisect.bisect_right(starts, n.start) - 1
        if 0 <= bar < len(sets) and sets[bar]:
            total += 1
            inside += (n.pitch % 12) in sets[bar]
    return inside / total if total else None


# ------------------------------------------------------------------ all together
def compute_metrics(piece: Piece) -> dict:
    """Every metric of the module docstring as a JSON-able dict (keys :data:`METRIC_KEYS`)."""
    return {
        "pitch_class_entropy": pitch_class_entropy(piece),
        "scale_consistency": scale_consistency(piece),
        "groove_consistency": groove_consistency(piece),
        "empty_beat_rate": empty_beat_rate(piece),
        "polyphony": polyphony(piece),
        "notes_per_bar": notes_per_bar(piece),
        "pitch_range": pitch_range(piece),
        "n_bars": bar_count(piece),
        "n_notes": piece.n_notes,
        "key": estimate_key(piece),
        "tempo_bpm": round(tempo_bpm(piece), 4),
    }


def summarize(values: Sequence[float]) -> dict:
    """``{"mean", "std", "n"}`` (population standard deviation) of finite values; NaN-free JSON."""
    vals = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not vals:
        return {"mean": None, "std": None, "n": 0}
    arr = np.array(vals)
    return {"mean": float(arr.mean()), "std": float(arr.std()), "n": len(vals)}


__all__ = [
    "METRIC_KEYS", "QUALITY_METRICS", "bar_count", "bar_count_match", "beat_spans",
    "chord_adherence", "compute_metrics", "crop_bars", "empty_beat_rate", "estimate_key", "estimate_key_numpy",
    "families_present", "groove_consistency", "instrument_match", "key_match", "music21_keys", "notes_per_bar",
    "pitch_class_entropy", "pitch_range", "polyphony", "scale_consistency", "summarize", "tempo_bin_match",
    "tempo_bpm", "windows",
]
