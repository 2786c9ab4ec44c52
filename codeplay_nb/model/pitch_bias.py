"""Logit vectors over the NNN vocabulary that favour or disfavour pitches (key, chord, register biases).

A pitch can be chosen by two kinds of token: ``PITCH_p`` (a note at the current onset) and ``NEXT_p`` (move on
one step and play ``p``; only for ``NEXT_PITCHES``). :class:`PitchPlacement` puts a 128-pitch vector on both,
optionally a different one on each (the beat position of the two onsets may differ).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

from ..tokenizers.nnn import NEXT_PITCHES


class PitchPlacement:
    """Builds vocabulary-sized vectors from per-pitch ones for a vocabulary of ``size`` tokens whose PITCH
    tokens start at ``pitch0`` and NEXT tokens at ``next0``."""

    def __init__(self, size: int, pitch0: int, next0: int):
        self.size, self.pitch0, self.next0 = size, pitch0, next0

    def split(self, on_pitch: torch.Tensor, on_next: torch.Tensor) -> torch.Tensor:
        """``on_pitch`` on the PITCH tokens and ``on_next`` (its NEXT_PITCHES part) on the NEXT tokens."""
        full = torch.zeros(self.size)
        full[self.pitch0: self.pitch0 + 128] = on_pitch
        full[self.next0: self.next0 + len(NEXT_PITCHES)] = on_next[NEXT_PITCHES.start: NEXT_PITCHES.stop]
        return full

    def place(self, per_pitch: torch.Tensor) -> torch.Tensor:
        return self.split(per_pitch, per_pitch)

    def classes(self, pitch_classes: Iterable[int], bonus: float, *, on_pitch: bool = True,
                on_next: bool = True) -> torch.Tensor:
        """``bonus`` on every pitch of ``pitch_classes`` (PITCH tokens if ``on_pitch``, NEXT if ``on_next``)."""
        per = torch.zeros(128)
        for pc in set(pitch_classes):
            per[pc % 12::12] = bonus
        zero = torch.zeros(128)
        return self.split(per if on_pitch else zero, per if on_next else zero)

    def register(self, pitch_range, penalty: float) -> torch.Tensor | None:
        """``-penalty`` logits per semitone outside a family's central band (``pitch_range`` =
        ``(lo, hi, soft_lo, soft_hi)``: 10th-90th percentile of the training data); None without a band."""
        if pitch_range is None or len(pitch_range) < 4:
            return None
        soft_lo, soft_hi = pitch_range[2:4]
        p = torch.arange(128)
        distance = torch.clamp(soft_lo - p, min=0) + torch.clamp(p - soft_hi, min=0)
        return self.place(-float(penalty) * distance.float())

    def repeats(self, counts: dict[int, int], penalty: float, grace: int) -> torch.Tensor:
        """``-penalty`` logits per earlier onset of a pitch (``counts``) beyond the first ``grace``."""
        per = torch.zeros(128)
        for p, c in counts.items():
            if c > grace:
                per[p] = -float(penalty) * (c - grace)
        return self.place(per)

    def span(self, lo: int, hi: int, limit: int, penalty: float) -> torch.Tensor:
        """``-penalty`` logits per semitone by which a pitch would widen a line's span (its lowest to highest
        note so far, ``lo``..``hi``) beyond ``limit`` semitones."""
        p = torch.arange(128)
        width = torch.maximum(p, torch.tensor(hi)) - torch.minimum(p, torch.tensor(lo))
        return self.place(-float(penalty) * torch.clamp(width - int(limit), min=0).float())

    def spread(self, centres: Iterable[float], gap: float, penalty: float) -> torch.Tensor:
        """``-penalty`` logits per semitone a pitch falls closer than ``gap`` to the nearest of ``centres``."""
        p = torch.arange(128).float()
        nearest = torch.stack([(p - float(c)).abs() for c in centres]).min(dim=0).values
        return self.place(-float(penalty) * torch.clamp(float(gap) - nearest, min=0))


__all__ = ["PitchPlacement"]
