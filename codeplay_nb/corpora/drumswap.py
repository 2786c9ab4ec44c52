"""Real drums under synthetic accompaniment: an mma arrangement's looped drum part is replaced by bars of a
human Groove MIDI performance in a matching style (same genre) and a nearby tempo, when one exists."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

from ..music import Note, Piece, Track
from .base import stable_fraction
from .groove import load_groove

TEMPO_TOLERANCE = 0.2  # a groove within 20% of the arrangement's tempo


@dataclass(frozen=True)
class GrooveBeat:
    genre: str
    bpm: float
    piece: Piece
    piece_id: str


@functools.lru_cache(maxsize=2)
def groove_bank(data_dir: str | None) -> tuple[GrooveBeat, ...]:
    """4/4 beats (not fills) with a genre, from the Groove MIDI Dataset (empty when it is not there).
    Beats of validation drummers are left out so real drums do not leak across the split."""
    from ..dataset import split_of

    try:
        items = list(load_groove(data_dir, kinds=("beat",)))
    except (OSError, ValueError):
        return ()
    out = []
    for it in items:
        ts = it.piece.time_signatures[0]
        if it.attributes.genre and (ts.numerator, ts.denominator) == (4, 4) and it.piece.n_bars >= 4 \
                and split_of(it.split_key, 0.05) == "train":
            out.append(GrooveBeat(it.attributes.genre, it.attributes.bpm or 120.0, it.piece, it.piece_id))
    return tuple(out)


def pick_groove_beat(genre: str | None, bpm: float, key: str, data_dir: str | os.PathLike | None) -> GrooveBeat | None:
    bank = groove_bank(None if data_dir is None else str(data_dir))
    fits = [g for g in bank if g.genre == genre and abs(g.bpm / bpm - 1.0) <= TEMPO_TOLERANCE]
    if not fits:
        return None
    return fits[int(stable_fraction(f"drums:{key}") * len(fits))]


def swap_drums(piece: Piece, beat: GrooveBeat, key: str) -> Piece:
    """``piece`` with its drum tracks replaced by consecutive bars of ``beat`` (starting at a bar chosen from
    ``key``; repeated from there when the piece is longer), rescaled to the piece's ticks per quarter."""
    src = beat.piece
    drums = [n for t in src.tracks if t.is_drum for n in t.notes]
    if not drums or piece.time_signatures[0].numerator != 4 or len(piece.time_signatures) > 1:
        return piece
    k = piece.tpq / src.tpq
    bar_src = src.time_signatures[0].bar_ticks(src.tpq)
    bar_dst = piece.time_signatures[0].bar_ticks(piece.tpq)
    n_src = max(1, src.n_bars - 1)  # the last bar may be cut short
    n_dst = piece.n_bars
    start = int(stable_fraction(f"start:{key}") * max(1, n_src - min(n_src, n_dst)))
    by_bar: dict[int, list[Note]] = {}
    for n in drums:
        by_bar.setdefault(n.start // bar_src, []).append(n)
    notes = []
    for b in range(n_dst):
        sb = start + (b % max(1, n_src - start))
        for n in by_bar.get(sb, ()):
            off = round((n.start - sb * bar_src) * k)
            notes.append(Note(n.pitch, n.velocity, b * bar_dst + off, max(1, round(n.duration * k))))
    tracks = [t for t in piece.tracks if not t.is_drum]
    tracks.append(Track(0, True, "Drums", tuple(sorted(notes, key=lambda x: (x.start, x.pitch)))))
    return piece.with_tracks(tracks)
