"""codeplay_nb.evaluation and ``codeplay eval`` with fake compose functions that return real pieces."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from codeplay_nb.attributes import EMOTIONS, GENRES, KEYS, TEMPO_BIN_DEFAULT_BPM, Attributes, pitch_class
from codeplay_nb.cli import main
from codeplay_nb.errors import CodeplayError
from codeplay_nb.evaluation import (
    CONTROLS,
    REPORT_KEYS,
    compare_metrics,
    control_accuracy,
    evaluate_model,
    find_midi_files,
    format_report,
    histogram_overlap,
    parse_attribute_set,
    random_attribute_sets,
    sample_real_windows,
    window_request,
    write_report,
)
from codeplay_nb.instruments import FAMILIES, FAMILY_NAMES
from codeplay_nb.io import read_midi, write_midi
from codeplay_nb.metrics import METRIC_KEYS, compute_metrics, crop_bars, estimate_key
from codeplay_nb.music import Note, Piece, Track, make_piece, transpose

Q = 480
BAR = 4 * Q
C_MAJOR_TUNE = [60, 64, 67, 72, 65, 62, 67, 60, 71, 60, 64, 67, 60, 62, 64, 60]  # 4 bars of quarters
A_MINOR_TUNE = [57, 60, 64, 57, 59, 60, 62, 64, 57, 52, 57, 60, 64, 62, 60, 57]


@dataclass
class FakeSong:
    piece: Piece
    attributes: Attributes


def honest_compose(prompt=None, *, bars=4, genre=None, emotion=None, tempo=None, instruments=None, key=None,
                   time_signature=None, seed=None, temperature=1.0, model=None):
    """Builds a real piece that does what was asked: tempo, key, one track per family, ``bars`` bars."""
    key = key or "C major"
    tonic, mode = key.split()
    tune = C_MAJOR_TUNE if mode == "major" else A_MINOR_TUNE
    shift = (pitch_class(tonic) - (0 if mode == "major" else 9)) % 12
    notes = [(p + shift, 80, i * Q, Q) for i, p in enumerate((tune * bars)[: 4 * bars])]
    tracks = []
    for fam in instruments or ["piano"]:
        if fam == "drums":
            tracks.append((0, True, [(36, 100, s, Q // 4) for _, _, s, _ in notes]))
        else:
            tracks.append((FAMILIES[fam][0], False, notes))
    piece = make_piece(tracks, qpm=tempo or 120.0, length=bars * BAR)
    return FakeSong(piece, Attributes(genre=genre, emotion=emotion, bpm=tempo, key=key))


def stubborn_compose(prompt=None, *, bars=4, seed=None, model=None, **_):
    """Ignores every request: C major piano at 100 BPM, always 5 bars."""
    notes = [(p, 80, i * Q, Q) for i, p in enumerate(C_MAJOR_TUNE + C_MAJOR_TUNE[:4])]
    return FakeSong(make_piece([(0, False, notes)], qpm=100.0, length=5 * BAR), Attributes())


@pytest.fixture
def real_dir(tmp_path):
    """A folder of fixture files: three real pieces (one nested, one .MIDI), a broken and a too-short file."""
    root = tmp_path / "real"
    (root / "nested").mkdir(parents=True)
    tune = [(p, 80, i * Q, Q) for i, p in enumerate(C_MAJOR_TUNE * 3)]  # 12 bars
    write_midi(make_piece([(0, False, tune)]), root / "a.mid")
    write_midi(transpose(make_piece([(0, False, tune), (33, False, [(36, 90, 0, BAR)])]), 2), root / "nested" / "b.MIDI")
    waltz = [(p, 80, i * Q, Q) for i, p in enumerate(A_MINOR_TUNE)]  # 16 beats of 3/4 = 5 bars and a beat
    write_midi(make_piece([(0, False, waltz)], time_signature=(3, 4)), root / "nested" / "c.mid")
    (root / "broken.mid").write_bytes(b"MThd\x00\x00\x00\x06\x00")
    write_midi(make_piece([(0, False, tune[:4])]), root / "short.mid")
    (root / "notes.txt").write_text("not music")
    return root


# ------------------------------------------------------------------ real windows
def test_find_midi_files_is_recursive_and_case_insensitive(real_dir):
    names = sorted(p.name for p in find_midi_files(real_dir))
    assert names == ["a.mid", "b.MIDI", "broken.mid", "c.mid", "short.mid"]
    with pytest.raises(CodeplayError, match="not a folder"):
        find_midi_files(real_dir / "a.mid")


def test_sample_real_windows_cuts_same_length_windows_and_skips_broken_files(real_dir, caplog):
    found, skipped = sample_real_windows(real_dir, 100, bars=4, seed=1, per_file=4)
    by_file = {}
    for w in found:
        by_file.setdefault(w["file"], []).append(w)
        assert w["piece"].length == w["piece"].bar_span(0, 3)[1]  # exactly 4 bars of the file's metre
    assert {f: len(ws) for f, ws in by_file.items()} == {"a.mid": 3, "nested/b.MIDI": 3, "nested/c.mid": 1}
    assert sorted(w["first_bar"] for w in by_file["a.mid"]) == [1, 5, 9]
    assert by_file["nested/c.mid"][0]["piece"].length == 4 * 3 * Q
    reasons = {r["file"].rsplit("/", 1)[-1]: r["reason"] for r in skipped}
    assert set(reasons) == {"broken.mid", "short.mid"}
    assert "corrupted" in reasons["broken.mid"] and "no 4-bar window" in reasons["short.mid"]
    assert "skipping" in caplog.text and "broken.mid" in caplog.text


def test_sample_real_windows_caps_per_file_and_total_and_is_seeded(real_dir):
    found, _ = sample_real_windows(real_dir, 100, bars=4, seed=3, per_file=1)
    assert len(found) == 3 and len({w["file"] for w in found}) == 3
    few, _ = sample_real_windows(real_dir, 2, bars=4, seed=3, per_file=4)
    assert len(few) == 2
    again, _ = sample_real_windows(real_dir, 2, bars=4, seed=3, per_file=4)
    assert [(w["file"], w["first_bar"]) for w in few] == [(w["file"], w["first_bar"]) for w in again]


def test_sample_real_windows_over_the_fixture_files():
    from pathlib import Path

    fixtures = Path(__file__).parent / "data"
    if not list(fixtures.glob("*.mid")):
        pytest.skip("tests/data has no MIDI fixtures")
    found, skipped = sample_real_windows(fixtures, 1000, bars=4, per_file=100)
    files = {w["file"] for w in found} | {Path(s["file"]).name for s in skipped}
    assert files == {p.name for p in find_midi_files(fixtures)}  # every file either gives windows or a reason
    reasons = {Path(s["file"]).name: s["reason"] for s in skipped}
    assert "broken_truncated.mid" in reasons and "empty.mid" in reasons
    for w in found:
        m = compute_metrics(w["piece"])
        assert m["n_bars"] == 4 and w["piece"].n_notes > 0
        assert 0.0 <= m["groove_consistency"] <= 1.0 and 0.0 <= m["empty_beat_rate"] <= 1.0


# ------------------------------------------------------------------ attribute sets
def test_parse_attribute_set():
    assert parse_attribute_set("genre=pop,emotion=sad,tempo=fast,key=am,instruments=piano+bass") == {
        "tempo": TEMPO_BIN_DEFAULT_BPM["fast"], "genre": "pop", "emotion": "sad", "key": "A minor",
        "instruments": ["piano", "bass"],
    }
    assert parse_attribute_set("instruments=rhodes,violin,drums, tempo=96 bpm, time_signature=3/4") == {
        "tempo": 96.0, "time_signature": (3, 4), "instruments": ["piano", "strings", "drums"],
    }
    for bad, match in (("colour=blue", "unknown attribute"), ("tempo=speedy", "tempo"), ("genre=polka", "genre"),
                       ("pop", "genre=pop"), ("time_signature=3-4", "3/4")):
        with pytest.raises(CodeplayError, match=match):
            parse_attribute_set(bad)


def test_random_attribute_sets_are_seeded_and_from_the_vocabulary():
    sets = random_attribute_sets(20, seed=5)
    assert sets == random_attribute_sets(20, seed=5) and sets != random_attribute_sets(20, seed=6)
    assert len(sets) == 20
    for s in sets:
        assert s["genre"] in GENRES and s["emotion"] in EMOTIONS and s["key"] in KEYS
        assert s["tempo"] in TEMPO_BIN_DEFAULT_BPM.values()
        assert 1 <= len(s["instruments"]) <= 3 and set(s["instruments"]) <= set(FAMILY_NAMES)


# ------------------------------------------------------------------ accuracy and comparison
def test_control_accuracy_counts_only_requested_controls():
    checks = [
        {"tempo_bin": True, "key": None, "instruments": False, "bar_count": True},
        {"tempo_bin": False, "key": True, "instruments": None, "bar_count": True},
    ]
    acc = control_accuracy(checks)
    assert acc["tempo_bin"] == {"correct": 1, "total": 2, "accuracy": 0.5}
    assert acc["key"] == {"correct": 1, "total": 1, "accuracy": 1.0}
    assert acc["instruments"] == {"correct": 0, "total": 1, "accuracy": 0.0}
    assert acc["bar_count"]["accuracy"] == 1.0 and list(acc) == list(CONTROLS)


def test_compare_metrics_within_one_real_std():
    real = [{"pitch_class_entropy": v, **dict.fromkeys(METRIC_KEYS[1:7], 1.0)} for v in (2.0, 4.0)]  # 3 ± 1
    inside = [{"pitch_class_entropy": 3.5, **dict.fromkeys(METRIC_KEYS[1:7], 1.0)}]
    outside = [{"pitch_class_entropy": 1.5, **dict.fromkeys(METRIC_KEYS[1:7], 1.0)}]
    row = compare_metrics(inside, real)["pitch_class_entropy"]
    assert row["real"] == {"mean": 3.0, "std": 1.0, "n": 2} and row["within_real_std"] is True
    assert compare_metrics(outside, real)["pitch_class_entropy"]["within_real_std"] is False
    assert compare_metrics(outside, real)["scale_consistency"]["within_real_std"] is True  # 1 vs 1 ± 0
    assert row["overlap"] == 0.0  # 3.5 shares no histogram bin with the real values 2.0 and 4.0
    assert compare_metrics([real[1]], real)["pitch_class_entropy"]["overlap"] == 0.5  # 4.0 vs {2.0, 4.0}
    assert compare_metrics(outside, real)["scale_consistency"]["overlap"] == 1.0


def test_histogram_overlap_exact_values():
    assert histogram_overlap([0, 1, 2, 3], [0, 1, 2, 3]) == 1.0
    assert histogram_overlap([0, 0], [1, 1]) == 0.0
    assert histogram_overlap([0, 1], [1, 1], bins=2) == 0.5
    assert histogram_overlap([], [1]) is None


# ------------------------------------------------------------------ end to end
SETS = ["genre=pop,tempo=fast,key=D minor,instruments=piano+bass", "tempo=100,key=C major,instruments=piano"]


def test_evaluate_model_with_a_compose_that_obeys(real_dir, tmp_path):
    report = evaluate_model(real_dir, n=3, attribute_sets=SETS, compose_fn=honest_compose, n_real=10, seed=2)
    assert tuple(report) == REPORT_KEYS
    assert report["config"]["n_generated"] == 6 and report["config"]["n_real_windows"] == 7
    assert [c["seed"] for c in report["clips"]] == [2, 3, 4, 5, 6, 7]
    for name in CONTROLS:
        assert report["control_accuracy"][name] == {"correct": 6, "total": 6, "accuracy": 1.0}
    assert report["clips"][0]["metrics"]["key"] == "D minor" and report["clips"][0]["metrics"]["n_bars"] == 4
    assert report["metrics"]["scale_consistency"]["generated"] == {"mean": 1.0, "std": 0.0, "n": 6}
    assert {s["file"].rsplit("/", 1)[-1] for s in report["skipped_files"]} == {"broken.mid", "short.mid"}
    text = format_report(report)
    assert "pitch_class_entropy" in text and "6/6 = 100.0%" in text and "39.7%" in text and "13.7%" in text

    paths = write_report(report, tmp_path / "out")
    data = json.loads(paths["json"].read_text())
    assert tuple(data) == REPORT_KEYS
    assert set(data["clips"][0]) == {"set", "request", "seed", "seconds", "metrics", "controls"}
    assert data["published"]["text2midi (MidiCaps)"] == {"tempo_bin": 0.397, "key": 0.336}
    page = paths["html"].read_text()
    assert page.startswith("<!DOCTYPE html>") and "plotly" in page.lower() and "groove_consistency" in page
    clip_files = sorted(paths["clips"].glob("*.mid"))
    assert len(clip_files) == 6 and estimate_key(read_midi(clip_files[0])) == "D minor"


def test_evaluate_model_with_a_compose_that_ignores_requests(real_dir):
    sets = [*SETS, "tempo=fast,key=C major,instruments=piano"]
    report = evaluate_model(real_dir, n=2, attribute_sets=sets, compose_fn=stubborn_compose, n_real=5)
    acc = report["control_accuracy"]
    assert acc["tempo_bin"] == {"correct": 2, "total": 6, "accuracy": 2 / 6}  # only "tempo=100" (moderate)
    assert acc["key"] == {"correct": 4, "total": 6, "accuracy": 4 / 6}  # C major requested twice
    assert acc["instruments"] == {"correct": 4, "total": 6, "accuracy": 4 / 6}  # piano alone, twice
    assert acc["bar_count"] == {"correct": 0, "total": 6, "accuracy": 0.0}  # 5 bars, 4 asked
    assert all(c["metrics"]["n_bars"] == 4 for c in report["clips"])  # metrics see the first 4 bars


def test_evaluate_model_draws_random_sets_without_attributes(real_dir):
    report = evaluate_model(real_dir, n=4, compose_fn=honest_compose, n_real=3, seed=9)
    assert report["config"]["attribute_sets"] == "random"
    assert report["attribute_sets"] == random_attribute_sets(4, seed=9)
    assert report["control_accuracy"]["key"]["accuracy"] == 1.0
    assert report["control_accuracy"]["instruments"]["total"] == 4
    empty = real_dir.parent / "empty"
    empty.mkdir()
    with pytest.raises(CodeplayError, match="no MIDI files"):
        evaluate_model(empty, n=1, compose_fn=honest_compose)


def _pop909_like_window() -> Piece:
    """A melody, an empty bridge and a piano accompaniment (three piano tracks), a bass and drums."""
    return Piece((Track(0, False, "MELODY", (Note(72, 90, 0, 480),)), Track(0, False, "BRIDGE", ()),
                  Track(0, False, "PIANO", (Note(60, 80, 0, 480),)), Track(33, False, "", (Note(36, 80, 0, 480),)),
                  Track(0, True, "", (Note(36, 90, 0, 120),))))


def test_paired_request_follows_the_pairing_of_the_run():
    from codeplay_nb.evaluation_suite import paired_request

    window = {"piece": _pop909_like_window(), "key": "C major", "chords": ["C_maj"]}
    assert paired_request(window)["instruments"] == ["piano", "piano", "bass", "drums"]
    families = paired_request(window, chords=True, pairing="families")
    assert families["instruments"] == ["piano", "bass", "drums"] and families["chords"] == ["C_maj"]


def test_paired_evaluation_asks_for_what_each_real_window_holds(real_dir):
    report = evaluate_model(real_dir, n=3, compose_fn=honest_compose, n_real=10, seed=2, paired=True)
    assert report["config"]["attribute_sets"] == "paired with real windows"
    windows = report["real_windows"][:3]
    assert len(report["clips"]) == 3
    for clip, window in zip(report["clips"], windows, strict=True):
        assert clip["request"] == window_request(window["piece"])
        assert clip["request"]["key"] == estimate_key(window["piece"])
        assert clip["request"]["tempo"] == 120.0
    b_piece = crop_bars(read_midi(real_dir / "nested" / "b.MIDI"), 0, 3)  # the bass plays in bar 1 only
    assert window_request(b_piece)["instruments"] == ["piano", "bass"]
    assert window_request(crop_bars(read_midi(real_dir / "nested" / "b.MIDI"), 4, 7))["instruments"] == ["piano"]
    # one instrument per real track that plays (POP909's melody, bridge and piano ask for three pianos) ...
    three = _pop909_like_window()
    assert window_request(three)["instruments"] == ["piano", "piano", "bass", "drums"]
    assert window_request(three, per_track=False)["instruments"] == ["piano", "bass", "drums"]
    # ... at most eight, every family first
    pianos = [Track(0, False, "", (Note(60 + i, 80, 0, 480),)) for i in range(9)]
    many = Piece((*pianos, Track(40, False, "", (Note(70, 80, 0, 480),))))
    assert window_request(many)["instruments"] == ["piano"] * 7 + ["strings"]
    with pytest.raises(CodeplayError, match="not both"):
        evaluate_model(real_dir, n=1, attribute_sets=SETS, compose_fn=honest_compose, paired=True)


# ------------------------------------------------------------------ CLI
def test_cli_eval_writes_the_report(real_dir, tmp_path, monkeypatch, capsys):
    import codeplay_nb.evaluation as ev
    import codeplay_nb.model as model_pkg

    monkeypatch.setattr(ev, "_default_compose", lambda: honest_compose)
    monkeypatch.setattr(model_pkg, "load_model", lambda path=None: None, raising=False)
    out = tmp_path / "report"
    code = main(["eval", "--real", str(real_dir), "--n", "2", "--attributes", SETS[0], "--out", str(out),
                 "--n-real", "5", "--quiet"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "control accuracy" in printed and "2/2 = 100.0%" in printed
    data = json.loads((out / "report.json").read_text())
    assert data["config"]["n_generated"] == 2 and (out / "report.html").exists()


def test_cli_eval_prompts_calls_the_text_classifier(tmp_path, monkeypatch, capsys):
    import codeplay_nb.text as text_pkg

    tsv = tmp_path / "prompts.tsv"
    tsv.write_text("prompt\tgenre\temotion\ttempo\tinstruments\nsad piano\t-\tsad\t-\tpiano\n")
    monkeypatch.setattr(text_pkg, "evaluate_prompts", lambda path: {"emotion": {"accuracy": 1.0}}, raising=False)
    assert main(["eval", "--prompts", str(tsv), "--out", str(tmp_path / "o")]) == 0
    assert json.loads(capsys.readouterr().out) == {"emotion": {"accuracy": 1.0}}
    assert main(["eval", "--prompts", str(tmp_path / "missing.tsv")]) == 2


def test_cli_eval_needs_real_or_prompts(capsys):
    assert main(["eval"]) == 2
    assert "--real" in capsys.readouterr().err


# ------------------------------------------------------------------ two-sample evaluation (codeplay_nb.evaluation_suite)
def _band_piece(shift: int, bars: int = 12) -> Piece:
    """Piano tune, a bass on every downbeat and a kick/snare groove, ``bars`` bars, annotated A minor + shift."""
    from codeplay_nb.attributes import transpose_key
    from codeplay_nb.music import KeySignature

    tune = [(p + shift, 80, i * Q, Q) for i, p in enumerate((A_MINOR_TUNE * bars)[: 4 * bars])]
    bass = [(45 + shift, 90, b * BAR, BAR) for b in range(bars)]
    drums = [(36 if i % 2 == 0 else 38, 100, i * Q, Q // 4) for i in range(4 * bars)]
    piece = make_piece([(0, False, tune), (33, False, bass), (0, True, drums)], length=bars * BAR)
    return piece.replace(key_signatures=(KeySignature(0, transpose_key("A minor", shift)),))


def test_key_agreement_leaves_out_clips_without_pitched_notes():
    """A drums-only clip has no key to hear: it is neither a hit nor a miss of the key agreement."""
    from codeplay_nb.evaluation_suite import aggregate, measure

    band = _band_piece(0, bars=4)
    drums_only = band.replace(tracks=tuple(t for t in band.tracks if t.is_drum))
    records = [measure(band, 4, {"instruments": ["piano", "bass", "drums"], "key": "A minor"}),
               measure(drums_only, 4, {"instruments": ["drums"], "key": "A minor"})]
    assert records[1]["stats"]["key_krumhansl"] is None
    out = aggregate(records, ["A minor", "A minor"])
    assert out["key_krumhansl_agreement"] == 1.0 and out["key_default_agreement"] == 1.0
    # the same drums-only clip with a key nobody hears in it changes nothing; a pitched clip in the wrong key does
    wrong = measure(_band_piece(5, bars=4), 4, {"instruments": ["piano", "bass", "drums"], "key": "A minor"})
    assert aggregate([*records, wrong], ["A minor"] * 3)["key_krumhansl_agreement"] == 0.5


def _val_names(count: int, folder: str = "band") -> list[str]:
    from codeplay_nb.dataset import split_of

    names = [f"song{i}" for i in range(2000) if split_of(f"{folder}/song{i}", 0.05) == "val"]
    return names[:count]


@pytest.fixture
def band_dir(tmp_path):
    """A folder named like a corpus: four validation songs (under the dataset's default split) and two
    training songs."""
    from codeplay_nb.dataset import split_of

    root = tmp_path / "band"
    root.mkdir()
    train = [f"song{i}" for i in range(50) if split_of(f"band/song{i}", 0.05) == "train"][:2]
    for i, name in enumerate(_val_names(4) + train):
        write_midi(_band_piece(i), root / f"{name}.mid")
    return root


def test_song_key_names_songs_as_the_corpus_loaders_do(tmp_path):
    from pathlib import Path

    from codeplay_nb.evaluation_suite import song_key

    assert song_key(Path("/d/pop909"), Path("/d/pop909/001/001.mid")) == "pop909/001"
    assert song_key(Path("/d/nottingham"), Path("/d/nottingham/ashover1.mid")) == "nottingham/ashover1"
    assert song_key(Path("/d/lakh"), Path("/d/lakh/a/b.mid")) == "lakh/a/b"
    groove = Path("/d/groove/drummer1/session2/3_rock_100_beat_4-4.mid")
    assert song_key(Path("/d/groove"), groove) == "groove/drummer1/session2"


def test_validation_files_hold_only_songs_the_dataset_keeps_back(band_dir):
    from codeplay_nb.evaluation_suite import validation_files

    names = sorted(p.stem for p in validation_files(band_dir))
    assert names == sorted(_val_names(4))
    assert len(validation_files(band_dir, val_fraction=0.0)) == 0
    assert len(validation_files(band_dir, split_fn=lambda key, f: "val")) == 6


def test_validation_windows_spread_round_robin_over_songs(band_dir):
    from codeplay_nb.evaluation_suite import validation_windows

    windows, skipped = validation_windows(band_dir, 6, bars=4, per_song=4, seed=1)
    assert skipped == [] and len(windows) == 6
    per_song = {}
    for w in windows:
        per_song[w["song"]] = per_song.get(w["song"], 0) + 1
        assert w["piece"].length == 4 * BAR and w["chords"] is None
    assert sorted(per_song.values()) == [1, 1, 2, 2]  # every validation song before any song's second window
    assert {w["song"] for w in windows} == {f"band/{n}" for n in _val_names(4)}
    assert all(w["key"] in KEYS for w in windows)
    with pytest.raises(CodeplayError, match="no validation songs"):
        validation_windows(band_dir, 6, split_fn=lambda key, f: "train")


def test_bar_chords_take_the_chord_held_longest_in_each_bar():
    from codeplay_nb.evaluation_suite import bar_chords

    piece = make_piece([(0, False, [(60, 80, 0, 4 * BAR)])], length=4 * BAR)
    changes = [(0, "N"), (Q, "A:min"), (BAR + 3 * Q, "F:maj7"), (3 * BAR, "G:7")]
    assert bar_chords(piece, changes, 0, 4) == ["Am", "Am", "Fmaj7", "G7"]
    assert bar_chords(piece, changes, 1, 2) == ["Am", "Fmaj7"]
    assert bar_chords(piece, [], 0, 4) is None


def test_two_sample_evaluation_with_an_honest_compose(band_dir):
    from codeplay_nb.evaluation_suite import evaluate_structure, format_structure_table, structure_report_json

    seen = []

    def compose(**kw):
        seen.append(kw)
        return honest_compose(**kw)

    report = evaluate_structure(band_dir, n=8, bars=4, compose_fn=compose, genres=["pop", "rock"], genre_n=3)
    assert report["config"]["n_real_windows"] == 8 and report["config"]["n_songs"] == 4
    real = report["real"]
    assert real["silent_bars"] == 0.0 and real["empty_bars_piano"] == 0.0 and real["empty_bars_bass"] == 0.0
    assert real["backbeat"] == 1.0 and real["drum_similarity"] == 1.0 and real["bass_notes_per_onset"] == 1.0
    assert real["key_krumhansl_agreement"] == 1.0  # the fixture tunes are plain A minor (transposed)
    model = report["models"]["shipped"]
    paired = seen[:8]
    for request, window in zip(paired, report["windows"], strict=True):
        assert request["instruments"] == ["piano", "bass", "drums"] and request["key"] == window["key"]
        assert request["time_signature"] == (4, 4) and request["bars"] == 4
    assert {kw["genre"] for kw in seen[8:]} == {"pop", "rock"} and len(seen) == 8 + 6
    values = model["values"]
    assert values["file_length_ok"] == 1.0 and values["file_short"] == 0.0 and values["silent_bars"] == 0.0
    assert values["empty_bars_piano"] == 0.0 and values["empty_bars_bass"] == 0.0 and values["empty_bars_drums"] == 0.0
    assert 0.0 <= model["two_sample"]["accuracy"] <= 1.0 and model["two_sample"]["n_generated"] == 8
    assert model["genre"]["chance"] == 0.5 and model["instruments_exact"] == 1.0
    table = format_structure_table(report)
    for row in ("two-sample classifier accuracy", "bars silent in every track", "empty bars: drums",
                "drums: consecutive-bar similarity", "bass: mean pitch", "key = requested: music21 default",
                "key = requested: Krumhansl", "genre predictable from the music (2 genres)"):
        assert row in table
    assert "| measure | real (validation) | shipped |" in format_structure_table(report, markdown=True)
    data = json.loads(json.dumps(structure_report_json(report), default=str, allow_nan=False))
    assert "piece" not in data["models"]["shipped"]["clips"][0]


def test_two_sample_evaluation_asks_for_annotated_chords_when_compose_takes_them(band_dir, monkeypatch):
    import codeplay_nb.evaluation_suite as suite

    real_read = suite.read_real
    monkeypatch.setattr(suite, "read_real", lambda path: (real_read(path)[0], [(0, "A:min"), (2 * BAR, "F:maj")]))
    asked = []

    def compose(*, chords=None, **kw):
        asked.append(chords)
        return honest_compose(**kw)

    report = suite.evaluate_structure(band_dir, n=4, bars=4, compose_fn=compose, genre_n=0,
                                      split_fn=lambda key, f: "val" if key.endswith(tuple(_val_names(2))) else "train")
    assert report["real"]["chord_adherence"] is not None and "genre" not in report["models"]["shipped"]
    for chords, window in zip(asked, report["windows"], strict=True):
        first = window["first_bar"] - 1
        assert chords == [["Am", "Am", "F", "F"][b] if b < 4 else "F" for b in range(first, first + 4)]
    assert report["models"]["shipped"]["values"]["chord_adherence"] is not None


def test_cli_eval_two_sample_prints_one_table_and_compares_checkpoints(band_dir, tmp_path, monkeypatch, capsys):
    import codeplay_nb.evaluation_suite as suite

    loaded = []
    monkeypatch.setattr(suite, "_default_compose", lambda: honest_compose)
    monkeypatch.setattr(suite, "_load_model", lambda spec: loaded.append(spec) or spec)
    out = tmp_path / "ts"
    code = main(["eval", "--real", str(band_dir), "--two-sample", "--n", "6", "--bars", "4", "--genre-n", "2",
                 "--model", "old_ckpt", "--compare", "new_ckpt", "--out", str(out), "--quiet"])
    assert code == 0 and loaded == ["old_ckpt", "new_ckpt"]
    printed = capsys.readouterr().out
    header = next(line for line in printed.splitlines() if line.startswith("measure"))
    assert header.split()[-2:] == ["old_ckpt", "new_ckpt"]
    assert "two-sample classifier accuracy" in printed and "genre predictable" in printed
    data = json.loads((out / "two_sample_report.json").read_text())
    assert set(data["models"]) == {"old_ckpt", "new_ckpt"} and data["config"]["bars"] == 4
    assert main(["eval", "--real", str(band_dir), "--compare", "x"]) == 2
    assert "--two-sample" in capsys.readouterr().err
    # the previous checkpoint's report (e.g. from the previous package version) as extra columns
    again = tmp_path / "again"
    assert main(["eval", "--real", str(band_dir), "--two-sample", "--n", "6", "--bars", "4", "--genre-n", "0",
                 "--with-report", str(out / "two_sample_report.json"), "--out", str(again), "--quiet"]) == 0
    captured = capsys.readouterr()
    header = next(line for line in captured.out.splitlines() if line.startswith("measure"))
    assert header.split()[-3:] == ["shipped", "old_ckpt", "new_ckpt"]
    assert "warning" not in captured.err
    assert main(["eval", "--real", str(band_dir), "--two-sample", "--n", "4", "--bars", "4", "--genre-n", "0",
                 "--with-report", str(out / "two_sample_report.json"), "--out", str(again), "--quiet"]) == 0
    assert "real windows differ" in capsys.readouterr().err


def test_tuning_songs_are_training_songs_never_validation_ones():
    from codeplay_nb.dataset import split_of
    from codeplay_nb.evaluation_suite import tuning_split

    keys = [f"nottingham/tune{i}" for i in range(4000)]
    tuning = [k for k in keys if tuning_split(k, 0.05) == "val"]
    assert not any(split_of(k, 0.05) == "val" for k in tuning)
    assert 0.03 < len(tuning) / len(keys) < 0.07  # about as many as the validation songs


def test_cli_eval_tuning_songs_and_decoding_settings(band_dir, tmp_path, monkeypatch, capsys):
    import codeplay_nb.evaluation_suite as suite
    from codeplay_nb.model.config import DECODING_DEFAULTS, SamplingConfig

    seen = []

    def compose_seeing_settings(**kw):
        seen.append(SamplingConfig().guidance)
        return honest_compose(**kw)

    monkeypatch.setattr(suite, "_default_compose", lambda: compose_seeing_settings)
    monkeypatch.setattr(suite, "_load_model", lambda spec: spec)
    monkeypatch.setattr(suite, "tuning_split", lambda key, f: "train" if split_of_val(key) else "val")
    out = tmp_path / "tune"
    assert main(["eval", "--real", str(band_dir), "--two-sample", "--songs", "tuning", "--n", "2", "--bars", "4",
                 "--genre-n", "0", "--decoding", "guidance=1.5", "--pairing", "families", "--out", str(out),
                 "--quiet"]) == 0
    data = json.loads((out / "two_sample_report.json").read_text())
    assert data["config"]["songs"] == "tuning" and data["config"]["decoding"] == {"guidance": 1.5}
    assert data["config"]["pairing"] == "families"
    assert seen and set(seen) == {1.5}
    # the two training songs of band_dir, not its four validation songs
    assert {w["song"] for w in data["windows"]} == {f"band/{n}" for n in _train_names(band_dir)}
    assert SamplingConfig().guidance == DECODING_DEFAULTS["guidance"] != 1.5  # only inside the run
    assert main(["eval", "--real", str(band_dir), "--two-sample", "--decoding", "guidnce=2"]) == 2
    assert "guidance" in capsys.readouterr().err


def split_of_val(key: str) -> bool:
    from codeplay_nb.dataset import split_of

    return split_of(key, 0.05) == "val"


def _train_names(root) -> list[str]:
    return [p.stem for p in root.glob("*.mid") if not split_of_val(f"band/{p.stem}")]


def test_generated_clips_keep_the_songs_attributes():
    """A key the compose function chose itself (here: C major for a request without one) is in the clip record."""
    from codeplay_nb.evaluation import generate_clips

    clips = generate_clips([{"instruments": ["piano"]}, {"instruments": ["piano"], "key": "A minor"}], 1,
                           compose_fn=honest_compose, bars=2, seed=3)
    assert [c["attributes"].key for c in clips] == ["C major", "A minor"]
    assert [c["seed"] for c in clips] == [3, 4]
