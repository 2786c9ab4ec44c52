"""Corpus loaders (folder, POP909, Nottingham, VGMIDI, GM, Lakh, music21) and mma accompaniment."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from codeplay_nb import corpora
from codeplay_nb.corpora import m21
from codeplay_nb.corpora.accompaniment import (
    GROOVES,
    accompanied_corpus,
    chart_lines,
    estimate_chord,
    harte_to_mma,
    meter_beats,
    mma_available,
    pick_groove,
    render_accompaniment,
)
from codeplay_nb.errors import CodeplayError
from codeplay_nb.io import write_midi
from codeplay_nb.music import Note, make_piece

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
FIXTURES = Path(__file__).parent / "data"
needs_data = pytest.mark.skipif(not (SHARED / "pop909").is_dir(), reason="../shared/data not present")
needs_mma = pytest.mark.skipif(not mma_available(), reason="Debian mma not installed")

C_MAJOR_SCALE = [(p, 80, i * 480, 480) for i, p in enumerate([60, 62, 64, 65, 67, 69, 71, 72, 67, 64, 60, 55])]
A_MINOR_TUNE = [(p, 80, i * 480, 480) for i, p in enumerate([57, 60, 64, 69, 68, 64, 71, 69, 64, 60, 57, 52])]


def _write(path: Path, tracks, **kw) -> Path:
    write_midi(make_piece(tracks, **kw), path)
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    d = tmp_path / "midi"
    (d / "sub").mkdir(parents=True)
    _write(d / "a.mid", [(0, False, C_MAJOR_SCALE), (0, True, [(36, 90, 0, 10), (42, 90, 480, 10)])], qpm=100)
    _write(d / "sub" / "b.MIDI", [(40, False, A_MINOR_TUNE)], qpm=140, time_signature=(3, 4))
    _write(d / "empty.mid", [(0, False, [])])
    _write(d / "drums.mid", [(0, True, [(36, 90, 0, 10)])])
    (d / "broken.mid").write_bytes((FIXTURES / "broken_truncated.mid").read_bytes()
                                   if (FIXTURES / "broken_truncated.mid").exists() else b"MThd\x00\x00\x00\x06\x00")
    (d / "notmidi.mid").write_bytes(b"hello, this is text")
    type2 = bytearray((d / "a.mid").read_bytes())
    type2[8:10] = (2).to_bytes(2, "big")
    (d / "type2.mid").write_bytes(bytes(type2))
    (d / "readme.txt").write_text("not a midi file")
    return d


def test_folder_loader_attributes_and_skips(folder: Path, caplog):
    skipped: list = []
    with caplog.at_level(logging.INFO, logger="codeplay_nb.corpora"):
        items = list(corpora.load_folder(folder, genre="rock", skipped=skipped))
    assert [i.piece_id for i in items] == ["folder/a", "folder/sub/b"]
    a, b = items
    assert a.attributes.genre == "rock" and a.attributes.emotion is None
    assert a.attributes.bpm == pytest.approx(100, abs=0.01)
    assert a.attributes.time_signature == (4, 4)
    assert a.attributes.key == "C major"
    assert a.attributes.instruments == ("piano", "drums")
    assert b.attributes.key == "A minor" and b.attributes.time_signature == (3, 4)
    assert b.attributes.instruments == ("strings",)
    reasons = {Path(w).name: r for _, w, r in skipped}
    assert set(reasons) == {"empty.mid", "drums.mid", "broken.mid", "notmidi.mid", "type2.mid"}
    assert reasons["empty.mid"] == "no notes"
    assert reasons["drums.mid"] == "drums only"
    assert "type-2" in reasons["type2.mid"]
    assert "no MThd header" in reasons["notmidi.mid"]
    assert "corrupted" in reasons["broken.mid"] or "not a MIDI" in reasons["broken.mid"]
    assert sum("skip" in r.message for r in caplog.records) == 5


def test_folder_loader_limit_and_unknown_genre(folder: Path):
    items = list(corpora.load_folder(folder, limit=1))
    assert len(items) == 1 and items[0].attributes.genre is None
    with pytest.raises(CodeplayError, match="not found"):
        list(corpora.load_folder(folder / "nope"))


def test_key_estimate_transposes_with_the_music():
    from codeplay_nb.music import transpose

    piece = make_piece([(0, False, C_MAJOR_SCALE)])
    assert corpora.describe_piece(piece).key == "C major"
    assert corpora.describe_piece(transpose(piece, 3)).key == "Eb major"
    assert corpora.describe_piece(make_piece([(0, True, [(36, 90, 0, 10)])])).key is None
    assert corpora.describe_piece(piece, key="D minor").key == "D minor"


def test_resolve_data_dir(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("CODEPLAY_DATA", str(tmp_path))
    assert corpora.resolve_data_dir() == tmp_path
    with pytest.raises(CodeplayError, match="CODEPLAY_DATA"):
        corpora.resolve_data_dir(tmp_path / "missing")


def _fake_data(root: Path) -> Path:
    """A miniature ../shared/data: two POP909 songs, two Nottingham tunes, three VGMIDI pieces."""
    for sid, qpm in (("001", 90), ("002", 120)):
        d = root / "pop909" / sid
        d.mkdir(parents=True)
        # a one-beat pickup, then bars of C - G (chords change on beats 1, 5, 9 ... after the pickup)
        mel = [(72, 80, i * 480, 480) for i in range(33)]
        piano = [(48, 70, 480 + i * 1920, 1900) for i in range(8)]
        _write(d / f"{sid}.mid", [(0, False, mel), (0, False, piano)], qpm=qpm, time_signature=(1, 4))
        beat = 60 / qpm
        (d / "key_audio.txt").write_text(f"0.5\t{17 * beat}\tA:min\n{17 * beat}\t{33 * beat}\tC:maj\n")
        (d / "chord_midi.txt").write_text("".join(
            f"{(1 + 4 * i) * beat}\t{(5 + 4 * i) * beat}\t{'C:maj' if i % 2 == 0 else 'G:7'}\n" for i in range(8)))
    nd = root / "nottingham"
    nd.mkdir()
    _write(nd / "jigs1.mid", [(0, False, [(76, 80, i * 480, 480) for i in range(24)]),
                              (0, False, [(p, 60, b * 1440, 1440) for b in range(8) for p in (57, 61, 64)])],
           time_signature=(6, 8))
    _write(nd / "reelsa-c12.mid", [(0, False, C_MAJOR_SCALE), (0, False, [(48, 60, 0, 1920)])])
    (nd / "LICENSE.md").write_text("licence")
    vd = root / "vgmidi" / "labelled"
    vd.mkdir(parents=True)
    for stem in ("Game_A_Happy", "Game_B_Mixed", "Game_C_Unlabelled"):
        _write(vd / f"{stem}.mid", [(0, False, C_MAJOR_SCALE)])
    (root / "vgmidi" / "vgmidi_labelled.csv").write_text(
        "id,series,console,game,piece,midi,valence,arousal\n"
        "1,s,c,g,A,labelled/phrases/Game_A_Happy_0.mid,1,1\n"
        "2,s,c,g,A,labelled/phrases/Game_A_Happy_1.mid,1,1\n"
        "3,s,c,g,B,labelled/phrases/Game_B_Mixed_0.mid,1,1\n"
        "4,s,c,g,B,labelled/phrases/Game_B_Mixed_1.mid,-1,-1\n"
        "5,s,c,g,D,labelled/phrases/Game_D_Sad_0.mid,-1,-1\n")
    return root


def test_pop909_loader_key_timesig_and_downbeat(tmp_path: Path):
    data = _fake_data(tmp_path)
    items = list(corpora.load_pop909(data))
    assert [i.piece_id for i in items] == ["pop909/001", "pop909/002"]
    it = items[0]
    assert it.attributes.genre == "pop" and it.attributes.key == "A minor"
    assert it.attributes.time_signature == (4, 4)  # the file's 1/4 is a placeholder
    assert it.key_from_piece and [k.key for k in it.piece.key_signatures] == ["A minor", "C major"]
    # the chords start one beat in: the piece is delayed three beats so they fall on bar lines
    piano = it.piece.tracks[1]
    assert all(n.start % 1920 == 0 for n in piano.notes)
    assert it.piece.key_signatures[1].time == pytest.approx(17 * 480 + 3 * 480, abs=2)


def test_nottingham_and_vgmidi_loaders(tmp_path: Path):
    data = _fake_data(tmp_path)
    notts = list(corpora.load_nottingham(data))
    assert [i.piece_id for i in notts] == ["nottingham/jigs1", "nottingham/reelsa-c12"]
    assert notts[0].meta["family"] == "jigs" and notts[1].meta["family"] == "reels"
    assert notts[0].attributes.genre == "folk" and notts[0].attributes.time_signature == (6, 8)
    skipped: list = []
    vg = list(corpora.load_vgmidi(data, skipped=skipped))
    assert [(i.piece_id, i.attributes.emotion, i.attributes.genre) for i in vg] == [
        ("vgmidi/Game_A_Happy", "happy", "game")]
    reasons = {Path(w).stem: r for _, w, r in skipped}
    assert "different valence/arousal" in reasons["Game_B_Mixed"]
    assert "no row" in reasons["Game_C_Unlabelled"]


def test_lakh_layout_with_tagtraum(tmp_path: Path):
    root = tmp_path / "lmd_matched"
    for tid, md5 in (("TRAAAAA128F1", "aa11"), ("TRBBBBB128F2", "bb22"), ("TRCCCCC128F3", "aa11")):
        d = root / tid[2] / tid[3] / tid[4] / tid
        d.mkdir(parents=True)
        _write(d / f"{md5}.mid", [(33, False, C_MAJOR_SCALE)])
    cls = tmp_path / "msd_tagtraum_cd2.cls"
    cls.write_text("# comment\nTRAAAAA128F1\tRock\nTRBBBBB128F2\tReggae\tRap\n")
    items = list(corpora.load_lakh(root, tagtraum=cls))
    assert [(i.piece_id, i.attributes.genre) for i in items] == [("lakh/aa11", "rock"), ("lakh/bb22", "hiphop")]
    assert items[0].attributes.instruments == ("bass",)


def test_gm_songs_from_a_folder(tmp_path: Path):
    _write(tmp_path / "song.mid", [(0, False, C_MAJOR_SCALE), (33, False, [(36, 90, 0, 960)]),
                                   (0, True, [(36, 100, 0, 10)])])
    (it,) = corpora.load_gm_songs(tmp_path)
    assert it.attributes.genre == "game" and it.attributes.instruments == ("piano", "bass", "drums")


@needs_data
def test_real_corpora_yield_expected_attributes():
    pop = next(corpora.load_pop909(SHARED, limit=1))
    assert pop.piece_id == "pop909/001" and pop.attributes.key == "F# major"  # key_audio.txt: Gb:maj
    assert pop.attributes.bpm == pytest.approx(90, abs=0.01) and pop.attributes.time_signature == (4, 4)
    notts = next(corpora.load_nottingham(SHARED, limit=1))
    assert notts.attributes.genre == "folk" and notts.attributes.key == "G major"
    skipped: list = []
    vg = list(corpora.load_vgmidi(SHARED, skipped=skipped))
    assert len(vg) >= 190 and {i.attributes.emotion for i in vg} == {"happy", "sad", "calm", "tense"}
    assert sum("different valence" in r for _, _, r in skipped) == 3


@pytest.mark.skipif(not corpora.debian_midi_files(), reason="openttd-openmsx / planetblupi-music-midi absent")
def test_debian_gm_songs_have_drums():
    items = list(corpora.load_gm_songs(limit=5))
    assert len(items) == 5 and all(i.attributes.genre == "game" for i in items)
    assert sum("drums" in i.attributes.instruments for i in items) >= 3


def test_music21_conversion_cached_and_failures_recorded(tmp_path: Path, monkeypatch):
    pytest.importorskip("music21")
    items = list(corpora.load_music21(("bach",), limit=2, cache_dir=tmp_path))
    assert len(items) == 2 and all(i.attributes.genre == "classical" for i in items)
    assert items[0].piece_id.startswith("music21/bach/") and items[0].attributes.key is not None
    cached = sorted(tmp_path.rglob("bach/**/*.mid"))
    assert len(cached) >= 2
    # a recorded failure is skipped with its reason, and the cache is used (no re-conversion)
    work = cached[0].parent
    (work / "0000.mid").unlink()
    (work / "0000.fail").write_text("music21 write('midi') failed: badly formed repeats")
    monkeypatch.setattr(m21, "_convert_music21", lambda *a: pytest.fail("cache not used"))
    skipped: list = []
    again = list(corpora.load_music21(("bach",), limit=1, cache_dir=tmp_path, skipped=skipped))
    assert [i.piece_id for i in again] == [items[1].piece_id]
    assert skipped[0][2].startswith("music21 write('midi') failed")


# ------------------------------------------------------------------ mma accompaniment
def test_chord_helpers():
    assert harte_to_mma("C:maj") == "C"
    assert harte_to_mma("Gb:maj") == "F#"
    assert harte_to_mma("A:min7/b7") == "Am7/G"
    assert harte_to_mma("Db:hdim7") == "C#m7b5"
    assert harte_to_mma("N") is None
    assert chart_lines([[(0.0, "C"), (0.5, "G")], [], [(0.25, None)]], 4) == ["C / G /", "G / / /", "G z / /"]
    notes = [Note(57, 80, 0, 960), Note(60, 80, 0, 960), Note(64, 80, 0, 960)]
    assert estimate_chord(notes, 0, 960) == "Am"
    assert estimate_chord(notes, 960, 1920) is None
    assert meter_beats((6, 8)) == 6 and meter_beats((2, 4)) == 4 and meter_beats((7, 8)) is None
    g = pick_groove("pop909/001", 3, seed=1)
    assert GROOVES[g][1] == 3 and g == pick_groove("pop909/001", 3, seed=1)


@needs_mma
def test_render_accompaniment_gives_drums_bass_and_comping():
    piece = render_accompaniment(["C", "Am", "F", "G7"], "50srock", 110, (4, 4), tpq=480)
    assert piece.n_bars == 4 and piece.tempos[0].qpm == pytest.approx(110)
    drums = [t for t in piece.tracks if t.is_drum]
    bass = [t for t in piece.tracks if 32 <= t.program <= 39 and not t.is_drum]
    assert drums and bass and len(piece.tracks) >= 3
    assert all(n.start < 4 * 1920 for t in piece.tracks for n in t.notes)
    # the comping plays the chords bar by bar: C, Am, F, G7
    comp = next(t for t in piece.tracks if t.name.startswith("Chord") and t.notes)
    per_bar = [{n.pitch % 12 for n in comp.notes if b * 1920 <= n.start < (b + 1) * 1920} for b in range(4)]
    assert per_bar == [{0, 4, 7}, {9, 0, 4}, {5, 9, 0}, {7, 11, 2, 5}]
    # mma's random variations follow the seed
    again = render_accompaniment(["C", "Am", "F", "G7"], "50srock", 110, (4, 4), tpq=480)
    assert again.tracks == piece.tracks


@needs_mma
def test_render_six_eight_groove_onto_six_eight_bars():
    piece = render_accompaniment(["D", "A7"], "68swing", 100, (6, 8), tpq=480)
    assert (piece.time_signatures[0].numerator, piece.time_signatures[0].denominator) == (6, 8)
    assert piece.length == 2 * 1440 and any(t.is_drum for t in piece.tracks)


@needs_mma
def test_render_rejects_mma_commands_in_chords():
    with pytest.raises(CodeplayError, match="bad chord"):
        render_accompaniment(["C", "Include /etc/passwd"], "swing", 100)


@needs_mma
@pytest.mark.parametrize("groove", sorted(GROOVES))
def test_every_groove_in_the_table_renders(groove):
    beats = GROOVES[groove][1]
    ts = {4: (4, 4), 3: (3, 4), 6: (6, 8)}[beats]
    piece = render_accompaniment(["C", "G7"], groove, 100, ts)
    assert len(piece.tracks) >= 2 and any(not t.is_drum for t in piece.tracks)
    assert any(t.is_drum for t in piece.tracks) or groove == "boggiewoggie"  # solo boogie-woogie piano


@needs_mma
def test_accompanied_corpus_on_fake_data(tmp_path: Path):
    data = _fake_data(tmp_path)
    items = list(accompanied_corpus(data, grooves=["swing", "bossanova", "68swing"]))
    ids = [i.piece_id for i in items]
    assert ids[0].startswith("mma/pop909/001/") and len(items) == 4
    it = items[0]
    assert it.group == "pop909/001" and it.attributes.genre == GROOVES[it.meta["groove"]][0]
    assert it.attributes.key == "A minor" and it.piece.tracks[0].notes[0].pitch == 72  # the source melody
    assert "drums" in it.attributes.instruments and "bass" in it.attributes.instruments
    jig = next(i for i in items if "jigs1" in i.piece_id)
    assert jig.meta["groove"] == "68swing" and jig.attributes.time_signature == (6, 8)


@needs_mma
@needs_data
def test_accompanied_real_pop909_song():
    it = next(accompanied_corpus(SHARED, sources=("pop909",), limit=1))
    assert it.attributes.genre == GROOVES[it.meta["groove"]][0]
    assert it.piece.tracks[0].name == "MELODY" and it.attributes.key == "F# major"
    assert {"drums", "bass"} <= set(it.attributes.instruments)
    assert it.piece.n_bars >= 70


def test_mma_missing_is_a_clear_error(monkeypatch):
    import codeplay_nb.corpora.accompaniment as acc

    monkeypatch.setattr(acc, "MMA_BIN", "definitely-not-mma")
    with pytest.raises(CodeplayError, match="apt-get install mma"):
        acc.render_accompaniment(["C"], "swing", 100)
    skipped: list = []
    assert list(acc.accompanied_corpus(skipped=skipped)) == []
    assert "not installed" in skipped[0][2]


def test_no_data_folder_is_a_clear_error(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("CODEPLAY_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CodeplayError, match="--data"):
        list(corpora.load_pop909())


def test_music21_shared_time_signature_is_repaired(tmp_path: Path):
    """ABC imports (O'Neill's, Essen) can share one TimeSignature object between measures, which breaks
    music21's MIDI export; the loader gives each measure its own copy."""
    music21 = pytest.importorskip("music21")
    from music21 import meter, note, stream

    ts = meter.TimeSignature("2/4")
    part = stream.Part()
    for _ in range(2):
        m = stream.Measure()
        m.insert(0, ts)
        m.append([note.Note("C4"), note.Note("E4")])
        part.append(m)
    score = stream.Score([part])
    with pytest.raises(music21.exceptions21.StreamException):
        score.write("midi", fp=str(tmp_path / "raw.mid"))
    score = stream.Score([part])
    assert m21._write_midi(score, tmp_path / "fixed.mid") == ""
    piece = corpora.read_midi(tmp_path / "fixed.mid")
    assert [n.pitch for t in piece.tracks for n in t.notes] == [60, 64, 60, 64]


def test_iter_corpus_limits_and_unknown_source(tmp_path: Path):
    data = _fake_data(tmp_path)
    assert corpora.parse_limits("music21=20, nottingham=1") == {"music21": 20, "nottingham": 1}
    with pytest.raises(CodeplayError, match="music21=2000"):
        corpora.parse_limits("music21")
    items = list(corpora.iter_corpus(["pop909", "nottingham"], data, limit=2, limits={"nottingham": 1}))
    assert [i.source for i in items] == ["pop909", "pop909", "nottingham"]
    with pytest.raises(CodeplayError, match="unknown corpus source"):
        list(corpora.iter_corpus(["pop909", "lakhh"], data))


def test_exploration_stats_and_figures(tmp_path: Path):
    from codeplay_nb import exploration as ex

    data = _fake_data(tmp_path)
    rows, skipped = ex.collect_stats(["pop909", "nottingham", "vgmidi"], data)
    summ = {s["source"]: s for s in ex.summarize(rows)}
    assert summ["pop909"]["pieces"] == 2 and summ["nottingham"]["pieces"] == 2 and summ["vgmidi"]["pieces"] == 1
    assert summ["pop909"]["genres"] == {"pop": 2} and summ["pop909"]["pitch_range"] == (48, 72)
    assert {r["reason"] for r in ex.skipped_summary(skipped)} == {
        "phrases carry different valence/arousal labels", "no row in vgmidi_labelled.csv"}
    assert ex.available_sources(["pop909", "music21"], tmp_path / "nowhere") == ["music21"]
    pytest.importorskip("plotly")
    figs = ex.all_figures(rows)
    assert set(figs) == {"sizes", "tempo", "keys", "time_signatures", "instruments", "genres", "pitch_ranges"}
    keys = figs["keys"]
    pop = next(t for t in keys.data if t.name == "pop909")
    assert dict(zip(pop.x, pop.y, strict=True))["A minor"] == 2
