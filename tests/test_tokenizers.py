"""Round trips of every token scheme over every fixture file, grammar checks, the tokenize CLI."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from codeplay_nb.cli import main as cli_main
from codeplay_nb.errors import CodeplayError
from codeplay_nb.io import read_midi
from codeplay_nb.music import make_piece
from codeplay_nb.tokenizers import STEPS_PER_QUARTER, get_tokenizer
from codeplay_nb.tokenizers.fidelity import compare_schemes, roundtrip_fidelity, summarize, write_failure
from codeplay_nb.tokenizers.mmm import TEMPO_VALUES, MMMTokenizer, tempo_index

DATA = Path(__file__).parent / "data"
FIXTURES = sorted(p for p in DATA.glob("*.mid") if not p.name.startswith("broken"))
SCHEMES = ("nnn", "mmm", "remi", "amt")
NOTES_ONLY = {"amt"}  # arrival-time tokens store clock time: no tempo map, no time signatures
# fixtures where a scheme loses notes by design (documented in the scheme's module):
# durations longer than 16 quarters are clamped by NNN's duration classes and miditok's beat_res
KNOWN_LOSSES = {("nnn", "long_note.mid"): 1, ("remi", "long_note.mid"): 1}
# miditok moves a time-signature change that falls inside a bar to the next bar line (notes stay in place)
KNOWN_META_LOSSES = {("remi", "ts_change_mid_bar.mid")}
# open NNN bugs reported to the lead (remove the entry when fixed; the test then runs strictly)
NNN_OPEN_BUGS = {
    "ts_change_mid_bar.mid": "NNN keeps every note and every bar length, but writes the bar cut short by a "
                             "mid-bar meter change as a bar of its own meter, so the change event moves to "
                             "that bar's start (4/4 ... 3/4 at beat 3 becomes 3/4 at the bar line)",
}


def _available(scheme: str) -> bool:
    module = {"nnn": "codeplay_nb.tokenizers.nnn", "amt": "codeplay_nb.amt.tokenizer"}.get(scheme)
    return module is None or importlib.util.find_spec(module) is not None


@pytest.fixture(scope="module", params=SCHEMES)
def tokenizer(request):
    if not _available(request.param):
        pytest.skip(f"{request.param} tokenizer not written yet")
    return get_tokenizer(request.param)


@pytest.fixture(scope="module")
def pieces():
    return {p.name: read_midi(p) for p in FIXTURES}


def test_fixture_set_is_complete():
    names = {p.name for p in DATA.glob("*.mid")}
    for needed in ("empty", "drums_only", "tempo_change", "ts_3_4", "ts_6_8", "ts_7_8", "ts_change",
                   "ts_change_mid_bar", "overlap_same_pitch", "cross_bar", "triplets", "long_note", "sixteen_tracks", "controllers",
                   "broken_truncated", "type0", "type1", "high_tpq_10080"):
        assert f"{needed}.mid" in names
    assert sum(n.startswith("real_") for n in names) >= 4
    assert all(p.stat().st_size < 20_000 for p in DATA.glob("*.mid"))
    assert "licence" in (DATA / "README.md").read_text().lower()


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_roundtrip_every_fixture(tokenizer, pieces, path, tmp_path):
    piece = pieces[path.name]
    if tokenizer.name == "nnn" and path.name in NNN_OPEN_BUGS:
        pytest.xfail(NNN_OPEN_BUGS[path.name])
    ids = tokenizer.encode(piece)
    assert all(isinstance(i, int) and 0 <= i < tokenizer.vocab_size for i in ids)
    assert tokenizer.check(ids) == []
    res = roundtrip_fidelity(tokenizer, piece, ids=ids)
    allowed = KNOWN_LOSSES.get((tokenizer.name, path.name), 0) + res["notes_grid_duplicates"]
    lost = res["notes"] - res["notes_kept"]
    meta_ok = (tokenizer.name in NOTES_ONLY or (tokenizer.name, path.name) in KNOWN_META_LOSSES
               or (res["all_tempos_kept"] and res["all_time_signatures_kept"]))
    if lost > allowed or not meta_ok:
        written = write_failure(piece, res, tmp_path, path.stem)  # open these to see what went wrong
        pytest.fail(f"{tokenizer.name} {path.name}: lost {lost} notes, tempos {res['tempos_kept']}/"
                    f"{res['tempos']}, signatures {res['time_signatures_kept']}/{res['time_signatures']}; "
                    f"see {written}")


def test_nnn_meets_the_issue_thresholds_on_real_excerpts(pieces):
    if not _available("nnn"):
        pytest.skip("nnn tokenizer not written yet")
    nnn, mmm = get_tokenizer("nnn"), get_tokenizer("mmm")
    real = [p for name, p in pieces.items() if name.startswith("real_")]
    kept = total = nnn_tokens = mmm_tokens = 0
    for piece in real:
        res = roundtrip_fidelity(nnn, piece)
        assert res["all_tempos_kept"] and res["all_time_signatures_kept"]
        kept, total = kept + res["notes_kept"], total + res["notes"]
        nnn_tokens += res["tokens"]
        mmm_tokens += len(mmm.encode(piece))
    assert kept / total >= 0.99
    assert nnn_tokens < mmm_tokens


def test_tempo_is_exact_enough_at_125_bpm(tokenizer, pieces):
    if tokenizer.name in NOTES_ONLY:
        pytest.skip("no tempo tokens in this scheme")
    piece = pieces["tempo_change.mid"]
    decoded = tokenizer.decode(tokenizer.encode(piece))
    assert decoded.tempos[0].qpm == pytest.approx(125.0, rel=0.01)


# ---------------------------------------------------------------- MMM specifics
def test_mmm_tokens_of_a_tiny_piece():
    piece = make_piece([(0, False, [(60, 100, 0, 480), (64, 100, 480, 960)])], tpq=480)
    toks = MMMTokenizer().encode_tokens(piece)
    assert toks == ["PIECE_START", "TRACK_START", "INST=0", "BAR_START", "TIME_SIG=4/4", f"TEMPO={TEMPO_VALUES[tempo_index(120.0)]:.2f}",
                    "NOTE_ON=60", f"TIME_DELTA={STEPS_PER_QUARTER}", "NOTE_OFF=60", "NOTE_ON=64",
                    f"TIME_DELTA={2 * STEPS_PER_QUARTER}", "NOTE_OFF=64", "BAR_END", "TRACK_END"]


def test_mmm_carries_or_closes_notes_across_bar_lines(pieces):
    piece = pieces["cross_bar.mid"]
    carried = MMMTokenizer().decode(MMMTokenizer().encode(piece))
    closed_tok = MMMTokenizer(close_at_bar_end=True)
    closed = closed_tok.decode(closed_tok.encode(piece))
    longest = max(n.duration for n in piece.tracks[0].notes) / piece.tpq
    assert max(n.duration for n in carried.tracks[0].notes) / carried.tpq == pytest.approx(longest)
    assert max(n.duration for n in closed.tracks[0].notes) / closed.tpq < longest
    assert roundtrip_fidelity(closed_tok, piece)["notes_kept"] < piece.n_notes


def test_mmm_empty_bars_cost_two_tokens_and_drums_are_marked(pieces):
    toks = MMMTokenizer().encode_tokens(pieces["drums_only.mid"])
    assert toks[2] == "INST=DRUMS"
    piece = make_piece([(0, False, [(60, 100, 0, 480)]), (33, False, [])], length=4 * 1920)
    toks = MMMTokenizer().encode_tokens(piece)
    second = toks[toks.index("TRACK_START", 2):]
    assert second == ["TRACK_START", "INST=33"] + ["BAR_START", "BAR_END"] * 4 + ["TRACK_END"]


@pytest.mark.parametrize("bad, problem", [
    (["TRACK_START", "INST=0", "TRACK_END"], "PIECE_START"),
    (["PIECE_START", "TRACK_START", "INST=0", "BAR_START", "NOTE_OFF=60", "BAR_END", "TRACK_END"], "without an open"),
    (["PIECE_START", "TRACK_START", "INST=0", "BAR_START", "NOTE_ON=60", "BAR_END", "TRACK_END"], "never closed"),
    (["PIECE_START", "TRACK_START", "INST=0", "NOTE_ON=60", "TRACK_END"], "outside a bar"),
    (["PIECE_START", "TRACK_START", "INST=0", "BAR_START", "TIME_DELTA=48", "TIME_DELTA=1", "BAR_END",
      "TRACK_END"], "past the bar end"),
    (["PIECE_START", "TRACK_START", "INST=0", "BAR_START", "BAR_END", "TRACK_END",
      "TRACK_START", "INST=1", "BAR_START", "BAR_END", "BAR_START", "BAR_END", "TRACK_END"], "bar counts"),
    (["PIECE_START", "TRACK_START", "INST=0", "BAR_START", "BAR_END"], "ends inside a track"),
])
def test_mmm_grammar_check_catches_malformed_sequences(bad, problem):
    tok = MMMTokenizer()
    probs = tok.check(tok.ids(bad))
    assert any(problem in p for p in probs), probs


def test_grammar_check_rejects_foreign_ids(tokenizer, pieces):
    ids = tokenizer.encode(pieces["ts_3_4.mid"])
    assert tokenizer.check([*ids, tokenizer.vocab_size + 5])


def test_remi_grammar_check_catches_shuffled_tokens(pieces):
    tok = get_tokenizer("remi")
    ids = tok.encode(pieces["triplets.mid"])
    pitch = next(i for i, t in enumerate(tok.tokens(ids)) if t.startswith("Pitch_"))
    bad = ids[: pitch + 1] + ids[pitch + 2: pitch + 3] + ids[pitch + 1: pitch + 2] + ids[pitch + 3:]
    assert tok.check(ids) == [] and tok.check(bad)


def test_decode_is_tolerant_of_garbage(tokenizer):
    piece = tokenizer.decode([0, 1, 2, 3, 4, 5] * 3)
    assert piece.n_notes >= 0


# ---------------------------------------------------------------- fidelity helpers
def test_fidelity_counts_a_lost_note_and_writes_the_failure(tmp_path):
    class Dropper(MMMTokenizer):
        def decode(self, ids):
            p = super().decode(ids)
            t = p.tracks[0]
            return p.with_tracks([t.with_notes(t.notes[1:])])

    piece = make_piece([(0, False, [(60, 100, 0, 480), (62, 100, 480, 480)])])
    res = roundtrip_fidelity(Dropper(), piece)
    assert (res["notes"], res["notes_kept"], res["velocity_checked"]) == (2, 1, False)
    paths = write_failure(piece, res, tmp_path, "drop")
    assert [p.name for p in paths] == ["drop_original.mid", "drop_mmm_decoded.mid", "drop_mmm_missing.mid"]
    missing = read_midi(paths[2])
    assert [n.pitch for n in missing.tracks[0].notes] == [60]


def test_compare_schemes_rows_and_summary(tmp_path):
    rows = compare_schemes([DATA / "ts_3_4.mid", DATA / "broken_truncated.mid"], schemes=("mmm", "remi"))
    assert rows[-1]["skipped"].endswith("could not be parsed" + rows[-1]["skipped"].split("could not be parsed")[1])
    summary = {s["scheme"]: s for s in summarize(rows)}
    assert set(summary) == {"mmm", "remi"}
    assert summary["mmm"]["notes_kept_frac"] == 1.0
    json.dumps(rows)  # rows are JSON-friendly


# ---------------------------------------------------------------- CLI
def test_cli_tokenize_prints_tokens_and_stats(capsys, tmp_path):
    out = tmp_path / "rt.mid"
    assert cli_main(["tokenize", str(DATA / "triplets.mid"), "--scheme", "mmm", "--roundtrip", str(out)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("PIECE_START TRACK_START INST=73")
    assert "tokens per bar" in text and f"vocabulary {MMMTokenizer().vocab_size}" in text
    assert read_midi(out).n_notes == read_midi(DATA / "triplets.mid").n_notes


def test_cli_tokenize_json(capsys):
    assert cli_main(["tokenize", str(DATA / "ts_7_8.mid"), "--scheme", "remi", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["scheme"] == "remi" and data["stats"]["tokens"] == len(data["tokens"]) == len(data["ids"])
    assert data["stats"]["bars"] == 6


@pytest.mark.parametrize("args", [
    [str(DATA / "broken_truncated.mid")],
    [str(DATA / "no_such_file.mid")],
    [str(DATA / "ts_3_4.mid"), "--scheme", "wav2vec"],
    [str(DATA / "ts_3_4.mid"), "--scheme", "mmm", "--roundtrip", "/no/such/folder/out.mid"],
])
def test_cli_tokenize_user_errors_exit_2_with_one_line(args, capsys):
    assert cli_main(["tokenize", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("codeplay tokenize: error:")


def test_get_tokenizer_rejects_unknown_scheme():
    with pytest.raises(CodeplayError):
        get_tokenizer("abc")
