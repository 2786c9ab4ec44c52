"""Transposition in token space, so every epoch can see a new key for the same window without re-encoding.

The dataset builder stores each window once (untransposed) plus a parallel byte per token saying whether it
is a pitch of a pitched (non-drum) track; training draws a shift per example and epoch and maps the ids:
``PITCH_p``/``NEXT_p`` of pitched tracks, ``KEY_*`` and ``CHORD_*`` move, everything else stays.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..attributes import KEYS, transpose_key
from ..chords import CHORD_LABELS, transpose_label
from .nnn import NEXT_PITCHES, NNNTokenizer, key_token

PITCHED = 1  # mask value: a pitch token of a pitched track


def pitched_mask(tok: NNNTokenizer, ids: Sequence[int]) -> np.ndarray:
    """1 where ``ids[i]`` is a PITCH/NEXT token of a non-drum track (fill blocks follow their FILL's track)."""
    vocab = tok.vocab
    out = np.zeros(len(ids), dtype=np.uint8)
    drum = False
    fill_drum: list[bool] = []
    fill_i = 0
    for i, t in enumerate(ids):
        s = vocab[t] if 0 <= t < len(vocab) else ""
        if s == "TRACK":
            drum = False
        elif s == "PROG_DRUMS":
            drum = True
        elif s == "FILL":
            fill_drum.append(drum)
        elif s == "FILL_START":
            drum = fill_drum[fill_i] if fill_i < len(fill_drum) else False
            fill_i += 1
        elif s in ("TRACK_END", "FILL_END"):
            drum = False
        elif not drum and (s.startswith("PITCH_") or s.startswith("NEXT_")):
            out[i] = PITCHED
    return out


class TokenTransposer:
    """Id maps for shifts ``lo..hi``; ``apply(ids, mask, shift)`` or None when a pitch leaves its range."""

    def __init__(self, tok: NNNTokenizer, lo: int = -5, hi: int = 6) -> None:
        self.lo, self.hi = lo, hi
        v = tok.vocab_size
        t = tok.token_to_id
        self.pitch_of = np.full(v, -1, dtype=np.int64)  # pitch value of PITCH/NEXT ids
        for p in range(128):
            self.pitch_of[t[f"PITCH_{p}"]] = p
        for p in NEXT_PITCHES:
            self.pitch_of[t[f"NEXT_{p}"]] = p
        self.is_next = np.zeros(v, dtype=bool)
        self.is_next[[t[f"NEXT_{p}"] for p in NEXT_PITCHES]] = True
        self.maps: dict[int, np.ndarray] = {}
        self.pitch_maps: dict[int, np.ndarray] = {}
        base = np.arange(v, dtype=np.int64)
        for s in range(lo, hi + 1):
            m = base.copy()  # shifts KEY and CHORD tokens (always)
            for k in KEYS:
                m[t[key_token(k)]] = t[key_token(transpose_key(k, s))]
            for c in CHORD_LABELS:
                m[t[f"CHORD_{c}"]] = t[f"CHORD_{transpose_label(c, s)}"]
            pm = m.copy()  # ... and pitch tokens (where the mask says pitched)
            for p in range(128):
                if 0 <= p + s < 128:
                    pm[t[f"PITCH_{p}"]] = t[f"PITCH_{p + s}"]
            for p in NEXT_PITCHES:
                if p + s in NEXT_PITCHES:
                    pm[t[f"NEXT_{p}"]] = t[f"NEXT_{p + s}"]
            self.maps[s], self.pitch_maps[s] = m, pm

    def allowed(self, ids: np.ndarray, mask: np.ndarray) -> tuple[int, int]:
        """The range of shifts that keeps every pitched token inside its range."""
        sel = mask.astype(bool)
        if not sel.any():
            return self.lo, self.hi
        p = self.pitch_of[ids[sel]]
        nxt = self.is_next[ids[sel]]
        lo = max(self.lo, -int(p.min()), NEXT_PITCHES.start - int(p[nxt].min()) if nxt.any() else self.lo)
        hi = min(self.hi, 127 - int(p.max()), NEXT_PITCHES.stop - 1 - int(p[nxt].max()) if nxt.any() else self.hi)
        return lo, hi

    def apply(self, ids: np.ndarray, mask: np.ndarray, shift: int) -> np.ndarray:
        if shift == 0:
            return ids
        sel = mask.astype(bool)
        out = self.maps[shift][ids]
        out[sel] = self.pitch_maps[shift][ids[sel]]
        return out
