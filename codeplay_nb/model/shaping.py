"""Decoding penalties that shape a pitched part the way real parts are shaped (all off at 0).

- **repeat**: a pitch loses ``repeat_penalty`` logits per earlier onset of it in the bar beyond the first
  ``repeat_grace`` (a line does not sit on one note; bass lines, marked ``repeat_free``, repeat their root).
- **span**: a pitch loses ``span_penalty`` logits per semitone it would widen its track's span (lowest to highest
  note so far) beyond ``span_limit``; an infill or extension starts from the track's span outside the
  regenerated bars (``fill_spans``), and consecutive fill blocks of one track (``fill_tracks``) share it.
- **chord**: one more note at an onset loses ``chord_penalty`` logits per note the onset already holds.
- **spread**: a new track's first note loses ``spread_penalty`` logits per semitone it falls closer than
  ``spread_gap`` to the mean pitch of an earlier track (the context's, then each generated one), so the parts
  of one request take different registers as a melody and its accompaniment do (``spread_hold``: every note of
  the track, not only its first).

:class:`LineShaper` keeps the per-constraint caches and updates the grammar state's ``lo``/``hi``/``pitch_sum``/
``pitch_n``/``centres`` fields; :class:`~codeplay_nb.model.grammar.NNNConstraint` calls it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from .pitch_bias import PitchPlacement

_MAX_CACHE = 4096


@dataclass(frozen=True)
class LineShaping:
    repeat_penalty: float = 0.0
    repeat_grace: int = 0
    span_limit: int = 0
    span_penalty: float = 0.0
    chord_penalty: float = 0.0
    spread_penalty: float = 0.0
    spread_gap: float = 12.0
    spread_hold: bool = False  # the spread penalty on every note of a later track, not only its first
    cross_penalty: float = 0.0

    @classmethod
    def from_sampling(cls, sampling) -> LineShaping:
        """The shaping strengths of a :class:`~codeplay_nb.model.config.SamplingConfig`."""
        return cls(float(sampling.repeat_penalty), int(sampling.repeat_grace), int(sampling.span_limit),
                   float(sampling.span_penalty), float(sampling.chord_penalty), float(sampling.spread_penalty),
                   float(sampling.spread_gap), bool(sampling.spread_hold), float(sampling.cross_penalty))

    @property
    def follows_register(self) -> bool:
        """Whether the state must follow each pitched track's span and mean pitch."""
        return bool(self.span_penalty or self.spread_penalty)


class LineShaper:
    """Additive logits of :class:`LineShaping` for one constraint (vocabulary placement ``place``)."""

    def __init__(self, shaping: LineShaping | None, place: PitchPlacement, *, repeat_free: Sequence[bool] = (),
                 fill_spans: Sequence[tuple[int, int] | None] = (), fill_tracks: Sequence[int] = (),
                 task: str = "tracks", fill_bars: Sequence[int] = (), layers: dict | None = None, first_key: int = 0):
        self.cfg = shaping or LineShaping()
        self.place = place
        self.repeat_free = list(repeat_free)
        self.fill_spans = list(fill_spans)
        self.fill_tracks = list(fill_tracks)
        self._spans: dict[tuple[int, int], torch.Tensor] = {}
        self._spreads: dict[tuple, torch.Tensor] = {}
        self._thick: dict[int, torch.Tensor] = {}
        self._crosses: dict[tuple, torch.Tensor] = {}
        # cross: every pitched track's onsets, key -> bar -> grid position -> [lowest, highest pitch] (the
        # context's ``layers`` first), and its pitch sum and count; a key is a window track (fills) or
        # ``first_key`` + the new track's index (tracks)
        self.task, self.fill_bars, self.first_key = task, list(fill_bars), int(first_key)
        self._layers: dict[int, dict[int, dict[int, list[int]]]] = {}
        self._sums: dict[int, list] = {}
        if self.cfg.cross_penalty:
            for key, bars in (layers or {}).items():
                for bar, hits in bars.items():
                    for pos, pitch in hits:
                        self._note(key, bar, pos, pitch)

    @property
    def active(self) -> bool:
        c = self.cfg
        return bool(c.repeat_penalty or c.span_penalty or c.chord_penalty or c.spread_penalty or c.cross_penalty)

    def extra(self, s, target: int) -> torch.Tensor | None:
        """The logits to add at grammar state ``s`` while writing target ``target`` (None: nothing)."""
        c = self.cfg
        out = None
        if c.repeat_penalty and s.hits and not (target < len(self.repeat_free) and self.repeat_free[target]):
            counts: dict[int, int] = {}
            for _, p in s.hits:
                counts[p] = counts.get(p, 0) + 1
            if max(counts.values()) > c.repeat_grace:
                out = self.place.repeats(counts, c.repeat_penalty, c.repeat_grace)
        if c.span_penalty and s.lo is not None:
            vec = _cached(self._spans, (s.lo, s.hi), lambda: self.place.span(s.lo, s.hi, c.span_limit, c.span_penalty))
            out = vec if out is None else out + vec
        if c.spread_penalty and (s.lo is None or c.spread_hold) and s.centres and self.task == "tracks":
            sig = tuple(round(x) for x in s.centres)
            vec = _cached(self._spreads, sig, lambda: self.place.spread(sig, c.spread_gap, c.spread_penalty))
            out = vec if out is None else out + vec
        if c.chord_penalty and s.chord:
            n = len(s.chord)
            vec = _cached(self._thick, n, lambda: self.place.split(torch.full((128,), -c.chord_penalty * n),
                                                                  torch.zeros(128)))
            out = vec if out is None else out + vec
        if c.cross_penalty:
            vec = self._cross(s)
            if vec is not None:
                out = vec if out is None else out + vec
        return out

    def _where(self, s) -> tuple[int, int] | None:
        """The layer key and bar of the note being written (None: past the fill blocks)."""
        if self.task == "tracks":
            return self.first_key + s.track_idx, s.bars_done - 1
        i = s.fill_idx
        if i < min(len(self.fill_tracks), len(self.fill_bars)):
            return self.fill_tracks[i], self.fill_bars[i]
        return None

    def _note(self, key: int, bar: int, pos: int, pitch: int) -> None:
        at = self._layers.setdefault(key, {}).setdefault(bar, {})
        lo_hi = at.get(pos)
        at[pos] = [pitch, pitch] if lo_hi is None else [min(lo_hi[0], pitch), max(lo_hi[1], pitch)]
        total = self._sums.setdefault(key, [0.0, 0])
        total[0] += pitch
        total[1] += 1

    def _bounds(self, key: int, bar: int, pos: int, mean: float) -> tuple[int, int]:
        """The highest (ceiling) and lowest pitch (floor) a note of layer ``key`` at ``pos`` of ``bar`` may take
        without crossing another track that sounds there (its latest onset in the bar at or before ``pos``;
        128 / -1: none)."""
        ceil, floor = 128, -1
        for other, bars in self._layers.items():
            onsets = bars.get(bar)
            if other == key or not onsets:
                continue
            last = max((q for q in onsets if q <= pos), default=None)
            if last is None:
                continue
            total, n = self._sums[other]
            if total / n > mean:
                ceil = min(ceil, onsets[last][0])
            else:
                floor = max(floor, onsets[last][1])
        return ceil, floor

    def _cross(self, s) -> torch.Tensor | None:
        where = self._where(s)
        own = self._sums.get(where[0]) if where else None
        if not own or len(self._layers) < 2:
            return None  # the side of a track is known from its own notes (the first is the spread's)
        key, bar = where
        mean = own[0] / own[1]
        now = self._bounds(key, bar, s.pos, mean)
        nxt = self._bounds(key, bar, s.pos + s.step, mean) if s.step else (128, -1)
        if now == (128, -1) and nxt == (128, -1):
            return None
        pen = self.cfg.cross_penalty

        def build():
            p = torch.arange(128)
            a, b = (-pen * (torch.clamp(p - c, min=0) + torch.clamp(f - p, min=0)).float() for c, f in (now, nxt))
            return self.place.split(a, b)
        return _cached(self._crosses, (now, nxt), build)

    def start_fill(self, s) -> None:
        """At fill block ``s.fill_idx``: keep the span of the block before when it is of the same track, else
        start from the track's span outside the regenerated bars."""
        i = s.fill_idx
        if 0 < i < len(self.fill_tracks) and self.fill_tracks[i] == self.fill_tracks[i - 1]:
            return
        given = self.fill_spans[i] if i < len(self.fill_spans) else None
        s.lo, s.hi = given if given else (None, None)

    def start_track(self, s) -> None:
        s.lo = s.hi = None
        s.pitch_sum = s.pitch_n = 0

    def end_track(self, s) -> None:
        if s.pitch_n:
            s.centres.append(s.pitch_sum / s.pitch_n)

    def widen(self, s, pitch: int) -> None:
        """A pitched track played ``pitch``."""
        if self.cfg.follows_register:
            s.lo = pitch if s.lo is None else min(s.lo, pitch)
            s.hi = pitch if s.hi is None else max(s.hi, pitch)
            s.pitch_sum += pitch
            s.pitch_n += 1
        if self.cfg.cross_penalty:
            where = self._where(s)
            if where:
                self._note(where[0], where[1], s.pos, pitch)


def _cached(cache: dict, key, build) -> torch.Tensor:
    vec = cache.get(key)
    if vec is None:
        if len(cache) >= _MAX_CACHE:
            cache.clear()
        vec = cache[key] = build()
    return vec


__all__ = ["LineShaper", "LineShaping"]
