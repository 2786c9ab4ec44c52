"""Bar-native editing with the Anticipatory Music Transformer: extend, infill bars, regenerate a track.

The model thinks in seconds (10 ms steps) and knows nothing of bars, velocities or tracks. These wrappers
convert the bar range to seconds through the piece's own tempo map, sample, and map the result back:

* onsets and ends go through the ORIGINAL tempo map (``Piece.tick_at_seconds``) and are quantised to our
  grid (``tpq // 12`` ticks) only inside the edited region; a note never starts outside the region and is
  cut at its end, so edits respect bar lines;
* every note outside the edited bars/tracks is the very same ``Note`` (pitch, velocity, start, duration,
  track), and controls, pitch bends, tempo map, time and key signatures, tpq are untouched;
* velocities come from the context: the median velocity of the 16 notes of the same track nearest in time
  (the original notes, including the ones being replaced), else of the whole piece, else 80;
* generated notes are restricted to the instruments of the edited tracks (the whole piece's instruments
  for ``extend``/``infill`` without ``tracks``), so each lands on a track of its instrument; with several
  such tracks (POP909's melody, bridge and piano are all program 0) the one whose nearby notes are
  closest in pitch takes it. Only a piece with no tracks at all makes the model pick instruments freely;
  those notes go to a track of the same family if one exists, else to a new track (appended at the end).
"""

from __future__ import annotations

import bisect
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from ..errors import BarRangeError, CodeplayError, UnknownTrackError
from ..instruments import family_of_program
from ..music import Note, Piece, Track
from ..tokenizers.base import STEPS_PER_QUARTER
from . import config as C
from .events import Event, instrument_of, piece_events, to_steps
from .roundtrip import amt_roundtrip  # noqa: F401  (re-exported for the editing benchmark)
from .sample import SampleSettings, generate

VELOCITY_NEIGHBOURS = 16
DEFAULT_VELOCITY = 80


def _resolve_model(model):
    from .model import cached_amt_model, check_amt_model

    if model is None:
        return cached_amt_model(C.DEFAULT_MODEL_ID)
    if isinstance(model, (str, Path)):
        return cached_amt_model(str(model))
    check_amt_model(model)
    return model


def _check_tracks(piece: Piece, tracks: Iterable[int]) -> list[int]:
    out = sorted(set(tracks))
    for t in out:
        if not 0 <= t < len(piece.tracks):
            raise UnknownTrackError(f"track {t + 1} does not exist: the piece has {len(piece.tracks)} track(s)")
    return out


def _settings(seed: int | None, top_p: float, temperature: float) -> SampleSettings:
    try:
        return SampleSettings(top_p=top_p, temperature=temperature, seed=seed)
    except ValueError as exc:
        raise CodeplayError(f"bad sampling option: {exc}") from exc


class _Placer:
    """Maps generated events back into the piece's ticks, tracks and velocities."""

    def __init__(self, piece: Piece, start: int, end: int, candidates: Sequence[int]) -> None:
        self.piece, self.start, self.end = piece, start, end
        self.grid = max(piece.tpq // STEPS_PER_QUARTER, 1)
        self.candidates = list(candidates)
        everything = sorted((n.start, n.velocity) for t in piece.tracks for n in t.notes)
        self.all_ref = ([s for s, _ in everything], [v for _, v in everything])
        self.refs = {i: ([n.start for n in t.notes], [n.velocity for n in t.notes]) for i, t in enumerate(piece.tracks)}
        self.pitch_centre = {i: self._centre(t) for i, t in enumerate(piece.tracks)}
        self.new_tracks: list[Track] = []
        self.added: dict[int, list[Note]] = {}

    def _centre(self, track: Track) -> float:
        near = sorted(track.notes, key=lambda n: self._distance(n.start))[:4 * VELOCITY_NEIGHBOURS]
        return statistics.median(n.pitch for n in near) if near else 60.0

    def _distance(self, tick: int) -> int:
        return 0 if self.start <= tick < self.end else min(abs(tick - self.start), abs(tick - self.end))

    def _snap(self, tick: int) -> int:
        return self.start + round((tick - self.start) / self.grid) * self.grid

    def _velocity(self, ref: tuple[list[int], list[int]], tick: int) -> int:
        starts, vels = ref
        if not starts:
            starts, vels = self.all_ref
        if not starts:
            return DEFAULT_VELOCITY
        k = bisect.bisect_left(starts, tick)
        lo, hi = max(k - VELOCITY_NEIGHBOURS, 0), min(k + VELOCITY_NEIGHBOURS, len(starts))
        near = sorted(range(lo, hi), key=lambda i: (abs(starts[i] - tick), i))[:VELOCITY_NEIGHBOURS]
        return int(statistics.median_low(vels[i] for i in near))

    def _track_for(self, instr: int, pitch: int) -> int:
        tracks = self.piece.tracks
        exact = [i for i in self.candidates if instrument_of(tracks[i].program, tracks[i].is_drum) == instr]
        drum = instr == C.DRUM_INSTRUMENT
        family = family_of_program(0 if drum else instr, drum)
        pool = exact or [i for i in self.candidates
                         if family_of_program(tracks[i].program, tracks[i].is_drum) == family]
        if pool:
            return min(pool, key=lambda i: (abs(pitch - self.pitch_centre[i]), i))
        for j, t in enumerate(self.new_tracks):
            if instrument_of(t.program, t.is_drum) == instr:
                return len(tracks) + j
        self.new_tracks.append(Track(program=0 if drum else instr, is_drum=drum))
        self.pitch_centre[len(tracks) + len(self.new_tracks) - 1] = float(pitch)
        return len(tracks) + len(self.new_tracks) - 1

    def place(self, events: Iterable[Event], *, force_track: int | None = None) -> None:
        seen: set[tuple[int, int, int]] = set()
        for ev in events:
            on = self._snap(self.piece.tick_at_seconds(ev.time / C.STEPS_PER_SECOND))
            on = max(on, self.start)
            if on >= self.end:
                continue
            off = self._snap(self.piece.tick_at_seconds((ev.time + ev.duration) / C.STEPS_PER_SECOND))
            off = min(max(off, on + self.grid), self.end)
            ti = force_track if force_track is not None else self._track_for(ev.instrument, ev.pitch)
            if (ti, ev.pitch, on) in seen:
                continue
            seen.add((ti, ev.pitch, on))
            vel = self._velocity(self.refs.get(ti, ([], [])), on)
            self.added.setdefault(ti, []).append(Note(ev.pitch, vel, on, max(off - on, 1)))

    def build(self, kept: dict[int, list[Note]], length: int, retarget: dict[int, Track] | None = None) -> Piece:
        tracks = []
        for i, t in enumerate(self.piece.tracks):
            base = (retarget or {}).get(i, t)
            if i in kept or i in self.added:
                base = base.with_notes(kept.get(i, list(t.notes)) + self.added.get(i, []))
            tracks.append(base)
        for j, t in enumerate(self.new_tracks):
            tracks.append(t.with_notes(self.added.get(len(self.piece.tracks) + j, [])))
        return self.piece.replace(tracks=tuple(tracks), length=length)


def _piece_instruments(piece: Piece, tracks: Iterable[int]) -> set[int] | None:
    found = {instrument_of(piece.tracks[i].program, piece.tracks[i].is_drum) for i in tracks}
    return found or None


def amt_extend(piece: Piece, bars: int = 4, *, model=None, seed: int | None = None, top_p: float = 0.98,
               temperature: float = 1.0) -> Piece:
    """``bars`` new bars after the last bar of ``piece``, continuing it (autoregressive mode)."""
    if bars < 1:
        raise CodeplayError(f"extend needs at least one bar, not {bars}")
    settings = _settings(seed, top_p, temperature)
    first = piece.n_bars
    start, end = piece.bar_span(first, first + bars - 1)
    prompt = [s.event for s in piece_events(piece)]
    res = generate(_resolve_model(model), start=to_steps(piece.seconds(start)), end=to_steps(piece.seconds(end)),
                   prompt=prompt, instruments=_piece_instruments(piece, range(len(piece.tracks))),
                   settings=settings)
    placer = _Placer(piece, start, end, range(len(piece.tracks)))
    placer.place(res.events)
    return placer.build({}, max(piece.length, end))


def amt_infill(piece: Piece, first_bar: int, last_bar: int, *, tracks: list[int] | None = None, model=None,
               seed: int | None = None, top_p: float = 0.98, temperature: float = 1.0) -> Piece:
    """Regenerate bars ``first_bar..last_bar`` (0-based, inclusive) of ``tracks`` (all when ``None``),
    anticipating everything after the span and the other tracks' notes inside it."""
    if not 0 <= first_bar <= last_bar < piece.n_bars:
        raise BarRangeError(f"bars {first_bar + 1}-{last_bar + 1} are not inside the piece "
                            f"(bars 1-{piece.n_bars}); use extend to add bars")
    edited = _check_tracks(piece, range(len(piece.tracks)) if tracks is None else tracks)
    if not edited:
        raise CodeplayError("infill needs at least one track")
    settings = _settings(seed, top_p, temperature)
    start, end = piece.bar_span(first_bar, last_bar)
    prompt: list[Event] = []
    controls: list[Event] = []
    for s in piece_events(piece):
        if s.track in edited and start <= s.note.start < end:
            continue  # to be regenerated
        (prompt if s.note.start < start else controls).append(s.event)
    res = generate(_resolve_model(model), start=to_steps(piece.seconds(start)), end=to_steps(piece.seconds(end)),
                   prompt=prompt, controls=controls, instruments=_piece_instruments(piece, edited),
                   settings=settings)
    placer = _Placer(piece, start, end, edited)
    placer.place(res.events)
    kept = {i: [n for n in piece.tracks[i].notes if not start <= n.start < end] for i in edited}
    return placer.build(kept, piece.length)


def amt_regenerate_track(piece: Piece, track: int, *, program: int | None = None, is_drum: bool | None = None,
                         model=None, seed: int | None = None, top_p: float = 0.98,
                         temperature: float = 1.0) -> Piece:
    """Write track ``track`` again from scratch over the whole piece, as instrument ``program``/``is_drum``
    (default: its own), with every other track as anticipated controls."""
    (ti,) = _check_tracks(piece, [track])
    old = piece.tracks[ti]
    if program is not None and not 0 <= program <= 127:
        raise CodeplayError(f"GM programs go from 0 to 127, not {program}")
    drum = (old.is_drum if program is None else False) if is_drum is None else is_drum
    prog = old.program if program is None else program
    settings = _settings(seed, top_p, temperature)
    start, end = 0, max(piece.bar_starts()[-1], 1) if piece.length > 0 else piece.bar_span(0)[1]
    controls = [s.event for s in piece_events(piece) if s.track != ti]
    res = generate(_resolve_model(model), start=0, end=to_steps(piece.seconds(end)), controls=controls,
                   instruments={instrument_of(prog, drum)}, settings=settings)
    placer = _Placer(piece, start, end, [ti])
    placer.place(res.events, force_track=ti)
    retarget = {ti: replace(old, program=prog, is_drum=drum)}
    return placer.build({ti: []}, piece.length, retarget)
