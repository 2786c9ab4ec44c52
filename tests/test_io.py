"""MIDI read/write at the one edge: exact round trips, clear errors for broken files, interop."""

from __future__ import annotations

from pathlib import Path

import pytest

from codeplay_nb.errors import CodeplayError, MidiReadError
from codeplay_nb.io import from_pretty_midi, midi_bytes, read_midi, to_pretty_midi, write_midi


def test_round_trip_keeps_everything(rich_piece, tmp_path):
    path = write_midi(rich_piece, tmp_path / "rich.mid")
    back = read_midi(path)
    assert back.tpq == rich_piece.tpq
    assert back.tempos == rich_piece.tempos
    assert back.time_signatures == rich_piece.time_signatures
    assert back.key_signatures == rich_piece.key_signatures
    assert back.length == rich_piece.length
    assert len(back.tracks) == len(rich_piece.tracks)
    for a, b in zip(rich_piece.tracks, back.tracks, strict=False):
        assert (b.program, b.is_drum, b.name) == (a.program, a.is_drum, a.name)
        assert b.notes == a.notes
        assert b.controls == a.controls
        assert b.pitch_bends == a.pitch_bends
    assert back.tracks[2].is_drum and back.tracks[2].notes


def test_round_trip_of_every_fixture_is_stable(data_dir, tmp_path):
    for src in sorted(data_dir.glob("*.mid")):
        if src.name.startswith("broken"):
            continue
        piece = read_midi(src)
        again = read_midi(write_midi(piece, tmp_path / src.name))
        assert again.tracks == piece.tracks, src.name
        assert (again.tempos, again.time_signatures, again.key_signatures, again.tpq) == (
            piece.tempos, piece.time_signatures, piece.key_signatures, piece.tpq), src.name


def test_exact_tempo_survives(data_dir):
    p = read_midi(data_dir / "tempo_change.mid")
    # MIDI stores whole microseconds per quarter: 142.5 BPM comes back as 142.4999
    assert [t.qpm for t in p.tempos] == pytest.approx([125.0, 90.0, 142.5], abs=1e-3)
    assert p.tempos[0].qpm == 125.0


def test_controllers_fixture_is_read(data_dir):
    p = read_midi(data_dir / "controllers.mid")
    assert any(t.controls for t in p.tracks)
    assert any(t.pitch_bends for t in p.tracks)


@pytest.mark.parametrize("make,needle", [
    (lambda d: d / "missing.mid", "not found"),
    (lambda d: d, "folder"),
    (lambda d: _write(d / "notes.txt", b"hello, this is text"), "not a MIDI file"),
    (lambda d: _write(d / "empty.mid", b""), "not a MIDI file"),
    (lambda d: _write(d / "garbage.mid", b"MThd" + bytes(range(40))), "corrupted"),
])
def test_unreadable_files_raise_a_clear_error(tmp_path, make, needle):
    path = make(tmp_path)
    with pytest.raises(MidiReadError, match=needle) as info:
        read_midi(path)
    assert isinstance(info.value, CodeplayError)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_truncated_fixture_raises(data_dir):
    with pytest.raises(MidiReadError, match="corrupted"):
        read_midi(data_dir / "broken_truncated.mid")


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_write_refuses_to_overwrite_when_asked(rich_piece, tmp_path):
    path = tmp_path / "x.mid"
    path.write_bytes(b"keep me")
    with pytest.raises(CodeplayError, match="exists"):
        write_midi(rich_piece, path, overwrite=False)
    assert path.read_bytes() == b"keep me"
    write_midi(rich_piece, path)
    assert read_midi(path).n_notes == rich_piece.n_notes


def test_write_into_missing_folder_is_a_user_error(rich_piece, tmp_path):
    with pytest.raises(CodeplayError, match="does not exist"):
        write_midi(rich_piece, tmp_path / "nope" / "x.mid")


def test_midi_bytes_are_deterministic(rich_piece):
    first = midi_bytes(rich_piece)
    assert first == midi_bytes(rich_piece)
    assert first[:4] == b"MThd"
    assert first != midi_bytes(rich_piece.replace(tempos=(rich_piece.tempos[0],)))


def test_pretty_midi_round_trip(rich_piece):
    pm = to_pretty_midi(rich_piece)
    assert len(pm.instruments) == 3
    assert [i.is_drum for i in pm.instruments] == [False, False, True]
    assert sum(len(i.notes) for i in pm.instruments) == rich_piece.n_notes
    assert pm.instruments[0].control_changes and pm.instruments[0].pitch_bends
    back = from_pretty_midi(pm)
    assert back.tempos[0].qpm == pytest.approx(96.0, abs=1e-3)
    assert [(ts.numerator, ts.denominator) for ts in back.time_signatures] == [(4, 4), (3, 4)]
    assert [sorted((n.pitch, n.velocity) for n in t.notes) for t in back.tracks] == [
        sorted((n.pitch, n.velocity) for n in t.notes) for t in rich_piece.tracks]
    # pretty_midi works in seconds: onsets come back at the same time
    for a, b in zip(rich_piece.tracks, back.tracks, strict=False):
        for na, nb in zip(a.notes, b.notes, strict=False):
            assert back.seconds(nb.start) == pytest.approx(rich_piece.seconds(na.start), abs=2e-3)
