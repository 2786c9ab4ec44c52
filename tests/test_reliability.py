"""No file ever lost (atomic saves, no overwrite without asking, hard links included), bounded work on
hostile input (limits checked before the work, near-linear edit planning), valid MIDI variants read
(SMPTE timing, RIFF RMID), safetensors-only loading."""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import textwrap
import time

import pytest

from codeplay_nb import editing
from codeplay_nb.errors import CodeplayError, MidiReadError, PieceTooLargeError
from codeplay_nb.files import TMP_PREFIX, atomic_write_bytes, check_output
from codeplay_nb.io import LIMITS, midi_bytes, read_midi, write_midi
from codeplay_nb.music import Note, Piece, TimeSignature, Track, make_piece
from codeplay_nb.song import Song

KILL_ROUNDS = 12


def _big_piece(n_notes: int, pitch0: int = 40) -> Piece:
    notes = [(pitch0 + i % 40, 64 + i % 60, i * 60, 120) for i in range(n_notes)]
    return make_piece([(0, False, notes[0::2]), (33, False, notes[1::2])])


# ---------------------------------------------------------------- atomic saves
def test_killed_saves_never_damage_the_file(tmp_path):
    """SIGKILL a process that saves a ~1 MB song over and over, at random moments: the target is always the
    old file or the new one, whole, never empty or truncated."""
    old, new = _big_piece(60_000, 30), _big_piece(150_000, 50)
    old_bytes, new_bytes = midi_bytes(old), midi_bytes(new)
    assert len(new_bytes) > 1_000_000 and old_bytes != new_bytes
    write_midi(new, tmp_path / "new.mid")
    target = tmp_path / "song.mid"
    # the encoding is cached so that the loop spends its time writing: a kill then lands inside a write
    # almost every time (a non-atomic truncate-and-write fails this test in nearly every round)
    script = textwrap.dedent(f"""
        import codeplay_nb.io
        from codeplay_nb.song import Song
        song = Song.from_midi({str(tmp_path / 'new.mid')!r})
        data = codeplay_nb.io.midi_bytes(song.piece)
        codeplay_nb.io.midi_bytes = lambda piece: data
        print("ready", flush=True)
        while True:
            song.save({str(target)!r}, overwrite=True)
    """)
    rng = __import__("random").Random(0)
    outcomes = {"old": 0, "new": 0}
    for _ in range(KILL_ROUNDS):
        target.write_bytes(old_bytes)
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout.readline().strip() == "ready"
            time.sleep(rng.uniform(0.0, 0.6))
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        data = target.read_bytes()
        assert data in (old_bytes, new_bytes), f"damaged: {len(data)} bytes"
        outcomes["old" if data == old_bytes else "new"] += 1
    assert read_midi(target).n_notes in (old.n_notes, new.n_notes)
    assert outcomes["new"] > 0, outcomes  # the saves did happen between the kills


def test_atomic_write_keeps_the_old_file_on_error_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "a.mid"
    target.write_bytes(b"old")

    class Boom(Exception):
        pass

    from codeplay_nb.files import atomic_path

    with pytest.raises(Boom), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise Boom
    assert target.read_bytes() == b"old"
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(TMP_PREFIX)]


def test_write_wav_and_checkpoints_are_written_whole(tmp_path, tiny_model):
    from codeplay_nb.audio import to_wav_bytes, write_wav
    from codeplay_nb.model import load_model, save_model

    piece = make_piece([(0, False, [(60, 90, 0, 480)])])
    out = write_wav(piece, tmp_path / "a.wav", backend="sine")
    assert out.read_bytes() == to_wav_bytes(piece, backend="sine")
    ckpt = save_model(tiny_model.model, tmp_path / "ckpt")
    assert not [p for p in ckpt.iterdir() if p.name.startswith(TMP_PREFIX)]
    loaded = load_model(ckpt)
    assert all((loaded.model.state_dict()[k] == v).all() for k, v in tiny_model.model.state_dict().items())


# ---------------------------------------------------------------- never overwrite without asking
def test_song_save_refuses_existing_files_and_hard_links_of_its_source(tmp_path, rich_piece):
    src = write_midi(rich_piece, tmp_path / "source.mid")
    original = src.read_bytes()
    os.link(src, tmp_path / "link.mid")
    song = Song.from_midi(src)
    song.set_instrument(1, "organ")
    with pytest.raises(CodeplayError, match="loaded from"):
        song.save(tmp_path / "link.mid")
    (tmp_path / "other.mid").write_bytes(b"someone else's file")
    with pytest.raises(CodeplayError, match="already exists"):
        song.save(tmp_path / "other.mid")
    assert src.read_bytes() == original and (tmp_path / "other.mid").read_bytes() == b"someone else's file"
    with pytest.raises(CodeplayError, match="folder"):
        song.save(tmp_path)
    song.save(tmp_path / "other.mid", overwrite=True)
    assert read_midi(tmp_path / "other.mid").tracks[0].program == 19


def test_check_output_catches_every_spelling_of_the_input(tmp_path):
    src = tmp_path / "in.mid"
    src.write_bytes(b"MThd")
    os.link(src, tmp_path / "hard.mid")
    os.symlink(src, tmp_path / "soft.mid")
    for alias in ("hard.mid", "soft.mid", "./in.mid", "in.mid"):
        with pytest.raises(CodeplayError, match="input file"):
            check_output(tmp_path / alias, inputs=[src])
    assert check_output(tmp_path / "hard.mid", inputs=[src], overwrite=True) == tmp_path / "hard.mid"
    with pytest.raises(CodeplayError, match="does not exist"):
        check_output(tmp_path / "nope" / "x.mid")


# ---------------------------------------------------------------- hostile input: bounded, clear
def _smf(tracks: list[bytes], division: int = 96) -> bytes:
    head = b"MThd" + struct.pack(">IHHH", 6, 1, len(tracks), division)
    return head + b"".join(b"MTrk" + struct.pack(">I", len(t)) + t for t in tracks)


def _vlq(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def test_a_corrupted_delta_time_is_refused_at_once(tmp_path):
    """Delta times that add up to ~2^31 ticks at 96 per quarter: millions of bars, refused in well under
    a second with a message naming the problem (this used to loop over every bar and grow to gigabytes)."""
    events = b"\x00\x90\x3c\x40" + b"".join(_vlq(0x0FFFFFFF) + b"\xb0\x07\x64" for _ in range(7))
    events += b"\x00\x80\x3c\x00\x00\xff\x2f\x00"
    path = tmp_path / "far.mid"
    path.write_bytes(_smf([events]))
    t0 = time.perf_counter()
    with pytest.raises(PieceTooLargeError, match="bars long"):
        read_midi(path)
    assert time.perf_counter() - t0 < 1.0


def test_too_many_tracks_and_zero_ticks_per_quarter_are_clear_errors(tmp_path):
    track = b"\x00\x90\x3c\x40\x60\x80\x3c\x00\x00\xff\x2f\x00"
    (tmp_path / "many.mid").write_bytes(_smf([track] * (LIMITS["tracks"] + 1)))
    with pytest.raises(PieceTooLargeError, match="tracks"):
        read_midi(tmp_path / "many.mid")
    (tmp_path / "tpq0.mid").write_bytes(_smf([track], division=0))
    with pytest.raises(MidiReadError, match="0 ticks per quarter"):
        read_midi(tmp_path / "tpq0.mid")
    with pytest.raises(CodeplayError, match="ticks per quarter"):
        Piece(tpq=0)


def test_planning_an_edit_of_1000_tracks_is_near_linear(tiny_model, monkeypatch):
    """16 bars, 1,000 tracks: the window planner bisects the track count (O(log n) encodings per context
    size) instead of re-encoding the window for every candidate count."""
    tracks = tuple(Track(i % 128, False, f"t{i}", tuple(Note(40 + i % 40, 80, b * 1920 + (i % 4) * 480, 240)
                                                         for b in range(16)))
                   for i in range(1000))
    piece = Piece(tracks, 480, length=16 * 1920)
    calls = []
    real = editing._estimate_tokens
    monkeypatch.setattr(editing, "_estimate_tokens", lambda *a: calls.append(1) or real(*a))
    t0 = time.perf_counter()
    window, ids, _, cells = editing._plan_window(tiny_model, piece, 7, 7, [0], editing.CONTEXT_BARS)
    elapsed = time.perf_counter() - t0
    assert 0 in ids and len(ids) < 1000
    assert len(calls) <= 5 * 12, len(calls)  # 5 context sizes x (2 + log2(1000)) at most
    assert elapsed < 60
    p, g = real(tiny_model, window, cells)
    assert p + g <= tiny_model.n_positions - 8


def test_editing_limits(rich_piece, tiny_model):
    with pytest.raises(CodeplayError, match="from 1 to 64"):
        editing.extend(rich_piece, 10_000, model=tiny_model, seed=0)
    with pytest.raises(CodeplayError, match="temperature"):
        editing.infill(rich_piece, (1, 1), model=tiny_model, seed=0, temperature=float("nan"))
    with pytest.raises(CodeplayError, match="seed"):
        editing.infill(rich_piece, (1, 1), model=tiny_model, seed=2**64)
    with pytest.raises(CodeplayError, match="bad bar range"):
        editing.infill(rich_piece, "-3", model=tiny_model, seed=0)
    with pytest.raises(CodeplayError, match="0 to 127"):
        editing.add_track(rich_piece, "-1", model=tiny_model, seed=0)
    long = rich_piece.replace(length=10**9)
    with pytest.raises(PieceTooLargeError, match="bars"):
        editing.infill(long, (1, 1), model=tiny_model, seed=0)


def test_unsupported_time_signature_is_a_clear_error(tmp_path):
    track = b"\x00\xff\x58\x04\x01\x06\x18\x08\x00\x90\x3c\x40\x60\x80\x3c\x00\x00\xff\x2f\x00"  # 1/64
    (tmp_path / "ts64.mid").write_bytes(_smf([track]))
    with pytest.raises(MidiReadError, match="1/64 time signature"):
        read_midi(tmp_path / "ts64.mid")


# ---------------------------------------------------------------- valid MIDI variants
def test_smpte_timed_file_is_read_with_its_timing(tmp_path, data_dir):
    src = (data_dir / "type1.mid").read_bytes()
    ref = read_midi(data_dir / "type1.mid")
    (tmp_path / "smpte.mid").write_bytes(src[:12] + struct.pack(">H", ((256 - 25) << 8) | 40) + src[14:])
    piece = read_midi(tmp_path / "smpte.mid")
    # 25 frames/s x 40 ticks per frame: a tick is 1 ms whatever the file's tempo events say
    assert [(n.pitch, n.start, n.duration) for t in piece.tracks for n in t.notes] == \
           [(n.pitch, n.start, n.duration) for t in ref.tracks for n in t.notes]
    first = piece.tracks[0].notes[-1]
    assert piece.seconds(first.start) == pytest.approx(first.start / 1000.0)
    drop = src[:12] + struct.pack(">H", ((256 - 29) << 8) | 4) + src[14:]  # 29.97 drop-frame
    (tmp_path / "drop.mid").write_bytes(drop)
    p = read_midi(tmp_path / "drop.mid")
    assert p.seconds(p.tracks[0].notes[-1].start) == pytest.approx(
        p.tracks[0].notes[-1].start / (4 * 30000 / 1001))


def test_riff_rmid_file_is_read(tmp_path, data_dir):
    src = (data_dir / "real_pop909_001_8bars.mid").read_bytes()
    info = b"LIST" + struct.pack("<I", 4) + b"INFO"
    body = b"RMID" + info + b"data" + struct.pack("<I", len(src)) + src + (b"\x00" if len(src) % 2 else b"")
    (tmp_path / "song.rmi").write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    assert read_midi(tmp_path / "song.rmi") == read_midi(data_dir / "real_pop909_001_8bars.mid")
    (tmp_path / "wave.rmi").write_bytes(b"RIFF" + struct.pack("<I", 4) + b"WAVE")
    with pytest.raises(MidiReadError, match="not RIFF MIDI"):
        read_midi(tmp_path / "wave.rmi")


# ---------------------------------------------------------------- safetensors only
def test_pickled_weights_are_refused_with_a_clear_message(tmp_path):
    from codeplay_nb.amt.model import AMTModelUnavailableError, load_amt_model
    from codeplay_nb.model import load_model
    from codeplay_nb.text.backbones import load_go_emotions

    folder = tmp_path / "bin_only"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "gpt2"}')
    (folder / "pytorch_model.bin").write_bytes(b"a pickle would run code here")
    with pytest.raises(AMTModelUnavailableError, match="safetensors"):
        load_amt_model(folder, device="cpu")
    with pytest.raises(CodeplayError, match="safetensors"):
        load_go_emotions(str(folder), local_files_only=True)
    with pytest.raises(CodeplayError, match=r"model\.safetensors"):
        load_model(folder)


def test_time_signature_denominators_match_the_tokenizer():
    from codeplay_nb.io import TIME_SIGNATURE_DENOMINATORS
    from codeplay_nb.tokenizers.nnn import TS_DENOMINATORS

    assert tuple(TIME_SIGNATURE_DENOMINATORS) == tuple(TS_DENOMINATORS)
    assert TimeSignature(0, 1, 32).bar_ticks(480) == 60
