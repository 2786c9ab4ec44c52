"""Corpus loaders: real MIDI collections -> :class:`CorpusItem` (a piece plus the attributes we can derive
honestly). Genre comes from the source, emotion only where people labelled it, key from annotations or a
Krumhansl-Schmuckler estimate; what we cannot know stays ``None``.

One small module per source behind one loader interface ``loader(data_dir, *, limit=, skipped=)`` yielding
:class:`CorpusItem`; the shared machinery is in :mod:`.base`, beat alignment in :mod:`.beats`, the mma
accompaniment renderer in :mod:`.accompaniment`. Every loader is a generator that never crashes on a bad
file: corrupted, empty or odd files are skipped with a logged reason and, when a ``skipped`` list is
passed, recorded there as ``(source, path_or_id, reason)``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator

from ..errors import CodeplayError
from .base import (
    MAX_PIECE_SECONDS,
    CorpusItem,
    Skipped,
    default_cache_dir,
    describe_piece,
    instrument_families,
    load_folder,
    load_piece,
    pitch_class_histogram,
    read_midi,
    record_skip,
    resolve_data_dir,
    stable_fraction,
)
from .freedoom import load_freedoom, wad_music_lumps
from .gm import GM_PACKAGES, debian_midi_files, load_gm_songs, load_lakh, read_tagtraum
from .groove import load_groove, parse_groove_name
from .m21 import MUSIC21_DEFAULT, MUSIC21_GENRES, load_music21, music21_paths
from .nottingham import load_nottingham, nottingham_family
from .pop909 import harte_key, load_pop909, pop909_piece, pop909_song_dirs, read_timed_labels
from .vgmidi import load_vgmidi, vgmidi_labels

__all__ = [
    "GM_PACKAGES", "MAX_PIECE_SECONDS", "MUSIC21_DEFAULT", "MUSIC21_GENRES", "CorpusItem", "Skipped",
    "corpus_sources", "debian_midi_files", "default_cache_dir", "describe_piece", "harte_key",
    "instrument_families", "iter_corpus", "load_folder", "load_freedoom", "load_gm_songs", "load_groove",
    "load_lakh", "load_music21", "load_nottingham", "load_piece", "load_pop909", "load_vgmidi",
    "music21_paths", "nottingham_family", "parse_groove_name", "parse_limits", "pitch_class_histogram",
    "pop909_piece", "pop909_song_dirs", "read_midi", "read_tagtraum", "read_timed_labels", "record_skip",
    "resolve_data_dir", "stable_fraction", "vgmidi_labels", "wad_music_lumps",
]


def corpus_sources() -> dict[str, Callable[..., Iterator[CorpusItem]]]:
    """Source names the dataset builder and CLI accept -> loader ``(data_dir, limit=, skipped=)``."""
    from .accompaniment import accompanied_corpus

    return {
        "pop909": load_pop909,
        "nottingham": load_nottingham,
        "vgmidi": load_vgmidi,
        "music21": lambda data_dir=None, **kw: load_music21(**kw),
        "mma": accompanied_corpus,
        "gm": lambda data_dir=None, **kw: load_gm_songs(**kw),
        "groove": load_groove,
        "freedoom": load_freedoom,
    }


def iter_corpus(
    sources: Iterable[str], data_dir: str | os.PathLike | None = None, *, limit: int | None = None,
    skipped: Skipped | None = None, limits: dict[str, int] | None = None,
) -> Iterator[CorpusItem]:
    """Items from several sources in order; ``limit`` applies to each source unless ``limits`` names one."""
    table = corpus_sources()
    names = list(sources)
    for name in names:
        if name not in table:
            raise CodeplayError(f"unknown corpus source {name!r}; choose from: {', '.join(table)}")
    for name in names:
        yield from table[name](data_dir, limit=(limits or {}).get(name, limit), skipped=skipped)


def parse_limits(text: str | None) -> dict[str, int]:
    """``"music21=2000,mma=500"`` -> ``{"music21": 2000, "mma": 500}``."""
    out: dict[str, int] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        name, _, n = part.partition("=")
        if not n.strip().isdigit():
            raise CodeplayError(f"bad per-source limit {part!r}; write it like music21=2000")
        out[name.strip()] = int(n)
    return out
