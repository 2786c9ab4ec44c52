"""Arrival-time events: a note as (onset, duration, note) in 10 ms steps, and the operations the
Anticipatory Music Transformer needs on them (REST padding, anticipation, token conversion).

Events carry absolute times; only a model window turns them into token ids relative to its own start,
so pieces longer than the 100 s time block are no problem here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

from ..music import Note, Piece
from . import config as C


class Event(NamedTuple):
    """One note (or REST): ``time`` and ``duration`` in 10 ms steps, ``note = 128 * instrument + pitch``."""

    time: int
    duration: int
    note: int

    @property
    def is_rest(self) -> bool:
        return self.note == C.REST_NOTE

    @property
    def instrument(self) -> int:
        return self.note // C.MAX_PITCH

    @property
    def pitch(self) -> int:
        return self.note % C.MAX_PITCH


class SourcedEvent(NamedTuple):
    """An event with the track index and note it came from."""

    event: Event
    track: int
    note: Note


def instrument_of(program: int, is_drum: bool) -> int:
    """AMT instrument code: the GM program, or 128 for drums."""
    return C.DRUM_INSTRUMENT if is_drum else program


def to_steps(seconds: float) -> int:
    return round(seconds * C.STEPS_PER_SECOND)


def piece_events(piece: Piece, tracks: Iterable[int] | None = None) -> list[SourcedEvent]:
    """Every note of ``piece`` (or of the given track indices) as an event, sorted by onset.

    Onsets and durations come from the tempo map (seconds), rounded to 10 ms; durations are capped at
    9.99 s, the largest the vocabulary holds."""
    wanted = set(range(len(piece.tracks)) if tracks is None else tracks)
    out: list[SourcedEvent] = []
    for ti, track in enumerate(piece.tracks):
        if ti not in wanted:
            continue
        instr = instrument_of(track.program, track.is_drum)
        for n in track.notes:
            on = piece.seconds(n.start)
            time = to_steps(on)
            dur = min(max(to_steps(piece.seconds(n.end)) - time, 0), C.MAX_DURATION_STEPS - 1)
            out.append(SourcedEvent(Event(time, dur, C.MAX_PITCH * instr + n.pitch), ti, n))
    out.sort(key=lambda s: (s.event.time, s.event.note, s.event.duration, s.track))
    return out


def pad_rests(events: Sequence[Event], end_time: int | None = None) -> list[Event]:
    """Insert a REST every second wherever the gap since the previous onset exceeds one second (and up to
    ``end_time``), as the released models were trained."""
    d = C.REST_DENSITY_STEPS
    out: list[Event] = []
    prev = 0
    for ev in events:
        while ev.time > prev + d:
            prev += d
            out.append(Event(prev, 0, C.REST_NOTE))
        out.append(ev)
        prev = ev.time
    end = max((e.time for e in events), default=0) if end_time is None else end_time
    while end > prev + d:
        prev += d
        out.append(Event(prev, 0, C.REST_NOTE))
    return out


class Item(NamedTuple):
    """An entry of a model sequence: an event, or an anticipated control when ``control`` is set."""

    event: Event
    control: bool = False


def interleave(events: Sequence[Event], controls: Sequence[Event],
               delta: int = C.ANTICIPATION_INTERVAL_STEPS) -> tuple[list[Item], list[Event]]:
    """Anticipation: a control at time ``t`` goes right after the first event at or after ``t - delta``
    (before everything when ``t <= delta``). Returns the sequence and the controls not placed yet."""
    pending = sorted(controls, key=lambda e: e.time)
    out: list[Item] = []
    last = 0
    i = 0
    for ev in events:
        while i < len(pending) and last >= pending[i].time - delta:
            out.append(Item(pending[i], True))
            i += 1
        out.append(Item(ev))
        last = ev.time
    return out, pending[i:]


def item_tokens(item: Item, offset: int = 0) -> tuple[int, int, int]:
    """Token ids of an item with its time made relative to ``offset`` (steps)."""
    ev = item.event
    t = ev.time - offset
    if not 0 <= t < C.MAX_TIME_STEPS:
        raise ValueError(f"relative time {t} outside the time block")
    if item.control:
        return (C.CONTROL_TIME_OFFSET + t, C.CONTROL_DURATION_OFFSET + ev.duration, C.CONTROL_NOTE_OFFSET + ev.note)
    return (C.TIME_OFFSET + t, C.DURATION_OFFSET + ev.duration, C.NOTE_OFFSET + ev.note)


def parse_triplet(t: int, d: int, n: int) -> Item | None:
    """The item a well-formed triplet of ids stands for (time relative to its window), else ``None``."""
    if C.TIME_OFFSET <= t < C.DURATION_OFFSET and C.DURATION_OFFSET <= d < C.NOTE_OFFSET \
            and C.NOTE_OFFSET <= n <= C.REST:
        return Item(Event(t - C.TIME_OFFSET, d - C.DURATION_OFFSET, n - C.NOTE_OFFSET))
    if C.CONTROL_TIME_OFFSET <= t < C.CONTROL_DURATION_OFFSET \
            and C.CONTROL_DURATION_OFFSET <= d < C.CONTROL_NOTE_OFFSET \
            and C.CONTROL_NOTE_OFFSET <= n < C.SPECIAL_OFFSET:
        return Item(Event(t - C.CONTROL_TIME_OFFSET, d - C.CONTROL_DURATION_OFFSET, n - C.CONTROL_NOTE_OFFSET), True)
    return None


def events_to_piece(events: Sequence[Event], template: Piece | None = None, *, velocity: int = C.REFERENCE_VELOCITY,
                    tpq: int | None = None) -> Piece:
    """Events (absolute steps) to a piece: ticks through the template's tempo map (else 120 BPM), one track
    per instrument in order of first appearance, RESTs dropped, every note at ``velocity``."""
    from ..music import Piece as _Piece
    from ..music import Track

    base = template if template is not None else _Piece(tpq=tpq or 480)
    if template is not None and tpq is not None:
        base = base.replace(tpq=tpq)
    by_instr: dict[int, list[Note]] = {}
    for ev in events:
        if ev.is_rest or not 0 <= ev.note < C.MAX_NOTE:
            continue
        start = base.tick_at_seconds(ev.time / C.STEPS_PER_SECOND)
        end = base.tick_at_seconds((ev.time + ev.duration) / C.STEPS_PER_SECOND)
        by_instr.setdefault(ev.instrument, []).append(Note(ev.pitch, velocity, start, max(end - start, 1)))
    tracks = [
        Track(program=0 if instr == C.DRUM_INSTRUMENT else instr, is_drum=instr == C.DRUM_INSTRUMENT).with_notes(notes)
        for instr, notes in by_instr.items()
    ]
    # Piece keeps its length at least at the end of the last note
    return base.replace(tracks=tuple(tracks), length=0 if template is None else template.length)
