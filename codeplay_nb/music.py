"""The one core type for a piece of music: integer ticks, explicit ticks-per-quarter, exact bar arithmetic.

Every part of the package (tokenizers, datasets, models, editing, piano roll, audio) consumes and returns
:class:`Piece`. All values are immutable; operations return new pieces.
Bars are numbered from 0 inside the package; user-facing APIs (CLI, ``edit``) count from 1 as musicians do.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from .errors import BarRangeError, CodeplayError

DEFAULT_TPQ = 480


@dataclass(frozen=True, slots=True)
class Note:
    """A note: MIDI pitch 0-127, velocity 1-127, start and duration in ticks."""

    pitch: int
    velocity: int
    start: int
    duration: int

    @property
    def end(self) -> int:
        return self.start + self.duration


@dataclass(frozen=True, slots=True)
class ControlChange:
    time: int
    number: int
    value: int


@dataclass(frozen=True, slots=True)
class PitchBend:
    time: int
    value: int


@dataclass(frozen=True, slots=True)
class Tempo:
    """Tempo in quarter notes per minute starting at ``time`` (ticks)."""

    time: int
    qpm: float


@dataclass(frozen=True, slots=True)
class TimeSignature:
    time: int
    numerator: int
    denominator: int

    def bar_ticks(self, tpq: int) -> int:
        return self.numerator * tpq * 4 // self.denominator


@dataclass(frozen=True, slots=True)
class KeySignature:
    """A key such as ``"A minor"`` starting at ``time``."""

    time: int
    key: str


@dataclass(frozen=True)
class Track:
    """One instrument: General MIDI ``program`` (0-127), ``is_drum`` for channel 10, notes sorted by start."""

    program: int = 0
    is_drum: bool = False
    name: str = ""
    notes: tuple[Note, ...] = ()
    controls: tuple[ControlChange, ...] = ()
    pitch_bends: tuple[PitchBend, ...] = ()

    def with_notes(self, notes: Iterable[Note]) -> Track:
        return replace(self, notes=tuple(sorted(notes, key=_note_key)))

    @property
    def label(self) -> str:
        """A human name: the track name, else the instrument name."""
        from .instruments import program_name

        return self.name or ("Drums" if self.is_drum else program_name(self.program))


def _note_key(n: Note) -> tuple[int, int, int, int]:
    return (n.start, n.pitch, n.duration, n.velocity)


@dataclass(frozen=True)
class Piece:
    """A multi-track piece in integer ticks.

    ``length`` is the end of the piece in ticks (at least the end of the last note; generated pieces set
    it to the end of their last bar so silent trailing bars count).
    """

    tracks: tuple[Track, ...] = ()
    tpq: int = DEFAULT_TPQ
    tempos: tuple[Tempo, ...] = (Tempo(0, 120.0),)
    time_signatures: tuple[TimeSignature, ...] = (TimeSignature(0, 4, 4),)
    key_signatures: tuple[KeySignature, ...] = ()
    length: int = 0

    def __post_init__(self) -> None:
        if self.tpq <= 0:
            raise CodeplayError(f"ticks per quarter must be positive, not {self.tpq}")
        if not self.tempos:
            object.__setattr__(self, "tempos", (Tempo(0, 120.0),))
        if not self.time_signatures:
            object.__setattr__(self, "time_signatures", (TimeSignature(0, 4, 4),))
        if self.time_signatures[0].time != 0:
            first = self.time_signatures[0]
            object.__setattr__(
                self,
                "time_signatures",
                (TimeSignature(0, first.numerator, first.denominator), *self.time_signatures),
            )
        if self.tempos[0].time != 0:
            object.__setattr__(self, "tempos", (Tempo(0, self.tempos[0].qpm), *self.tempos))
        note_end = max((n.end for t in self.tracks for n in t.notes), default=0)
        if self.length < note_end:
            object.__setattr__(self, "length", note_end)

    # ---------------------------------------------------------------- bars
    def bar_starts(self, until: int | None = None) -> list[int]:
        """Start ticks of every bar covering ``[0, until)`` (default: the piece length), plus the end tick
        of the last bar. A time-signature change that does not fall on a bar line starts a new bar."""
        until = self.length if until is None else until
        until = max(until, 1)
        starts: list[int] = []
        sigs = self.time_signatures
        for i, ts in enumerate(sigs):
            seg_end = sigs[i + 1].time if i + 1 < len(sigs) else None
            bar = max(ts.bar_ticks(self.tpq), 1)
            t = ts.time
            while (seg_end is None or t < seg_end) and t < until:
                starts.append(t)
                t += bar
            if seg_end is None or seg_end >= until:
                starts.append(t if seg_end is None else min(t, seg_end))
                break
        if not starts:
            starts = [0, max(sigs[0].bar_ticks(self.tpq), 1)]
        return starts

    @property
    def n_bars(self) -> int:
        return max(len(self.bar_starts()) - 1, 0) if self.length > 0 else 0

    def bar_span(self, first: int, last: int | None = None) -> tuple[int, int]:
        """Tick span ``[start, end)`` of bars ``first..last`` (0-based, inclusive); bars past the end of
        the piece continue in the last time signature."""
        last = first if last is None else last
        if first < 0 or last < first:
            raise BarRangeError(f"bad bar range {first + 1}-{last + 1}: bars count from 1 and go forwards")
        starts = self.bar_starts(until=self._ticks_for_bars(last + 1))
        return starts[first], starts[last + 1]

    def _ticks_for_bars(self, n: int) -> int:
        starts = self.bar_starts()
        if n < len(starts):
            return starts[n - 1] + 1 if n > 0 else 1
        ts = self.time_signatures[-1]
        extra = n - (len(starts) - 1)
        return starts[-1] + extra * max(ts.bar_ticks(self.tpq), 1)

    def bar_of(self, tick: int) -> int:
        """0-based bar index containing ``tick``."""
        starts = self.bar_starts(until=tick + 1)
        return max(bisect.bisect_right(starts, tick) - 1, 0)

    def time_signature_at(self, tick: int) -> TimeSignature:
        times = [ts.time for ts in self.time_signatures]
        return self.time_signatures[max(bisect.bisect_right(times, tick) - 1, 0)]

    def tempo_at(self, tick: int) -> float:
        times = [t.time for t in self.tempos]
        return self.tempos[max(bisect.bisect_right(times, tick) - 1, 0)].qpm

    def key_at(self, tick: int) -> str | None:
        if not self.key_signatures:
            return None
        times = [k.time for k in self.key_signatures]
        i = bisect.bisect_right(times, tick) - 1
        return self.key_signatures[max(i, 0)].key

    # ---------------------------------------------------------------- time
    def seconds(self, tick: int) -> float:
        """Seconds at ``tick`` under the tempo map."""
        secs = 0.0
        tempos = self.tempos
        for i, tp in enumerate(tempos):
            nxt = tempos[i + 1].time if i + 1 < len(tempos) else None
            if nxt is not None and nxt <= tick:
                secs += (nxt - tp.time) * 60.0 / (tp.qpm * self.tpq)
            else:
                secs += (tick - tp.time) * 60.0 / (tp.qpm * self.tpq)
                break
        return secs

    def tick_at_seconds(self, secs: float) -> int:
        """Inverse of :meth:`seconds` (rounded to the nearest tick)."""
        acc = 0.0
        tempos = self.tempos
        for i, tp in enumerate(tempos):
            nxt = tempos[i + 1].time if i + 1 < len(tempos) else None
            per_tick = 60.0 / (tp.qpm * self.tpq)
            if nxt is not None:
                seg = (nxt - tp.time) * per_tick
                if acc + seg <= secs:
                    acc += seg
                    continue
            return round(tp.time + (secs - acc) / per_tick)
        return 0

    @property
    def duration_seconds(self) -> float:
        return self.seconds(self.length)

    # ---------------------------------------------------------------- helpers
    @property
    def n_notes(self) -> int:
        return sum(len(t.notes) for t in self.tracks)

    def with_tracks(self, tracks: Sequence[Track], length: int | None = None) -> Piece:
        return replace(self, tracks=tuple(tracks), length=self.length if length is None else length)

    def replace(self, **changes) -> Piece:
        return replace(self, **changes)


def make_piece(
    tracks: Sequence[tuple[int, bool, Sequence[tuple[int, int, int, int]]]],
    *,
    tpq: int = DEFAULT_TPQ,
    qpm: float = 120.0,
    time_signature: tuple[int, int] = (4, 4),
    length: int = 0,
) -> Piece:
    """Factory for tests and examples: ``tracks`` is ``[(program, is_drum, [(pitch, vel, start, dur), ...])]``."""
    built = tuple(
        Track(program=p, is_drum=d, notes=tuple(sorted((Note(*n) for n in notes), key=_note_key)))
        for p, d, notes in tracks
    )
    return Piece(
        tracks=built,
        tpq=tpq,
        tempos=(Tempo(0, qpm),),
        time_signatures=(TimeSignature(0, *time_signature),),
        length=length,
    )


def notes_in_span(track: Track, start: int, end: int) -> list[Note]:
    """Notes whose onset lies in ``[start, end)``."""
    return [n for n in track.notes if start <= n.start < end]


def slice_bars(piece: Piece, first: int, last: int) -> Piece:
    """Bars ``first..last`` (0-based, inclusive) as a new piece starting at tick 0, carrying the tempo,
    time signature and key in force at the slice start (note-seq ``extract_subsequence`` semantics).
    Notes are kept when their onset lies in the span; durations are not cut."""
    start, end = piece.bar_span(first, last)
    tracks = []
    for t in piece.tracks:
        notes = tuple(
            Note(n.pitch, n.velocity, n.start - start, n.duration) for n in notes_in_span(t, start, end)
        )
        tracks.append(Track(t.program, t.is_drum, t.name, notes))

    def carry(events, make):
        inside = [e for e in events if start < e.time < end]
        times = [e.time for e in events]
        i = max(bisect.bisect_right(times, start) - 1, 0)
        return (make(events[i], 0), *(make(e, e.time - start) for e in inside)) if events else ()

    tempos = carry(piece.tempos, lambda e, t: Tempo(t, e.qpm))
    sigs = carry(piece.time_signatures, lambda e, t: TimeSignature(t, e.numerator, e.denominator))
    keys = carry(piece.key_signatures, lambda e, t: KeySignature(t, e.key))
    return Piece(tuple(tracks), piece.tpq, tempos, sigs, keys, length=end - start)


def transpose(piece: Piece, semitones: int) -> Piece:
    """Transpose every pitched (non-drum) note; notes pushed outside 0-127 are dropped."""
    tracks = []
    for t in piece.tracks:
        if t.is_drum:
            tracks.append(t)
            continue
        notes = [
            Note(n.pitch + semitones, n.velocity, n.start, n.duration)
            for n in t.notes
            if 0 <= n.pitch + semitones <= 127
        ]
        tracks.append(replace(t, notes=tuple(notes)))
    keys = piece.key_signatures
    if keys and semitones:
        from .attributes import transpose_key

        keys = tuple(KeySignature(k.time, transpose_key(k.key, semitones)) for k in keys)
    return piece.replace(tracks=tuple(tracks), key_signatures=keys)
