"""Every metric of codeplay_nb.metrics against an exact value on a hand-built piece."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from codeplay_nb.attributes import KEYS
from codeplay_nb.cli import main
from codeplay_nb.errors import CodeplayError
from codeplay_nb.io import write_midi
from codeplay_nb.metrics import (
    METRIC_KEYS,
    bar_count,
    bar_count_match,
    compute_metrics,
    crop_bars,
    empty_beat_rate,
    estimate_key,
    estimate_key_numpy,
    families_present,
    groove_consistency,
    instrument_match,
    key_match,
    notes_per_bar,
    pitch_class_entropy,
    pitch_range,
    polyphony,
    scale_consistency,
    summarize,
    tempo_bin_match,
    tempo_bpm,
    windows,
)
from codeplay_nb.music import Piece, Tempo, make_piece, transpose

Q = 480  # ticks per quarter in every piece below
BAR = 4 * Q


def melody(pitches, *, step=Q, dur=Q, program=0, start=0):
    return (program, False, [(p, 80, start + i * step, dur) for i, p in enumerate(pitches)])


def drums(starts, dur=Q // 4):
    return (0, True, [(36, 100, s, dur) for s in starts])


C_MAJOR = [60, 62, 64, 65, 67, 69, 71]


# ------------------------------------------------------------------ pitch-class entropy
def test_entropy_of_c_major_scale_one_note_per_beat_is_log2_7():
    piece = make_piece([melody(C_MAJOR)])
    assert pitch_class_entropy(piece) == pytest.approx(math.log2(7), abs=1e-12)


def test_entropy_counts_onsets_not_durations_and_ignores_drums():
    # C twice (one very long), E, G -> p = 1/2, 1/4, 1/4 -> 1.5 bits exactly
    piece = make_piece([
        (0, False, [(60, 80, 0, 8 * Q), (72, 80, Q, Q), (64, 80, 2 * Q, Q), (67, 80, 3 * Q, Q)]),
        drums([0, Q, 2 * Q, 3 * Q, 5 * Q]),
    ])
    assert pitch_class_entropy(piece) == 1.5


def test_entropy_of_chromatic_scale_and_of_nothing():
    assert pitch_class_entropy(make_piece([melody(range(60, 72))])) == pytest.approx(math.log2(12), abs=1e-12)
    assert pitch_class_entropy(make_piece([drums([0, Q])])) == 0.0
    assert pitch_class_entropy(Piece()) == 0.0


# ------------------------------------------------------------------ scale consistency
def test_scale_consistency_of_a_major_scale_is_one():
    assert scale_consistency(make_piece([melody([*C_MAJOR, 72])])) == 1.0
    assert scale_consistency(make_piece([melody([57, 59, 60, 62, 64, 65, 67])])) == 1.0  # A natural minor


def test_scale_consistency_exact_fractions():
    # {C, C#, E, G}: no major / natural-minor scale holds all four, three fit (C major)
    assert scale_consistency(make_piece([melody([60, 61, 64, 67])])) == 0.75
    assert scale_consistency(make_piece([melody(range(60, 72))])) == 7 / 12
    # A harmonic-minor G# is outside every natural-minor scale that holds the rest: 7 of 8 notes
    assert scale_consistency(make_piece([melody([57, 59, 60, 62, 64, 65, 68, 69])])) == 7 / 8


def test_scale_consistency_ignores_drums_and_is_zero_without_notes():
    piece = make_piece([melody(C_MAJOR), (0, True, [(61, 100, 0, Q), (63, 100, Q, Q)])])
    assert scale_consistency(piece) == 1.0
    assert scale_consistency(make_piece([drums([0])])) == 0.0


# ------------------------------------------------------------------ groove consistency
def test_groove_of_two_identical_bars_is_one():
    pattern = [0, Q, 2 * Q + Q // 2, 3 * Q]
    piece = make_piece([(0, False, [(60, 80, s, 100) for s in pattern + [BAR + s for s in pattern]])])
    assert groove_consistency(piece) == 1.0


def test_groove_known_hamming_distances():
    # bar 1: beats 1-4 (steps 0, 12, 24, 36); bar 2: beats 1 and 3 -> 2 of 48 steps differ
    bar1 = [0, Q, 2 * Q, 3 * Q]
    bar2 = [BAR, BAR + 2 * Q]
    assert groove_consistency(make_piece([(0, False, [(60, 80, s, 100) for s in bar1 + bar2])])) == 1 - 2 / 48
    # bar 3 = beats 1 and 3 plus their eighth-note offbeats (steps 0, 6, 24, 30): 2 more steps differ
    bar3 = [2 * BAR + k * Q // 2 for k in (0, 1, 4, 5)]
    piece = make_piece([(0, False, [(60, 80, s, 100) for s in bar1 + bar2 + bar3])])
    assert groove_consistency(piece) == 1 - (2 / 48 + 2 / 48) / 2


def test_groove_includes_drums_and_empty_bars_between_but_not_before():
    # bar 0 empty (excluded), bar 1 {0}, bar 2 empty (included), bar 3 {0} -> 1 - (1/48 + 1/48) / 2
    piece = make_piece([melody([60], start=BAR), drums([3 * BAR])])
    assert groove_consistency(piece) == 1 - 1 / 48


def test_groove_quantises_to_12_steps_per_beat_rounding_half_up():
    # 19 ticks = 0.475 step -> step 0; 20 ticks = 0.5 step -> step 1; 10 ticks before a bar line -> next bar
    same = make_piece([(0, False, [(60, 80, 0, 10), (60, 80, BAR + 19, 10)])])
    assert groove_consistency(same) == 1.0
    half = make_piece([(0, False, [(60, 80, 0, 10), (60, 80, BAR + 20, 10)])])
    assert groove_consistency(half) == 1 - 2 / 48
    pushed = make_piece([(0, False, [(60, 80, 0, 10), (60, 80, BAR - 10, 5)])])
    assert groove_consistency(pushed) == 1.0  # both onsets on step 0 of bars 0 and 1


def test_groove_in_three_four_and_six_eight():
    waltz = make_piece([(0, False, [(60, 80, s, 100) for s in (0, Q, 2 * Q, 3 * Q)])], time_signature=(3, 4))
    assert groove_consistency(waltz) == 1 - 2 / 36  # bar 1 {0, 12, 24}, bar 2 {0}
    jig = make_piece([(0, False, [(60, 80, s, 100) for s in (0, 3 * Q // 2, 3 * Q)])], time_signature=(6, 8))
    assert groove_consistency(jig) == 1 - 1 / 36  # 6/8 bar = 36 steps: {0, 18} vs {0}


def test_groove_is_one_with_fewer_than_two_bars():
    assert groove_consistency(make_piece([melody([60, 62, 64])])) == 1.0
    assert groove_consistency(Piece()) == 1.0


# ------------------------------------------------------------------ empty-beat rate
def test_empty_beat_rate_counts_sounding_notes_of_any_track():
    # 2 bars = 8 beats; a note over beats 0-1 (1.5 beats), one on beat 5 -> 5 of 8 empty
    notes = (0, False, [(60, 80, 0, Q + Q // 2), (62, 80, 5 * Q, Q)])
    assert empty_beat_rate(make_piece([notes], length=2 * BAR)) == 5 / 8
    assert empty_beat_rate(make_piece([notes, drums([7 * Q])], length=2 * BAR)) == 4 / 8


def test_empty_beat_rate_note_ending_on_a_beat_line_does_not_fill_the_next_beat():
    piece = make_piece([(0, False, [(60, 80, 0, Q)])], length=BAR)
    assert empty_beat_rate(piece) == 3 / 4


def test_empty_beat_rate_in_three_four_and_seven_eight():
    waltz = make_piece([(0, False, [(60, 80, 0, 3 * Q)])], time_signature=(3, 4), length=6 * Q)
    assert empty_beat_rate(waltz) == 3 / 6
    # 7/8 = 3.5 quarters: beats of 1, 1, 1 and 1/2 quarter -> 4 beats a bar; a note in the short beat
    seven = make_piece([(0, False, [(60, 80, 3 * Q, Q // 2)])], time_signature=(7, 8), length=7 * Q)
    assert empty_beat_rate(seven) == 7 / 8


def test_empty_beat_rate_of_silence_and_of_no_bars():
    assert empty_beat_rate(make_piece([], length=BAR)) == 1.0
    assert empty_beat_rate(Piece()) == 0.0


# ------------------------------------------------------------------ polyphony, density, range
def test_polyphony_is_mean_sounding_notes_at_onsets_without_drums():
    # onset 0: C E G sounding (3); onset Q: C E G + B (4) -> 3.5
    piece = make_piece([
        (0, False, [(60, 80, 0, 2 * Q), (64, 80, 0, 2 * Q), (67, 80, 0, 2 * Q)]),
        (33, False, [(47, 80, Q, Q)]),
        drums([0, Q // 2, Q]),
    ])
    assert polyphony(piece) == 3.5
    assert polyphony(make_piece([melody(C_MAJOR)])) == 1.0  # legato melody: the previous note ends on the onset
    assert polyphony(Piece()) == 0.0


def test_notes_per_bar_and_pitch_range():
    piece = make_piece([melody([*C_MAJOR, 72]), drums([0, Q, 2 * Q])], length=2 * BAR)
    assert notes_per_bar(piece) == 4.0
    assert pitch_range(piece) == 12
    assert pitch_range(make_piece([drums([0])])) == 0


def test_bar_count_ignores_ringing_tails_but_keeps_silent_bars_set_by_length():
    assert bar_count(make_piece([melody([60])], length=4 * BAR)) == 4
    ringing = make_piece([(0, False, [(60, 80, 3 * BAR, BAR + Q)])])  # onset in bar 4, ends in bar 5
    assert ringing.n_bars == 5 and bar_count(ringing) == 4
    assert bar_count_match(ringing, 4) and not bar_count_match(ringing, 5)
    assert bar_count(Piece()) == 0


# ------------------------------------------------------------------ key and tempo
def test_estimate_key_of_clear_major_and_minor_melodies():
    assert estimate_key(make_piece([melody([60, 64, 67, 72, 65, 62, 67, 60, 71, 60])])) == "C major"
    a_minor = [57, 60, 64, 57, 59, 60, 62, 64, 57, 52, 57]
    assert estimate_key(make_piece([melody(a_minor)])) == "A minor"
    assert estimate_key(transpose(make_piece([melody(a_minor)]), 3)) == "C minor"
    assert estimate_key(make_piece([drums([0, Q])])) is None


def test_estimate_key_uses_the_spelling_of_the_attribute_vocabulary():
    bb = transpose(make_piece([melody([60, 64, 67, 72, 65, 62, 67, 60, 71, 60])]), 10)
    assert estimate_key(bb) == "Bb major" and "Bb major" in KEYS


def test_numpy_fallback_agrees_with_music21_krumhansl():
    rng = np.random.default_rng(0)
    for _ in range(40):
        notes = [
            (int(p), 80, i * Q, int(d))
            for i, (p, d) in enumerate(zip(rng.integers(48, 84, 12), rng.integers(60, 1000, 12), strict=True))
        ]
        piece = make_piece([(0, False, notes)])
        assert estimate_key(piece) == estimate_key_numpy(piece)


def test_estimate_key_falls_back_to_numpy_when_music21_fails(monkeypatch):
    from music21.analysis import discrete

    def broken(self, stream):
        raise RuntimeError("boom")

    monkeypatch.setattr(discrete.KrumhanslSchmuckler, "getSolution", broken)
    assert estimate_key(make_piece([melody([57, 60, 64, 57, 59, 60, 62, 64, 57, 52, 57])])) == "A minor"


def test_tempo_bpm_is_the_average_over_the_tempo_map():
    assert tempo_bpm(make_piece([melody([60])], qpm=90.0)) == 90.0
    # 4 quarters at 120 (2 s) then 4 quarters at 60 (4 s): 8 quarters in 6 s = 80 quarters a minute
    piece = Piece(tempos=(Tempo(0, 120.0), Tempo(4 * Q, 60.0)), length=8 * Q)
    assert tempo_bpm(piece) == pytest.approx(80.0, abs=1e-9)


# ------------------------------------------------------------------ control accuracy
def test_tempo_bin_match_accepts_bpm_or_bin_name():
    fast = make_piece([melody([60])], qpm=130.0)
    assert tempo_bin_match(fast, "fast") and tempo_bin_match(fast, 140) and tempo_bin_match(fast, "140")
    assert not tempo_bin_match(fast, "moderate") and not tempo_bin_match(fast, 100.0)
    with pytest.raises(CodeplayError, match="tempo"):
        tempo_bin_match(fast, "speedy")


def test_key_match_compares_tonic_and_mode():
    piece = make_piece([melody([60, 64, 67, 72, 65, 62, 67, 60, 71, 60])])
    assert key_match(piece, "C major") and key_match(piece, "c maj")
    assert not key_match(piece, "A minor") and not key_match(piece, "C minor")


def test_instrument_match_needs_every_requested_family_and_no_other():
    piece = make_piece([melody([60]), melody([36], program=33), drums([0]), (48, False, [])])
    assert families_present(piece) == {"piano", "bass", "drums"}  # the empty strings track does not count
    assert instrument_match(piece, ["piano", "bass", "drums"])
    assert instrument_match(piece, "drums, electric bass (finger), rhodes")
    assert not instrument_match(piece, ["piano", "bass"])
    assert not instrument_match(piece, ["piano", "bass", "drums", "strings"])


# ------------------------------------------------------------------ compute_metrics, windows
def test_compute_metrics_keys_and_values():
    piece = make_piece([melody([*C_MAJOR, 72])], length=2 * BAR, qpm=100.0)
    m = compute_metrics(piece)
    assert list(m) == list(METRIC_KEYS)
    assert m == {
        "pitch_class_entropy": pytest.approx(-(2 / 8 * math.log2(2 / 8) + 6 / 8 * math.log2(1 / 8))),
        "scale_consistency": 1.0,
        "groove_consistency": 1.0,
        "empty_beat_rate": 0.0,
        "polyphony": 1.0,
        "notes_per_bar": 4.0,
        "pitch_range": 12,
        "n_bars": 2,
        "n_notes": 8,
        "key": "C major",
        "tempo_bpm": 100.0,
    }
    json.dumps(m)


def test_windows_are_consecutive_exact_length_and_clip_tails():
    notes = [(60 + b, 80, b * BAR, 2 * BAR if b == 3 else Q) for b in range(10)]
    piece = make_piece([(0, False, notes)])
    ws = windows(piece, 4)
    assert len(ws) == 2  # bars 0-3 and 4-7; bars 8-9 are not a whole window
    assert [w.length for w in ws] == [4 * BAR, 4 * BAR]
    assert [n.pitch for n in ws[1].tracks[0].notes] == [64, 65, 66, 67]
    assert ws[0].tracks[0].notes[-1].duration == BAR  # the long note of bar 3 is cut at the window end
    assert all(compute_metrics(w)["n_bars"] == 4 for w in ws)
    assert crop_bars(piece, 9, 9).tracks[0].notes[0].pitch == 69
    with pytest.raises(CodeplayError):
        windows(piece, 0)


def test_summarize_mean_and_population_std():
    assert summarize([1.0, 2.0, 3.0, None]) == {"mean": 2.0, "std": pytest.approx(math.sqrt(2 / 3)), "n": 3}
    assert summarize([]) == {"mean": None, "std": None, "n": 0}


# ------------------------------------------------------------------ CLI
def test_cli_metrics_prints_json_and_a_table(tmp_path, capsys):
    path = write_midi(make_piece([melody(C_MAJOR)], length=2 * BAR), tmp_path / "scale.mid")
    assert main(["metrics", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["pitch_class_entropy"] == pytest.approx(math.log2(7))
    assert data["scale_consistency"] == 1.0 and data["n_bars"] == 2
    assert main(["metrics", str(path), "--window-bars", "1"]) == 0
    out = capsys.readouterr().out
    assert "groove_consistency" in out and "2 windows of 1 bars" in out


def test_cli_metrics_unreadable_file_exits_2_with_one_line(tmp_path, capsys):
    bad = tmp_path / "broken.mid"
    bad.write_bytes(b"MThd\x00\x00garbage")
    assert main(["metrics", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "codeplay metrics: error:" in err[0]
    assert main(["metrics", str(tmp_path / "missing.mid")]) == 2


# ------------------------------------------------------------------ chords
def test_chord_adherence_counts_notes_in_their_bar_chord():
    from codeplay_nb.metrics import chord_adherence

    piano = (0, False, [(57, 80, 0, Q), (60, 80, Q, Q), (64, 80, 2 * Q, Q), (67, 80, 3 * Q, Q),      # Am: 3 of 4
                        (53, 80, BAR, Q), (57, 80, BAR + Q, Q), (60, 80, BAR + 2 * Q, Q), (62, 80, BAR + 3 * Q, Q),  # F: 3 of 4
                        (61, 80, 2 * BAR, Q)])                                                        # no chord asked
    drums = (0, True, [(38, 100, 0, Q), (42, 100, BAR, Q)])
    piece = make_piece([piano, drums], length=3 * BAR)
    assert chord_adherence(piece, ["Am", "F", "N"]) == 0.75
    assert chord_adherence(piece, ["A:min", "F:maj"]) == 0.75  # Harte labels (POP909) too; bar 3 past the list
    assert chord_adherence(piece, ["Am7", None, None]) == 1.0  # A C E G
    assert chord_adherence(piece, [None, None, "?"]) is None
    with pytest.raises(CodeplayError, match="chord"):
        chord_adherence(piece, ["H7"])
