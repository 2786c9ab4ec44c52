"""The arrival-time token scheme of the Anticipatory Music Transformer behind our :class:`Tokenizer` interface.

A note is three tokens: onset time (10 ms steps), duration (10 ms steps) and ``128 * instrument + pitch``
(instrument 128 = drums). Times are seconds, not bars: the teaching contrast with NNN/REMI. A sequence
starts with a flag (``autoregress``, or ``anticipate`` when anticipated controls are interleaved), and a
REST triplet pads every gap longer than one second.

The model only ever sees times relative to its 1024-token window. A whole piece longer than the 100 s
time block is written as 100 s segments separated by a SEPARATOR triplet, each segment's times relative to
its own start (segment ``k`` starts at ``k * 100`` s); ``decode`` undoes that.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from ..attributes import Attributes
from ..music import Piece
from ..tokenizers.base import Tokenizer
from . import config as C
from .events import Event, Item, events_to_piece, item_tokens, pad_rests, parse_triplet, piece_events

_FLAGS = (C.AUTOREGRESS, C.ANTICIPATE)


def _instrument_name(instr: int) -> str:
    return "drums" if instr == C.DRUM_INSTRUMENT else str(instr)


@lru_cache(maxsize=1)
def amt_vocab() -> tuple[str, ...]:
    """Generated names for all 55028 ids, e.g. ``onset_123``, ``duration_50``, ``note_0_60``,
    ``note_drums_36``, ``rest``, ``control_onset_123``, ``separator``, ``autoregress``, ``anticipate``."""
    notes = [f"{_instrument_name(n // C.MAX_PITCH)}_{n % C.MAX_PITCH}" for n in range(C.MAX_NOTE)]
    vocab: list[str] = []
    vocab += [f"onset_{t}" for t in range(C.MAX_TIME_STEPS)]
    vocab += [f"duration_{d}" for d in range(C.MAX_DURATION_STEPS)]
    vocab += [f"note_{n}" for n in notes]
    vocab.append("rest")
    vocab += [f"control_onset_{t}" for t in range(C.MAX_TIME_STEPS)]
    vocab += [f"control_duration_{d}" for d in range(C.MAX_DURATION_STEPS)]
    vocab += [f"control_note_{n}" for n in notes]
    vocab += ["separator", "autoregress", "anticipate"]
    assert len(vocab) == C.VOCAB_SIZE
    return tuple(vocab)


def event_ids(events: Sequence[Event], *, control: bool = False, offset: int = 0) -> list[int]:
    """Flat triplets of ids for events (times relative to ``offset`` steps); no flag, no padding."""
    out: list[int] = []
    for ev in events:
        out.extend(item_tokens(Item(ev, control), offset))
    return out


class AMTTokenizer(Tokenizer):
    """Arrival-time tokens (vocabulary 55028) compatible with ``stanford-crfm/music-*-800k``."""

    name = "amt"
    version = "1"
    time_base = "seconds"  # decoded ticks stand for clock time (120 BPM unless a template is given)
    keeps_velocity = False

    def __init__(self, *, rests: bool = True) -> None:
        super().__init__(amt_vocab())
        self.rests = rests

    # ------------------------------------------------------------ encode
    def events(self, piece: Piece) -> list[Event]:
        """The piece's notes as absolute-time events (no RESTs)."""
        return [s.event for s in piece_events(piece)]

    def encode(self, piece: Piece, attributes: Attributes | None = None) -> list[int]:
        """``[autoregress]`` then the padded triplets, in 100 s segments split by SEPARATOR triplets.
        Attributes are ignored: the released models have no attribute tokens."""
        events = self.events(piece)
        end = round(piece.duration_seconds * C.STEPS_PER_SECOND)
        if self.rests:
            events = pad_rests(events, end)
        ids = [C.AUTOREGRESS]
        segment = 0
        for ev in events:
            while ev.time >= (segment + 1) * C.MAX_TIME_STEPS:
                segment += 1
                ids += [C.SEPARATOR] * 3
            ids.extend(item_tokens(Item(ev), segment * C.MAX_TIME_STEPS))
        return ids

    # ------------------------------------------------------------ decode
    def decode_events(self, ids: Sequence[int]) -> list[Event]:
        """Events and controls (as plain events) with absolute times; malformed triplets are skipped."""
        ids = list(ids)
        if ids and ids[0] in _FLAGS:
            ids = ids[1:]
        out: list[Event] = []
        base = 0
        for i in range(0, len(ids) - len(ids) % 3, 3):
            t, d, n = ids[i:i + 3]
            if t == d == n == C.SEPARATOR:
                base += C.MAX_TIME_STEPS
                continue
            item = parse_triplet(t, d, n)
            if item is not None:
                ev = item.event
                out.append(Event(ev.time + base, ev.duration, ev.note))
        out.sort(key=lambda e: (e.time, e.note))
        return out

    def decode(self, ids: Sequence[int], template: Piece | None = None, *,
               velocity: int = C.REFERENCE_VELOCITY) -> Piece:
        """A piece from ids: ticks through ``template``'s tempo map, tpq and time signatures when given,
        else 480 ticks per quarter at 120 BPM; one track per instrument; every note at ``velocity``
        (the encoding has none)."""
        return events_to_piece(self.decode_events(ids), template, velocity=velocity)

    # ------------------------------------------------------------ grammar
    def check(self, ids: Sequence[int]) -> list[str]:
        problems = super().check(ids)
        if problems:
            return problems
        ids = list(ids)
        flag = ids[0] if ids and ids[0] in _FLAGS else None
        body = ids[1:] if flag is not None else ids
        if any(i in _FLAGS for i in body):
            problems.append("a flag (autoregress/anticipate) appears after the first position")
        if len(body) % 3:
            problems.append(f"{len(body) % 3} trailing id(s) do not form a triplet")
        last_event = last_control = -1
        for k in range(0, len(body) - len(body) % 3, 3):
            t, d, n = body[k:k + 3]
            where = f"triplet {k // 3}"
            if t == d == n == C.SEPARATOR:
                last_event = last_control = -1
                continue
            item = parse_triplet(t, d, n)
            if item is None:
                problems.append(f"{where}: {self.tokens([t, d, n])} is not (onset, duration, note)")
                continue
            ev = item.event
            if item.control:
                if flag == C.AUTOREGRESS:
                    problems.append(f"{where}: control in an autoregress sequence")
                if ev.time < last_control:
                    problems.append(f"{where}: control onset goes back in time")
                last_control = ev.time
                continue
            if ev.is_rest and ev.duration != 0:
                problems.append(f"{where}: rest with a non-zero duration")
            if ev.time < last_event:
                problems.append(f"{where}: onset {ev.time} before the previous onset {last_event}")
            last_event = ev.time
        return problems
