"""Full General MIDI songs: Debian packages (OpenTTD openMSX, Planet Blupi) and Lakh MIDI."""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..errors import CodeplayError
from .base import (
    CorpusItem,
    Skipped,
    _midi_files,
    describe_piece,
    load_piece,
    record_skip,
)
from .beats import align_grid_phase

log = logging.getLogger(__name__)

# ------------------------------------------------------------------ GM songs from Debian packages
GM_PACKAGES = ("openttd-openmsx", "planetblupi-music-midi")


def debian_midi_files(packages: Iterable[str] = GM_PACKAGES) -> list[Path]:
    """MIDI files installed by Debian ``packages`` (``dpkg -L``); packages not installed are ignored."""
    files: list[Path] = []
    for pkg in packages:
        try:
            out = subprocess.run(["dpkg", "-L", pkg], capture_output=True, text=True, timeout=30, check=False)
        except (OSError, subprocess.SubprocessError):
            continue
        files += [Path(x) for x in out.stdout.splitlines() if x.lower().endswith((".mid", ".midi"))]
    return sorted(f for f in files if f.is_file())


def load_gm_songs(
    folder: str | os.PathLike | None = None, *, limit: int | None = None, skipped: Skipped | None = None
) -> Iterator[CorpusItem]:
    """Full General MIDI arrangements with drums (OpenTTD's openMSX, Planet Blupi): genre game. Files whose
    notes all sit a constant few ticks after the grid (Planet Blupi's) are moved onto it."""
    files = _midi_files(Path(folder)) if folder else debian_midi_files()
    n = 0
    for f in files:
        if limit is not None and n >= limit:
            return
        piece, reason = load_piece(f)
        if piece is None:
            record_skip(skipped, "gm", f, reason)
            continue
        piece, _ = align_grid_phase(piece)  # some files play every note a few ticks after the beat
        yield CorpusItem(piece, describe_piece(piece, genre="game"), "gm", f"gm/{f.parent.name}/{f.stem}")
        n += 1


# ------------------------------------------------------------------ Lakh MIDI
TAGTRAUM_GENRES = {
    "rock": "rock", "pop": "pop", "electronic": "electronic", "jazz": "jazz", "blues": "blues",
    "country": "country", "latin": "latin", "folk": "folk", "rap": "hiphop", "metal": "rock", "punk": "rock",
}


def read_tagtraum(cls_path: str | os.PathLike) -> dict[str, str]:
    """tagtraum ``msd_tagtraum_cd*.cls``: ``TRACKID<TAB>Genre[<TAB>Genre2]`` -> our genre (first genre that
    maps; genres outside the shared vocabulary, e.g. Reggae or New Age, are left out)."""
    out = {}
    for line in Path(cls_path).read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        parts = line.split("\t")
        for g in parts[1:]:
            mapped = TAGTRAUM_GENRES.get(g.strip().lower())
            if mapped:
                out[parts[0].strip()] = mapped
                break
    return out


def load_lakh(
    root: str | os.PathLike, *, tagtraum: str | os.PathLike | None = None, limit: int | None = None,
    skipped: Skipped | None = None, genre_only: bool = False,
) -> Iterator[CorpusItem]:
    """Lakh MIDI (``lmd_full/<x>/<md5>.mid`` or ``lmd_matched/A/B/C/<TRACKID>/<md5>.mid``). With a tagtraum
    cls file, genre comes from the MSD track id of ``lmd_matched`` paths; ``genre_only`` keeps only those."""
    base = Path(root)
    if not base.is_dir():
        raise CodeplayError(f"Lakh MIDI folder {base} not found (lmd_full/ or lmd_matched/)")
    genres = read_tagtraum(tagtraum) if tagtraum else {}
    n = 0
    seen: set[str] = set()
    for f in _midi_files(base):
        if limit is not None and n >= limit:
            return
        if f.stem in seen:  # lmd_matched repeats one MIDI under several track ids
            continue
        track_id = f.parent.name if f.parent.name.startswith("TR") else None
        genre = genres.get(track_id) if track_id else None
        if genre_only and genre is None:
            continue
        piece, reason = load_piece(f)
        if piece is None:
            record_skip(skipped, "lakh", f, reason)
            continue
        seen.add(f.stem)
        yield CorpusItem(piece, describe_piece(piece, genre=genre), "lakh", f"lakh/{f.stem}",
                         meta={"msd_track": track_id} if track_id else {})
        n += 1



