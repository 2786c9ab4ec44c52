"""Tilts: logits added *within* a token group, the sampler keeping each group's total probability
(:func:`codeplay_nb.model.sample.tilted`).

Two tilts, both applied at in-bar steps of a track (or fill block) that is not resting:

- the degree balance (:mod:`.degrees`): towards the scale degrees the clip is short of, among the PITCH tokens
  and the NEXT tokens, so it changes which pitch is played, not whether one is (added as plain logits it
  favoured NEXT over SHIFT and moved onsets off the grid);
- the grid penalty: off the SHIFT tokens that land between the 8th notes, among the moves (SHIFT tokens and the
  bar line / end of the track or fill block), so it changes how far a track moves on, not whether it does.
"""

from __future__ import annotations

import torch

from ..tokenizers.nnn import MAX_SHIFT_STEPS, NEXT_PITCHES
from .degrees import DegreeBalance
from .pitch_bias import PitchPlacement


class StepTilt:
    """The tilt vector at each step; ``groups`` are the token groups it keeps the probability of (the moves
    only when the grid tilt can touch them: a zero tilt leaves a group as it is)."""

    def __init__(self, place: PitchPlacement, vocab_size: int, token_to_id: dict[str, int], *,
                 steps_per_beat: int, degree_balance: DegreeBalance | None = None, grid_penalty: float = 0.0) -> None:
        self._place = place
        self.V = vocab_size
        self.shift0 = token_to_id["SHIFT_1"]
        self.eighth = steps_per_beat // 2
        self.degrees = degree_balance
        self.grid_penalty = float(grid_penalty)
        self._degree_vec: torch.Tensor | None = None
        self._grid_vecs: dict[int, torch.Tensor] = {}
        self.degrees_now = False  # set by the grammar at each step: the degree balance applies there
        pitch0, next0 = token_to_id["PITCH_0"], token_to_id[f"NEXT_{NEXT_PITCHES[0]}"]
        moves = [*range(self.shift0, self.shift0 + MAX_SHIFT_STEPS),
                 token_to_id["BAR"], token_to_id["TRACK_END"], token_to_id["FILL_END"]]
        self.groups = ((pitch0, pitch0 + 128), (next0, next0 + len(NEXT_PITCHES)),
                       *((torch.tensor(moves),) if self.grid_penalty else ()))

    def played(self, pitch: int) -> None:
        """A pitched note was played: the degree balance counts it (its vector is rebuilt when next needed)."""
        if self.degrees is not None:
            self.degrees.add(pitch)
            self._degree_vec = None

    def vector(self, pos: int) -> torch.Tensor | None:
        """The tilt at an in-bar step at grid position ``pos`` of the bar (None: nothing to tilt)."""
        out = None
        if self.degrees_now and self.degrees is not None:
            if self._degree_vec is None:
                per = torch.from_numpy(self.degrees.by_pitch_class).float().repeat(11)[:128]
                self._degree_vec = self._place.place(per)
            out = self._degree_vec
        if self.grid_penalty:
            vec = self.grid_vec(pos % self.eighth)
            out = vec if out is None else out + vec
        return out

    def grid_vec(self, phase: int) -> torch.Tensor:
        """-grid_penalty on the SHIFT tokens that move from a position ``phase`` steps past an 8th note to a
        position off the 8th-note grid (the bar line is on it)."""
        vec = self._grid_vecs.get(phase)
        if vec is None:
            vec = torch.zeros(self.V)
            for k in range(1, MAX_SHIFT_STEPS + 1):
                if (phase + k) % self.eighth:
                    vec[self.shift0 + k - 1] = -self.grid_penalty
            self._grid_vecs[phase] = vec
        return vec


__all__ = ["StepTilt"]
