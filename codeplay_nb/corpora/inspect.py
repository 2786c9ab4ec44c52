"""Look at what the model learns from: :func:`write_preview` (``codeplay dataset preview``) writes pieces
exactly as a loader yields them, one MIDI file each, beside the bars and beats the model will see: bar start
ticks, time signatures, tempo map, keys and one chord label per bar (the chord lane of the training
examples, :func:`codeplay_nb.dataset.window_chords`).

Per piece ``NAME`` (the piece id with ``/`` written as ``__``) the output folder gets ``NAME.mid`` (the
notes; a MIDI file ends at its last note, so trailing empty bars live only in the listing), ``NAME.json``
(everything) and ``NAME.bars.tsv`` (one row per bar); ``index.tsv`` lists the pieces. Existing files are
never replaced unless ``overwrite``.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..chords import display
from ..errors import CodeplayError
from ..files import atomic_write_bytes
from ..instruments import family_of_program
from ..music import Piece, TimeSignature
from .base import CorpusItem, resolve_data_dir
from .beats import off_grid_share
from .pop909 import pop909_bar_line_error, pop909_song_dirs

INDEX = "index.tsv"


def file_stem(piece_id: str) -> str:
    """A file name for a piece id: ``pop909/001`` -> ``pop909__001`` (odd characters become ``_``)."""
    return re.sub(r"[^A-Za-z0-9._+-]", "_", piece_id.replace("/", "__")).lstrip(".") or "piece"


def beat_ticks(ts: TimeSignature, tpq: int) -> int:
    """Ticks of one beat: the denominator's note, a dotted quarter in compound n/8 (6/8, 9/8, 12/8)."""
    unit = max(tpq * 4 // ts.denominator, 1)
    return unit * 3 if ts.denominator >= 8 and ts.numerator % 3 == 0 and ts.numerator > 3 else unit


def bar_positions(piece: Piece, starts: Iterable[int]) -> np.ndarray:
    """Onset ticks measured from the start of their bar (what the model's position tokens encode)."""
    s = np.asarray(list(starts), dtype=np.int64)
    lines = np.asarray(piece.bar_starts(until=int(s.max()) + 1 if len(s) else None), dtype=np.int64)
    if not len(s):
        return s
    idx = np.clip(np.searchsorted(lines, s, side="right") - 1, 0, len(lines) - 1)
    return s - lines[idx]


def piece_off_grid(piece: Piece, division: int = 2) -> float:
    """Share of the piece's onsets off the 1/``division``-quarter grid counted from each bar line."""
    starts = [n.start for t in piece.tracks for n in t.notes]
    return off_grid_share(bar_positions(piece, starts).tolist(), piece.tpq, division)


def bar_rows(item: CorpusItem) -> list[dict]:
    """One row per bar as the model sees it: ticks, seconds, meter, beats, tempo, key, chord, onsets."""
    from ..dataset import window_chords

    piece = item.piece
    n = piece.n_bars
    if n == 0:
        return []
    lines = piece.bar_starts()[: n + 1]
    chords = window_chords(item, piece, 0)
    onsets = []
    for t in piece.tracks:
        s = np.fromiter((x.start for x in t.notes), dtype=np.int64, count=len(t.notes))
        idx = np.searchsorted(lines, s, side="right") - 1
        onsets.append(np.bincount(idx[(idx >= 0) & (idx < n)], minlength=n))
    rows = []
    for b in range(n):
        s, e = lines[b], lines[b + 1]
        ts = piece.time_signature_at(s)
        step = beat_ticks(ts, piece.tpq)
        rows.append({
            "bar": b + 1, "start_tick": s, "end_tick": e, "seconds": round(piece.seconds(s), 4),
            "time_signature": f"{ts.numerator}/{ts.denominator}", "beats": list(range(s, e, step)),
            "qpm": piece.tempo_at(s),
            "key": piece.key_at(s) if item.key_from_piece else item.attributes.key,
            "chord": chords[b] if b < len(chords) else None,
            "onsets": [int(o[b]) for o in onsets],
        })
    return rows


@functools.lru_cache(maxsize=4)
def _pop909_dirs(root: str) -> dict[str, Path]:
    return {d.name: d for d in pop909_song_dirs(Path(root))}


def bar_line_check(item: CorpusItem, data_dir: str | os.PathLike | None) -> float | None:
    """For a POP909 piece: the largest distance (in beats) of its bar lines from the song's annotated
    downbeats (:func:`.pop909.pop909_bar_line_error`); ``None`` for other sources or without the song."""
    if item.source != "pop909":
        return None
    try:
        dirs = _pop909_dirs(str(resolve_data_dir(data_dir)))
    except CodeplayError:
        return None
    d = dirs.get(item.piece_id.rsplit("/", 1)[-1])
    return None if d is None else pop909_bar_line_error(d, item.piece)


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.integer, np.floating)):
        return x.item()
    if isinstance(x, (str, int, float, bool)) or x is None:
        return x
    return str(x)


def piece_listing(item: CorpusItem, midi_file: str = "", data_dir: str | os.PathLike | None = None) -> dict:
    """Everything the preview says about one piece (JSON-ready)."""
    p = item.piece
    attrs = asdict(item.attributes)
    for k in ("probabilities", "notes"):
        attrs.pop(k, None)
    check = bar_line_check(item, data_dir)
    return _jsonable({
        "piece_id": item.piece_id, "source": item.source, "group": item.split_key, "file": midi_file,
        "attributes": attrs, "meta": item.meta, "tpq": p.tpq, "length": p.length, "n_bars": p.n_bars,
        "tracks": [{"index": i, "name": t.label, "program": t.program, "is_drum": t.is_drum,
                    "family": family_of_program(t.program, t.is_drum), "notes": len(t.notes)}
                   for i, t in enumerate(p.tracks)],
        "tempo_map": [{"tick": t.time, "qpm": t.qpm, "seconds": round(p.seconds(t.time), 4)} for t in p.tempos],
        "time_signatures": [{"tick": t.time, "meter": f"{t.numerator}/{t.denominator}"} for t in p.time_signatures],
        "key_signatures": [{"tick": k.time, "key": k.key} for k in p.key_signatures],
        "off_grid_8th": round(piece_off_grid(p), 4),
        "bar_line_error_beats": None if check is None else round(check, 5),
        "bars": bar_rows(item),
    })


def bars_tsv(listing: dict) -> str:
    tracks = [f"{t['index']}:{t['name']}" for t in listing["tracks"]]
    head = ["bar", "start_tick", "end_tick", "seconds", "time_signature", "beats", "qpm", "key", "chord", *tracks]
    lines = ["\t".join(head)]
    for r in listing["bars"]:
        chord = display(r["chord"]) if r["chord"] else ""
        lines.append("\t".join(str(v) for v in (
            r["bar"], r["start_tick"], r["end_tick"], r["seconds"], r["time_signature"],
            ",".join(map(str, r["beats"])), r["qpm"], r["key"] or "", chord, *r["onsets"])))
    return "\n".join(lines) + "\n"


def preview_paths(out_dir: Path, item: CorpusItem) -> tuple[Path, Path, Path]:
    stem = file_stem(item.piece_id)
    return out_dir / f"{stem}.mid", out_dir / f"{stem}.json", out_dir / f"{stem}.bars.tsv"


def write_preview(items: Iterable[CorpusItem], out_dir: str | os.PathLike, *, overwrite: bool = False,
                  data_dir: str | os.PathLike | None = None) -> list[dict]:
    """Write every item (MIDI + JSON + bars TSV) and ``index.tsv``; returns the index rows. All target
    paths are checked before anything is written: an existing file is an error unless ``overwrite``."""
    from ..io import write_midi

    items = list(items)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise CodeplayError(f"{out} is a file; give a folder for the preview")
    targets = [out / INDEX, *(p for it in items for p in preview_paths(out, it))]
    if len(set(targets)) != len(targets):
        raise CodeplayError("two pieces map to the same file name; preview them separately")
    if not overwrite:
        clash = next((t for t in targets if t.exists()), None)
        if clash is not None:
            raise CodeplayError(f"{clash} exists; choose another folder or pass --overwrite")
    out.mkdir(parents=True, exist_ok=True)
    index = []
    for it in items:
        mid, js, tsv = preview_paths(out, it)
        write_midi(it.piece, mid, overwrite=True)
        listing = piece_listing(it, mid.name, data_dir)
        atomic_write_bytes(js, json.dumps(listing, indent=1, ensure_ascii=False).encode())
        atomic_write_bytes(tsv, bars_tsv(listing).encode())
        index.append({"piece_id": it.piece_id, "file": mid.name, "bars": listing["n_bars"],
                      "tracks": sum(1 for t in it.piece.tracks if t.notes), "notes": it.piece.n_notes,
                      "off_grid_8th": listing["off_grid_8th"], "bar_line_error_beats": listing["bar_line_error_beats"]})
    cols = ["piece_id", "file", "bars", "tracks", "notes", "off_grid_8th", "bar_line_error_beats"]
    text = "\t".join(cols) + "\n" + "".join("\t".join("" if r[c] is None else str(r[c]) for c in cols) + "\n"
                                           for r in index)
    atomic_write_bytes(out / INDEX, text.encode())
    return index
