"""Every bad argument of the reliability review is one line on stderr and exit status 2, before any work:
no traceback, no usage block, no output file, the input untouched. Table-driven: one row per mistake."""

from __future__ import annotations

import json
import math
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from codeplay_nb.cli import main
from codeplay_nb.cli.metrics import json_safe
from codeplay_nb.io import write_midi


def _with_division(src: bytes, division: int) -> bytes:
    return src[:12] + struct.pack(">H", division) + src[14:]


def _with_time_signature(src: Path, num: int, den_power: int) -> bytes:
    import mido

    mid = mido.MidiFile(str(src))
    for track in mid.tracks:
        for msg in track:
            if msg.type == "time_signature":
                msg.denominator = 2 ** min(den_power, 5)  # mido refuses 64; patched in the bytes below
    out = Path(src).with_suffix(".tmp.mid")
    mid.save(str(out))
    data = out.read_bytes()
    out.unlink()
    i = data.index(b"\xff\x58\x04")
    return data[:i + 3] + bytes([num, den_power]) + data[i + 5:]


@pytest.fixture
def work(tmp_path, rich_piece, data_dir):
    """Input files and a folder for outputs: song.mid (the rich piece), link.mid (a hard link to it),
    tpq0.mid (0 ticks per quarter), ts64.mid (a 1/64 time signature), nomodel/ (a config without weights)."""
    song = write_midi(rich_piece, tmp_path / "song.mid")
    os.link(song, tmp_path / "link.mid")
    (tmp_path / "tpq0.mid").write_bytes(_with_division((data_dir / "type1.mid").read_bytes(), 0))
    (tmp_path / "ts64.mid").write_bytes(_with_time_signature(data_dir / "ts_3_4.mid", 1, 6))
    (tmp_path / "nomodel").mkdir()
    (tmp_path / "nomodel" / "config.json").write_text("{}")
    (tmp_path / "nomodel" / "pytorch_model.bin").write_bytes(b"not loaded")
    (tmp_path / "existing.mid").write_bytes(b"precious")
    (tmp_path / "out").mkdir()
    return tmp_path


S = "{song}"
O = "{out}/o.mid"  # noqa: E741
CASES = [
    # sampling options
    (["compose", "-o", O, "--top-p", "0"], "top-p"),
    (["compose", "-o", O, "--top-p", "-1"], "top-p"),
    (["compose", "-o", O, "--top-p", "2"], "top-p"),
    (["compose", "-o", O, "--top-p", "nan"], "top-p"),
    (["compose", "-o", O, "--temperature", "nan"], "temperature"),
    (["compose", "-o", O, "--temperature", "0"], "temperature"),
    (["compose", "-o", O, "--temperature", "-1"], "temperature"),
    (["compose", "-o", O, "--temperature", "inf"], "temperature"),
    (["infill", S, "--bars", "1", "-o", O, "--temperature", "nan"], "temperature"),
    (["extend", S, "-o", O, "--top-p", "nan"], "top-p"),
    (["compose", "-o", O, "--seed", str(2**64)], "seed"),
    (["compose", "-o", O, "--seed", "-1"], "seed"),
    (["extend", S, "-o", O, "--seed", str(2**70)], "seed"),
    # argparse type errors: one line, not the usage block
    (["compose", "-o", O, "--bars", "abc"], "invalid int value"),
    (["compose", "-o", O, "--seed", "1.5"], "invalid int value"),
    (["compose", "-o", O, "--no-such-option"], "unrecognized arguments"),
    (["compose"], "-o/--output"),
    (["extend", S, "-o", O, "--backend", "xyz"], "invalid choice"),
    (["no-such-command"], "invalid choice"),
    # bars and tracks
    (["compose", "-o", O, "--bars", "-3"], "bars"),
    (["compose", "-o", O, "--bars", "100000"], "bars"),
    (["infill", S, "--bars", "-3", "-o", O], "bad bar range"),
    (["infill", S, "--bars", "1-", "-o", O], "bad bar range"),
    (["infill", S, "--bars", "x", "-o", O], "bad bar range"),
    (["infill", S, "--bars", "1", "--tracks", "", "-o", O], "empty track"),
    (["infill", S, "--bars", "1", "--tracks", "1,", "-o", O], "empty track"),
    (["extend", S, "--bars", "10000", "-o", O], "from 1 to 64"),
    (["extend", S, "--bars", "0", "-o", O], "from 1 to 64"),
    (["add-track", S, "--instrument=-1", "-o", O], "0 to 127"),
    (["add-track", S, "--instrument", "128", "-o", O], "0 to 127"),
    (["regenerate", S, "--track", "1", "--instrument=-5", "-o", O], "0 to 127"),
    # outputs: checked before generating, never the input, never an existing file without --overwrite
    (["compose", "-o", "{out}"], "is a folder"),
    (["compose", "-o", "{out}/"], "is a folder"),
    (["compose", "-o", "/sys/o.mid"], "cannot write"),
    (["compose", "-o", "{dir}/existing.mid"], "already exists"),
    (["extend", S, "-o", "{dir}/existing.mid"], "already exists"),
    (["extend", S, "-o", "{dir}/link.mid"], "input file"),
    (["infill", "{dir}/link.mid", "--bars", "1", "-o", S], "input file"),
    (["extend", S, "-o", "{dir}/./song.mid"], "input file"),
    (["tokenize", S, "--roundtrip", S], "input file"),
    (["tokenize", S, "--roundtrip", "{dir}/link.mid"], "input file"),
    (["tokenize", S, "--roundtrip", "{dir}/existing.mid"], "already exists"),
    # models: safetensors only
    (["compose", "-o", O, "--model", "{dir}/nomodel"], "model.safetensors"),
    (["extend", S, "-o", O, "--model", "{dir}/nomodel"], "model.safetensors"),
    # hostile files
    (["tokenize", "{dir}/tpq0.mid"], "ticks per quarter"),
    (["metrics", "{dir}/tpq0.mid"], "ticks per quarter"),
    (["infill", "{dir}/tpq0.mid", "--bars", "1", "-o", O], "ticks per quarter"),
    (["tokenize", "{dir}/ts64.mid"], "1/64"),
    (["metrics", "{dir}/ts64.mid", "--json"], "1/64"),
]


@pytest.mark.parametrize("argv,needle", CASES, ids=[" ".join(c[0])[:60] for c in CASES])
def test_bad_argument_is_one_line_and_exit_2(work, tiny_checkpoint, capsys, argv, needle):
    song = work / "song.mid"
    before = {p.name: p.read_bytes() for p in work.iterdir() if p.is_file()}
    args = [a.format(song=song, ckpt=tiny_checkpoint, out=work / "out", dir=work) for a in argv]
    if args[0] in ("compose", "extend", "infill", "regenerate", "add-track") and "--model" not in args:
        args += ["--model", str(tiny_checkpoint)]
    if args[0] == "compose" and "--instruments" not in args:
        args += ["--instruments", "piano"]
    rc = main(args)
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert rc == 2, (args, captured.err)
    assert len(err) == 1, err
    assert err[0].startswith("codeplay") and "error:" in err[0] and needle in err[0], err[0]
    assert "Traceback" not in captured.err and "usage:" not in captured.err
    assert not list((work / "out").iterdir()), "an output was written"
    assert {p.name: p.read_bytes() for p in work.iterdir() if p.is_file() and p.name in before} == before


def test_non_utf8_prompt_is_one_line_from_the_real_command(work, tiny_checkpoint):
    """The shell hands undecodable bytes through as surrogates: the installed command must say so."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    argv = [sys.executable.encode(), b"-m", b"codeplay_nb", b"compose", b"caf\xe9 \xff", b"-o",
            str(work / "out" / "o.mid").encode(), b"--model", str(tiny_checkpoint).encode(),
            b"--instruments", b"piano"]
    proc = subprocess.run(argv, capture_output=True, env=env, timeout=120)
    err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(err) == 1 and "UTF-8" in err[0], err


def test_overwrite_flag_allows_replacing_an_existing_output(work, tiny_checkpoint, capsys):
    target = work / "existing.mid"
    rc = main(["compose", "-o", str(target), "--bars", "1", "--instruments", "piano", "--seed", "1",
               "--model", str(tiny_checkpoint), "--overwrite", "--no-progress"])
    assert rc == 0, capsys.readouterr().err
    assert target.read_bytes()[:4] == b"MThd"
    rc = main(["tokenize", str(work / "song.mid"), "--roundtrip", str(target), "--overwrite"])
    assert rc == 0 and target.read_bytes()[:4] == b"MThd"


def test_metrics_json_is_strict_json(work, data_dir, capsys):
    """No Infinity or NaN: a JSON parser that refuses them reads every fixture's metrics."""
    assert json_safe({"a": math.inf, "b": [math.nan, 1.5], "c": {"d": -math.inf}}) == {
        "a": None, "b": [None, 1.5], "c": {"d": None}}
    for src in [*sorted(data_dir.glob("*.mid")), work / "song.mid"]:
        rc = main(["metrics", str(src), "--json", "--window-bars", "2"])
        out = capsys.readouterr().out
        if rc == 2:  # the broken fixture
            continue
        json.loads(out, parse_constant=lambda c, name=src.name: pytest.fail(f"{name}: {c} in JSON"))
