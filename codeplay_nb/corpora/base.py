"""Shared corpus machinery: real MIDI collections -> :class:`CorpusItem` (a piece plus the attributes we can derive
honestly). Genre comes from the source, emotion only where people labelled it, key from annotations or a
Krumhansl-Schmuckler estimate; what we cannot know stays ``None``.

Every loader is a generator that never crashes on a bad file: corrupted, empty or odd files are skipped
with a logged reason (``logging``) and, when a ``skipped`` list is passed, recorded there as
``(source, path_or_id, reason)``.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..attributes import Attributes
from ..errors import CodeplayError, MidiReadError
from ..instruments import family_of_program
from ..music import Piece

log = logging.getLogger(__name__)

Skipped = list  # list[tuple[str, str, str]]: (source, file or id, reason)

MAX_PIECE_SECONDS = 30 * 60.0  # longer "pieces" are broken files or concatenations


@dataclass(frozen=True)
class CorpusItem:
    """One piece from a corpus. ``group`` ties derived pieces (e.g. an mma arrangement of a POP909 song) to
    their source so the train/validation split keeps them together; ``key_from_piece`` says the piece's
    own key-signature events are trusted annotations (so windows read the key where they start)."""

    piece: Piece
    attributes: Attributes
    source: str
    piece_id: str
    group: str = ""
    key_from_piece: bool = False
    meta: dict = field(default_factory=dict, compare=False)

    @property
    def split_key(self) -> str:
        return self.group or self.piece_id


# ------------------------------------------------------------------ helpers
def record_skip(skipped: Skipped | None, source: str, what: str, reason: str) -> None:
    """Log (and optionally collect) why a file or work was left out."""
    log.info("skip %s %s: %s", source, what, reason)
    if skipped is not None:
        skipped.append((source, str(what), reason))


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """``data_dir``, else ``$CODEPLAY_DATA``, else ``../shared/data`` relative to the working directory (or
    to its parent, so notebooks run from ``notebooks/`` find it too)."""
    if data_dir or os.environ.get("CODEPLAY_DATA"):
        candidates = [Path(data_dir or os.environ["CODEPLAY_DATA"]).expanduser()]
    else:
        candidates = [Path("../shared/data"), Path("../../shared/data")]
    for p in candidates:
        if p.is_dir():
            return p
    raise CodeplayError(
        f"data folder {candidates[0]} not found; pass --data DIR or set CODEPLAY_DATA to the folder holding "
        "pop909/, nottingham/ and vgmidi/"
    )


def default_cache_dir() -> Path:
    return Path(os.environ.get("CODEPLAY_CACHE") or Path.home() / ".cache" / "codeplay_nb")


# Krumhansl-Kessler key profiles (major, minor), tonic first
_KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
_PCS = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def _profiles() -> np.ndarray:
    rows = [np.roll(_KK_MAJOR, k) for k in range(12)] + [np.roll(_KK_MINOR, k) for k in range(12)]
    m = np.array(rows)
    m = m - m.mean(axis=1, keepdims=True)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


_PROFILE_MATRIX = _profiles()


def pitch_class_histogram(piece: Piece) -> np.ndarray:
    """Duration-weighted pitch-class histogram of the pitched (non-drum) notes."""
    hist = np.zeros(12)
    for t in piece.tracks:
        if t.is_drum or not t.notes:
            continue
        pitches = np.fromiter((n.pitch for n in t.notes), dtype=np.int64, count=len(t.notes))
        durs = np.fromiter((n.duration for n in t.notes), dtype=np.float64, count=len(t.notes))
        np.add.at(hist, pitches % 12, durs)
    return hist


def _estimate_key(piece: Piece) -> str | None:
    """Krumhansl-Schmuckler key estimate (correlation with the 24 rotated Krumhansl-Kessler profiles)."""
    hist = pitch_class_histogram(piece)
    if hist.sum() <= 0:
        return None
    h = hist - hist.mean()
    norm = np.linalg.norm(h)
    if norm == 0:
        return None
    best = int(np.argmax(_PROFILE_MATRIX @ (h / norm)))
    return f"{_PCS[best % 12]} {'major' if best < 12 else 'minor'}"


def instrument_families(piece: Piece) -> tuple[str, ...]:
    """Families of the tracks that hold notes, in track order."""
    out: list[str] = []
    for t in piece.tracks:
        fam = family_of_program(t.program, t.is_drum)
        if t.notes and fam not in out:
            out.append(fam)
    return tuple(out)


def describe_piece(
    piece: Piece, *, genre: str | None = None, emotion: str | None = None, key: str | None = None,
    trust_file_key: bool = False,
) -> Attributes:
    """Attributes we can state about ``piece``: first tempo, first time signature, the given key (else the
    file's key signature when ``trust_file_key``, else an estimate), instrument families; genre and emotion
    only as given."""
    bpm = float(piece.tempos[0].qpm)
    ts = piece.time_signatures[0]
    if key is None and trust_file_key:
        key = piece.key_at(0)
    if key is None:
        key = _estimate_key(piece)
    tsig = (ts.numerator, ts.denominator) if ts.denominator in (1, 2, 4, 8, 16, 32) and ts.numerator <= 32 else None
    return Attributes(
        genre=genre, emotion=emotion, bpm=round(bpm, 3) if 10 <= bpm <= 400 else None, key=key,
        time_signature=tsig, instruments=instrument_families(piece),
    )


def _midi_format(path: Path) -> int | None:
    head = path.open("rb").read(14)
    if len(head) >= 14 and head[:4] == b"MThd":
        return int.from_bytes(head[8:10], "big")
    return None


def load_piece(path: str | os.PathLike, *, allow_drums_only: bool = False) -> tuple[Piece | None, str]:
    """Read a MIDI file for a corpus: ``(piece, "")`` or ``(None, reason)`` for broken, empty or odd files.
    Drum-only files are refused unless ``allow_drums_only`` (the Groove loader wants them)."""
    p = Path(path)
    try:
        if _midi_format(p) == 2:
            return None, "type-2 MIDI (independent sequences) is not supported"
        piece = read_midi(p)
    except MidiReadError as exc:
        return None, str(exc)
    except OSError as exc:
        return None, f"cannot read: {exc}"
    except CodeplayError as exc:  # limits on hostile files (too long, too many tracks, ...)
        return None, str(exc)
    if piece.n_notes == 0:
        return None, "no notes"
    if not allow_drums_only and all(t.is_drum for t in piece.tracks if t.notes):
        return None, "drums only"
    if piece.duration_seconds > MAX_PIECE_SECONDS:
        return None, f"implausibly long ({piece.duration_seconds / 60:.0f} min)"
    return piece, ""


def read_midi(path):  # indirection so tests can monkeypatch the reader
    from ..io import read_midi as _read

    return _read(path)


def _midi_files(folder: Path, recursive: bool = True) -> list[Path]:
    pattern = "**/*" if recursive else "*"
    return sorted(p for p in folder.glob(pattern) if p.is_file() and p.suffix.lower() in (".mid", ".midi"))


# ------------------------------------------------------------------ any folder
def load_folder(
    folder: str | os.PathLike, *, genre: str | None = None, source: str = "folder", recursive: bool = True,
    limit: int | None = None, skipped: Skipped | None = None, trust_file_key: bool = False,
    emotion: str | None = None,
) -> Iterator[CorpusItem]:
    """Every ``.mid``/``.midi`` file under ``folder`` (sorted, recursive) with the given genre (or unknown)."""
    root = Path(folder)
    if not root.is_dir():
        raise CodeplayError(f"MIDI folder {root} not found")
    n = 0
    for f in _midi_files(root, recursive):
        if limit is not None and n >= limit:
            return
        piece, reason = load_piece(f)
        if piece is None:
            record_skip(skipped, source, f, reason)
            continue
        rel = f.relative_to(root).with_suffix("").as_posix()
        attrs = describe_piece(piece, genre=genre, emotion=emotion, trust_file_key=trust_file_key)
        yield CorpusItem(piece, attrs, source, f"{source}/{rel}", key_from_piece=trust_file_key)
        n += 1



def stable_fraction(key: str) -> float:
    """A deterministic number in [0, 1) from a string (same on every machine and process)."""
    return int.from_bytes(hashlib.sha1(key.encode()).digest()[:8], "big") / 2**64


