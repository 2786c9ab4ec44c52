"""One interface for every token scheme: encode a piece to ids, decode ids to a piece, a vocabulary, a
grammar check. Subclasses override only what differs (MidiTok's layout)."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..attributes import Attributes
from ..music import Piece

STEPS_PER_QUARTER = 12  # the shared time grid: 12 steps per quarter note keeps triplets exact


@dataclass(frozen=True)
class TokenStats:
    tokens: int
    bars: int
    notes: int
    vocab_size: int

    @property
    def tokens_per_bar(self) -> float:
        return self.tokens / max(self.bars, 1)

    @property
    def tokens_per_note(self) -> float:
        return self.tokens / max(self.notes, 1)

    def to_dict(self) -> dict:
        return {"tokens": self.tokens, "bars": self.bars, "notes": self.notes, "vocab_size": self.vocab_size,
                "tokens_per_bar": round(self.tokens_per_bar, 3), "tokens_per_note": round(self.tokens_per_note, 3)}


class Tokenizer(ABC):
    """Base class: a fixed vocabulary of string tokens with integer ids."""

    name: str = "base"
    version: str = "1"

    def __init__(self, vocab: Sequence[str]) -> None:
        self.vocab: list[str] = list(vocab)
        self.token_to_id: dict[str, int] = {t: i for i, t in enumerate(self.vocab)}
        if len(self.token_to_id) != len(self.vocab):
            raise ValueError("duplicate tokens in vocabulary")

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def ids(self, tokens: Sequence[str]) -> list[int]:
        return [self.token_to_id[t] for t in tokens]

    def tokens(self, ids: Sequence[int]) -> list[str]:
        return [self.vocab[i] for i in ids]

    @abstractmethod
    def encode(self, piece: Piece, attributes: Attributes | None = None) -> list[int]:
        """Token ids for the whole piece."""

    @abstractmethod
    def decode(self, ids: Sequence[int]) -> Piece:
        """A piece from token ids (tolerant: malformed parts are skipped)."""

    def check(self, ids: Sequence[int]) -> list[str]:
        """Grammar problems in ``ids`` (empty when well formed). Subclasses refine this."""
        return [f"id {i} outside the vocabulary" for i in ids if not 0 <= i < self.vocab_size]

    def stats(self, piece: Piece, ids: Sequence[int] | None = None) -> TokenStats:
        ids = self.encode(piece) if ids is None else ids
        return TokenStats(len(ids), piece.n_bars, piece.n_notes, self.vocab_size)

    def to_dict(self) -> dict:
        return {"scheme": self.name, "version": self.version, "vocab": self.vocab}

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=1))


def get_tokenizer(scheme: str, **kwargs) -> Tokenizer:
    """``nnn``, ``mmm``, ``remi`` (miditok) or ``amt`` (arrival-time, Anticipatory Music Transformer)."""
    from importlib import import_module

    from ..errors import CodeplayError

    table = {
        "nnn": ("codeplay_nb.tokenizers.nnn", "NNNTokenizer"),
        "mmm": ("codeplay_nb.tokenizers.mmm", "MMMTokenizer"),
        "remi": ("codeplay_nb.tokenizers.remi", "REMITokenizer"),
        "amt": ("codeplay_nb.amt.tokenizer", "AMTTokenizer"),
    }
    if scheme.lower() not in table:
        raise CodeplayError(f"unknown token scheme {scheme!r}; choose one of: {', '.join(table)}")
    mod, cls = table[scheme.lower()]
    return getattr(import_module(mod), cls)(**kwargs)
