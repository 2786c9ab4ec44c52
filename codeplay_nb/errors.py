"""Errors a user can cause and fix. The CLI prints them as one line and exits with status 2."""

from __future__ import annotations


class CodeplayError(ValueError):
    """Base class for mistakes a user can fix (bad input, bad options, missing optional package)."""


class MidiReadError(CodeplayError):
    """A MIDI file could not be read (missing, corrupted, not MIDI)."""


class BarRangeError(CodeplayError):
    """A bar range lies outside the piece or is reversed."""


class UnknownTrackError(CodeplayError):
    """A track index or name does not exist in the piece."""


class UnknownInstrumentError(CodeplayError):
    """An instrument name is neither a family, a GM program number nor a GM program name."""


class MissingDependencyError(CodeplayError, ImportError):
    """An optional package is needed for this feature."""


def require(module: str, extra: str, feature: str):
    """Import an optional module, or raise a clear error naming the pip extra to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(
            f"{feature} needs the '{module}' package: pip install 'codeplay-nb[{extra}]'"
        ) from exc


class PieceTooLargeError(CodeplayError):
    """A piece is beyond what the package handles in bounded time and memory (bars, tracks, notes, ticks)."""
