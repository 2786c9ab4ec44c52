"""codeplay_nb: a sentence in, an editable multi-track MIDI file out.

Importing this package is cheap and has no side effects: torch, transformers and the UI libraries load
only when a function that needs them is called.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

from .attributes import Attributes
from .errors import CodeplayError
from .io import read_midi, write_midi
from .music import Note, Piece, Tempo, TimeSignature, Track

_LAZY = {
    "compose": "codeplay_nb.composer",
    "Song": "codeplay_nb.song",
    "classify": "codeplay_nb.text",
    "extend": "codeplay_nb.editing",
    "infill": "codeplay_nb.editing",
    "regenerate_track": "codeplay_nb.editing",
    "set_instrument": "codeplay_nb.editing",
    "add_track": "codeplay_nb.editing",
}

__all__ = [
    "Attributes", "CodeplayError", "Note", "Piece", "Tempo", "TimeSignature", "Track", "read_midi",
    "write_midi", *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'codeplay_nb' has no attribute {name!r}")
