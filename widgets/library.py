"""Where the app's songs go: an autosave folder the person can see (every version of every song of a session,
reopened after a reload), browser downloads named after the prompt, and saving a copy on the server.

No Jupyter imports here. Writes are atomic (a temporary file in the same folder, then ``os.replace``) and
never touch a file the app did not create: each song gets its own new sub-folder, and a version file that
is already there is left alone.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import os
import re
import time
import uuid
from pathlib import Path
from typing import Any

from codeplay_nb.attributes import Attributes
from codeplay_nb.errors import CodeplayError
from codeplay_nb.song import Song, Version

log = logging.getLogger(__name__)

APP_MARK = "codeplay_nb song"
SONG_FILE = "song.json"
MAX_REOPENED = 20
_FILLER = {"a", "an", "the", "some", "me", "please", "make", "write", "compose", "for", "with", "and", "of", "at",
           "in", "on", "to", "by", "bpm", "like", "that", "is"}


# ---------------------------------------------------------------- names
def slug(text: str | None, fallback: str = "codeplay-song", max_words: int = 4) -> str:
    """A file name from a prompt's first words that say something: ``"A sad piano ballad!"`` ->
    ``"sad-piano-ballad"``."""
    words = [w for w in re.findall(r"[a-z0-9]+", (text or "").lower()) if w not in _FILLER and not w.isdigit()]
    out = "-".join(words[:max_words])[:48].strip("-")
    return out or fallback


def song_slug(song: Song) -> str:
    prompt = song.versions[0].params.get("prompt")
    return slug(song.name or prompt or song.title)


def download_link(data: bytes, mime: str, filename: str, text: str) -> str:
    """An ``<a download>`` link holding the file as a data URI: the browser saves it under ``filename`` in
    JupyterLab, Notebook, VS Code and Voila alike (nothing is written on the server)."""
    b64 = base64.b64encode(data).decode("ascii")
    return (f'<a class="codeplay-download" download="{html.escape(filename)}" href="data:{mime};base64,{b64}" '
            f'title="download {html.escape(filename)}">{html.escape(text)}</a>')


def save_copy(song: Song, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Save the current version on the server as ``.mid`` or ``.wav``; an existing file is replaced only
    with ``overwrite=True``."""
    p = Path(path).expanduser()
    suffix = p.suffix.lower()
    if suffix not in (".mid", ".midi", ".wav"):
        raise CodeplayError(f"save as .mid (MIDI) or .wav (audio), not {p.name!r}")
    if p.exists() and not overwrite:
        raise CodeplayError(f"{p.name} already exists here; choose another name or tick 'Replace an existing file'")
    if suffix == ".wav":
        from codeplay_nb.audio import to_wav_bytes

        _atomic_write(p, to_wav_bytes(song.piece))
        return p
    return song.save(p, overwrite=True)


# ---------------------------------------------------------------- atomic writes
def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _json_safe(params: dict) -> dict:
    """Only plain values (what an edit was asked for); models, callbacks and attribute objects are dropped."""
    out: dict[str, Any] = {}
    for k, v in params.items():
        if isinstance(v, tuple):
            v = list(v)
        if v is None or isinstance(v, (bool, int, float, str)) or (
                isinstance(v, list) and all(isinstance(x, (bool, int, float, str)) for x in v)):
            out[k] = v
    return out


def _attributes_from(d: dict) -> Attributes:
    ts = d.get("time_signature")
    if isinstance(ts, str) and "/" in ts:
        a, b = ts.split("/")
        ts = (int(a), int(b))
    return Attributes(genre=d.get("genre"), emotion=d.get("emotion"), bpm=d.get("bpm"), key=d.get("key"),
                      time_signature=tuple(ts) if ts else None, instruments=tuple(d.get("instruments") or ()))


# ---------------------------------------------------------------- the autosave folder
class SongLibrary:
    """Autosaves songs under ``folder`` (one sub-folder per song: ``song.json`` plus one MIDI file per
    version) and reopens them."""

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder).expanduser()
        self._homes: dict[int, Path] = {}  # id(song) -> its sub-folder
        self._ids: dict[int, str] = {}

    def display_path(self) -> str:
        try:
            return str(self.folder.resolve().relative_to(Path.cwd().resolve())) + os.sep
        except ValueError:
            return str(self.folder) + os.sep

    def _home(self, song: Song) -> Path:
        home = self._homes.get(id(song))
        if home is not None:
            return home
        self.folder.mkdir(parents=True, exist_ok=True)
        base = song_slug(song)
        for n in range(1, 10_000):
            candidate = self.folder / (base if n == 1 else f"{base}-{n}")
            try:
                candidate.mkdir()  # never an existing folder: nothing of the person's is written over
            except FileExistsError:
                continue
            self._homes[id(song)] = candidate
            self._ids[id(song)] = uuid.uuid4().hex
            return candidate
        raise CodeplayError(f"could not make a folder for the song in {self.folder}")

    def save(self, song: Song) -> Path:
        """Write what is new in ``song`` (new versions, position, title); returns its folder."""
        home = self._home(song)
        old = self._read(home) or {}
        files = [v.get("file") for v in old.get("versions", [])]
        versions = []
        for i, v in enumerate(song.versions):
            name = files[i] if i < len(files) and files[i] and (home / files[i]).exists() else None
            if name is None or (i < len(files) and _stale(old, i, v)):
                name = self._new_file(home, i)
                from codeplay_nb.io import midi_bytes

                _atomic_write(home / name, midi_bytes(v.piece))
            versions.append({"file": name, "operation": v.operation, "params": _json_safe(v.params), "seed": v.seed,
                             "sentence": song.describe_version(i), "bars": v.piece.n_bars})
        record = {"app": APP_MARK, "format": 1, "id": self._ids[id(song)], "title": song.title, "name": song.name,
                  "prompt": song.versions[0].params.get("prompt"), "position": song.position,
                  "attributes": {k: v for k, v in song.attributes.to_dict().items()
                                 if k not in ("probabilities", "notes")},
                  "saved": time.strftime("%Y-%m-%d %H:%M:%S"), "versions": versions}
        _atomic_write(home / SONG_FILE, json.dumps(record, indent=1).encode("utf-8"))
        return home

    @staticmethod
    def _new_file(home: Path, index: int) -> str:
        name = f"v{index + 1:03d}.mid"
        n = 1
        while (home / name).exists():  # a branch rewrote this version number: keep the old file
            n += 1
            name = f"v{index + 1:03d}-{n}.mid"
        return name

    @staticmethod
    def _read(home: Path) -> dict | None:
        try:
            record = json.loads((home / SONG_FILE).read_text("utf-8"))
        except (OSError, ValueError):
            return None
        return record if isinstance(record, dict) and record.get("app") == APP_MARK else None

    def saved(self) -> list[Path]:
        """Song folders written by this app, most recently saved first."""
        if not self.folder.is_dir():
            return []
        homes = [p for p in self.folder.iterdir() if p.is_dir() and self._read(p) is not None]
        return sorted(homes, key=lambda p: (p / SONG_FILE).stat().st_mtime, reverse=True)

    def load(self, home: Path) -> Song:
        """Reopen a saved song with all its versions; later autosaves go to the same folder."""
        from codeplay_nb.io import read_midi

        record = self._read(home)
        if record is None:
            raise CodeplayError(f"{home} holds no song saved by this app")
        versions = [Version(read_midi(home / v["file"]), v["operation"], dict(v.get("params") or {}), v.get("seed"))
                    for v in record["versions"]]
        position = min(max(0, int(record.get("position", len(versions) - 1))), len(versions) - 1)
        song = Song(versions, _attributes_from(record.get("attributes") or {}), None, position,
                    record.get("name") or "")
        self._homes[id(song)] = home
        self._ids[id(song)] = record.get("id") or uuid.uuid4().hex
        return song

    def load_all(self, limit: int = MAX_REOPENED) -> list[Song]:
        """The saved songs (oldest first, at most ``limit``); one that cannot be read is skipped."""
        songs = []
        for home in self.saved()[:limit]:
            try:
                songs.append(self.load(home))
            except Exception as exc:  # a damaged folder must not stop the app
                log.warning("could not reopen %s: %s", home, exc)
        return songs[::-1]


def _stale(old: dict, i: int, v: Version) -> bool:
    """Whether the recorded file for version ``i`` belongs to another history (a branch replaced it)."""
    rec = old["versions"][i]
    return rec.get("operation") != v.operation or rec.get("seed") != v.seed or rec.get("bars") != v.piece.n_bars
