"""MIDI (and NoteSequence / pretty_midi) conversion: the one edge where files meet :class:`Piece`.

MIDI is read with ``symusic`` (about 0.05 ms a file, C++); ``pretty_midi`` and ``note_seq`` conversions are
offered for interoperability and are imported only when called.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import CodeplayError, MidiReadError
from .music import ControlChange, KeySignature, Note, Piece, PitchBend, Tempo, TimeSignature, Track

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


def score_to_piece(score) -> Piece:
    """Convert a ``symusic.Score`` (any time unit) to a :class:`Piece` in ticks."""
    if str(score.ttype).lower().find("tick") < 0:
        score = score.to("tick")
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
    tempos = _dedupe(Tempo(int(t.time), round(float(t.qpm), 4)) for t in score.tempos)
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


def read_midi(path: str | os.PathLike) -> Piece:
    """Read a MIDI file. Raises :class:`MidiReadError` with a clear message for missing or broken files."""
    import symusic

    p = Path(path)
    if not p.exists():
        raise MidiReadError(f"MIDI file not found: {p}")
    if p.is_dir():
        raise MidiReadError(f"{p} is a folder, not a MIDI file")
    try:
        head = p.open("rb").read(4)
    except OSError as exc:
        raise MidiReadError(f"cannot read {p}: {exc.strerror}") from exc
    if head not in (b"MThd", b"RIFF"):
        raise MidiReadError(f"{p} is not a MIDI file (no MThd header); export it as a Standard MIDI File")
    try:
        score = symusic.Score(str(p))
    except Exception as exc:  # symusic raises RuntimeError/ValueError with C++ messages
        raise MidiReadError(f"{p} looks corrupted and could not be parsed ({exc})") from exc
    return score_to_piece(score)


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
    return score


def midi_bytes(piece: Piece) -> bytes:
    """The piece as Standard MIDI File bytes (deterministic: same piece, same bytes)."""
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "x.mid"
        piece_to_score(piece).dump_midi(str(f))
        return f.read_bytes()


def write_midi(piece: Piece, path: str | os.PathLike, *, overwrite: bool = True) -> Path:
    """Write ``piece`` to ``path``. With ``overwrite=False`` an existing file is an error."""
    p = Path(path)
    if p.exists() and not overwrite:
        raise CodeplayError(f"{p} exists; choose another output path or pass overwrite=True (--overwrite)")
    if p.parent and not p.parent.exists():
        raise CodeplayError(f"output folder {p.parent} does not exist")
    p.write_bytes(midi_bytes(piece))
    return p


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
