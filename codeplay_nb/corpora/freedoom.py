"""Freedoom / FreeDM (Debian ``freedoom``, ``freedm``; BSD licence): full General MIDI arrangements stored
as music lumps inside WAD files. A WAD is a 12-byte header ('IWAD'/'PWAD', lump count, directory offset)
and a directory of 16-byte entries (offset, size, 8-byte name); music lumps are named ``D_*`` and those we
read are plain MIDI files ('MThd'; DMX MUS lumps are skipped). The same song appears in several WADs: each
unique lump (by content hash) is yielded once. Genre: game (music written for a game). Lumps without a
beat grid (converted from DMX MUS at 140 ticks a second, or recorded unquantised: a quarter or more of their
onsets off both the 16th and the triplet grid) are skipped: their bars would not be the music's bars."""

from __future__ import annotations

import hashlib
import os
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ..errors import CodeplayError
from .base import CorpusItem, Skipped, describe_piece, load_piece, record_skip
from .beats import off_grids_share

WAD_DIRS = (Path("/usr/share/games/doom"),)
MAX_WAD_BYTES = 256 * 1024 * 1024
MAX_LUMPS = 100_000
MAX_OFF_GRIDS = 0.25  # share of onsets off the 16th and triplet grids above which a lump has no beat grid


def wad_music_lumps(path: str | os.PathLike) -> list[tuple[str, bytes]]:
    """``(name, bytes)`` of the MIDI music lumps (``D_*`` starting with 'MThd') of a WAD file.
    Raises :class:`CodeplayError` for a file that is not a readable WAD."""
    p = Path(path)
    size = p.stat().st_size
    if size > MAX_WAD_BYTES:
        raise CodeplayError(f"{p.name}: {size / 2**20:.0f} MB is too large for a WAD we read")
    data = p.read_bytes()
    if len(data) < 12 or data[:4] not in (b"IWAD", b"PWAD"):
        raise CodeplayError(f"{p.name} is not a WAD file (no IWAD/PWAD header)")
    n, off = struct.unpack_from("<ii", data, 4)
    if not (0 <= n <= MAX_LUMPS and off >= 12 and off + 16 * n <= len(data)):
        raise CodeplayError(f"{p.name}: WAD directory out of bounds (corrupted file)")
    out = []
    for i in range(n):
        lo, ls, raw = struct.unpack_from("<ii8s", data, off + 16 * i)
        name = raw.split(b"\0", 1)[0].decode("ascii", "replace")
        if not name.upper().startswith("D_") or ls < 14 or lo < 0 or lo + ls > len(data):
            continue
        lump = data[lo:lo + ls]
        if lump[:4] == b"MThd":
            out.append((name.upper(), lump))
    return out


def wad_files(folders=WAD_DIRS) -> list[Path]:
    return sorted(f for d in map(Path, folders) if d.is_dir() for f in d.glob("*.wad"))


def load_freedoom(
    data_dir: str | os.PathLike | None = None, *, limit: int | None = None, skipped: Skipped | None = None,
    wads: list[str | os.PathLike] | None = None,
) -> Iterator[CorpusItem]:
    """Unique MIDI music lumps of the Freedoom/FreeDM WADs (``wads``, else every ``*.wad`` in
    ``/usr/share/games/doom`` and in ``data_dir/freedoom`` when that folder exists)."""
    if wads is None:
        folders = [*WAD_DIRS] + ([Path(data_dir) / "freedoom"] if data_dir else [])
        wads = wad_files(folders)
    seen: set[str] = set()
    n = 0
    with tempfile.TemporaryDirectory(prefix="codeplay-wad-") as tmp:
        for wad in wads:
            try:
                lumps = wad_music_lumps(wad)
            except (CodeplayError, OSError) as exc:
                record_skip(skipped, "freedoom", wad, str(exc))
                continue
            for name, lump in lumps:
                if limit is not None and n >= limit:
                    return
                digest = hashlib.sha1(lump).hexdigest()
                if digest in seen:
                    continue
                seen.add(digest)
                f = Path(tmp) / f"{name}.mid"
                f.write_bytes(lump)
                piece, reason = load_piece(f)
                what = f"{Path(wad).name}:{name}"
                if piece is None:
                    record_skip(skipped, "freedoom", what, reason)
                    continue
                off = off_grids_share([x.start for t in piece.tracks for x in t.notes], piece.tpq)
                if off > MAX_OFF_GRIDS:
                    record_skip(skipped, "freedoom", what, f"no beat grid ({off:.0%} of onsets off the 16th and "
                                "triplet grids: converted from MUS or unquantised)")
                    continue
                yield CorpusItem(piece, describe_piece(piece, genre="game"), "freedoom",
                                 f"freedoom/{Path(wad).stem}/{name}", group=f"freedoom/{digest[:12]}",
                                 meta={"wad": Path(wad).name, "lump": name})
                n += 1


def export_lumps(out_dir: str | os.PathLike, wads: list[str | os.PathLike] | None = None) -> list[Path]:
    """Write every unique MIDI music lump as ``out_dir/freedoom/<sha1-12>.mid``: named like the dataset's split
    groups, so ``codeplay eval --real out_dir/freedoom --two-sample`` picks exactly the held-out songs.
    Existing files are left as they are."""
    from ..files import atomic_write_bytes

    folder = Path(out_dir) / "freedoom"
    folder.mkdir(parents=True, exist_ok=True)
    written, seen = [], set()
    for wad in wads if wads is not None else wad_files():
        for _, lump in wad_music_lumps(wad):
            digest = hashlib.sha1(lump).hexdigest()[:12]
            if digest in seen:
                continue
            seen.add(digest)
            f = folder / f"{digest}.mid"
            if not f.exists():
                atomic_write_bytes(f, lump)
            written.append(f)
    return written
