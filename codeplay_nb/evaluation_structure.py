"""Per-clip structure statistics for the two-sample evaluation (issue 13, part 1).

Every statistic reads a clip *after* :func:`quantise_piece` (12 steps per quarter, velocities in 8 bins), so
real and generated music are measured on the same grid. Bars are the clip's own bars (its time signatures);
"family" is :func:`codeplay_nb.instruments.family_of_program` and the table groups families as
piano / bass / drums / other (:func:`family_group`).

* ``silent_bars`` -- share of bars in which no note of any track sounds (a note held over the bar line
  counts as sounding).
* ``empty_bars`` -- per requested family group: share of bars in which no note of that group sounds; a
  requested family with no track at all is empty in every bar.
* ``off8`` -- share of note onsets (every track) whose step in its bar is not a multiple of 6 (an 8th note).
* ``drum_similarity`` -- mean Jaccard similarity of the sets of ``(step in bar, drum pitch)`` of bar ``i`` and
  bar ``i + 1``, over consecutive pairs where either bar holds drums; ``None`` without two such bars.
* ``backbeat`` -- share of snare hits (pitches 37-40) that fall exactly on beat 2 or 4, over 4/4 bars only.
* ``bass_pitch`` / ``bass_notes_per_onset`` -- mean pitch of bass-family notes; bass notes per distinct bass
  onset step.
* ``pitch_range`` -- per family group, the mean over that group's pitched tracks of highest minus lowest pitch.
* ``repetition`` -- mean Jaccard similarity of the ``(step, pitch, is_drum)`` sets of bar ``i`` and bar
  ``i + 4`` over pairs where either bar holds notes.
* ``scale_fit`` -- share of pitched notes in the requested key's scale (natural minor for minor keys).
* ``chord_tone_fit`` -- share of pitched notes that belong to the major or minor triad holding most of
  their bar's notes.
* ``chord_adherence`` -- with ``chords`` in the request (one symbol per bar): share of pitched notes in
  their bar's chord (:func:`codeplay_nb.metrics.chord_adherence`).
* ``key_default`` / ``key_krumhansl`` -- the key music21 finds with ``analyze('key')`` (Aarden-Essen
  weights, music21's default) and with Krumhansl-Schmuckler; compared with the requested key by the suite.
* ``file_length_ok`` / ``file_short`` -- the clip written to MIDI bytes and read back with mido: does the
  end of track fall on the last bar line (or one tick after it: symusic writes the end-of-track event one
  tick after the last event), or before it.
"""

from __future__ import annotations

import bisect
import io
import math
from collections.abc import Iterable, Sequence

import numpy as np

from .attributes import normalize_key, pitch_class
from .instruments import family_of_program
from .metrics import (
    MAJOR_SCALE,
    MINOR_SCALE,
    QUALITY_METRICS,
    chord_adherence,
    compute_metrics,
    music21_keys,
    pitched_notes,
)
from .music import Note, Piece, Track

STEPS = 12  # steps per quarter note of the shared grid
VELOCITY_BIN = 16  # velocities fall in 8 bins of 16, each written as its centre
GROUPS: tuple[str, ...] = ("piano", "bass", "drums", "other")
SNARES = frozenset({37, 38, 39, 40})  # side stick, acoustic snare, hand clap, electric snare
KEY_METHODS: dict[str, str] = {"key_default": "key", "key_krumhansl": "key.krumhansl"}


def family_group(family: str) -> str:
    """``"piano"``, ``"bass"``, ``"drums"`` or ``"other"``."""
    return family if family in GROUPS else "other"


def track_group(track: Track) -> str:
    return family_group(family_of_program(track.program, track.is_drum))


# ------------------------------------------------------------------ the shared grid
def _q(tick: int, tpq: int) -> int:
    return (2 * STEPS * tick + tpq) // (2 * tpq)  # round half up, exact


def quantise_velocity(v: int) -> int:
    return min(v // VELOCITY_BIN, 127 // VELOCITY_BIN) * VELOCITY_BIN + VELOCITY_BIN // 2


def quantise_piece(piece: Piece) -> Piece:
    """The piece at ``tpq = 12``: onsets, durations (at least one step), tempo/meter/key times and the
    length rounded to the nearest step; velocities to the centre of their 16-wide bin. Notes that land on
    the same step and pitch in one track merge (the longest stays)."""
    tpq = piece.tpq
    tracks = []
    for t in piece.tracks:
        best: dict[tuple[int, int], Note] = {}
        for n in t.notes:
            start = _q(n.start, tpq)
            dur = max(1, _q(n.end, tpq) - start)
            note = Note(n.pitch, quantise_velocity(n.velocity), start, dur)
            old = best.get((start, n.pitch))
            if old is None or dur > old.duration:
                best[(start, n.pitch)] = note
        tracks.append(Track(t.program, t.is_drum, t.name).with_notes(best.values()))
    return Piece(
        tuple(tracks), STEPS,
        tuple(tp.__class__(_q(tp.time, tpq), tp.qpm) for tp in piece.tempos),
        tuple(ts.__class__(_q(ts.time, tpq), ts.numerator, ts.denominator) for ts in piece.time_signatures),
        tuple(ks.__class__(_q(ks.time, tpq), ks.key) for ks in piece.key_signatures),
        length=_q(piece.length, tpq),
    )


# ------------------------------------------------------------------ bar helpers
def bar_lines(piece: Piece, bars: int) -> list[int]:
    """Start ticks of bars ``0..bars-1`` plus the end of the last one."""
    starts = piece.bar_starts(until=max(piece.length, 1))
    while len(starts) < bars + 1:
        starts = piece.bar_starts(until=starts[-1] + 1 + piece.tpq * 64)
    return starts[: bars + 1]


def _sounding_bars(notes: Iterable[Note], lines: Sequence[int]) -> set[int]:
    """Bars (indices) in which one of the notes sounds: ``start < bar end`` and ``end > bar start``."""
    out: set[int] = set()
    last = len(lines) - 2
    for n in notes:
        first = max(bisect.bisect_right(lines, n.start) - 1, 0)
        end_bar = min(bisect.bisect_left(lines, n.end) - 1, last)
        out.update(range(first, end_bar + 1))
    return out


def _bar_of(lines: Sequence[int], tick: int) -> int:
    return bisect.bisect_right(lines, tick) - 1


def _jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b)


def _pair_similarity(sets: Sequence[set], gap: int) -> float | None:
    sims = [_jaccard(a, b) for a, b in zip(sets, sets[gap:], strict=False) if a or b]
    return sum(sims) / len(sims) if sims else None


# ------------------------------------------------------------------ the statistics
def silent_bar_share(piece: Piece, bars: int) -> float:
    lines = bar_lines(piece, bars)
    sounding = _sounding_bars((n for t in piece.tracks for n in t.notes), lines)
    return 1.0 - len(sounding) / bars


def empty_bar_shares(piece: Piece, bars: int, families: Iterable[str]) -> dict[str, float]:
    """``{group: share of bars where the group is silent}`` for the groups of the requested families."""
    lines = bar_lines(piece, bars)
    out = {}
    for group in sorted({family_group(f) for f in families}, key=GROUPS.index):
        notes = [n for t in piece.tracks if track_group(t) == group for n in t.notes]
        out[group] = 1.0 - len(_sounding_bars(notes, lines)) / bars
    return out


def off8_share(piece: Piece, bars: int) -> float | None:
    """Share of note onsets (all tracks) off the 8th-note grid of their bar; ``None`` with no notes.
    The piece must be on the 12-steps-per-quarter grid (:func:`quantise_piece`)."""
    lines = bar_lines(piece, bars)
    onsets = [n.start for t in piece.tracks for n in t.notes if n.start < lines[-1]]
    if not onsets:
        return None
    off = sum((s - lines[_bar_of(lines, s)]) % (STEPS // 2) != 0 for s in onsets)
    return off / len(onsets)


def _bar_sets(piece: Piece, bars: int, tracks: Iterable[Track], drum_flag: bool) -> list[set]:
    lines = bar_lines(piece, bars)
    sets: list[set] = [set() for _ in range(bars)]
    for t in tracks:
        for n in t.notes:
            b = _bar_of(lines, n.start)
            if 0 <= b < bars:
                sets[b].add((n.start - lines[b], n.pitch, t.is_drum) if drum_flag else (n.start - lines[b], n.pitch))
    return sets


def drum_similarity(piece: Piece, bars: int) -> float | None:
    return _pair_similarity(_bar_sets(piece, bars, [t for t in piece.tracks if t.is_drum], False), 1)


def repetition(piece: Piece, bars: int, gap: int = 4) -> float | None:
    return _pair_similarity(_bar_sets(piece, bars, piece.tracks, True), gap)


def backbeat_share(piece: Piece, bars: int) -> float | None:
    """Share of snare hits in 4/4 bars that fall on beat 2 or 4 (exactly, on the piece's own grid)."""
    lines = bar_lines(piece, bars)
    on = total = 0
    for t in piece.tracks:
        if not t.is_drum:
            continue
        for n in t.notes:
            b = _bar_of(lines, n.start)
            if n.pitch not in SNARES or not 0 <= b < bars:
                continue
            ts = piece.time_signature_at(lines[b])
            if (ts.numerator, ts.denominator) != (4, 4):
                continue
            total += 1
            on += (n.start - lines[b]) in (piece.tpq, 3 * piece.tpq)
    return on / total if total else None


def bass_stats(piece: Piece) -> tuple[float | None, float | None]:
    """(mean bass pitch, bass notes per distinct bass onset); ``(None, None)`` without bass notes."""
    notes = [n for t in piece.tracks if track_group(t) == "bass" for n in t.notes]
    if not notes:
        return None, None
    return sum(n.pitch for n in notes) / len(notes), len(notes) / len({n.start for n in notes})


def pitch_ranges(piece: Piece) -> dict[str, float]:
    """``{group: mean over the group's pitched tracks with notes of (highest - lowest pitch)}``."""
    ranges: dict[str, list[int]] = {}
    for t in piece.tracks:
        if t.notes and not t.is_drum:
            pitches = [n.pitch for n in t.notes]
            ranges.setdefault(track_group(t), []).append(max(pitches) - min(pitches))
    return {g: sum(r) / len(r) for g, r in ranges.items()}


def key_scale(key: str) -> frozenset[int]:
    tonic, mode = normalize_key(key).split()
    return frozenset((pitch_class(tonic) + s) % 12 for s in (MAJOR_SCALE if mode == "major" else MINOR_SCALE))


def scale_fit(piece: Piece, key: str | None) -> float | None:
    notes = pitched_notes(piece)
    if not key or not notes:
        return None
    scale = key_scale(key)
    return sum(n.pitch % 12 in scale for n in notes) / len(notes)


TRIADS: tuple[frozenset[int], ...] = tuple(
    frozenset((root + i) % 12 for i in shape) for shape in ((0, 4, 7), (0, 3, 7)) for root in range(12)
)


def chord_tone_fit(piece: Piece, bars: int) -> float | None:
    """Share of pitched notes inside the triad (24 major/minor) holding the most notes of their bar."""
    lines = bar_lines(piece, bars)
    per_bar: list[list[int]] = [[0] * 12 for _ in range(bars)]
    for n in pitched_notes(piece):
        b = _bar_of(lines, n.start)
        if 0 <= b < bars:
            per_bar[b][n.pitch % 12] += 1
    total = sum(map(sum, per_bar))
    if not total:
        return None
    fit = sum(max(sum(hist[pc] for pc in triad) for triad in TRIADS) for hist in per_bar)
    return fit / total


def estimate_keys(piece: Piece) -> dict[str, str | None]:
    """``{"key_default": music21 analyze('key') (Aarden-Essen weights), "key_krumhansl":
    analyze('key.krumhansl')}`` (:func:`codeplay_nb.metrics.music21_keys`)."""
    keys = music21_keys(piece, tuple(KEY_METHODS.values()))
    return {name: keys[method] for name, method in KEY_METHODS.items()}


def file_length(piece: Piece, bars: int) -> tuple[int, int]:
    """(last event tick of the written MIDI file, tick of the last bar line), both in the file's ticks."""
    import mido

    from .io import midi_bytes

    mid = mido.MidiFile(file=io.BytesIO(midi_bytes(piece)))
    end = max((sum(m.time for m in tr) for tr in mid.tracks), default=0)
    expected = bar_lines(piece, bars)[-1] * mid.ticks_per_beat // piece.tpq
    return end, expected


# ------------------------------------------------------------------ one clip
def clip_statistics(piece: Piece, bars: int, request: dict, *, written: Piece | None = None) -> dict:
    """Every statistic of the module docstring for one clip (``piece`` already quantised and cut to
    ``bars`` bars). ``request`` gives the families (``instruments``) and ``key``; ``written`` (the whole
    generated piece as composed) adds the file-length check."""
    families = request.get("instruments") or sorted({family_of_program(t.program, t.is_drum) for t in piece.tracks if t.notes})
    bass_pitch, bass_npo = bass_stats(piece)
    stats = {
        "silent_bars": silent_bar_share(piece, bars),
        "empty_bars": empty_bar_shares(piece, bars, families),
        "off8": off8_share(piece, bars),
        "drum_similarity": drum_similarity(piece, bars),
        "backbeat": backbeat_share(piece, bars),
        "bass_pitch": bass_pitch,
        "bass_notes_per_onset": bass_npo,
        "pitch_range": pitch_ranges(piece),
        "repetition": repetition(piece, bars),
        "scale_fit": scale_fit(piece, request.get("key")),
        "chord_tone_fit": chord_tone_fit(piece, bars),
        "chord_adherence": chord_adherence(piece, request["chords"]) if request.get("chords") else None,
        **estimate_keys(piece),
        "file_length_ok": None,
        "file_short": None,
    }
    if written is not None:
        end, expected = file_length(written, bars)
        stats["file_length_ok"], stats["file_short"] = expected <= end <= expected + 1, end < expected
    return stats


# ------------------------------------------------------------------ features for the classifiers
IMPUTED = ("drum_similarity", "backbeat", "bass_pitch", "bass_notes_per_onset", "repetition", "off8", "chord_tone_fit")
FEATURE_NAMES: tuple[str, ...] = (
    *QUALITY_METRICS, "silent_bars", "empty_bars_mean", *IMPUTED, *(f"has_{f}" for f in IMPUTED),
    "quarter_share", "sixteenth_share", "onsets_per_bar", "notes_per_onset", "pitch_mean", "pitch_std",
    "top_interval", "velocity_mean", "velocity_std", "log_duration_mean", "log_duration_std",
    "group_range_mean",
)


VELOCITY_FEATURES = ("velocity_mean", "velocity_std")


def comparable_features(real_rows) -> list[int]:
    """Indices of :data:`FEATURE_NAMES` the two-sample test compares. A corpus whose every real window plays
    one velocity level (Nottingham's files: velocity 88 throughout) has no dynamics to compare, so the velocity
    features are left out: they would tell the corpus's velocity resolution, not the music (a trivial tell,
    like the quantisation grid)."""
    std = FEATURE_NAMES.index("velocity_std")
    values = [r[std] for r in real_rows if r[std] is not None and not math.isnan(r[std])]
    flat = bool(values) and max(values) == 0
    return [i for i, name in enumerate(FEATURE_NAMES) if not (flat and name in VELOCITY_FEATURES)]


def clip_features(piece: Piece, bars: int, stats: dict) -> list[float]:
    """The per-clip feature vector (:data:`FEATURE_NAMES`; ``nan`` where a statistic has no value, with a
    ``has_*`` flag) both classifiers read. Nothing in it depends on the grid or velocity resolution,
    tempo or the number of tracks (families are merged for the range)."""
    m = compute_metrics(piece)
    lines = bar_lines(piece, bars)
    notes = [n for t in piece.tracks for n in t.notes if n.start < lines[-1]]
    pitched = [n for n in pitched_notes(piece) if n.start < lines[-1]]
    pos = [(n.start - lines[_bar_of(lines, n.start)]) for n in notes]
    onsets = {n.start for n in notes}
    empty = list(stats["empty_bars"].values())
    by_time: dict[int, int] = {}
    for n in pitched:
        by_time[n.start] = max(by_time.get(n.start, 0), n.pitch)
    top = [by_time[t] for t in sorted(by_time)]
    groups: dict[str, list[int]] = {}
    for t in piece.tracks:
        if not t.is_drum:
            groups.setdefault(track_group(t), []).extend(n.pitch for n in t.notes)
    g_ranges = [max(p) - min(p) for p in groups.values() if p]

    def stat(values, fn):
        return float(fn(values)) if len(values) else float("nan")

    imputed = [float("nan") if stats[f] is None else float(stats[f]) for f in IMPUTED]
    return [
        *(float(m[k]) for k in QUALITY_METRICS),
        stats["silent_bars"], stat(empty, np.mean), *imputed, *(float(stats[f] is not None) for f in IMPUTED),
        stat([p % STEPS == 0 for p in pos], np.mean), stat([p % 3 == 0 and p % 6 != 0 for p in pos], np.mean),
        len(onsets) / bars, len(notes) / max(len(onsets), 1),
        stat([n.pitch for n in pitched], np.mean), stat([n.pitch for n in pitched], np.std),
        stat(np.abs(np.diff(top)), np.mean) if len(top) > 1 else float("nan"),
        stat([n.velocity for n in notes], np.mean), stat([n.velocity for n in notes], np.std),
        stat([np.log(n.duration) for n in notes], np.mean), stat([np.log(n.duration) for n in notes], np.std),
        stat(g_ranges, np.mean),
    ]


__all__ = [
    "FEATURE_NAMES",
    "GROUPS",
    "backbeat_share",
    "bass_stats",
    "chord_tone_fit",
    "clip_features",
    "clip_statistics",
    "comparable_features",
    "drum_similarity",
    "empty_bar_shares",
    "estimate_keys",
    "family_group",
    "file_length",
    "off8_share",
    "pitch_ranges",
    "quantise_piece",
    "quantise_velocity",
    "repetition",
    "scale_fit",
    "silent_bar_share",
]
