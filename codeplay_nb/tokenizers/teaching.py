"""Small helpers for the tokenizer notebook: the same bar in every scheme, token counts by kind."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from ..music import Piece, slice_bars
from .base import Tokenizer, get_tokenizer


def load_schemes(schemes: Sequence[str]) -> dict[str, Tokenizer]:
    """The tokenizers that can be built here (a scheme whose module is missing is left out)."""
    out = {}
    for s in schemes:
        try:
            out[s] = get_tokenizer(s)
        except ImportError:
            continue
    return out


def bar_tokens(tokenizer: Tokenizer, piece: Piece, bar: int) -> list[str]:
    """The tokens of bar ``bar`` (0-based) encoded on its own: the bar is cut out with
    :func:`~codeplay_nb.music.slice_bars` (carrying tempo and time signature), so every scheme shows its
    header, its track/bar framing and its note events for exactly the same music."""
    return tokenizer.tokens(tokenizer.encode(slice_bars(piece, bar, bar)))


def bar_view(tokenizers: dict[str, Tokenizer], piece: Piece, bar: int) -> dict[str, list[str]]:
    """``{scheme: tokens of one bar}`` for side-by-side reading."""
    return {name: bar_tokens(tok, piece, bar) for name, tok in tokenizers.items()}


def token_kinds(tokens: Sequence[str]) -> Counter:
    """How many tokens of each kind (the part before ``=`` or ``_``): where a scheme spends its tokens."""
    def kind(t: str) -> str:
        if "=" in t:
            return t.split("=")[0]
        head, *rest = t.split("_")
        for part in rest:  # keep upper-case words (TEMPO_C), drop values (70, unknown, None, 1.6.12)
            if not (part.isalpha() and part.isupper()):
                break
            head += "_" + part
        return head

    return Counter(kind(t) for t in tokens)


def encode_speed(tokenizers: dict[str, Tokenizer], pieces: Sequence[Piece], repeats: int = 3) -> list[dict]:
    """Median seconds (over ``repeats``) to encode every piece once, per scheme, with files/s. A rough
    in-notebook figure; ``benchmarks/bench_tokenizers.py`` is the careful measurement."""
    import statistics
    import time

    rows = []
    for name, tok in tokenizers.items():
        for p in pieces:  # warm-up
            tok.encode(p)
        times = []
        for _ in range(max(1, repeats)):
            t0 = time.perf_counter()
            for p in pieces:
                tok.encode(p)
            times.append(time.perf_counter() - t0)
        med = statistics.median(times)
        rows.append({"scheme": name, "files": len(pieces), "seconds": round(med, 4),
                     "files_per_s": round(len(pieces) / med, 1) if med else float("inf")})
    return rows
