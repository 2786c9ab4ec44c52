"""The ``codeplay`` command: compose and the editing subcommands with a tiny checkpoint on disk; user
mistakes exit with status 2 and one line on stderr."""

from __future__ import annotations

import json

import pytest

from codeplay_nb.cli import main
from codeplay_nb.io import read_midi, write_midi

COMPOSE_KEYS = {"output", "attributes", "bars", "tracks", "notes", "tempo_bpm", "time_signature", "seconds", "seed",
                "version"}
EDIT_KEYS = {"output", "bars", "tracks", "notes", "notes_before"}


@pytest.fixture
def song_file(rich_piece, tmp_path):
    return write_midi(rich_piece, tmp_path / "song.mid")


def _json(capsys) -> dict:
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    return json.loads(out[0])


def test_checkpoint_round_trip(tiny_model, tiny_checkpoint):
    from codeplay_nb.model import load_model

    loaded = load_model(tiny_checkpoint)
    assert loaded.n_positions == tiny_model.n_positions
    assert loaded.tokenizer.vocab == tiny_model.tokenizer.vocab
    ref = tiny_model.model.state_dict()
    got = loaded.model.state_dict()
    assert all((got[k] == v).all() for k, v in ref.items())
    for name in ("config.json", "model.safetensors", "nnn_vocab.json", "attribute_vocabulary.json"):
        assert (tiny_checkpoint / name).exists()


def test_compose_json(tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "c.mid"
    rc = main(["compose", "-o", str(out), "--bars", "2", "--instruments", "piano,bass,drums", "--tempo", "100",
               "--time-signature", "3/4", "--key", "D minor", "--genre", "pop", "--seed", "3",
               "--model", str(tiny_checkpoint), "--json"])
    assert rc == 0
    info = _json(capsys)
    assert set(info) >= COMPOSE_KEYS
    assert info["bars"] == 2 and info["tempo_bpm"] == 100.0 and info["time_signature"] == "3/4"
    assert info["seed"] == 3 and info["attributes"]["key"] == "D minor" and info["attributes"]["genre"] == "pop"
    assert [t["name"] for t in info["tracks"]] == ["Piano", "Bass", "Drums"]
    piece = read_midi(out)
    assert piece.n_bars == 2 and len(piece.tracks) == 3 and all(t.notes for t in piece.tracks)
    # same seed, same bytes
    again = tmp_path / "c2.mid"
    assert main(["compose", "-o", str(again), "--bars", "2", "--instruments", "piano,bass,drums", "--tempo", "100",
                 "--time-signature", "3/4", "--key", "D minor", "--genre", "pop", "--seed", "3",
                 "--model", str(tiny_checkpoint), "--json"]) == 0
    assert again.read_bytes() == out.read_bytes()


def test_compose_text_output(tiny_checkpoint, tmp_path, capsys):
    rc = main(["compose", "-o", str(tmp_path / "c.mid"), "--bars", "1", "--instruments", "organ",
               "--model", str(tiny_checkpoint), "--no-progress", "--seed", "1"])
    assert rc == 0
    assert capsys.readouterr().out.startswith(f"wrote {tmp_path / 'c.mid'}: 1 bars, 1 tracks")


@pytest.mark.parametrize("args,bars_delta,tracks_delta", [
    (["extend", "--bars", "2"], 2, 0),
    (["infill", "--bars", "2-3", "--tracks", "1,Drums"], 0, 0),
    (["infill", "--bars", "4"], 0, 0),
    (["regenerate", "--track", "2", "--instrument", "cello"], 0, 0),
    (["add-track", "--instrument", "strings"], 0, 1),
])
def test_edit_commands(tiny_checkpoint, song_file, tmp_path, capsys, args, bars_delta, tracks_delta):
    out = tmp_path / "out.mid"
    rc = main([args[0], str(song_file), *args[1:], "-o", str(out), "--seed", "1", "--model", str(tiny_checkpoint),
               "--json"])
    assert rc == 0
    info = _json(capsys)
    assert set(info) == EDIT_KEYS
    before, after = read_midi(song_file), read_midi(out)
    assert info["bars"] == after.n_bars == before.n_bars + bars_delta
    assert info["tracks"] == len(after.tracks) == len(before.tracks) + tracks_delta
    assert info["notes_before"] == before.n_notes and info["notes"] == after.n_notes
    assert after.tempos == before.tempos and after.time_signatures == before.time_signatures


def test_overwrite_flag_allows_editing_in_place(tiny_checkpoint, song_file, capsys):
    before = song_file.read_bytes()
    assert main(["extend", str(song_file), "-o", str(song_file), "--overwrite", "--bars", "1", "--seed", "2",
                 "--model", str(tiny_checkpoint), "--json"]) == 0
    assert song_file.read_bytes() != before
    capsys.readouterr()


@pytest.mark.parametrize("make_args,needle", [
    (lambda d, s, m: ["extend", str(d / "missing.mid"), "-o", str(d / "o.mid")], "not found"),
    (lambda d, s, m: ["infill", str(d.parent / "broken.mid"), "--bars", "1", "-o", str(d / "o.mid")], "corrupted"),
    (lambda d, s, m: ["infill", str(s), "--bars", "4-3", "-o", str(d / "o.mid"), "--model", m], "reversed"),
    (lambda d, s, m: ["infill", str(s), "--bars", "5-40", "-o", str(d / "o.mid"), "--model", m], "outside"),
    (lambda d, s, m: ["infill", str(s), "--bars", "1", "--tracks", "9", "-o", str(d / "o.mid"), "--model", m],
     "track 9"),
    (lambda d, s, m: ["regenerate", str(s), "--track", "Vocals", "-o", str(d / "o.mid"), "--model", m], "Vocals"),
    (lambda d, s, m: ["add-track", str(s), "--instrument", "banana", "-o", str(d / "o.mid"), "--model", m],
     "banana"),
    (lambda d, s, m: ["extend", str(s), "-o", str(s), "--model", m], "--overwrite"),
    (lambda d, s, m: ["infill", str(d.parent / "empty.mid"), "--bars", "1", "-o", str(d / "o.mid"), "--model", m],
     "no notes"),
    (lambda d, s, m: ["compose", "", "-o", str(d / "o.mid"), "--model", m], "prompt is empty"),
    (lambda d, s, m: ["compose", "-o", str(d / "o.mid"), "--tempo", "5", "--model", m], "tempo"),
    (lambda d, s, m: ["compose", "-o", str(d / "o.mid"), "--bars", "0", "--model", m], "bars"),
    (lambda d, s, m: ["compose", "-o", str(d / "o.mid"), "--instruments", "piano", "--model", str(d / "nomodel")],
     "not found"),
    (lambda d, s, m: ["compose", "-o", str(d / "no" / "o.mid"), "--bars", "1", "--instruments", "piano",
                      "--model", m], "does not exist"),
    (lambda d, s, m: ["extend", str(s), "-o", str(d / "no" / "o.mid"), "--model", m], "does not exist"),
])
def test_user_mistakes_exit_2_with_one_line(tiny_checkpoint, song_file, tmp_path, data_dir, capsys, make_args,
                                            needle):
    work = tmp_path / "work"
    work.mkdir()
    (tmp_path / "broken.mid").write_bytes((data_dir / "broken_truncated.mid").read_bytes())
    (tmp_path / "empty.mid").write_bytes((data_dir / "empty.mid").read_bytes())
    before = song_file.read_bytes()
    rc = main(make_args(work, song_file, str(tiny_checkpoint)))
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert rc == 2
    assert len(err) == 1, err
    assert err[0].startswith("codeplay ") and "error:" in err[0] and needle in err[0], err[0]
    assert "Traceback" not in captured.err
    assert song_file.read_bytes() == before
    assert not (work / "o.mid").exists()
