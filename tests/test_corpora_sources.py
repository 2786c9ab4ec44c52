"""The new sources on tiny fixtures built here (a WAD, Groove files, a POP909 song whose beats are offset by a
known fraction of a beat), the checks that catch music off its grid, ``codeplay dataset preview`` /
``stats --sources``, the chord lane and token-space transposition."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from codeplay_nb import corpora
from codeplay_nb.attributes import Attributes
from codeplay_nb.chords import (
    bar_chords,
    chord_pitch_classes,
    display,
    estimate_chord,
    harte_to_label,
    parse_chord,
    parse_chords,
    transpose_label,
)
from codeplay_nb.cli import main
from codeplay_nb.corpora.beats import bar_line_error, off_grid_share, parse_beat_file
from codeplay_nb.corpora.inspect import bar_line_check, piece_off_grid, write_preview
from codeplay_nb.corpora.stats import BAR_LINE_TOLERANCE, source_stats
from codeplay_nb.errors import CodeplayError
from codeplay_nb.io import midi_bytes, read_midi, write_midi
from codeplay_nb.music import Note, make_piece, transpose

TOL = 1 / 24


# ------------------------------------------------------------------ Freedoom: a WAD built here
def _wad(path: Path, lumps: list[tuple[str, bytes]], kind: bytes = b"PWAD") -> Path:
    """12-byte header, the lumps, then the directory of 16-byte entries."""
    body, entries, off = b"", [], 12
    for name, data in lumps:
        entries.append(struct.pack("<ii8s", off, len(data), name.encode()))
        body += data
        off += len(data)
    path.write_bytes(kind + struct.pack("<ii", len(lumps), off) + body + b"".join(entries))
    return path


SONG = make_piece([
    (30, False, [(64 + (i % 3), 90, i * 240, 200) for i in range(32)]),  # distortion guitar, 8th notes
    (33, False, [(40, 100, i * 480, 400) for i in range(16)]),  # finger bass
    (0, True, [(36 if i % 2 == 0 else 38, 110, i * 480, 60) for i in range(16)]),
], qpm=140)


def test_freedoom_reads_music_lumps_from_a_wad(tmp_path: Path):
    unquantised = make_piece([(0, False, [(60 + i % 5, 80, 37 * i + (i * i) % 29, 50) for i in range(60)])])
    wad = _wad(tmp_path / "test.wad", [
        ("PLAYPAL", b"\x00" * 64),  # not music
        ("D_RUNNIN", midi_bytes(SONG)),
        ("D_MUSLMP", b"MUS\x1a" + b"\x00" * 40),  # DMX MUS, not MIDI
        ("D_NOGRID", midi_bytes(unquantised)),
    ])
    again = _wad(tmp_path / "copy.wad", [("D_RUNNIN", midi_bytes(SONG))], kind=b"IWAD")  # same song twice
    assert [n for n, _ in corpora.wad_music_lumps(wad)] == ["D_RUNNIN", "D_NOGRID"]
    skipped: list = []
    items = list(corpora.load_freedoom(wads=[wad, again], skipped=skipped))
    assert len(items) == 1
    it = items[0]
    assert it.piece_id == "freedoom/test/D_RUNNIN" and it.meta == {"wad": "test.wad", "lump": "D_RUNNIN"}
    assert it.attributes.genre == "game" and it.attributes.bpm == pytest.approx(140, abs=0.01)
    assert set(it.attributes.instruments) == {"guitar", "bass", "drums"}
    assert [[(n.pitch, n.start) for n in t.notes] for t in it.piece.tracks] == \
        [[(n.pitch, n.start) for n in t.notes] for t in SONG.tracks]
    assert any("no beat grid" in r and "D_NOGRID" in w for _, w, r in skipped)
    bad = tmp_path / "bad.wad"
    bad.write_bytes(b"PWAD" + struct.pack("<ii", 5, 10_000))
    skipped = []
    assert list(corpora.load_freedoom(wads=[bad], skipped=skipped)) == []
    assert "out of bounds" in skipped[0][2]


# ------------------------------------------------------------------ Groove
def _groove_root(tmp_path: Path) -> Path:
    d = tmp_path / "groove" / "drummer1" / "session1"
    d.mkdir(parents=True)
    # a human rock beat: hits up to 25 ticks around the 16th grid (tpq 480)
    jitter = [-25, 30, -22, 24, 0, -28, 21, 26]
    beat = [(36 if i % 8 == 0 else 42, 70 + i % 30, i * 120 + jitter[i % 8], 30) for i in range(1, 64)]
    write_midi(make_piece([(0, True, beat)], qpm=120), d / "1_rock_100_beat_4-4.mid")
    write_midi(make_piece([(0, True, [(38, 90, i * 160, 30) for i in range(18)])], qpm=120),
               d / "2_funk-purdieshuffle_95_fill_3-4.mid")
    write_midi(make_piece([(0, True, [(38, 90, 0, 30)])]), d / "drums.mid")  # no style in the name
    return tmp_path


def test_groove_loader_drum_only_style_tempo_meter(tmp_path: Path):
    root = _groove_root(tmp_path)
    skipped: list = []
    items = list(corpora.load_groove(root, skipped=skipped))
    assert [i.piece_id for i in items] == ["groove/drummer1/session1/1_rock_100_beat_4-4",
                                           "groove/drummer1/session1/2_funk-purdieshuffle_95_fill_3-4"]
    rock, funk = items
    assert rock.attributes.genre == "rock" and rock.attributes.instruments == ("drums",)
    assert rock.attributes.bpm == pytest.approx(100) and rock.attributes.time_signature == (4, 4)
    assert rock.meta == {"style": "rock", "substyle": None, "kind": "beat"}
    assert rock.group == "groove/drummer1/session1"
    assert funk.attributes.genre is None  # funk is not in the shared genre vocabulary: unknown stays unknown
    assert funk.attributes.time_signature == (3, 4) and funk.meta["substyle"] == "purdieshuffle"
    assert [Path(w).name for _, w, _ in skipped] == ["drums.mid"]
    # human timing is snapped to the grid the performance fits: 16ths for the rock beat, triplets for the shuffle
    assert all(n.start % 120 == 0 for n in rock.piece.tracks[0].notes)
    assert [n.start for n in funk.piece.tracks[0].notes] == [i * 160 for i in range(18)]
    raw = next(corpora.load_groove(root, quantize=False))
    assert piece_off_grid(raw.piece, 4) > 0.7 and piece_off_grid(rock.piece, 4) == 0.0
    assert len(raw.piece.tracks[0].notes) == len(rock.piece.tracks[0].notes)


# ------------------------------------------------------------------ POP909 on annotated beats
OFFSET, BEAT = 0.3, 0.5  # annotated beats at 0.3 + 0.5 k seconds; downbeats at k = 1, 5, 9, ...
N_BEATS = 36


def _pop909_folder(tmp_path: Path) -> Path:
    """A POP909-like folder (song 001 with its .mid, beat_midi.txt, chord_midi.txt, key_audio.txt and an
    index.csv) whose beat grid is offset from tick 0 by 0.6 beat (0.3 s at 120 bpm, tpq 480)."""
    root = tmp_path / "pop909"
    song = root / "001"
    song.mkdir(parents=True)
    tick = lambda sec: round(sec / BEAT * 480)  # noqa: E731 - the file runs at 120 bpm: 0.5 s per quarter
    beats = [OFFSET + BEAT * k for k in range(N_BEATS)]
    melody = [(72 + k % 5, 90, tick(b), 200) for k, b in enumerate(beats[:-1])]
    melody += [(79, 80, tick(b + BEAT / 2), 100) for b in beats[:-1:3]]  # some 8th notes between beats
    piano = [(p, 70, tick(beats[k]), 1800) for k in range(1, N_BEATS - 4, 4) for p in ((48, 52, 55) if k % 8 == 1
                                                                                      else (43, 47, 50))]
    write_midi(make_piece([(0, False, melody), (0, False, piano)], qpm=120, time_signature=(2, 4)),
               song / "001.mid")
    (song / "beat_midi.txt").write_text("".join(
        f"{t}\t{1.0 if k % 4 == 1 else 0.0}\t{1.0 if k % 8 == 1 else 0.0}\n" for k, t in enumerate(beats)))
    (song / "chord_midi.txt").write_text("".join(
        f"{beats[k]}\t{beats[k + 4]}\t{'C:maj' if k % 8 == 1 else 'G:maj'}\n" for k in range(1, N_BEATS - 4, 4)))
    (song / "key_audio.txt").write_text(f"0.0\t{beats[-1]}\tC:maj\n")
    (root / "index.csv").write_text("song_id,name,artist,modify_times,num_beats_per_measure,num_quavers_per_beat\n"
                                    "001,x,y,0,4,2\n")
    return root


def test_pop909_bar_lines_on_annotated_downbeats(tmp_path: Path):
    root = _pop909_folder(tmp_path)
    (it,) = corpora.load_pop909(root)  # the folder of song folders itself
    p = it.piece
    assert it.attributes.time_signature == (4, 4) and it.attributes.key == "C major"
    assert it.attributes.bpm == pytest.approx(120, abs=0.5)
    # every note played on an annotated beat is on a whole beat; the 8th notes on the 8th grid
    mel = p.tracks[0].notes
    assert all(n.start % 480 == 0 for n in mel if n.pitch != 79)
    assert all(n.start % 240 == 0 for n in mel) and off_grid_share([n.start for n in mel], p.tpq) == 0.0
    # annotated beat k sits at beat k - 1 + 4 (a pickup bar holds beat 0): downbeats on bar lines
    lines = set(p.bar_starts())
    assert [n.start for n in mel if n.pitch != 79][:6] == [3 * 480 + k * 480 for k in range(6)]
    assert all(n.start in lines for n in p.tracks[1].notes)  # the piano plays on the annotated downbeats
    assert bar_line_check(it, root) <= TOL
    assert [c[1] for c in it.meta["chords"]][:2] == ["C:maj", "G:maj"]


def test_a_loader_off_its_grid_is_caught(tmp_path: Path):
    """The same song read as a plain MIDI file (bars from tick 0, the 0.6-beat offset kept) fails both
    checks the stats run: bar lines far from the annotated downbeats and most onsets off the 8th grid."""
    root = _pop909_folder(tmp_path)
    song = root / "001"
    (good,) = corpora.load_pop909(root)
    (naive,) = corpora.load_folder(song, source="pop909")
    grid, _ = parse_beat_file((song / "beat_midi.txt").read_text(), 4, 2)
    original = read_midi(song / "001.mid")
    assert bar_line_error(original, good.piece, grid) <= TOL
    assert bar_line_error(original, naive.piece, grid) > 0.5
    rows = source_stats([good], data_dir=root, encode=False)
    assert rows["pop909"]["off_grid_8th"] == 0.0 and rows["pop909"]["bar_line_max_beats"] <= BAR_LINE_TOLERANCE
    bad = source_stats([naive], encode=False)["pop909"]
    assert bad["off_grid_8th"] > 0.9


def test_source_stats_columns(tmp_path: Path):
    wad = _wad(tmp_path / "t.wad", [("D_RUNNIN", midi_bytes(SONG))])
    root = _groove_root(tmp_path)
    items = [*corpora.load_freedoom(wads=[wad]), *corpora.load_groove(root)]
    rows = source_stats(items)
    fd, gr, total = rows["freedoom"], rows["groove"], rows["all"]
    assert fd["pieces"] == 1 and fd["bars"] == SONG.n_bars == 4
    assert fd["drum_presence"] == 1.0 and fd["bass_presence"] == 1.0 and gr["bass_presence"] == 0.0
    assert fd["off_grid_8th"] == 0.0 and fd["empty_bars_per_track"] == 0.0
    # the rock beat's 63 hits sit on 16ths; 12 of the shuffle's 18 triplet hits are off the 16th grid
    assert gr["off_grid_16th"] == pytest.approx(12 / 81, abs=1e-3) and gr["empty_bars_by_family"] == {"drums": gr["empty_bars_per_track"]}
    assert fd["tokens"] > 0 and gr["tokens"] > 0 and total["tokens"] == fd["tokens"] + gr["tokens"]
    assert fd["token_share"] + gr["token_share"] == pytest.approx(1.0, abs=1e-3)
    assert fd["bar_line_max_beats"] is None


def test_gm_lead_in_is_moved_onto_the_grid(tmp_path: Path):
    """A sequencer lead-in (every note 20 ticks late at 192 tpq) is caught by the off-grid share and moved
    onto the grid by the GM loader; a triplet shuffle (on its own grid) is left alone."""
    late = make_piece([(0, False, [(60 + i % 7, 80, 20 + i * 96, 90) for i in range(32)]),
                       (0, True, [(36, 100, 20 + i * 192, 30) for i in range(16)])], tpq=192)
    shuffle = make_piece([(0, False, [(60 + i % 5, 80, i * 128, 60) for i in range(24)])], tpq=192)
    write_midi(late, tmp_path / "a_late.mid")
    write_midi(shuffle, tmp_path / "b_shuffle.mid")
    assert piece_off_grid(late) == 1.0
    a, b = corpora.load_gm_songs(tmp_path)
    assert [n.start for n in a.piece.tracks[0].notes] == [i * 96 for i in range(32)]
    assert [n.start for n in a.piece.tracks[1].notes] == [i * 192 for i in range(16)]
    assert piece_off_grid(a.piece) == 0.0
    assert [n.start for n in b.piece.tracks[0].notes] == [i * 128 for i in range(24)]


# ------------------------------------------------------------------ preview
def test_preview_round_trip(tmp_path: Path):
    root = _pop909_folder(tmp_path)
    out = tmp_path / "preview"
    assert main(["dataset", "preview", "--source", "pop909", "--data", str(root), "-o", str(out)]) == 0
    (it,) = corpora.load_pop909(root)
    back = read_midi(out / "pop909__001.mid")
    assert [[(n.pitch, n.start, n.duration, n.velocity) for n in t.notes] for t in back.tracks] == \
        [[(n.pitch, n.start, n.duration, n.velocity) for n in t.notes] for t in it.piece.tracks]
    assert [t.name for t in back.tracks] == [t.name for t in it.piece.tracks]
    assert back.tpq == it.piece.tpq and back.time_signatures == it.piece.time_signatures
    assert [round(t.qpm, 2) for t in back.tempos] == [round(t.qpm, 2) for t in it.piece.tempos]
    # the file ends at its last note; its bars are the loader's bars up to there
    assert back.bar_starts() == it.piece.bar_starts()[: len(back.bar_starts())]
    listing = json.loads((out / "pop909__001.json").read_text())
    assert listing["n_bars"] == it.piece.n_bars == len(listing["bars"])
    assert [b["start_tick"] for b in listing["bars"]] == it.piece.bar_starts()[:-1]
    assert listing["bars"][1]["beats"] == [1920, 2400, 2880, 3360] and listing["bars"][1]["time_signature"] == "4/4"
    assert [b["chord"] for b in listing["bars"][1:5]] == ["C_maj", "G_maj", "C_maj", "G_maj"]
    assert listing["bar_line_error_beats"] <= TOL and listing["off_grid_8th"] == 0.0
    assert listing["tempo_map"][0] == {"tick": 0, "qpm": it.piece.tempos[0].qpm, "seconds": 0.0}
    tsv = (out / "pop909__001.bars.tsv").read_text().splitlines()
    assert tsv[0].split("\t")[:9] == ["bar", "start_tick", "end_tick", "seconds", "time_signature", "beats", "qpm",
                                      "key", "chord"]
    assert tsv[2].split("\t")[8] == "C" and len(tsv) == it.piece.n_bars + 1
    assert (out / "index.tsv").read_text().splitlines()[1].startswith("pop909/001\tpop909__001.mid\t")
    # never overwrites without --overwrite
    before = (out / "pop909__001.mid").read_bytes()
    with pytest.raises(CodeplayError, match="--overwrite"):
        write_preview([it], out)
    assert main(["dataset", "preview", "--source", "pop909", "--data", str(root), "-o", str(out)]) == 2
    assert main(["dataset", "preview", "--source", "pop909", "--data", str(root), "-o", str(out), "--overwrite"]) == 0
    assert (out / "pop909__001.mid").read_bytes() == before


def test_stats_cli_sources_and_manifest_modes(tmp_path: Path, capsys):
    root = _groove_root(tmp_path)
    assert main(["dataset", "stats", "--sources", "groove", "--data", str(root), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["sources"]["groove"]["pieces"] == 2 and out["sources"]["groove"]["drum_presence"] == 1.0
    assert main(["dataset", "stats", "--sources", "groove", "--data", str(root), "--limit", "1"]) == 0
    text = capsys.readouterr().out
    assert "off8" in text and "groove" in text and "measured 1 pieces" in text
    assert main(["dataset", "stats"]) == 2


# ------------------------------------------------------------------ chords
def test_chord_parsing():
    assert parse_chords("Am F C G") == ("A_min", "F_maj", "C_maj", "G_maj")
    assert parse_chords("Am | F, C", n_bars=5) == ("A_min", "F_maj", "C_maj", "A_min", "F_maj")
    assert parse_chord("Bbmaj7") == "Bb_maj7" and parse_chord("F#m7b5") == "F#_dim"
    assert parse_chord("C/E") == "C_maj" and parse_chord("Gsus4") == "G_sus" and parse_chord("E7") == "E_7"
    assert parse_chord("NC") == "N" and parse_chord("?") == "unknown"
    with pytest.raises(CodeplayError, match="chord"):
        parse_chord("H7")
    assert harte_to_label("A:min7/b3") == "A_min7" and harte_to_label("Db:hdim7") == "C#_dim"
    assert harte_to_label("Gb:maj") == "F#_maj" and harte_to_label("N") == "N"
    assert transpose_label("A_min", 3) == "C_min" and transpose_label("N", 3) == "N"
    assert chord_pitch_classes("G_7") == {7, 11, 2, 5} and display("Bb_maj7") == "Bbmaj7"


def test_chord_estimation():
    triad = [Note(60, 80, 0, 960), Note(64, 80, 0, 960), Note(67, 80, 0, 960)]
    assert estimate_chord(triad, 0, 960) == "C_maj"
    assert estimate_chord([Note(57, 80, 0, 960), *triad[:2]], 0, 960) == "A_min"
    assert estimate_chord(triad, 960, 1920) == "N"
    piece = make_piece([(0, False, [(p, 80, 0, 1920) for p in (60, 64, 67)] +
                        [(p, 80, 1920, 1920) for p in (55, 59, 62, 65)]), (0, True, [(36, 90, 3840, 10)])])
    assert bar_chords(piece) == ("C_maj", "G_7", "N")


# ------------------------------------------------------------------ token-space transposition
@pytest.fixture(scope="module")
def tok():
    from codeplay_nb.tokenizers.nnn import NNNTokenizer

    return NNNTokenizer()


def _mixed_piece(low: int = 48, high: int = 84):
    return make_piece([
        (0, False, [(low + (i * 5) % (high - low), 80, i * 240, 220) for i in range(16)]
         + [(high, 70, i * 960, 900) for i in range(4)]),
        (0, True, [(36 if i % 2 == 0 else 42, 100, i * 480, 60) for i in range(8)]),
    ])


def test_token_transposition_equals_encoding_the_transposed_piece(tok):
    from codeplay_nb.attributes import transpose_key
    from codeplay_nb.tokenizers.augment import TokenTransposer, pitched_mask

    piece = _mixed_piece()
    chords = ("C_maj", "A_min")
    ids = np.asarray(tok.encode(piece, Attributes(key="C major", chords=chords)))
    mask = pitched_mask(tok, ids.tolist())
    tr = TokenTransposer(tok)
    drum_pitches = {f"PITCH_{p}" for p in (36, 42)}
    assert not any(mask[i] for i, t in enumerate(tok.tokens(ids.tolist())) if t in drum_pitches)
    for s in (-5, -1, 2, 6):
        want = tok.encode(transpose(piece, s), Attributes(key=transpose_key("C major", s),
                                                          chords=tuple(transpose_label(c, s) for c in chords)))
        assert tr.apply(ids, mask, s).tolist() == want
    # the drums are untouched
    moved = tok.decode(tr.apply(ids, mask, 4).tolist())
    drums = [t for t in moved.tracks if t.is_drum]
    assert [n.pitch for n in drums[0].notes] == [n.pitch for n in piece.tracks[1].notes]


def test_transposer_allowed_range_excludes_out_of_range_shifts(tok):
    from codeplay_nb.tokenizers.augment import TokenTransposer, pitched_mask

    tr = TokenTransposer(tok)
    ids = np.asarray(tok.encode(_mixed_piece(low=60, high=125)))
    assert tr.allowed(ids, pitched_mask(tok, ids.tolist())) == (-5, 2)  # 125 + 2 = 127
    ids = np.asarray(tok.encode(_mixed_piece(low=23, high=70)))
    lo, hi = tr.allowed(ids, pitched_mask(tok, ids.tolist()))
    assert lo >= -5 and hi == 6 and all(23 + s >= 0 for s in range(lo, hi + 1))
    drums_only = np.asarray(tok.encode(make_piece([(0, True, [(127, 90, 0, 10)])])))
    assert tr.allowed(drums_only, pitched_mask(tok, drums_only.tolist())) == (-5, 6)


def test_export_lumps_names_songs_by_their_split_group(tmp_path: Path):
    import hashlib

    from codeplay_nb.corpora.freedoom import export_lumps

    data = midi_bytes(SONG)
    wad = _wad(tmp_path / "a.wad", [("D_RUNNIN", data)])
    again = _wad(tmp_path / "b.wad", [("D_OTHER", data)])
    files = export_lumps(tmp_path / "out", wads=[wad, again])
    digest = hashlib.sha1(data).hexdigest()[:12]
    assert [f.name for f in files] == [f"{digest}.mid"] and files[0].read_bytes() == data
    (item,) = corpora.load_freedoom(wads=[wad])
    assert item.group == f"freedoom/{digest}"  # what codeplay eval's split key reads from the file name
