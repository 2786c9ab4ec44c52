"""``Song``: a piece plus the attributes used, the seed, and an edit history with undo/redo."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .attributes import Attributes
from .errors import CodeplayError
from .music import Piece


@dataclass(frozen=True)
class Version:
    """One state of a song: the piece and the operation that produced it."""

    piece: Piece
    operation: str
    params: dict = field(default_factory=dict)
    seed: int | None = None


@dataclass
class Song:
    """The result of :func:`codeplay_nb.compose` (or of :meth:`Song.from_midi`), editable with history.

    ``song.piece`` is the current version. Edits (``extend``, ``infill``, ``regenerate_track``,
    ``add_track``, ``set_instrument``) push a new version; ``undo``/``redo`` move through them.
    ``save`` never overwrites the file the song was loaded from unless ``overwrite=True``.
    """

    versions: list[Version]
    attributes: Attributes = field(default_factory=Attributes)
    source_path: str | None = None
    position: int = 0
    name: str = ""  # what the person calls it; ``title`` falls back to the prompt

    # ---------------------------------------------------------------- construction
    @classmethod
    def new(cls, piece: Piece, attributes: Attributes | None = None, *, operation: str = "compose",
            params: dict | None = None, seed: int | None = None, source_path: str | None = None) -> Song:
        return cls([Version(piece, operation, params or {}, seed)], attributes or Attributes(), source_path)

    @classmethod
    def from_midi(cls, path: str | os.PathLike) -> Song:
        from .io import read_midi

        return cls.new(read_midi(path), operation="load", params={"path": str(path)},
                       source_path=str(Path(path).resolve()))

    # ---------------------------------------------------------------- state
    @property
    def piece(self) -> Piece:
        return self.versions[self.position].piece

    @property
    def seed(self) -> int | None:
        return self.versions[self.position].seed

    @property
    def history(self) -> list[Version]:
        return list(self.versions)

    @property
    def can_undo(self) -> bool:
        return self.position > 0

    @property
    def can_redo(self) -> bool:
        return self.position < len(self.versions) - 1

    def push(self, piece: Piece, operation: str, params: dict | None = None, seed: int | None = None) -> Song:
        """Add a version after the current one (dropping any redo branch) and make it current."""
        del self.versions[self.position + 1:]
        self.versions.append(Version(piece, operation, params or {}, seed))
        self.position = len(self.versions) - 1
        return self

    def undo(self) -> Song:
        if not self.can_undo:
            raise CodeplayError("nothing to undo")
        self.position -= 1
        return self

    def redo(self) -> Song:
        if not self.can_redo:
            raise CodeplayError("nothing to redo")
        self.position += 1
        return self

    def describe_history(self) -> list[str]:
        out = []
        for i, v in enumerate(self.versions):
            params = ", ".join(f"{k}={v}" for k, v in v.params.items() if v is not None)
            mark = "→" if i == self.position else " "
            out.append(f"{mark} {i}: {v.operation}({params}) seed={v.seed} bars={v.piece.n_bars}")
        return out

    # ---------------------------------------------------------------- history in words, titles, branches
    @property
    def title(self) -> str:
        """The song's name, else its prompt (shortened), else "Untitled song"."""
        if self.name:
            return self.name
        prompt = str(self.versions[0].params.get("prompt") or "").strip()
        if prompt:
            return prompt if len(prompt) <= 40 else prompt[:39].rstrip() + "…"
        path = self.versions[0].params.get("path")
        return Path(str(path)).stem if path else "Untitled song"

    def describe_version(self, index: int) -> str:
        """One short sentence for a version: "Composed 8 bars", "Regenerated bars 3-4 (Piano, Bass)",
        "Changed track 2 to Violin"."""
        v = self.versions[index]
        p = v.params
        before = self.versions[index - 1].piece if index > 0 else v.piece

        def names(piece: Piece, tracks) -> str:
            out = []
            for t in tracks:
                if isinstance(t, int) and 1 <= t <= len(piece.tracks):
                    out.append(piece.tracks[t - 1].label)
                else:
                    out.append(str(t))
            return ", ".join(out)

        if v.operation == "compose":
            return f"Composed {v.piece.n_bars} bars"
        if v.operation == "load":
            return f"Opened {Path(str(p.get('path', 'a MIDI file'))).name}"
        if v.operation == "extend":
            return f"Extended by {p.get('bars', v.piece.n_bars - before.n_bars)} bars"
        if v.operation == "infill":
            bars = p.get("bars")
            first, last = (bars, bars) if isinstance(bars, int) else tuple(bars or (1, 1))[:2]
            where = f"bar {first}" if first == last else f"bars {first}–{last}"
            tracks = p.get("tracks")
            return f"Regenerated {where} ({names(before, tracks) if tracks else 'all tracks'})"
        track = p.get("track")
        number = track if isinstance(track, int) else None
        if v.operation in ("regenerate_track", "set_instrument") and number is None:
            number = next((i + 1 for i, t in enumerate(before.tracks) if str(track).lower() in
                           (t.name.lower(), t.label.lower())), None)
        label = v.piece.tracks[number - 1].label if number and number <= len(v.piece.tracks) else str(track)
        if v.operation == "regenerate_track":
            return f"Regenerated track {number or track} as {label}" if p.get("instrument") else \
                f"Regenerated track {number or track} ({label})"
        if v.operation == "set_instrument":
            return f"Changed track {number or track} to {label}"
        if v.operation == "add_track":
            return f"Added track {len(v.piece.tracks)}: {v.piece.tracks[-1].label}"
        return v.operation.replace("_", " ").capitalize()

    def history_sentences(self) -> list[str]:
        """:meth:`describe_version` for every version, oldest first."""
        return [self.describe_version(i) for i in range(len(self.versions))]

    def branch(self, position: int | None = None, *, name: str | None = None) -> Song:
        """A new song whose history is this one's up to ``position`` (default: the current version), so that
        editing an earlier version keeps the later ones here."""
        at = self.position if position is None else position
        if not 0 <= at < len(self.versions):
            raise CodeplayError(f"version {at} does not exist: this song has versions 0-{len(self.versions) - 1}")
        return Song(list(self.versions[: at + 1]), self.attributes, self.source_path, at,
                    name if name is not None else f"{self.title} (from version {at + 1})")

    # ---------------------------------------------------------------- edits (thin: logic lives in editing)
    def _plan(self) -> dict[str, float]:
        """A key, chords or a genre compose chose itself stay a plan in every edit (see ``plan_strengths``)."""
        from .model.config import plan_strengths

        first = self.versions[0].params
        key_chosen = bool(first.get("key_chosen")) and bool(self.piece.key_signatures) \
            and self.piece.key_signatures[0].key == self.attributes.key
        genre_chosen = bool(first.get("genre_chosen")) and first.get("genre_chosen") == self.attributes.genre
        return plan_strengths(chords_chosen=bool(first.get("chords_chosen")), key_chosen=key_chosen,
                              genre_chosen=genre_chosen)

    def _apply(self, op: str, **kwargs: Any) -> Song:
        from . import editing
        from .model.config import decoding_overrides

        fn = getattr(editing, op)
        seed = kwargs.get("seed")
        from .generation import new_seed

        if op != "set_instrument":
            kwargs["seed"] = seed = new_seed(seed)
        with decoding_overrides(**self._plan()):
            piece = fn(self.piece, **kwargs)
        params = {k: v for k, v in kwargs.items() if k not in ("model", "seed", "progress")}
        return self.push(piece, op, params, seed)

    def extend(self, bars: int = 4, **kw: Any) -> Song:
        return self._apply("extend", bars=bars, **kw)

    def infill(self, bars: tuple[int, int] | int, tracks=None, **kw: Any) -> Song:
        return self._apply("infill", bars=bars, tracks=tracks, **kw)

    def regenerate_track(self, track, instrument=None, **kw: Any) -> Song:
        return self._apply("regenerate_track", track=track, instrument=instrument, **kw)

    def add_track(self, instrument, **kw: Any) -> Song:
        return self._apply("add_track", instrument=instrument, **kw)

    def set_instrument(self, track, instrument) -> Song:
        return self._apply("set_instrument", track=track, instrument=instrument)

    # ---------------------------------------------------------------- output
    def to_midi_bytes(self) -> bytes:
        from .io import midi_bytes

        return midi_bytes(self.piece)

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write the current version as MIDI, atomically. Refuses to replace an existing file (the file the
        song was loaded from included, also through a hard link or another spelling of its path) unless
        ``overwrite=True``: the user's original is never lost by accident."""
        from .files import check_output, same_file
        from .io import write_midi

        p = Path(path)
        if self.source_path and not overwrite and same_file(p, self.source_path):
            raise CodeplayError(
                f"{p} is the file this song was loaded from; save to another path or pass overwrite=True"
            )
        check_output(p, overwrite=overwrite, flag="overwrite=True")
        return write_midi(self.piece, p, overwrite=True)

    def summary(self) -> dict:
        p = self.piece
        return {
            "bars": p.n_bars,
            "tracks": [{"name": t.label, "program": t.program, "is_drum": t.is_drum, "notes": len(t.notes)}
                       for t in p.tracks],
            "notes": p.n_notes,
            "tempo_bpm": round(p.tempos[0].qpm, 2),
            "time_signature": f"{p.time_signatures[0].numerator}/{p.time_signatures[0].denominator}",
            "seconds": round(p.duration_seconds, 2),
            "seed": self.seed,
            "version": self.position,
        }


class SongList:
    """The songs of a session, across compositions: a new composition is added, never replaces one.
    ``current`` is the one shown; ``titles()`` are unique, numbered labels for a list."""

    def __init__(self, songs: list[Song] | None = None) -> None:
        self.songs: list[Song] = list(songs or [])
        self.index: int | None = len(self.songs) - 1 if self.songs else None

    def __len__(self) -> int:
        return len(self.songs)

    @property
    def current(self) -> Song | None:
        return None if self.index is None else self.songs[self.index]

    def add(self, song: Song) -> Song:
        """Add ``song`` (if not already there) and make it current."""
        for i, s in enumerate(self.songs):
            if s is song:
                self.index = i
                return song
        self.songs.append(song)
        self.index = len(self.songs) - 1
        return song

    def select(self, index: int) -> Song:
        if not 0 <= index < len(self.songs):
            raise CodeplayError(f"song {index + 1} does not exist: there are {len(self.songs)} songs")
        self.index = index
        return self.songs[index]

    def titles(self) -> list[str]:
        return [f"{i + 1}. {s.title} ({s.piece.n_bars} bars, {len(s.versions)} versions)"
                for i, s in enumerate(self.songs)]
