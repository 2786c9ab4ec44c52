"""POP909 (Wang et al., ISMIR 2020): piano arrangements in three tracks (MELODY, BRIDGE, PIANO) with key,
chord and beat annotations. Songs are put on their annotated beats (``beat_midi.txt``): bar lines on the
annotated downbeats, meter from ``index.csv``; chord and key changes move with them."""

from __future__ import annotations

import csv
import functools
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..attributes import normalize_key
from ..errors import CodeplayError
from ..music import KeySignature, Note, Piece, Tempo, TimeSignature
from .base import CorpusItem, Skipped, describe_piece, load_piece, record_skip, resolve_data_dir
from .beats import bar_line_error, double_time, off_grid_share, parse_beat_file, warp_to_beats


def read_timed_labels(path: Path) -> list[tuple[float, float, str]]:
    """POP909 ``key_audio.txt`` / ``chord_midi.txt``: ``start<TAB>end<TAB>label`` in seconds."""
    rows = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 3:
            rows.append((float(parts[0]), float(parts[1]), parts[2]))
    return rows


def harte_key(label: str) -> str | None:
    """``"Gb:maj"`` -> ``"F# major"``; ``"N"`` -> ``None``."""
    if ":" not in label:
        return None
    tonic, mode = label.split(":", 1)
    return normalize_key(f"{tonic} {'minor' if mode.startswith('min') else 'major'}")


@functools.lru_cache(maxsize=8)
def _index(path: str) -> dict[str, tuple[int, int]]:
    out: dict[str, tuple[int, int]] = {}
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                try:
                    out[row["song_id"].strip()] = (int(row["num_beats_per_measure"]), int(row["num_quavers_per_beat"]))
                except (KeyError, TypeError, ValueError):
                    continue
    except OSError:
        pass
    return out


def song_meter(song_dir: Path) -> tuple[int, int]:
    """(beats per measure, quavers per beat) from ``index.csv`` beside the song folders (default 2, 2)."""
    return _index(str(song_dir.parent / "index.csv")).get(song_dir.name, (2, 2))


def pop909_downbeat_shift(piece: Piece, chords: list[tuple[float, float, str]], beats_per_bar: int = 4) -> int:
    """Fallback without a beat file: ticks to add so that chord changes (mostly on downbeats) land on bar
    lines (whole-beat phase only)."""
    counts = [0] * beats_per_bar
    for start, _, label in chords:
        if label != "N":
            beat = round(piece.tick_at_seconds(start) / piece.tpq)
            counts[beat % beats_per_bar] += 1
    phase = int(np.argmax(counts)) if any(counts) else 0
    return ((beats_per_bar - phase) % beats_per_bar) * piece.tpq


def shift_piece(piece: Piece, ticks: int) -> Piece:
    """Delay every event by ``ticks`` (tempo and key at 0 stay in force from 0)."""
    if ticks == 0:
        return piece
    tracks = tuple(
        replace(t, notes=tuple(Note(n.pitch, n.velocity, n.start + ticks, n.duration) for n in t.notes),
                controls=(), pitch_bends=())
        for t in piece.tracks
    )
    tempos = (piece.tempos[0], *(Tempo(e.time + ticks, e.qpm) for e in piece.tempos[1:]))
    keys = tuple(KeySignature(e.time + ticks if i else 0, e.key) for i, e in enumerate(piece.key_signatures))
    return Piece(tracks, piece.tpq, tempos, piece.time_signatures, keys, length=piece.length + ticks)


def _snap(tick: int, unit: int) -> int:
    return round(tick / unit) * unit


DOUBLE_TIME_BELOW_QPM = 90.0
DOUBLE_TIME_OFF_GRID = 0.2


def _needs_double_time(piece: Piece) -> bool:
    """Slow songs whose melody runs in sixteenths were annotated at half the notated pulse: count their
    beats twice as fast (the annotated downbeats stay bar lines)."""
    if piece.tempos[0].qpm >= DOUBLE_TIME_BELOW_QPM or not piece.tracks:
        return False
    melody = next((t for t in piece.tracks if t.name.upper() == "MELODY"), piece.tracks[0])
    return off_grid_share([n.start for n in melody.notes], piece.tpq) > DOUBLE_TIME_OFF_GRID


def pop909_piece(song_dir: Path) -> tuple[Piece | None, str, list[tuple[int, str]]]:
    """A POP909 song on its annotated beats, with its audio key annotations as key signatures.
    Returns ``(piece, reason_if_none, chord_changes)``; chord changes are ``(tick, Harte label)`` on the
    returned piece's grid, snapped to the nearest eighth note."""
    mid = song_dir / f"{song_dir.name}.mid"
    piece, reason = load_piece(mid)
    if piece is None:
        return None, reason, []
    chord_file = song_dir / "chord_midi.txt"
    chords = read_timed_labels(chord_file) if chord_file.exists() else []
    key_file = song_dir / "key_audio.txt"
    key_rows = [(s, harte_key(lab)) for s, _, lab in read_timed_labels(key_file)] if key_file.exists() else []
    key_rows = [(s, k) for s, k in key_rows if k]
    beat_file = song_dir / "beat_midi.txt"
    if beat_file.exists():
        try:
            grid, per_bar = parse_beat_file(beat_file.read_text(), *song_meter(song_dir))
        except (ValueError, IndexError) as exc:
            return None, f"unreadable beat_midi.txt: {exc}", []
        events = [s for s, _, _ in chords] + [s for s, _ in key_rows]
        warped, ticks = warp_to_beats(piece, grid, per_bar, events)
        if _needs_double_time(warped):
            warped, ticks = warp_to_beats(piece, double_time(grid, per_bar), per_bar, events)
        unit = warped.tpq // 2
        changes = [(_snap(t, unit), lab) for t, (_, _, lab) in zip(ticks, chords, strict=False)]
        key_ticks = ticks[len(chords):]
        keys: list[KeySignature] = []
        for t, (_, k) in zip(key_ticks, key_rows, strict=True):
            if not keys or keys[-1].key != k:
                keys.append(KeySignature(0 if not keys else max(_snap(t, unit), 0), k))
        return warped.replace(key_signatures=tuple(keys)), "", changes
    # no beat annotation: the old whole-beat alignment from chord changes
    keys = []
    for start, k in key_rows:
        if not keys or keys[-1].key != k:
            keys.append(KeySignature(0 if not keys else piece.tick_at_seconds(start), k))
    shift = pop909_downbeat_shift(piece, chords)
    changes = [(round(piece.tick_at_seconds(s) / piece.tpq) * piece.tpq + shift, label) for s, _, label in chords]
    piece = Piece(piece.tracks, piece.tpq, piece.tempos, (TimeSignature(0, 4, 4),), tuple(keys), piece.length)
    return shift_piece(piece, shift), "", changes


def pop909_bar_line_error(song_dir: Path, piece: Piece) -> float | None:
    """How far ``piece`` (the song as the loader yields it) puts its bar lines from the song's annotated
    downbeats, in beats, checked against the song's own MIDI file and ``beat_midi.txt``
    (:func:`.beats.bar_line_error`); ``None`` without a readable beat file."""
    beat_file = song_dir / "beat_midi.txt"
    original, _ = load_piece(song_dir / f"{song_dir.name}.mid")
    if original is None or not beat_file.exists():
        return None
    try:
        grid, _ = parse_beat_file(beat_file.read_text(), *song_meter(song_dir))
    except (ValueError, IndexError):
        return None
    return bar_line_error(original, piece, grid)


def pop909_song_dirs(data_dir: Path) -> list[Path]:
    """Song folders ``NNN/NNN.mid`` under ``data_dir/pop909`` (or ``data_dir`` itself when it holds them)."""
    root = data_dir / "pop909"
    if not root.is_dir() and any((d / f"{d.name}.mid").exists() for d in data_dir.iterdir() if d.is_dir()):
        root = data_dir
    if not root.is_dir():
        raise CodeplayError(f"POP909 not found under {data_dir} (expected {root}/NNN/NNN.mid)")
    return sorted(d for d in root.iterdir() if d.is_dir() and (d / f"{d.name}.mid").exists())


def load_pop909(
    data_dir: str | os.PathLike | None = None, *, limit: int | None = None, skipped: Skipped | None = None
) -> Iterator[CorpusItem]:
    """POP909 piano arrangements (MELODY, BRIDGE, PIANO) on their annotated beats: genre pop, key from
    ``key_audio.txt``, chord changes in ``meta["chords"]`` as ``(tick, Harte label)``."""
    root = resolve_data_dir(data_dir)
    n = 0
    for d in pop909_song_dirs(root):
        if limit is not None and n >= limit:
            return
        piece, reason, changes = pop909_piece(d)
        if piece is None:
            record_skip(skipped, "pop909", d / f"{d.name}.mid", reason)
            continue
        attrs = describe_piece(piece, genre="pop", key=piece.key_at(0))
        yield CorpusItem(piece, attrs, "pop909", f"pop909/{d.name}", key_from_piece=bool(piece.key_signatures),
                         meta={"chords": changes})
        n += 1
