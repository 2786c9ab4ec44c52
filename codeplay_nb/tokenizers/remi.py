"""REMI (Huang & Yang 2020) through miditok: a thin wrapper, nothing of REMI is re-implemented here.

Pieces go to ``symusic.Score`` (:func:`codeplay_nb.io.piece_to_score`), miditok's ``REMI`` tokenizes them
in one token stream with ``Program_`` tokens (multi-track), and decoded scores come back through
:func:`codeplay_nb.io.score_to_piece`. The configuration puts REMI on a grid comparable with NNN/MMM:

* positions and durations at 12 steps per beat up to 16 beats (``beat_res={(0, 16): 12}``);
* the full MIDI pitch range for pitched and drum notes (miditok's defaults drop notes outside 21-108);
* 32 velocity bins (width 4), tempos on a 301-value log grid from 20 to 400 BPM (within about 0.5 %),
  time signatures n/2, n/4, n/8 and n/16 as listed in :data:`TIME_SIGNATURES`.

What miditok does that the other schemes do not: tracks with the same program are merged into one
(``one_token_stream_for_programs``), track names are dropped, a "beat" is the time-signature
denominator (so 6/8 pieces come back at twice the ticks per quarter), and durations longer than 16 beats
are clamped.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..attributes import Attributes
from ..io import piece_to_score, score_to_piece
from ..music import Piece
from .base import STEPS_PER_QUARTER, Tokenizer

MAX_BEATS = 16
TIME_SIGNATURES = {2: [1, 2, 3, 4], 4: [1, 2, 3, 4, 5, 6, 7, 8], 8: [3, 5, 6, 7, 9, 12], 16: [5, 7, 9, 15]}


def remi_config():
    """The miditok ``TokenizerConfig`` used by :class:`REMITokenizer`."""
    from miditok import TokenizerConfig

    return TokenizerConfig(
        pitch_range=(0, 127),
        drums_pitch_range=(0, 127),
        beat_res={(0, MAX_BEATS): STEPS_PER_QUARTER},
        num_velocities=32,
        use_velocities=True,
        use_tempos=True,
        num_tempos=301,
        tempo_range=(20, 400),
        log_tempos=True,
        use_time_signatures=True,
        time_signature_range=TIME_SIGNATURES,
        use_programs=True,
        one_token_stream_for_programs=True,
        special_tokens=["PAD", "BOS", "EOS", "MASK"],
    )


class REMITokenizer(Tokenizer):
    """miditok's REMI behind the package's :class:`Tokenizer` interface."""

    name = "remi"
    version = "miditok-3"
    keeps_velocity = True

    def __init__(self) -> None:
        from miditok import REMI

        self.miditok = REMI(remi_config())
        voc = self.miditok.vocab
        super().__init__(sorted(voc, key=voc.__getitem__))

    def to_dict(self) -> dict:
        return {**super().to_dict(), "miditok_config": self.miditok.config.to_dict(serialize=True)}

    def encode_tokens(self, piece: Piece, attributes: Attributes | None = None) -> list[str]:
        """Token strings (``attributes`` are ignored: REMI has no attribute tokens)."""
        return self.tokens(self.encode(piece))

    def encode(self, piece: Piece, attributes: Attributes | None = None) -> list[int]:
        if not any(t.notes for t in piece.tracks):
            return []  # miditok rejects scores without notes
        seq = self.miditok.encode(piece_to_score(piece))
        return list(seq.ids)

    def decode(self, ids: Sequence[int]) -> Piece:
        ids = [i for i in ids if 0 <= i < self.vocab_size]
        if not ids:
            return Piece()
        from miditok import TokSequence

        score = self.miditok.decode(TokSequence(ids=list(ids)))
        return score_to_piece(score)

    def check(self, ids: Sequence[int]) -> list[str]:
        probs = super().check(ids)
        if probs or not ids:
            return probs
        from miditok import TokSequence

        seq = TokSequence(ids=list(ids))
        self.miditok.complete_sequence(seq)
        ratio = float(self.miditok.tokens_errors(seq))
        if ratio > 0:
            probs.append(
                f"{round(ratio * len(ids))} of {len(ids)} tokens break REMI's grammar "
                "(miditok tokens_errors: a token type that may not follow the previous one, "
                "or a position going backwards in a bar)"
            )
        return probs
