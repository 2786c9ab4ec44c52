"""Token schemes behind one interface: NNN (ours), MMM (baseline), REMI (miditok), AMT (arrival time)."""

from .base import STEPS_PER_QUARTER, Tokenizer, TokenStats, get_tokenizer

__all__ = ["STEPS_PER_QUARTER", "TokenStats", "Tokenizer", "get_tokenizer"]
