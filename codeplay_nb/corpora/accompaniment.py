"""Multi-instrument material from Debian's ``mma`` (Musical MIDI Accompaniment): real chord progressions
(POP909 ``chord_midi.txt``, Nottingham chord tracks) rendered as drums + bass + comping in a groove written
by musicians, with the real melody of the source laid on top.

What is synthetic: the accompaniment (mma's pattern library plays it); the melody, chords, tempo and key
come from the source. The genre label is the groove's style (table :data:`GROOVES`).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from ..attributes import PITCH_CLASSES, pitch_class
from ..errors import CodeplayError
from ..music import Note, Piece, Tempo, TimeSignature, Track
from .base import CorpusItem, Skipped, describe_piece, record_skip, resolve_data_dir, stable_fraction
from .beats import snap_to_grid
from .drumswap import pick_groove_beat, swap_drums
from .nottingham import load_nottingham
from .pop909 import pop909_piece, pop909_song_dirs

log = logging.getLogger(__name__)

MMA_BIN = "mma"
MMA_STDLIB = Path("/usr/share/mma/lib/stdlib")

# groove -> (genre in the shared vocabulary, beats per mma bar). Every groove here renders with Debian mma.
GROOVES: dict[str, tuple[str, int]] = {
    "50srock": ("rock", 4), "60srock": ("rock", 4), "basicrock": ("rock", 4), "softrock": ("rock", 4),
    "folkrock": ("rock", 4), "rockballad": ("rock", 4), "twist": ("rock", 4), "8beat": ("pop", 4),
    "ballad": ("pop", 4), "popballad": ("pop", 4), "jazzcombo": ("jazz", 4), "swing": ("jazz", 4),
    "bebop": ("jazz", 4), "jazzrock": ("jazz", 4), "dixie": ("jazz", 4), "bigband": ("jazz", 4),
    "modernjazz": ("jazz", 4), "bossanova": ("latin", 4), "samba": ("latin", 4), "salsa": ("latin", 4),
    "rhumba": ("latin", 4), "mambo": ("latin", 4), "chacha": ("latin", 4), "tango": ("latin", 4),
    "blues": ("blues", 4), "slowblues": ("blues", 4), "fastblues": ("blues", 4), "boggiewoggie": ("blues", 4),
    "countryblues": ("blues", 4), "countryswing": ("country", 4), "bluegrass": ("country", 4),
    "slowcountry": ("country", 4), "hillcountry": ("country", 4), "folk": ("folk", 4), "trance": ("electronic", 4),
    # 3/4
    "waltz": ("classical", 3), "countrywaltz": ("country", 3), "jazzwaltz": ("jazz", 3),
    "rockwaltz": ("rock", 3), "latinwaltz": ("latin", 3),
    # 6/8 (mma counts six eighth-note beats)
    "68swing": ("jazz", 6), "blues68": ("blues", 6),
}

_CHORD_RE = re.compile(r"^(?:[A-G][#b]?[0-9A-Za-z+#()]*(?:/[A-G][#b]?)?|/|z)$")

# Harte (POP909) qualities -> mma chord suffixes
_HARTE_QUALITY = {
    "maj": "", "min": "m", "7": "7", "min7": "m7", "maj7": "maj7", "maj6": "6", "min6": "m6", "dim": "dim",
    "dim7": "dim7", "hdim7": "m7b5", "aug": "aug", "sus4": "sus4", "sus2": "sus2", "sus4(b7)": "7sus4",
    "minmaj7": "mM7", "9": "9", "min9": "m9", "maj9": "maj9",
}
_DEGREE = {"1": 0, "b2": 1, "2": 2, "b3": 3, "3": 4, "4": 5, "b5": 6, "5": 7, "#5": 8, "6": 9, "b7": 10, "7": 11}


def mma_available() -> bool:
    return shutil.which(MMA_BIN) is not None


def harte_to_mma(label: str) -> str | None:
    """``"C:min7/b7"`` -> ``"Cm7/Bb"``; ``"N"`` (no chord) -> ``None``; unknown qualities fall back to the
    triad (``maj``/``min``) by their third."""
    if label in ("N", "X") or ":" not in label:
        return None
    root, rest = label.split(":", 1)
    quality, _, bass = rest.partition("/")
    suffix = _HARTE_QUALITY.get(quality)
    if suffix is None:
        suffix = "m" if quality.startswith(("min", "dim", "hdim")) else ""
    rpc = pitch_class(root)
    name = PITCH_CLASSES[rpc] + suffix
    if _DEGREE.get(bass):
        name += "/" + PITCH_CLASSES[(rpc + _DEGREE[bass]) % 12]
    return name


# ------------------------------------------------------------------ rendering
def _groove_beats(groove: str) -> int:
    key = groove.lower()
    if key in GROOVES:
        return GROOVES[key][1]
    f = MMA_STDLIB / f"{key}.mma"
    if f.exists():
        m = re.search(r"^\s*Time\s+(\d+)", f.read_text(errors="replace"), re.M | re.I)
        if m:
            return int(m.group(1))
    return 4


def render_accompaniment(
    chords: Sequence[str], groove: str, bpm: float, time_signature: tuple[int, int] = (4, 4), *,
    tpq: int | None = None, seed: int = 0, timeout_s: float = 60.0,
) -> Piece:
    """Render a chord chart with mma: ``chords`` holds one entry per bar, either a chord (``"Am7"``) or one
    token per groove beat (``"C / G /"``; ``/`` continues, ``z`` rests). Returns drums, bass and comping as a
    piece in ``time_signature`` at ``bpm`` quarter notes per minute (mma's bars are rescaled onto the
    requested meter, e.g. a six-beat 6/8 groove onto bars of three quarter notes). mma's random variations
    (walking bass, velocities) follow ``seed``: the same call gives the same notes."""
    if not mma_available():
        raise CodeplayError("mma is not installed: apt-get install mma (Debian/Ubuntu) or see mellowood.ca/mma")
    if not chords:
        raise CodeplayError("no chords to render")
    for bar in chords:
        for tok in bar.split():
            if not _CHORD_RE.match(tok):
                raise CodeplayError(f"bad chord {tok!r} in {bar!r}; write chords like C, Am7, F#m7b5, C/E")
    beats = _groove_beats(groove)
    num, den = time_signature
    quarters = num * 4 / den
    # RTime 0 and Chord Strum 0: mma's random timing (up to a tenth of a beat) and strummed chords would put
    # the parts off the grid the model writes on (plectrum strums are collapsed below); its other
    # variations (velocities, skipped notes, walking bass) stay
    lines = [f"RndSeed {int(seed)}", f"Tempo {bpm * beats / quarters:.3f}", f"Groove {groove}",
             "AllTracks RTime 0", "AllTracks Chord Strum 0"]
    lines += [f"{i + 1} {bar}" for i, bar in enumerate(chords)]
    with tempfile.TemporaryDirectory(prefix="codeplay_mma_") as d:
        src, out = Path(d) / "song.mma", Path(d) / "song.mid"
        src.write_text("\n".join(lines) + "\n")
        proc = subprocess.run([MMA_BIN, "-m", str(max(500, len(chords) + 8)), str(src), "-f", str(out)], capture_output=True, text=True,
                              timeout=timeout_s, check=False)
        if proc.returncode != 0 or not out.exists():
            msg = (proc.stderr + proc.stdout).strip().splitlines()
            raise CodeplayError(f"mma failed for groove {groove!r}: {msg[-1] if msg else 'no output'}")
        from ..io import read_midi

        raw = read_midi(out)
    raw = raw.replace(tracks=tuple(snap_to_grid(Piece((t,), raw.tpq)).tracks[0] if t.name.lower().startswith("plectrum")
                                   else t for t in raw.tracks))
    out_tpq = tpq or raw.tpq
    src_bar = beats * raw.tpq
    dst_bar = TimeSignature(0, num, den).bar_ticks(out_tpq)

    def scale(t: int) -> int:
        return (t * dst_bar) // src_bar

    length = len(chords) * dst_bar
    tracks = []
    for t in raw.tracks:
        notes = [Note(n.pitch, n.velocity, scale(n.start), max(1, min(scale(n.end), length) - scale(n.start)))
                 for n in t.notes if scale(n.start) < length]
        if notes:
            tracks.append(Track(t.program, t.is_drum, t.name, tuple(sorted(notes, key=lambda n: (n.start, n.pitch)))))
    return Piece(tuple(tracks), out_tpq, (Tempo(0, float(bpm)),), (TimeSignature(0, num, den),), length=length)


def chart_lines(grid: Sequence[Sequence[tuple[float, str | None]]], beats: int) -> list[str]:
    """Chord changes per bar (``(fraction of the bar, chord or None for no chord)``) -> mma bar lines with
    one token per groove beat."""
    lines, current = [], None
    for changes in grid:
        toks: list[str] = []
        prev = ""
        for j in range(beats):
            pos = j / beats + 1e-6
            for frac, ch in changes:
                if frac <= pos:
                    current = ch
            name = current or "z"
            toks.append(name if j == 0 or name != prev else "/")
            prev = name
        lines.append(" ".join(toks))
    return lines


def meter_beats(time_signature: tuple[int, int]) -> int | None:
    """Groove beats that fit a meter: 4 for 4/4, 2/4 and 2/2; 3 for 3/4 and 3/8; 6 for 6/8; else None."""
    num, den = time_signature
    if (num, den) in ((4, 4), (2, 4), (2, 2), (4, 2)):
        return 4
    if (num, den) in ((3, 4), (3, 8)):
        return 3
    if (num, den) == (6, 8):
        return 6
    return None


def pick_groove(key: str, beats: int, seed: int = 0, grooves: Sequence[str] | None = None) -> str | None:
    """A deterministic groove for ``key`` among those with ``beats`` per bar."""
    pool = sorted(g for g in (grooves or GROOVES) if GROOVES.get(g, ("", _groove_beats(g)))[1] == beats)
    if not pool:
        return None
    return pool[int(stable_fraction(f"{seed}:{key}") * len(pool))]


# ------------------------------------------------------------------ chord grids from sources
def _bar_grid_from_ticks(piece: Piece, changes: Sequence[tuple[int, str | None]]) -> list[list[tuple[float, str | None]]]:
    starts = piece.bar_starts()
    grid: list[list[tuple[float, str | None]]] = [[] for _ in range(len(starts) - 1)]
    for tick, ch in changes:
        b = piece.bar_of(tick)
        if b < len(grid):
            s, e = starts[b], starts[b + 1]
            grid[b].append(((tick - s) / max(e - s, 1), ch))
    return grid


def pop909_chord_grid(piece: Piece, changes: Sequence[tuple[int, str]]) -> list[list[tuple[float, str | None]]]:
    """POP909 chord changes ``(tick, Harte label)`` (from :func:`corpora.pop909_piece`) -> per-bar changes."""
    return _bar_grid_from_ticks(piece, [(t, harte_to_mma(label)) for t, label in changes])


_TEMPLATES = {"": (0, 4, 7), "m": (0, 3, 7), "7": (0, 4, 7, 10), "m7": (0, 3, 7, 10), "dim": (0, 3, 6)}


def _chord_table() -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    names, rows, penalty, roots = [], [], [], []
    for root in range(12):
        for q, ivs in _TEMPLATES.items():
            row = -np.ones(12)
            row[[(root + i) % 12 for i in ivs]] = 1.0
            names.append(PITCH_CLASSES[root] + q)
            rows.append(row)
            penalty.append(0.05 * (len(ivs) - 3))
            roots.append(root)
    return names, np.array(rows), np.array(penalty), np.array(roots)


_CHORD_NAMES, _CHORD_MATRIX, _CHORD_PENALTY, _CHORD_ROOTS = _chord_table()


def estimate_chord(notes: Sequence[Note], start: int, end: int) -> str | None:
    """The best-fitting chord (triads, sevenths, diminished) for the notes sounding in ``[start, end)``:
    chord tones minus other tones, weighted by overlap; sevenths pay a small penalty and the lowest note
    favours the root."""
    w = np.zeros(12)
    lowest = None
    for n in notes:
        if n.start >= end:
            break
        ov = min(n.end, end) - max(n.start, start)
        if ov > 0:
            w[n.pitch % 12] += ov
            lowest = n.pitch if lowest is None or n.pitch < lowest else lowest
    if w.sum() == 0:
        return None
    score = _CHORD_MATRIX @ (w / w.sum()) - _CHORD_PENALTY
    if lowest is not None:
        score = score + 0.1 * (lowest % 12 == _CHORD_ROOTS)
    return _CHORD_NAMES[int(np.argmax(score))]


def chord_grid_from_track(piece: Piece, track: Track, beats_per_bar: int) -> list[list[tuple[float, str | None]]]:
    """Estimate a chord per beat from an accompaniment track."""
    import bisect

    starts = piece.bar_starts()
    onsets = [n.start for n in track.notes]
    longest = max((n.duration for n in track.notes), default=0)
    grid = []
    for b in range(len(starts) - 1):
        s, e = starts[b], starts[b + 1]
        near = track.notes[bisect.bisect_left(onsets, s - longest):bisect.bisect_left(onsets, e)]
        step = (e - s) / beats_per_bar
        changes = []
        for j in range(beats_per_bar):
            ch = estimate_chord(near, int(s + j * step), int(s + (j + 1) * step))
            if ch is not None:
                changes.append((j / beats_per_bar, ch))
        grid.append(changes)
    return grid


def _melody_track(piece: Piece) -> Track | None:
    named = [t for t in piece.tracks if t.name.upper() == "MELODY" and t.notes]
    if named:
        return named[0]
    pitched = [t for t in piece.tracks if t.notes and not t.is_drum]
    return max(pitched, key=lambda t: sum(n.pitch for n in t.notes) / len(t.notes)) if pitched else None


def combine(melody: Track, accompaniment: Piece, source: Piece) -> Piece:
    """The source melody over the rendered accompaniment, on the source's tick grid, tempo map and keys."""
    k = source.tpq / accompaniment.tpq
    tracks = [melody]
    for t in accompaniment.tracks:
        tracks.append(Track(t.program, t.is_drum, t.name, tuple(
            Note(n.pitch, n.velocity, round(n.start * k), max(1, round(n.duration * k))) for n in t.notes)))
    return Piece(tuple(tracks), source.tpq, source.tempos, source.time_signatures, source.key_signatures,
                 length=max(source.length, round(accompaniment.length * k)))


def accompany(piece: Piece, grid, groove: str, seed: int = 0) -> Piece:
    """The piece's melody over an mma accompaniment of ``grid`` (per-bar chord changes) in ``groove``."""
    melody = _melody_track(piece)
    if melody is None:
        raise CodeplayError("no melody track")
    ts = piece.time_signatures[0]
    lines = chart_lines(grid, _groove_beats(groove))
    acc = render_accompaniment(lines, groove, piece.tempos[0].qpm, (ts.numerator, ts.denominator), seed=seed)
    return combine(melody, acc, piece)


def accompanied_corpus(
    data_dir: str | os.PathLike | None = None, *, sources: Sequence[str] = ("pop909", "nottingham"),
    grooves: Sequence[str] | None = None, per_piece: int = 1, seed: int = 0, limit: int | None = None,
    skipped: Skipped | None = None, threads: int = 2, real_drums: bool = True,
) -> Iterator[CorpusItem]:
    """Real melodies and chord progressions with mma accompaniment in ``per_piece`` grooves each (chosen
    deterministically from ``seed`` among the grooves that fit the meter). ``limit`` counts source pieces
    per source. Genre = the groove's style; tempo, key and melody from the source. mma runs in ``threads``
    subprocesses at a time; items come out in source order. With ``real_drums`` the looped mma drum part is
    replaced by a human Groove MIDI beat of the same genre and a nearby tempo where one exists
    (``meta["drums"]`` names it)."""
    if not mma_available():
        record_skip(skipped, "mma", "mma", "mma is not installed (apt-get install mma)")
        return
    root = resolve_data_dir(data_dir)

    def jobs():
        for src in sources:
            for piece_id, piece, grid, key, err in _chord_sources(src, root, limit, skipped):
                if piece is None:
                    record_skip(skipped, "mma", piece_id, err)
                    continue
                ts = piece.time_signatures[0]
                beats = meter_beats((ts.numerator, ts.denominator))
                if len(piece.time_signatures) > 1 or beats is None:
                    record_skip(skipped, "mma", piece_id, f"no groove for meter {ts.numerator}/{ts.denominator}"
                                + (" with time-signature changes" if len(piece.time_signatures) > 1 else ""))
                    continue
                for r in range(per_piece):
                    groove = pick_groove(f"{piece_id}#{r}", beats, seed, grooves)
                    if groove is None:
                        record_skip(skipped, "mma", piece_id, f"no groove given fits {beats} beats a bar")
                        break
                    yield piece_id, piece, grid, key, groove

    def render(job):
        _, piece, grid, _, groove = job
        try:
            return job, accompany(piece, grid, groove, seed), ""
        except (CodeplayError, subprocess.SubprocessError, OSError) as exc:
            return job, None, str(exc)

    for (piece_id, _, _, key, groove), out, err in _ordered_map(render, jobs(), max(1, threads)):
        if out is None:
            record_skip(skipped, "mma", f"{piece_id}+{groove}", err)
            continue
        genre = GROOVES.get(groove, (None, 0))[0]
        meta = {"groove": groove}
        if real_drums:
            beat = pick_groove_beat(genre, out.tempos[0].qpm, f"{piece_id}/{groove}", root)
            swapped = swap_drums(out, beat, f"{piece_id}/{groove}") if beat is not None else out
            if swapped is not out:
                out, meta["drums"] = swapped, beat.piece_id
        attrs = describe_piece(out, genre=genre, key=key)
        yield CorpusItem(out, attrs, "mma", f"mma/{piece_id}/{groove}", group=piece_id,
                         key_from_piece=bool(out.key_signatures), meta=meta)


def _ordered_map(fn, iterable, threads: int):
    """``map(fn, iterable)`` on a thread pool with a bounded read-ahead, results in input order."""
    if threads <= 1:
        yield from map(fn, iterable)
        return
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(threads) as ex:
        pending: deque = deque()
        for x in iterable:
            pending.append(ex.submit(fn, x))
            if len(pending) >= 2 * threads:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _chord_sources(src: str, root: Path, limit: int | None, skipped: Skipped | None):
    """``(piece_id, piece, chord grid, key, error)`` for each source piece with a chord progression."""
    if src == "pop909":
        n = 0
        for d in pop909_song_dirs(root):
            if limit is not None and n >= limit:
                return
            n += 1
            piece, reason, chords = pop909_piece(d)
            if piece is None or not chords:
                yield f"pop909/{d.name}", None, None, None, reason or "no chord_midi.txt"
                continue
            yield f"pop909/{d.name}", piece, pop909_chord_grid(piece, chords), piece.key_at(0), ""
    elif src == "nottingham":
        for item in load_nottingham(root, limit=limit, skipped=skipped):
            p = item.piece
            pitched = [t for t in p.tracks if t.notes and not t.is_drum]
            if len(pitched) < 2:
                yield item.piece_id, None, None, None, "no chord track"
                continue
            melody = _melody_track(p)
            chord_track = max((t for t in pitched if t is not melody), key=lambda t: len(t.notes))
            ts = p.time_signatures[0]
            beats = ts.numerator // 3 if ts.denominator == 8 and ts.numerator % 3 == 0 else ts.numerator
            yield item.piece_id, p, chord_grid_from_track(p, chord_track, max(beats, 1)), item.attributes.key, ""
    else:
        raise CodeplayError(f"mma accompaniment needs chord progressions: source {src!r} has none "
                            "(use pop909 or nottingham)")
