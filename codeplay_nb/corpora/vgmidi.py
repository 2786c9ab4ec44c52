"""VGMIDI piano arrangements of video-game music with valence/arousal labels."""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from ..attributes import QUADRANT_EMOTION
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

# ------------------------------------------------------------------ VGMIDI
def vgmidi_labels(csv_path: Path) -> tuple[dict[str, str], list[str]]:
    """Piece stem -> emotion from the phrase labels; also the stems whose phrases disagree."""
    by_piece: dict[str, set[tuple[int, int]]] = {}
    with csv_path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            stem = Path(row["midi"]).stem.rsplit("_", 1)[0]
            by_piece.setdefault(stem, set()).add((int(row["valence"]), int(row["arousal"])))
    labels, conflicts = {}, []
    for stem, quads in by_piece.items():
        if len(quads) == 1:
            labels[stem] = QUADRANT_EMOTION[next(iter(quads))]
        else:
            conflicts.append(stem)
    return labels, sorted(conflicts)


def load_vgmidi(
    data_dir: str | os.PathLike | None = None, *, limit: int | None = None, skipped: Skipped | None = None,
    labelled_only: bool = True,
) -> Iterator[CorpusItem]:
    """VGMIDI labelled piano pieces: genre game, emotion from the valence/arousal quadrant of its phrases."""
    root = resolve_data_dir(data_dir) / "vgmidi"
    csv_path = root / "vgmidi_labelled.csv"
    if not csv_path.exists():
        raise CodeplayError(f"VGMIDI not found: expected {csv_path}")
    labels, conflicts = vgmidi_labels(csv_path)
    for stem in conflicts:
        record_skip(skipped, "vgmidi", stem, "phrases carry different valence/arousal labels")
    conflict_set = set(conflicts)
    n = 0
    for f in _midi_files(root / "labelled", recursive=False):
        if limit is not None and n >= limit:
            return
        emotion = labels.get(f.stem)
        if f.stem in conflict_set:
            continue
        if emotion is None and labelled_only:
            record_skip(skipped, "vgmidi", f, "no row in vgmidi_labelled.csv")
            continue
        piece, reason = load_piece(f)
        if piece is None:
            record_skip(skipped, "vgmidi", f, reason)
            continue
        attrs = describe_piece(piece, genre="game", emotion=emotion)
        yield CorpusItem(piece, attrs, "vgmidi", f"vgmidi/{f.stem}")
        n += 1


