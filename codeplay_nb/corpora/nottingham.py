"""Nottingham Music Database folk tunes (melody + chord accompaniment)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

from ..errors import CodeplayError
from .base import (
    CorpusItem,
    Skipped,
    _midi_files,
    describe_piece,
    load_piece,
    record_skip,
    resolve_data_dir,
)

log = logging.getLogger(__name__)

# ------------------------------------------------------------------ Nottingham
def nottingham_family(stem: str) -> str:
    """``"reelsa-c12"`` -> ``"reels"``, ``"jigs7"`` -> ``"jigs"``."""
    base = stem.rstrip("0123456789")
    return "reels" if base.startswith("reels") else base


def load_nottingham(
    data_dir: str | os.PathLike | None = None, *, limit: int | None = None, skipped: Skipped | None = None
) -> Iterator[CorpusItem]:
    """Nottingham folk tunes (melody + chords): genre folk, key from the files' key signatures (the
    collection was transcribed from ABC with notated keys), tune family in ``meta``."""
    root = resolve_data_dir(data_dir) / "nottingham"
    if not root.is_dir():
        raise CodeplayError(f"Nottingham not found: expected {root}/*.mid")
    n = 0
    for f in _midi_files(root, recursive=False):
        if limit is not None and n >= limit:
            return
        piece, reason = load_piece(f)
        if piece is None:
            record_skip(skipped, "nottingham", f, reason)
            continue
        attrs = describe_piece(piece, genre="folk", trust_file_key=True)
        yield CorpusItem(piece, attrs, "nottingham", f"nottingham/{f.stem}", key_from_piece=True,
                         meta={"family": nottingham_family(f.stem)})
        n += 1


