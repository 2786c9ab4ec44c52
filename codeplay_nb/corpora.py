"""Corpus loaders: real MIDI collections -> :class:`CorpusItem` (a piece plus the attributes we can derive
honestly). Genre comes from the source, emotion only where people labelled it, key from annotations or a
Krumhansl-Schmuckler estimate; what we cannot know stays ``None``.

Every loader is a generator that never crashes on a bad file: corrupted, empty or odd files are skipped
with a logged reason (``logging``) and, when a ``skipped`` list is passed, recorded there as
``(source, path_or_id, reason)``.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import os
import subprocess
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .attributes import QUADRANT_EMOTION, Attributes, normalize_key
from .errors import CodeplayError, MidiReadError
from .instruments import family_of_program
from .music import KeySignature, Note, Piece, Tempo, TimeSignature

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


def load_piece(path: str | os.PathLike) -> tuple[Piece | None, str]:
    """Read a MIDI file for a corpus: ``(piece, "")`` or ``(None, reason)`` for broken, empty or odd files."""
    p = Path(path)
    try:
        if _midi_format(p) == 2:
            return None, "type-2 MIDI (independent sequences) is not supported"
        piece = read_midi(p)
    except MidiReadError as exc:
        return None, str(exc)
    except OSError as exc:
        return None, f"cannot read: {exc}"
    if piece.n_notes == 0:
        return None, "no notes"
    if all(t.is_drum for t in piece.tracks if t.notes):
        return None, "drums only"
    if piece.duration_seconds > MAX_PIECE_SECONDS:
        return None, f"implausibly long ({piece.duration_seconds / 60:.0f} min)"
    return piece, ""


def read_midi(path):  # indirection so tests can monkeypatch the reader
    from .io import read_midi as _read

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


# ------------------------------------------------------------------ POP909
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


def pop909_downbeat_shift(piece: Piece, chords: list[tuple[float, float, str]], beats_per_bar: int = 4) -> int:
    """Ticks to add so that chord changes (which mostly fall on downbeats) land on bar lines.

    POP909's MIDI files carry placeholder 1/4 or 2/4 time signatures; the songs are in 4/4 with a pickup
    of unknown length, so the bar phase is estimated from the annotated chord changes."""
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


def pop909_piece(song_dir: Path) -> tuple[Piece | None, str, list[tuple[int, str]]]:
    """A POP909 song as a 4/4 piece aligned to its bars, with its audio key annotations as key signatures.
    Returns ``(piece, reason_if_none, chord_changes)`` where chord changes are ``(tick, Harte label)`` on
    the returned piece's grid, snapped to the nearest beat."""
    mid = song_dir / f"{song_dir.name}.mid"
    piece, reason = load_piece(mid)
    if piece is None:
        return None, reason, []
    chord_file = song_dir / "chord_midi.txt"
    chords = read_timed_labels(chord_file) if chord_file.exists() else []
    key_file = song_dir / "key_audio.txt"
    keys: list[KeySignature] = []
    if key_file.exists():
        for start, _, label in read_timed_labels(key_file):
            k = harte_key(label)
            if k and (not keys or keys[-1].key != k):
                keys.append(KeySignature(0 if not keys else piece.tick_at_seconds(start), k))
    shift = pop909_downbeat_shift(piece, chords)
    changes = [(round(piece.tick_at_seconds(s) / piece.tpq) * piece.tpq + shift, label) for s, _, label in chords]
    piece = Piece(piece.tracks, piece.tpq, piece.tempos, (TimeSignature(0, 4, 4),), tuple(keys), piece.length)
    return shift_piece(piece, shift), "", changes


def pop909_song_dirs(data_dir: Path) -> list[Path]:
    root = data_dir / "pop909"
    if not root.is_dir():
        raise CodeplayError(f"POP909 not found under {data_dir} (expected {root}/NNN/NNN.mid)")
    return sorted(d for d in root.iterdir() if d.is_dir() and (d / f"{d.name}.mid").exists())


def load_pop909(
    data_dir: str | os.PathLike | None = None, *, limit: int | None = None, skipped: Skipped | None = None
) -> Iterator[CorpusItem]:
    """POP909 piano arrangements (MELODY, BRIDGE, PIANO): genre pop, key from ``key_audio.txt``."""
    root = resolve_data_dir(data_dir)
    n = 0
    for d in pop909_song_dirs(root):
        if limit is not None and n >= limit:
            return
        piece, reason, _ = pop909_piece(d)
        if piece is None:
            record_skip(skipped, "pop909", d / f"{d.name}.mid", reason)
            continue
        attrs = describe_piece(piece, genre="pop", key=piece.key_at(0))
        yield CorpusItem(piece, attrs, "pop909", f"pop909/{d.name}", key_from_piece=bool(piece.key_signatures))
        n += 1


# ------------------------------------------------------------------ Nottingham
def nottingham_family(stem: str) -> str:
    """``"reelsa-c12"`` -> ``"reels"``, ``"jigs7"`` -> ``"jigs"``."""
    base = stem.rstrip("0123456789")
    return "reels" if base.startswith("reels") else base


def load_nottingham(
    data_dir: str | os.PathLike | None = None, *, limit: int | None = None, skipped: Skipped | None = None
) -> Iterator[CorpusItem]:
    """Nottingham folk tunes (melody + chords): genre folk, key from the files' key signatures (the
    collection was transcribed from ABC with notated keys), tune family in ``meta``."""
    root = resolve_data_dir(data_dir) / "nottingham"
    if not root.is_dir():
        raise CodeplayError(f"Nottingham not found: expected {root}/*.mid")
    n = 0
    for f in _midi_files(root, recursive=False):
        if limit is not None and n >= limit:
            return
        piece, reason = load_piece(f)
        if piece is None:
            record_skip(skipped, "nottingham", f, reason)
            continue
        attrs = describe_piece(piece, genre="folk", trust_file_key=True)
        yield CorpusItem(piece, attrs, "nottingham", f"nottingham/{f.stem}", key_from_piece=True,
                         meta={"family": nottingham_family(f.stem)})
        n += 1


# ------------------------------------------------------------------ VGMIDI
def vgmidi_labels(csv_path: Path) -> tuple[dict[str, str], list[str]]:
    """Piece stem -> emotion from the phrase labels; also the stems whose phrases disagree."""
    by_piece: dict[str, set[tuple[int, int]]] = {}
    with csv_path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            stem = Path(row["midi"]).stem.rsplit("_", 1)[0]
            by_piece.setdefault(stem, set()).add((int(row["valence"]), int(row["arousal"])))
    labels, conflicts = {}, []
    for stem, quads in by_piece.items():
        if len(quads) == 1:
            labels[stem] = QUADRANT_EMOTION[next(iter(quads))]
        else:
            conflicts.append(stem)
    return labels, sorted(conflicts)


def load_vgmidi(
    data_dir: str | os.PathLike | None = None, *, limit: int | None = None, skipped: Skipped | None = None,
    labelled_only: bool = True,
) -> Iterator[CorpusItem]:
    """VGMIDI labelled piano pieces: genre game, emotion from the valence/arousal quadrant of its phrases."""
    root = resolve_data_dir(data_dir) / "vgmidi"
    csv_path = root / "vgmidi_labelled.csv"
    if not csv_path.exists():
        raise CodeplayError(f"VGMIDI not found: expected {csv_path}")
    labels, conflicts = vgmidi_labels(csv_path)
    for stem in conflicts:
        record_skip(skipped, "vgmidi", stem, "phrases carry different valence/arousal labels")
    conflict_set = set(conflicts)
    n = 0
    for f in _midi_files(root / "labelled", recursive=False):
        if limit is not None and n >= limit:
            return
        emotion = labels.get(f.stem)
        if f.stem in conflict_set:
            continue
        if emotion is None and labelled_only:
            record_skip(skipped, "vgmidi", f, "no row in vgmidi_labelled.csv")
            continue
        piece, reason = load_piece(f)
        if piece is None:
            record_skip(skipped, "vgmidi", f, reason)
            continue
        attrs = describe_piece(piece, genre="game", emotion=emotion)
        yield CorpusItem(piece, attrs, "vgmidi", f"vgmidi/{f.stem}")
        n += 1


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
    """Full General MIDI arrangements with drums (OpenTTD's openMSX, Planet Blupi): genre game."""
    files = _midi_files(Path(folder)) if folder else debian_midi_files()
    n = 0
    for f in files:
        if limit is not None and n >= limit:
            return
        piece, reason = load_piece(f)
        if piece is None:
            record_skip(skipped, "gm", f, reason)
            continue
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



# ------------------------------------------------------------------ music21 core corpus
MUSIC21_GENRES = {
    "bach": "classical", "beethoven": "classical", "mozart": "classical", "haydn": "classical",
    "palestrina": "classical", "monteverdi": "classical", "trecento": "classical", "josquin": "classical",
    "schumann_robert": "classical", "schumann_clara": "classical", "chopin": "classical", "corelli": "classical",
    "cpebach": "classical", "handel": "classical", "schubert": "classical", "verdi": "classical",
    "weber": "classical", "beach": "classical",
    "essenFolksong": "folk", "ryansMammoth": "folk", "oneills1850": "folk", "airdsAirs": "folk",
    "miscFolk": "folk",
}
MUSIC21_CACHE_VERSION = 2  # bump when the conversion changes: cached MIDI and failure notes are redone
MUSIC21_DEFAULT = ("bach", "ryansMammoth", "oneills1850", "essenFolksong", "beethoven", "mozart", "haydn")


def music21_paths(collections: Iterable[str] = MUSIC21_DEFAULT) -> list[tuple[str, Path]]:
    """``(collection, path)`` of the music21 core-corpus files in ``collections`` (sorted)."""
    from music21 import corpus

    wanted = list(collections)
    out = []
    for p in corpus.getPaths():
        parts = Path(p).parts
        if "corpus" in parts:
            coll = parts[parts.index("corpus") + 1]
            if coll in wanted:
                out.append((coll, Path(p)))
    return sorted(out, key=lambda cp: (wanted.index(cp[0]), str(cp[1])))


def _strip_repeats(score) -> None:
    from music21 import bar, repeat

    for el in list(score.recurse().getElementsByClass((bar.Repeat, repeat.RepeatExpression))):
        site = el.activeSite
        if site is None:
            continue
        if getattr(site, "leftBarline", None) is el:
            site.leftBarline = None
        elif getattr(site, "rightBarline", None) is el:
            site.rightBarline = None
        else:
            site.remove(el)


def _unshare_signatures(score) -> None:
    """Some ABC imports put the same TimeSignature/KeySignature/Clef object in several measures, which makes
    music21's MIDI export fail ("... is already found in this Stream"); give each measure its own copy."""
    import copy

    from music21 import clef, key, meter, stream

    seen: set[int] = set()
    for m in score.recurse().getElementsByClass(stream.Measure):
        for el in list(m.getElementsByClass((meter.TimeSignature, key.KeySignature, clef.Clef))):
            if id(el) in seen:
                m.replace(el, copy.deepcopy(el))
            seen.add(id(el))


def _write_midi(score, out: Path) -> str:
    """Write ``score`` as MIDI (after unsharing signature objects); on failure retry on a fresh copy without
    repeat marks. Returns "" or the failure reason."""
    import copy

    backup = copy.deepcopy(score)
    try:
        _unshare_signatures(score)
        score.write("midi", fp=str(out))
        return ""
    except Exception as exc:  # music21 raises many kinds (StreamException, RepeatException, ...)
        first = f"{type(exc).__name__}: {exc}"
    try:
        _unshare_signatures(backup)
        _strip_repeats(backup)
        backup.write("midi", fp=str(out))
        log.info("music21: wrote %s after removing repeat marks (%s)", out.name, first)
        return ""
    except Exception as exc:
        return f"music21 write('midi') failed: {first}; without repeats: {type(exc).__name__}: {exc}"


def _convert_music21(path: Path, dest: Path) -> None:
    """Convert one corpus file (a score or an opus of many) into ``dest/NNNN.mid`` files plus failure notes
    ``dest/NNNN.fail``; ``dest/done`` marks a finished conversion."""
    import music21

    dest.mkdir(parents=True, exist_ok=True)
    try:
        parsed = music21.corpus.parse(str(path))
    except Exception as exc:
        (dest / "0000.fail").write_text(f"music21 could not parse: {type(exc).__name__}: {exc}")
        (dest / "done").write_text("")
        return
    scores = list(parsed.scores) if isinstance(parsed, music21.stream.Opus) else [parsed]
    for i, score in enumerate(scores):
        reason = _write_midi(score, dest / f"{i:04d}.mid")
        if reason:
            (dest / f"{i:04d}.fail").write_text(reason[:500])
    (dest / "done").write_text("")


def load_music21(
    collections: Iterable[str] = MUSIC21_DEFAULT, *, limit: int | None = None, skipped: Skipped | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> Iterator[CorpusItem]:
    """music21's core corpus (Bach chorales, string quartets, folk collections) converted through
    music21 -> MIDI -> symusic. Conversions are cached under ``cache_dir/music21`` (default
    ``~/.cache/codeplay_nb``); works whose MIDI export fails are skipped with the reason. Genre: classical
    or folk by collection. ``limit`` counts works over all collections."""
    cache = Path(cache_dir or default_cache_dir()) / f"music21-v{MUSIC21_CACHE_VERSION}"
    n = 0
    for coll, path in music21_paths(collections):
        rel = Path(*path.parts[path.parts.index("corpus") + 1:])
        dest = cache / rel.with_suffix("")
        if not (dest / "done").exists():
            _convert_music21(path, dest)
        for f in sorted(dest.iterdir()):
            if limit is not None and n >= limit:
                return
            work = f"music21/{rel.with_suffix('').as_posix()}/{f.stem}"
            if f.suffix == ".fail":
                record_skip(skipped, "music21", work, f.read_text())
                continue
            if f.suffix != ".mid":
                continue
            piece, reason = load_piece(f)
            if piece is None:
                record_skip(skipped, "music21", work, reason)
                continue
            yield CorpusItem(piece, describe_piece(piece, genre=MUSIC21_GENRES.get(coll)), "music21", work,
                             meta={"collection": coll})
            n += 1


# ------------------------------------------------------------------ registry
def stable_fraction(key: str) -> float:
    """A deterministic number in [0, 1) from a string (same on every machine and process)."""
    return int.from_bytes(hashlib.sha1(key.encode()).digest()[:8], "big") / 2**64


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
