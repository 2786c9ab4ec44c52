"""MIDI (and NoteSequence / pretty_midi) conversion: the one edge where files meet :class:`Piece`.

MIDI is read with ``symusic`` (about 0.05 ms a file, C++); ``pretty_midi`` and ``note_seq`` conversions are
offered for interoperability and are imported only when called.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from .errors import CodeplayError, MidiReadError, PieceTooLargeError
from .files import atomic_write_bytes
from .music import ControlChange, KeySignature, Note, Piece, PitchBend, Tempo, TimeSignature, Track

# What a file may hold before reading it is refused (checked before any work proportional to its size):
# 10,000 bars is over five hours of 4/4 at 120 BPM; a corrupted delta time near 2^32 ticks would be millions.
LIMITS = {
    "file_bytes": 64 * 2**20,
    "tracks": 1024,
    "notes": 1_000_000,
    "bars": 10_000,
    "ticks": 2**31 - 1,
}
TIME_SIGNATURE_DENOMINATORS = (1, 2, 4, 8, 16, 32)
MAX_QPM = 6000.0

# key signatures in MIDI: sharps/flats count -> tonic name for major and minor
_MAJOR_BY_SF = {-7: "Cb", -6: "Gb", -5: "Db", -4: "Ab", -3: "Eb", -2: "Bb", -1: "F", 0: "C", 1: "G",
                2: "D", 3: "A", 4: "E", 5: "B", 6: "F#", 7: "C#"}
_MINOR_BY_SF = {-7: "Ab", -6: "Eb", -5: "Bb", -4: "F", -3: "C", -2: "G", -1: "D", 0: "A", 1: "E",
                2: "B", 3: "F#", 4: "C#", 5: "G#", 6: "D#", 7: "A#"}


def _key_name(sf: int, minor: bool) -> str:
    from .attributes import normalize_key

    table = _MINOR_BY_SF if minor else _MAJOR_BY_SF
    return normalize_key(f"{table.get(max(-7, min(7, sf)), 'C')} {'minor' if minor else 'major'}")


def _key_to_sf(key: str) -> tuple[int, int]:
    tonic, mode = key.split()
    from .attributes import pitch_class

    minor = mode == "minor"
    pc = pitch_class(tonic)
    for sf in range(-6, 7):
        name = (_MINOR_BY_SF if minor else _MAJOR_BY_SF)[sf]
        if pitch_class(name) == pc:
            return sf, int(minor)
    return 0, int(minor)  # pragma: no cover - every pitch class has a signature above


def score_to_piece(score, *, source: str = "the MIDI data") -> Piece:
    """Convert a ``symusic.Score`` (any time unit) to a :class:`Piece` in ticks. Raises
    :class:`PieceTooLargeError` (before converting a single note) for a piece beyond :data:`LIMITS`."""
    if str(score.ttype).lower().find("tick") < 0:
        score = score.to("tick")
    check_score_limits(score, source)
    tracks = []
    for tr in score.tracks:
        arr = tr.notes.numpy()
        notes = [
            Note(int(p), max(1, min(127, int(v))), int(t), max(1, int(d)))
            for t, d, p, v in zip(arr["time"], arr["duration"], arr["pitch"], arr["velocity"], strict=False)
            if 0 <= p <= 127
        ]
        notes.sort(key=lambda n: (n.start, n.pitch, n.duration, n.velocity))
        controls = tuple(ControlChange(int(c.time), int(c.number), int(c.value)) for c in tr.controls)
        bends = tuple(PitchBend(int(b.time), int(b.value)) for b in tr.pitch_bends)
        tracks.append(
            Track(int(tr.program), bool(tr.is_drum), str(tr.name), tuple(notes), controls, bends)
        )
    # a zero or corrupted tempo (0 microseconds per quarter reads as an infinite BPM) is dropped
    tempos = _dedupe(Tempo(int(t.time), round(float(t.qpm), 4)) for t in score.tempos
                     if math.isfinite(t.qpm) and 0 < t.qpm <= MAX_QPM)
    sigs = _dedupe(
        TimeSignature(int(ts.time), int(ts.numerator), int(ts.denominator))
        for ts in score.time_signatures
        if ts.numerator > 0 and ts.denominator > 0
    )
    keys = _dedupe(KeySignature(int(k.time), _key_name(int(k.key), bool(k.tonality))) for k in score.key_signatures)
    # the piece ends at its last event of any kind (a final tempo change or a trailing rest counts)
    meta_end = max([0] + [e.time for e in (*tempos, *sigs, *keys)])
    length = max(int(score.end()), meta_end + 1 if meta_end else 0)
    return Piece(tuple(tracks), int(score.ticks_per_quarter), tempos, sigs, keys, length=length)


def _bar_bound(length: int, tpq: int, sigs: list[tuple[int, int, int]]) -> int:
    """An upper bound on the bars of ``[0, length)`` under time signatures ``(time, num, den)``, computed
    per time-signature segment (never per bar)."""
    sigs = sorted((t, n, d) for t, n, d in sigs if n > 0 and d > 0 and 0 <= t < max(length, 1)) or [(0, 4, 4)]
    if sigs[0][0] != 0:
        sigs.insert(0, (0, sigs[0][1], sigs[0][2]))
    total = 0
    for i, (t, n, d) in enumerate(sigs):
        seg_end = sigs[i + 1][0] if i + 1 < len(sigs) else max(length, t + 1)
        bar = max(n * tpq * 4 // d, 1)
        total += -(-(seg_end - t) // bar)
    return total


def check_score_limits(score, source: str = "the MIDI data") -> None:
    """Reject a parsed score beyond :data:`LIMITS` or with impossible timing, in time independent of its
    length, with one line that says what is wrong."""
    tpq = int(score.ticks_per_quarter)
    if tpq <= 0:
        raise MidiReadError(f"{source} has {tpq} ticks per quarter note; a MIDI file needs at least 1")
    n_tracks = len(score.tracks)
    if n_tracks > LIMITS["tracks"]:
        raise PieceTooLargeError(f"{source} has {n_tracks:,} tracks; at most {LIMITS['tracks']:,} are supported")
    n_notes = int(score.note_num())
    if n_notes > LIMITS["notes"]:
        raise PieceTooLargeError(f"{source} has {n_notes:,} notes; at most {LIMITS['notes']:,} are supported")
    starts = [int(tr.start()) for tr in score.tracks if len(tr.notes)]
    if starts and min(starts) < 0:
        raise MidiReadError(f"{source} looks corrupted: it has events before time 0")
    for ts in score.time_signatures:
        if ts.numerator > 0 and ts.denominator not in TIME_SIGNATURE_DENOMINATORS:
            raise MidiReadError(
                f"{source} has a {ts.numerator}/{ts.denominator} time signature; supported denominators are "
                f"{', '.join(map(str, TIME_SIGNATURE_DENOMINATORS))}")
    metas = [int(e.time) for e in (*score.tempos, *score.time_signatures, *score.key_signatures)]
    length = max([int(score.end()), *(t + 1 for t in metas)])
    if length > LIMITS["ticks"]:
        raise PieceTooLargeError(f"{source} is {length:,} ticks long (corrupted delta times?); at most "
                                 f"{LIMITS['ticks']:,} are supported")
    sigs = [(int(ts.time), int(ts.numerator), int(ts.denominator)) for ts in score.time_signatures]
    bars = _bar_bound(length, tpq, sigs)
    if bars > LIMITS["bars"]:
        raise PieceTooLargeError(f"{source} is {bars:,} bars long (corrupted delta times?); at most "
                                 f"{LIMITS['bars']:,} bars are supported")


def _dedupe(events):
    """Sort by time and keep the last event at any tick (MIDI files often repeat meta events)."""
    by_time = {}
    for e in events:
        by_time[e.time] = e
    out = []
    for t in sorted(by_time):
        e = by_time[t]
        if out and all(getattr(out[-1], f) == getattr(e, f) for f in e.__slots__ if f != "time"):
            continue
        out.append(e)
    return tuple(out)


def _smf_bytes(data: bytes, p: Path) -> tuple[bytes, float | None]:
    """The Standard MIDI File inside ``data`` (unwrapping RIFF RMID) with SMPTE division rewritten to ticks
    per quarter; returns (bytes, the tempo in BPM that keeps the SMPTE timing, or None)."""
    if data[:4] == b"RIFF":
        if len(data) < 12 or data[8:12] != b"RMID":
            raise MidiReadError(f"{p} is a RIFF file but not RIFF MIDI (RMID); export it as a Standard MIDI File")
        pos = 12
        while pos + 8 <= len(data):
            cid, size = data[pos:pos + 4], int.from_bytes(data[pos + 4:pos + 8], "little")
            if cid == b"data":
                data = data[pos + 8:pos + 8 + size]
                break
            pos += 8 + size + (size & 1)
        else:
            raise MidiReadError(f"{p} is a RIFF MIDI file without a data chunk; it looks corrupted")
        if data[:4] != b"MThd":
            raise MidiReadError(f"{p} is a RIFF MIDI file whose data chunk is not a Standard MIDI File")
    if len(data) < 14:
        raise MidiReadError(f"{p} looks corrupted: its MIDI header is cut short")
    division = int.from_bytes(data[12:14], "big")
    if not division & 0x8000:
        return data, None
    fps_code, ticks_per_frame = 256 - (division >> 8), division & 0xFF
    if fps_code not in (24, 25, 29, 30) or ticks_per_frame == 0:
        raise MidiReadError(f"{p} looks corrupted: SMPTE timing of {fps_code} frames/s and "
                            f"{ticks_per_frame} ticks per frame")
    # SMPTE: ticks are fixed fractions of a second; express them as ticks per quarter at a fixed tempo
    nominal = 30 if fps_code == 29 else fps_code
    real_fps = 30000 / 1001 if fps_code == 29 else float(fps_code)
    tpq = nominal * ticks_per_frame
    return data[:12] + tpq.to_bytes(2, "big") + data[14:], 60.0 * real_fps / nominal


def read_midi(path: str | os.PathLike) -> Piece:
    """Read a MIDI file (Standard MIDI File or RIFF RMID, metrical or SMPTE timing). Raises
    :class:`MidiReadError` with a clear one-line message for missing, broken or unsupported files and
    :class:`PieceTooLargeError` for pieces beyond :data:`LIMITS`."""
    import symusic

    p = Path(path)
    if not p.exists():
        raise MidiReadError(f"MIDI file not found: {p}")
    if p.is_dir():
        raise MidiReadError(f"{p} is a folder, not a MIDI file")
    try:
        size = p.stat().st_size
        if size > LIMITS["file_bytes"]:
            raise PieceTooLargeError(f"{p} is {size:,} bytes; MIDI files up to {LIMITS['file_bytes']:,} "
                                     "bytes are supported")
        with p.open("rb") as f:
            data = f.read()
    except OSError as exc:
        raise MidiReadError(f"cannot read {p}: {exc.strerror}") from exc
    if data[:4] not in (b"MThd", b"RIFF"):
        raise MidiReadError(f"{p} is not a MIDI file (no MThd header); export it as a Standard MIDI File")
    data, smpte_qpm = _smf_bytes(data, p)
    try:
        score = symusic.Score.from_midi(data)
    except Exception as exc:  # symusic raises RuntimeError/ValueError with C++ messages
        detail = " ".join(str(exc).split())
        raise MidiReadError(f"{p} looks corrupted and could not be parsed ({detail})") from exc
    piece = score_to_piece(score, source=str(p))
    if smpte_qpm is not None:
        piece = piece.replace(tempos=(Tempo(0, round(smpte_qpm, 4)),))
    return piece


def piece_to_score(piece: Piece):
    """Convert a :class:`Piece` to a ``symusic.Score`` in ticks."""
    import numpy as np
    import symusic

    score = symusic.Score(piece.tpq)
    for tp in piece.tempos:
        score.tempos.append(symusic.Tempo(tp.time, qpm=float(tp.qpm)))
    for ts in piece.time_signatures:
        score.time_signatures.append(symusic.TimeSignature(ts.time, ts.numerator, ts.denominator))
    for ks in piece.key_signatures:
        sf, minor = _key_to_sf(ks.key)
        score.key_signatures.append(symusic.KeySignature(ks.time, sf, minor))
    for t in piece.tracks:
        tr = symusic.Track(name=t.name, program=t.program, is_drum=t.is_drum)
        if t.notes:
            tr.notes = symusic.Note.from_numpy(
                np.array([n.start for n in t.notes], dtype=np.int32),
                np.array([n.duration for n in t.notes], dtype=np.int32),
                np.array([n.pitch for n in t.notes], dtype=np.int8),
                np.array([n.velocity for n in t.notes], dtype=np.int8),
            )
        for c in t.controls:
            tr.controls.append(symusic.ControlChange(c.time, c.number, c.value))
        for b in t.pitch_bends:
            tr.pitch_bends.append(symusic.PitchBend(b.time, b.value))
        score.tracks.append(tr)
    if piece.length > 0 and piece.length > score.end():
        # the file lasts exactly the piece (trailing silent bars included): a marker on the last bar line,
        # so end-of-track falls there and a DAW shows as many bars as were asked for (see midi_bytes)
        score.markers.append(symusic.TextMeta(piece.length, "End"))
    return score


def midi_bytes(piece: Piece) -> bytes:
    """The piece as Standard MIDI File bytes (deterministic: same piece, same bytes)."""
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "x.mid"
        piece_to_score(piece).dump_midi(str(f))
        return _end_tracks_at_last_event(f.read_bytes())


_EOT_ONE_TICK_LATE = b"\x01\xff\x2f\x00"


def _end_tracks_at_last_event(data: bytes) -> bytes:
    """symusic ends every track one tick after its last event; put end-of-track on that event instead
    (same byte length: the one-byte delta 1 becomes 0), so an 8-bar piece is exactly 8 bars long."""
    out = bytearray(data)
    pos = 14 if data[:4] == b"MThd" else len(data)
    while pos + 8 <= len(out):
        size = int.from_bytes(out[pos + 4:pos + 8], "big")
        end = pos + 8 + size
        if out[pos:pos + 4] == b"MTrk" and end <= len(out) and out[end - 4:end] == _EOT_ONE_TICK_LATE:
            out[end - 4] = 0
        pos = end
    return bytes(out)


def write_midi(piece: Piece, path: str | os.PathLike, *, overwrite: bool = True) -> Path:
    """Write ``piece`` to ``path`` atomically (a temporary file in the same folder, fsynced, then renamed:
    a crash mid-save leaves the old file or the new one, never a damaged one). With ``overwrite=False`` an
    existing file is an error."""
    p = Path(path)
    if p.exists() and not overwrite:
        raise CodeplayError(f"{p} exists; choose another output path or pass overwrite=True (--overwrite)")
    if p.is_dir():
        raise CodeplayError(f"{p} is a folder; give a file name")
    if str(p.parent) and not p.parent.is_dir():
        raise CodeplayError(f"output folder {p.parent} does not exist")
    return atomic_write_bytes(p, midi_bytes(piece))


# ------------------------------------------------------------------ interop (lazy imports)
def to_pretty_midi(piece: Piece):
    """A ``pretty_midi.PrettyMIDI`` with the same notes, tempo map and time signatures."""
    import io as _io

    import pretty_midi

    return pretty_midi.PrettyMIDI(_io.BytesIO(midi_bytes(piece)))


def from_pretty_midi(pm) -> Piece:
    import io as _io

    import symusic

    buf = _io.BytesIO()
    pm.write(buf)
    return score_to_piece(symusic.Score.from_midi(buf.getvalue()))


def to_note_sequence(piece: Piece):
    """A magenta ``NoteSequence`` (needs the ``notesequence`` extra: pip install 'codeplay-nb[notesequence]')."""
    from .errors import require

    require("note_seq", "notesequence", "NoteSequence conversion")
    import note_seq

    return note_seq.midi_io.midi_to_note_sequence(to_pretty_midi(piece))


def from_note_sequence(seq) -> Piece:
    from .errors import require

    require("note_seq", "notesequence", "NoteSequence conversion")
    import note_seq

    return from_pretty_midi(note_seq.midi_io.note_sequence_to_pretty_midi(seq))
