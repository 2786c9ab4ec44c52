"""The Groove MIDI Dataset (Gillick et al., ICML 2019; CC BY 4.0): 1,110 human drum performances played to
a click, General MIDI drum notes with real timing and velocity. Style, tempo and meter come from each
file name ``ID_style[-substyle]_BPM_beat|fill_NUM-DEN.mid``; the style maps to a genre where one of ours
fits and stays unknown otherwise (funk, soul, reggae, ... are not in the shared vocabulary).

The drummers play around the click (often a few hundredths of a beat ahead of it); the model writes on a
grid of 12 steps per quarter, where that timing only blurs the pattern from bar to bar. By default every
hit is snapped to the 16th-note or the triplet grid, whichever fits the performance
(:func:`.beats.snap_to_grid`); velocities, the human part the model can represent, are kept."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

from ..errors import CodeplayError
from ..music import Piece, Tempo, TimeSignature, Track
from .base import CorpusItem, Skipped, _midi_files, describe_piece, load_piece, record_skip, resolve_data_dir
from .beats import snap_to_grid

_NAME_RE = re.compile(r"^(?P<id>\d+)_(?P<style>[a-z0-9-]+)_(?P<bpm>\d+)_(?P<kind>beat|fill)_(?P<num>\d+)-(?P<den>\d+)$")

# Groove style (the part before "-") -> genre in the shared vocabulary; absent styles stay unknown
STYLE_GENRES: dict[str, str] = {
    "rock": "rock", "punk": "rock", "hiphop": "hiphop", "jazz": "jazz", "neworleans": "jazz",
    "latin": "latin", "afrocuban": "latin", "country": "country", "blues": "blues", "pop": "pop",
    "dance": "electronic",
}


def parse_groove_name(stem: str) -> dict | None:
    """``"12_funk-purdieshuffle_95_beat_4-4"`` -> style, substyle, bpm, kind, meter; None if it does not fit."""
    m = _NAME_RE.match(stem)
    if not m:
        return None
    style, _, sub = m["style"].partition("-")
    return {"style": style, "substyle": sub or None, "bpm": float(m["bpm"]), "kind": m["kind"],
            "time_signature": (int(m["num"]), int(m["den"])), "genre": STYLE_GENRES.get(style)}


def groove_genre(style: str) -> str | None:
    return STYLE_GENRES.get(style.split("-")[0])


def _on_named_grid(piece: Piece, bpm: float, ts: tuple[int, int]) -> Piece:
    """The performance with the file name's meter from tick 0 (the click the drummer played to starts the
    first bar) and its tempo when the file carries none."""
    tempos = piece.tempos if len(piece.tempos) > 1 or abs(piece.tempos[0].qpm - 120.0) > 1e-6 else (Tempo(0, bpm),)
    drums = tuple(Track(t.program, True, t.name or "Drums", t.notes) for t in piece.tracks if t.notes)
    return piece.replace(tracks=drums, tempos=tempos, time_signatures=(TimeSignature(0, *ts),))


def groove_root(data_dir: str | os.PathLike | None) -> Path:
    root = resolve_data_dir(data_dir)
    for cand in (root / "groove", root):
        if cand.is_dir() and any(cand.glob("drummer*")):
            return cand
    raise CodeplayError(f"Groove MIDI Dataset not found under {root} (expected {root}/groove/drummerN/sessionM/*.mid)")


def load_groove(
    data_dir: str | os.PathLike | None = None, *, limit: int | None = None, skipped: Skipped | None = None,
    kinds: tuple[str, ...] = ("beat", "fill"), quantize: bool = True,
) -> Iterator[CorpusItem]:
    """Drum-only pieces: genre from the style (or unknown), tempo and meter from the file name, hits on the
    grid unless ``quantize=False``; the drummer is the split group (so one drummer's sessions stay on one
    side)."""
    root = groove_root(data_dir)
    n = 0
    for f in _midi_files(root):
        if limit is not None and n >= limit:
            return
        info = parse_groove_name(f.stem)
        if info is None:
            record_skip(skipped, "groove", f, "file name does not follow ID_style_BPM_beat|fill_NUM-DEN")
            continue
        if info["kind"] not in kinds:
            continue
        piece, reason = load_piece(f, allow_drums_only=True)
        if piece is None:
            record_skip(skipped, "groove", f, reason)
            continue
        piece = _on_named_grid(piece, info["bpm"], info["time_signature"])
        if quantize:
            piece = snap_to_grid(piece)
        rel = f.relative_to(root).with_suffix("").as_posix()
        attrs = describe_piece(piece, genre=info["genre"])
        drummer = rel.split("/")[0]
        yield CorpusItem(piece, attrs, "groove", f"groove/{rel}", group=f"groove/{drummer}/{f.parent.name}",
                         meta={"style": info["style"], "substyle": info["substyle"], "kind": info["kind"]})
        n += 1
