"""``Song``: edit history, exact undo/redo, the redo branch dropped by a new edit, safe saving."""

from __future__ import annotations

import pytest

from codeplay_nb import editing
from codeplay_nb.errors import CodeplayError
from codeplay_nb.io import read_midi, write_midi
from codeplay_nb.song import Song


@pytest.fixture
def song_on_disk(rich_piece, tmp_path):
    path = write_midi(rich_piece, tmp_path / "source.mid")
    return Song.from_midi(path), path


def test_history_records_operations_params_and_seeds(tiny_model, song_on_disk):
    song, _ = song_on_disk
    v0 = song.piece
    song.infill((2, 3), tracks=[1], model=tiny_model, seed=5)
    song.extend(2, model=tiny_model, seed=6)
    song.set_instrument(2, "cello")
    ops = [v.operation for v in song.history]
    assert ops == ["load", "infill", "extend", "set_instrument"]
    assert [v.seed for v in song.history] == [None, 5, 6, None]
    assert song.history[1].params["bars"] == (2, 3) and song.history[1].params["tracks"] == [1]
    assert "model" not in song.history[1].params
    assert song.history[0].piece == v0
    assert song.position == 3 and song.seed is None
    assert song.piece.n_bars == v0.n_bars + 2
    assert song.piece.tracks[1].program == 42
    lines = song.describe_history()
    assert len(lines) == 4 and lines[-1].startswith("→") and "extend" in lines[2]


def test_edits_through_song_equal_the_pure_functions(tiny_model, song_on_disk):
    song, _ = song_on_disk
    before = song.piece
    song.regenerate_track("Bass", model=tiny_model, seed=8)
    assert song.piece == editing.regenerate_track(before, "Bass", model=tiny_model, seed=8)
    song.add_track("strings", model=tiny_model, seed=9)
    assert song.piece == editing.add_track(song.history[1].piece, "strings", model=tiny_model, seed=9)


def test_undo_redo_are_exact(tiny_model, song_on_disk):
    song, _ = song_on_disk
    states = [song.piece]
    song.infill(1, model=tiny_model, seed=1)
    states.append(song.piece)
    song.extend(1, model=tiny_model, seed=2)
    states.append(song.piece)
    assert not song.can_redo
    assert song.undo().piece == states[1]
    assert song.undo().piece == states[0]
    assert not song.can_undo
    with pytest.raises(CodeplayError, match="nothing to undo"):
        song.undo()
    assert song.redo().piece == states[1]
    assert song.redo().piece == states[2]
    with pytest.raises(CodeplayError, match="nothing to redo"):
        song.redo()
    assert song.piece is states[2]


def test_a_new_edit_drops_the_redo_branch(tiny_model, song_on_disk):
    song, _ = song_on_disk
    song.extend(1, model=tiny_model, seed=1)
    song.extend(1, model=tiny_model, seed=2)
    song.undo().undo()
    song.set_instrument(1, "organ")
    assert [v.operation for v in song.history] == ["load", "set_instrument"]
    assert not song.can_redo and song.can_undo


def test_save_never_overwrites_the_source_unless_asked(song_on_disk, tmp_path):
    song, path = song_on_disk
    original = path.read_bytes()
    song.set_instrument(1, "organ")
    with pytest.raises(CodeplayError, match="loaded from"):
        song.save(path)
    with pytest.raises(CodeplayError):  # the same file through another spelling of its path
        song.save(tmp_path / "." / "source.mid")
    assert path.read_bytes() == original
    out = song.save(tmp_path / "edited.mid")
    assert read_midi(out).tracks[0].program == 19
    song.save(path, overwrite=True)
    assert read_midi(path).tracks[0].program == 19


def test_save_writes_the_current_version(tiny_model, song_on_disk, tmp_path):
    song, _ = song_on_disk
    song.extend(2, model=tiny_model, seed=3)
    song.undo()
    out = read_midi(song.save(tmp_path / "v0.mid"))
    assert out.n_bars == song.history[0].piece.n_bars
    assert song.to_midi_bytes() == (tmp_path / "v0.mid").read_bytes()


def test_summary(song_on_disk):
    song, _ = song_on_disk
    s = song.summary()
    assert s["bars"] == 6 and s["tempo_bpm"] == 96.0 and s["time_signature"] == "4/4"
    assert [t["name"] for t in s["tracks"]] == ["Piano", "Bass", "Drums"]
    assert s["notes"] == song.piece.n_notes and s["version"] == 0
