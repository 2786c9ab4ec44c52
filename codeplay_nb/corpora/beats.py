"""Put a performance-timed piece on its annotated beats: every annotated beat becomes exactly one beat of
the score grid, bar lines fall on the annotated downbeats, and the tempo map follows the beat spacing.

Used by the POP909 loader (``beat_midi.txt``) and usable for any source with beat annotations.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..music import KeySignature, Note, Piece, Tempo, TimeSignature, Track

OUT_TPQ = 480
TEMPO_CHANGE_RATIO = 0.06  # a new tempo event only when the bar's tempo moves this much (relative)


@dataclass(frozen=True)
class BeatGrid:
    """Annotated beat times (seconds, increasing) and the indices of the beats that start a bar.
    ``beat_quarters`` is a beat's length in quarter notes (1 for n/4, 1.5 for compound n/8)."""

    times: np.ndarray
    downbeats: tuple[int, ...]
    beat_quarters: float = 1.0

    def __post_init__(self) -> None:
        t = np.asarray(self.times, dtype=np.float64)
        if t.ndim != 1 or len(t) < 2 or np.any(np.diff(t) <= 0):
            raise ValueError("beat times must be at least two increasing values")
        object.__setattr__(self, "times", t)
        if not self.downbeats:
            object.__setattr__(self, "downbeats", (0,))


def tick_seconds(piece: Piece, ticks: np.ndarray) -> np.ndarray:
    """Seconds at many ticks under the piece's tempo map (vectorised)."""
    times = np.array([tp.time for tp in piece.tempos], dtype=np.float64)
    per_tick = np.array([60.0 / (tp.qpm * piece.tpq) for tp in piece.tempos])
    starts = np.concatenate([[0.0], np.cumsum(np.diff(times) * per_tick[:-1])])
    idx = np.clip(np.searchsorted(times, ticks, side="right") - 1, 0, len(times) - 1)
    return starts[idx] + (ticks - times[idx]) * per_tick[idx]


def beat_position(grid: BeatGrid, seconds: np.ndarray) -> np.ndarray:
    """Fractional beat index at ``seconds``; linear inside the annotation, extrapolated with the first /
    last beat length outside it."""
    t = grid.times
    pos = np.interp(seconds, t, np.arange(len(t), dtype=np.float64))
    before = seconds < t[0]
    after = seconds > t[-1]
    pos[before] = (seconds[before] - t[0]) / (t[1] - t[0])
    pos[after] = len(t) - 1 + (seconds[after] - t[-1]) / (t[-1] - t[-2])
    return pos


def _bar_meters(grid: BeatGrid, beats_per_bar: int) -> list[tuple[int, int]]:
    """(first beat index, beats in bar) for every bar from the first downbeat; bars of odd length (a
    missing or extra beat in the annotation) keep their length."""
    downs = sorted(d for d in set(grid.downbeats) if 0 <= d < len(grid.times))
    bars = [(a, b - a) for a, b in itertools.pairwise(downs) if b > a]
    last = downs[-1]
    tail = len(grid.times) - last
    bars.append((last, max(beats_per_bar, tail)))
    return bars


def _meter(beats: int, beat_quarters: float) -> tuple[int, int]:
    if beat_quarters == 1.5:
        return beats * 3, 8
    return beats, 4


def warp_to_beats(piece: Piece, grid: BeatGrid, beats_per_bar: int,
                  events: Sequence[float] = ()) -> tuple[Piece, list[int]]:
    """``piece`` re-timed so annotated beat ``i`` (counted from the first downbeat) sits at a whole beat.
    Beats before the first downbeat become a pickup bar (a full bar whose start is empty); notes before it
    are dropped. Also returns the ticks of ``events`` (seconds: chord changes, key changes) on the new grid.
    """
    beat_ticks = round(OUT_TPQ * grid.beat_quarters)
    bars = _bar_meters(grid, beats_per_bar)
    d0 = bars[0][0]
    pickup = beats_per_bar if d0 > 0 else 0  # beats added before the first downbeat

    def to_ticks(pos: np.ndarray) -> np.ndarray:
        return np.rint((pos - d0 + pickup) * beat_ticks).astype(np.int64)

    tracks = []
    for tr in piece.tracks:
        if not tr.notes:
            continue
        starts = np.array([n.start for n in tr.notes], dtype=np.float64)
        ends = np.array([n.end for n in tr.notes], dtype=np.float64)
        s_t = to_ticks(beat_position(grid, tick_seconds(piece, starts)))
        e_t = to_ticks(beat_position(grid, tick_seconds(piece, ends)))
        notes = [Note(n.pitch, n.velocity, int(s), max(int(e - s), 1))
                 for n, s, e in zip(tr.notes, s_t, e_t, strict=True) if s >= 0]
        tracks.append(Track(tr.program, tr.is_drum, tr.name, tuple(sorted(notes, key=lambda n: (n.start, n.pitch)))))

    # meter: one event per change of bar length; tempo: from each bar's mean beat length
    ts_events: list[TimeSignature] = []
    tempos: list[Tempo] = []
    t = grid.times
    mean_beat = float(np.median(np.diff(t)))
    if pickup:
        num, den = _meter(beats_per_bar, grid.beat_quarters)
        ts_events.append(TimeSignature(0, num, den))
        tempos.append(Tempo(0, round(60.0 / mean_beat * grid.beat_quarters, 2)))
    for first, n_beats in bars:
        tick = int((first - d0 + pickup) * beat_ticks)
        num, den = _meter(n_beats, grid.beat_quarters)
        if not ts_events or (ts_events[-1].numerator, ts_events[-1].denominator) != (num, den):
            ts_events.append(TimeSignature(tick, num, den))
        hi = min(first + n_beats, len(t) - 1)
        span = (t[hi] - t[first]) / max(hi - first, 1) if hi > first else mean_beat
        qpm = 60.0 / span * grid.beat_quarters
        if not tempos or abs(qpm / tempos[-1].qpm - 1.0) > TEMPO_CHANGE_RATIO:
            tempos.append(Tempo(tick, round(float(qpm), 2)))
    ev_ticks = to_ticks(beat_position(grid, np.asarray(events, dtype=np.float64))).tolist() if len(events) else []
    last_bar_first, last_bar_beats = bars[-1]
    end_tick = int((last_bar_first + last_bar_beats - d0 + pickup) * beat_ticks)
    note_end = max((n.end for tr in tracks for n in tr.notes), default=0)
    # trim to whole bars: the piece ends on the bar line after its last note
    length = end_tick if note_end <= end_tick else note_end
    keys = tuple(KeySignature(0, k.key) for k in piece.key_signatures[:1])
    warped = Piece(tuple(tracks), OUT_TPQ, tuple(tempos), tuple(ts_events), keys, length)
    return warped, ev_ticks


def parse_beat_file(text: str, beats_per_measure: int, quavers_per_beat: int) -> tuple[BeatGrid, int]:
    """POP909 ``beat_midi.txt`` (time, downbeat flag, every-second-downbeat flag) -> (grid, beats per bar).

    Meter from ``index.csv``: 2 beats per measure in simple time are paired into 4/4 bars on column 3 (the
    annotation's own pairing); 3 -> 3/4 on column 2; compound time (3 quavers per beat) -> 6/8 or 9/8."""
    rows = [line.split() for line in text.splitlines() if line.strip()]
    times = np.array([float(r[0]) for r in rows])
    col2 = [i for i, r in enumerate(rows) if len(r) > 1 and float(r[1]) == 1.0]
    col3 = [i for i, r in enumerate(rows) if len(r) > 2 and float(r[2]) == 1.0]
    beat_quarters = 1.5 if quavers_per_beat == 3 else 1.0
    if beats_per_measure == 2 and quavers_per_beat != 3 and col3:
        downs, per_bar = col3, 4
    else:
        downs, per_bar = col2, beats_per_measure
    keep = np.concatenate([[True], np.diff(times) > 1e-6])  # drop duplicated beat times
    if not keep.all():
        remap = np.cumsum(keep) - 1
        times = times[keep]
        downs = sorted({int(remap[d]) for d in downs})
    return BeatGrid(times, tuple(downs), beat_quarters), per_bar


def double_time(grid: BeatGrid, beats_per_bar: int) -> BeatGrid:
    """The same annotation counted twice as fast: a beat between every two annotated beats, and every
    annotated bar split into two bars (its annotated downbeat stays a bar line)."""
    t = grid.times
    mids = (t[:-1] + t[1:]) / 2
    times = np.empty(len(t) + len(mids))
    times[0::2], times[1::2] = t, mids
    downs = set()
    for d in grid.downbeats:
        downs.add(2 * d)
        if 2 * d + beats_per_bar < len(times):
            downs.add(2 * d + beats_per_bar)
    return BeatGrid(times, tuple(sorted(downs)), grid.beat_quarters)


def off_grid_share(starts: Sequence[int], tpq: int, division: int = 2, tolerance_quarters: float = 1 / 24) -> float:
    """Share of onsets farther than ``tolerance_quarters`` from the 1/``division``-quarter grid."""
    if not len(starts):
        return 0.0
    q = tpq / division
    r = np.mod(np.asarray(starts, dtype=np.float64), q)
    return float(np.mean(np.minimum(r, q - r) > tpq * tolerance_quarters))


def _matched_onsets(original: Piece, warped: Piece) -> tuple[np.ndarray, np.ndarray]:
    """(original onset ticks, warped onset ticks) of the notes both pieces hold: tracks with notes in
    order, notes of one pitch matched from the end (the warp keeps their order and may drop early ones)."""
    orig = [t for t in original.tracks if t.notes]
    warp = [t for t in warped.tracks if t.notes]
    a: list[int] = []
    b: list[int] = []
    for to, tw in zip(orig, warp, strict=False):
        by_pitch: dict[int, list[int]] = {}
        for n in to.notes:
            by_pitch.setdefault(n.pitch, []).append(n.start)
        for p, ws in itertools.groupby(sorted((n.pitch, n.start) for n in tw.notes), key=lambda x: x[0]):
            wl = [s for _, s in ws]
            ol = by_pitch.get(p, [])
            k = min(len(ol), len(wl))
            a += ol[len(ol) - k:]
            b += wl[len(wl) - k:]
    return np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)


def bar_line_error(original: Piece, warped: Piece, grid: BeatGrid) -> float | None:
    """How far the bar lines of ``warped`` lie from the annotated downbeats of ``grid``, in annotated beats,
    measured without trusting the warp: notes matched between the performance and ``warped`` give the map
    from the warped piece's beats to annotated beats (slope 1, or 2 for pieces counted in double time, and
    an offset). Returns the larger of (a) the distance from each annotated downbeat inside the notes' span
    to the nearest bar line and (b) the distance from each bar line there to the nearest annotated downbeat
    (to the nearest half beat for double time). ``None`` when fewer than two notes match."""
    a, b = _matched_onsets(original, warped)
    if len(a) < 2:
        return None
    p = beat_position(grid, tick_seconds(original, a))  # annotated beats
    wb = b / (warped.tpq * grid.beat_quarters)  # warped beats
    best = None
    for r in (1.0, 2.0):
        o = wb - r * p
        spread = float(np.median(np.abs(o - np.median(o))))
        if best is None or spread < best[0]:
            best = (spread, r, float(np.median(o)))
    _, r, off = best
    bars = (np.asarray(warped.bar_starts(), dtype=np.float64) / (warped.tpq * grid.beat_quarters) - off) / r
    downs = np.asarray(sorted(set(grid.downbeats)), dtype=np.float64)
    lo, hi = max(float(p.min()), downs[0]) - 1e-9, min(float(p.max()), downs[-1]) + 1e-9
    d_in = downs[(downs >= lo) & (downs <= hi)]
    b_in = bars[(bars >= lo) & (bars <= hi)]
    err = 0.0
    if len(d_in):
        err = max(err, float(np.max(np.min(np.abs(d_in[:, None] - bars[None, :]), axis=1))))
    if len(b_in):
        if r == 1.0:
            err = max(err, float(np.max(np.min(np.abs(b_in[:, None] - downs[None, :]), axis=1))))
        else:
            err = max(err, float(np.max(np.abs(b_in * 2 - np.rint(b_in * 2)) / 2)))
    return err


GRID_DIVISIONS = (4, 3)  # 16th notes, 8th-note triplets: the grids human timing is snapped to


def off_grids_share(starts: Sequence[int], tpq: int, divisions: Sequence[int] = GRID_DIVISIONS,
                    tolerance_quarters: float = 1 / 24) -> float:
    """Share of onsets off every one of the 1/d-quarter grids (by more than ``tolerance_quarters``): near 0
    for a quantised score (straight or triplet), about half or more for music without a beat grid."""
    if not len(starts):
        return 0.0
    s = np.asarray(starts, dtype=np.float64)
    off = np.ones(len(s), dtype=bool)
    for d in divisions:
        q = tpq / d
        r = np.mod(s, q)
        off &= np.minimum(r, q - r) > tpq * tolerance_quarters
    return float(np.mean(off))


def snap_to_grid(piece: Piece, divisions: Sequence[int] = GRID_DIVISIONS) -> Piece:
    """Every onset moved to the nearest point of one grid (the 1/d-quarter grid of ``divisions`` that fits
    the piece's onsets best, least mean distance): human timing around a click onto the grid the model
    writes on. Durations are kept; hits of one pitch landing on one tick are merged (the loudest kept)."""
    starts = np.asarray([n.start for t in piece.tracks for n in t.notes], dtype=np.float64)
    if not len(starts):
        return piece
    best_q, best_cost = None, None
    for d in divisions:
        q = piece.tpq / d
        r = np.mod(starts, q)
        cost = float(np.mean(np.minimum(r, q - r)))
        if best_cost is None or cost < best_cost - 1e-9:
            best_q, best_cost = q, cost
    tracks = []
    for t in piece.tracks:
        notes: dict[tuple[int, int], Note] = {}
        for n in t.notes:
            s = round(round(n.start / best_q) * best_q)
            old = notes.get((s, n.pitch))
            if old is None or n.velocity > old.velocity:
                notes[(s, n.pitch)] = Note(n.pitch, n.velocity, s, n.duration)
        tracks.append(Track(t.program, t.is_drum, t.name, tuple(sorted(notes.values(), key=lambda x: (x.start, x.pitch)))))
    return piece.replace(tracks=tuple(tracks))


def align_grid_phase(piece: Piece, min_share: float = 0.3) -> tuple[Piece, int]:
    """A piece whose notes all sit a constant few ticks off the grid (a sequencer lead-in) moved onto it:
    when a quarter or more of the onsets are off both the 16th and the triplet grid, the most common onset
    phase modulo an 8th note (shared by at least ``min_share`` of the onsets, more than 1/48 quarter from
    the grid) becomes 0, if that halves the off-grid share. Returns (piece, ticks moved)."""
    h = piece.tpq // 2
    starts = np.asarray([n.start for t in piece.tracks for n in t.notes], dtype=np.int64)
    if h < 2 or not len(starts):
        return piece, 0
    before = off_grids_share(starts, piece.tpq)
    if before < 0.25:
        return piece, 0
    w = max(1, piece.tpq // 96)
    hist = np.bincount(starts % h, minlength=h)
    pooled = sum(np.roll(hist, k) for k in range(-w, w + 1))
    r0 = int(np.argmax(pooled))
    near = [(r0 + k) % h for k in range(-w, w + 1)]
    r = max(near, key=lambda i: hist[i])  # the peak inside the best window
    if pooled[r0] < min_share * len(starts) or min(r, h - r) * 48 <= piece.tpq:
        return piece, 0
    shift = -r if r <= h // 2 else h - r
    if off_grids_share(starts + shift, piece.tpq) > before / 2:
        return piece, 0
    tracks = tuple(Track(t.program, t.is_drum, t.name,
                         tuple(Note(n.pitch, n.velocity, max(n.start + shift, 0), n.duration) for n in t.notes),
                         t.controls, t.pitch_bends) for t in piece.tracks)
    tempos = (piece.tempos[0], *(Tempo(max(e.time + shift, 1), e.qpm) for e in piece.tempos[1:]))
    return piece.replace(tracks=tracks, tempos=tempos, length=max(piece.length + shift, 1)), shift
