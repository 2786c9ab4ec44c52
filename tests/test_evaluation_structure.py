"""The structure statistics and classifiers of the two-sample evaluation, against exact values on tiny
hand-built pieces (codeplay_nb.evaluation_structure, codeplay_nb.evaluation_classify)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from codeplay_nb.errors import CodeplayError
from codeplay_nb.evaluation_classify import (
    LogisticRegression,
    genre_predictability,
    group_kfold,
    stratified_kfold,
    two_sample_test,
)
from codeplay_nb.evaluation_structure import (
    FEATURE_NAMES,
    backbeat_share,
    bass_stats,
    chord_tone_fit,
    clip_features,
    clip_statistics,
    drum_similarity,
    empty_bar_shares,
    estimate_keys,
    file_length,
    off8_share,
    pitch_ranges,
    quantise_piece,
    repetition,
    scale_fit,
    silent_bar_share,
)
from codeplay_nb.music import make_piece

S = 12  # the shared grid: pieces below are built at tpq = 12 (one step = one tick)
BAR = 4 * S
PIANO, BASS, STRINGS = 0, 33, 48


def grid_piece(tracks, bars=4, time_signature=(4, 4)):
    bar = time_signature[0] * S * 4 // time_signature[1]
    return make_piece(tracks, tpq=S, time_signature=time_signature, length=bars * bar)


# ------------------------------------------------------------------ the shared grid
def test_quantise_piece_rounds_onsets_durations_velocities_and_merges_duplicates():
    piece = make_piece([(PIANO, False, [(60, 100, 41, 10), (60, 50, 50, 200), (62, 127, 479, 481), (64, 3, 0, 1920)])],
                       tpq=480, length=4 * 1920)
    q = quantise_piece(piece)
    assert q.tpq == 12 and q.length == 4 * BAR
    # 41 and 50 ticks both round to step 1 (40 ticks per step): the longer note (200 ticks = 5 steps) stays
    assert [(n.pitch, n.velocity, n.start, n.duration) for n in q.tracks[0].notes] == [
        (64, 8, 0, 48), (60, 56, 1, 5), (62, 120, 12, 12)]


def test_quantise_piece_keeps_bar_lines_of_other_meters():
    piece = make_piece([(PIANO, False, [(60, 80, 0, 720)])], tpq=480, time_signature=(6, 8), length=3 * 1440)
    q = quantise_piece(piece)
    assert q.bar_starts() == [0, 36, 72, 108]


# ------------------------------------------------------------------ bars
def test_silent_bars_count_held_notes_as_sounding():
    piece = grid_piece([(PIANO, False, [(60, 80, 0, 2 * BAR), (62, 80, 2 * BAR + 6, 6)])])
    assert silent_bar_share(piece, 4) == 0.25  # bars 0 (onset), 1 (held), 2 (onset) sound; bar 3 silent


def test_empty_bars_per_requested_family_group():
    piece = grid_piece([
        (PIANO, False, [(60, 80, 0, 6), (64, 80, BAR, 6)]),
        (BASS, False, [(36, 80, i * BAR, BAR) for i in range(4)]),
        (STRINGS, False, [(72, 80, 3 * BAR, 12)]),
    ])
    shares = empty_bar_shares(piece, 4, ["piano", "bass", "drums", "strings", "guitar"])
    assert shares == {"piano": 0.5, "bass": 0.0, "drums": 1.0, "other": 0.75}


def test_off8_share_counts_onsets_off_the_eighth_grid_of_their_bar():
    piece = grid_piece([(PIANO, False, [(60, 80, 0, 3), (62, 80, 6, 3), (64, 80, 3, 3), (65, 80, BAR + 9, 3)])], bars=2)
    assert off8_share(piece, 2) == 0.5
    three_four = grid_piece([(PIANO, False, [(60, 80, 36 + 6, 3), (60, 80, 36 + 4, 3)])], bars=2, time_signature=(3, 4))
    assert off8_share(three_four, 2) == 0.5  # bar 1 starts at step 36: 42 is on the grid, 40 is not
    assert off8_share(grid_piece([], bars=2), 2) is None


def test_drum_similarity_is_the_mean_jaccard_of_consecutive_bars():
    kick, snare = 36, 38
    hits = [(kick, 100, 0, 1), (snare, 100, 24, 1),           # bar 0
            (kick, 100, BAR, 1), (snare, 100, BAR + 24, 1),   # bar 1 = bar 0
            (kick, 100, 2 * BAR, 1)]                          # bar 2: half of it; bar 3 empty
    piece = grid_piece([(0, True, hits)])
    assert drum_similarity(piece, 4) == pytest.approx((1 + 0.5 + 0) / 3)
    assert drum_similarity(grid_piece([(PIANO, False, [(60, 80, 0, 1)])]), 4) is None


def test_backbeat_share_counts_snares_on_beats_two_and_four_in_four_four():
    hits = [(38, 100, 12, 1), (40, 100, 36, 1), (38, 100, BAR, 1), (36, 100, BAR + 12, 1)]  # the kick is no snare
    assert backbeat_share(grid_piece([(0, True, hits)], bars=2), 2) == pytest.approx(2 / 3)
    waltz = grid_piece([(0, True, [(38, 100, 12, 1)])], bars=2, time_signature=(3, 4))
    assert backbeat_share(waltz, 2) is None


def test_bass_register_and_notes_per_onset():
    piece = grid_piece([(BASS, False, [(36, 80, 0, 6), (40, 80, 0, 6), (43, 80, 12, 6)]),
                        (PIANO, False, [(84, 80, 0, 6)])])
    mean, per_onset = bass_stats(piece)
    assert mean == pytest.approx(119 / 3) and per_onset == 1.5
    assert bass_stats(grid_piece([(PIANO, False, [(60, 80, 0, 1)])])) == (None, None)


def test_pitch_range_per_track_averaged_per_family_group():
    piece = grid_piece([(PIANO, False, [(60, 80, 0, 1), (72, 80, 1, 1)]), (PIANO + 1, False, [(50, 80, 0, 1), (57, 80, 2, 1)]),
                        (BASS, False, [(36, 80, 0, 1), (41, 80, 3, 1)]), (STRINGS, False, [(70, 80, 0, 1)]),
                        (0, True, [(36, 100, 0, 1), (49, 100, 0, 1)])])
    assert pitch_ranges(piece) == {"piano": 9.5, "bass": 5.0, "other": 0.0}


def test_repetition_compares_each_bar_with_the_bar_four_later():
    motif = [(60, 80, 0, 6), (64, 80, 12, 6)]
    notes = [(p, v, s + b * BAR, d) for b in (0, 1, 4, 5) for p, v, s, d in motif]
    notes += [(67, 80, 2 * BAR, 6), (69, 80, 6 * BAR + 6, 6)]  # bars 2 and 6 differ; 3 and 7 are empty
    piece = grid_piece([(PIANO, False, notes)], bars=8)
    assert repetition(piece, 8) == pytest.approx(2 / 3)
    assert repetition(grid_piece([(PIANO, False, motif)], bars=4), 4) is None  # no bar has a bar 4 later


def test_scale_fit_uses_the_requested_key():
    piece = grid_piece([(PIANO, False, [(p, 80, i, 1) for i, p in enumerate((60, 64, 67, 70, 63))]),
                        (0, True, [(42, 80, 0, 1)])])
    assert scale_fit(piece, "C major") == pytest.approx(0.6)
    assert scale_fit(piece, "c minor") == pytest.approx(0.8)
    assert scale_fit(piece, None) is None


def test_chord_tone_fit_takes_the_best_triad_of_each_bar():
    piece = grid_piece([(PIANO, False, [(60, 80, 0, 1), (64, 80, 1, 1), (67, 80, 2, 1), (62, 80, 3, 1),
                                        (57, 80, BAR, 1), (60, 80, BAR + 1, 1), (64, 80, BAR + 2, 1)])], bars=2)
    assert chord_tone_fit(piece, 2) == pytest.approx(6 / 7)
    assert chord_tone_fit(grid_piece([], bars=2), 2) is None


def test_key_estimators_answer_like_music21_analyze_on_the_whole_stream():
    from music21 import note, stream

    tune = [(57, 2), (60, 1), (64, 1), (62, 1), (60, 1), (59, 2), (57, 1), (56, 1), (57, 2), (52, 2)]
    notes, t = [], 0
    s = stream.Stream()
    for p, d in tune:
        notes.append((p, 80, t * S, d * S))
        n = note.Note(p)
        n.quarterLength = d
        s.append(n)
        t += d
    piece = grid_piece([(PIANO, False, notes)], bars=4)
    keys = estimate_keys(piece)
    for name, method in (("key_default", "key"), ("key_krumhansl", "key.krumhansl")):
        k = s.analyze(method)
        assert keys[name] == f"{('C', 'C#', 'D', 'Eb', 'E', 'F', 'F#', 'G', 'Ab', 'A', 'Bb', 'B')[k.tonic.pitchClass]} {k.mode}"
    assert keys == {"key_default": "A minor", "key_krumhansl": "A minor"}
    assert estimate_keys(grid_piece([(0, True, [(36, 80, 0, 1)])])) == {"key_default": None, "key_krumhansl": None}


def test_file_length_reads_the_written_file_back():
    full = make_piece([(PIANO, False, [(60, 80, 0, 1920), (62, 80, 1920, 1920)])], tpq=480, length=2 * 1920)
    # a piece that knows its length is written that long (end-of-track on the last bar line) ...
    padded = make_piece([(PIANO, False, [(60, 80, 0, 960)])], tpq=480, length=2 * 1920)
    assert file_length(padded, 2) == (3840, 3840)
    # ... one whose length stops at its last note is written short, and the check sees it
    early = make_piece([(PIANO, False, [(60, 80, 0, 960)])], tpq=480, length=960)
    end, expected = file_length(full, 2)
    assert (end, expected) == (3840, 3840)
    end, expected = file_length(early, 2)
    assert (end, expected) == (960, 3840)
    stats = clip_statistics(quantise_piece(early), 2, {"instruments": ["piano"]}, written=early)
    assert stats["file_length_ok"] is False and stats["file_short"] is True
    stats = clip_statistics(quantise_piece(full), 2, {"instruments": ["piano"]}, written=full)
    assert stats["file_length_ok"] is True and stats["file_short"] is False
    assert stats["empty_bars"] == {"piano": 0.0} and stats["silent_bars"] == 0.0


def test_clip_statistics_with_requested_chords_and_features():
    piece = grid_piece([(PIANO, False, [(57, 80, 0, 12), (60, 80, 12, 12), (62, 80, 24, 12), (53, 80, BAR, 12)])], bars=2)
    stats = clip_statistics(piece, 2, {"instruments": ["piano", "drums"], "key": "A minor", "chords": ["Am", "F"]})
    assert stats["chord_adherence"] == 0.75 and stats["empty_bars"] == {"piano": 0.0, "drums": 1.0}
    assert stats["drum_similarity"] is None and stats["bass_pitch"] is None
    feats = clip_features(piece, 2, stats)
    assert len(feats) == len(FEATURE_NAMES)
    named = dict(zip(FEATURE_NAMES, feats, strict=True))
    assert math.isnan(named["drum_similarity"]) and named["has_drum_similarity"] == 0.0
    assert named["empty_bars_mean"] == 0.5 and named["onsets_per_bar"] == 2.0 and named["quarter_share"] == 1.0


# ------------------------------------------------------------------ classifiers
def test_group_kfold_never_splits_a_group_and_balances_folds():
    groups = ["a"] * 5 + ["b"] * 3 + ["c"] * 3 + ["d"] * 2 + ["e"]
    folds = group_kfold(groups, 3)
    assert sorted(np.concatenate(folds).tolist()) == list(range(len(groups)))
    for f in folds:
        assert all({groups[i] for i in f} & {groups[j] for j in g} == set() for g in folds if g is not f)
    assert sorted(len(f) for f in folds) == [4, 5, 5]  # a | b+d... | c+e...
    with pytest.raises(CodeplayError, match="two groups"):
        group_kfold(["x", "x"], 5)


def test_stratified_kfold_spreads_each_label():
    labels = ["x"] * 10 + ["y"] * 5
    folds = stratified_kfold(labels, 5)
    assert [sorted(labels[i] for i in f) for f in folds] == [["x", "x", "y"]] * 5


def test_logistic_regression_learns_and_ignores_missing_values():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)
    x[::7, 1] = np.nan  # missing: the training mean stands in
    x[:, 2] = np.nan  # a feature missing everywhere
    model = LogisticRegression().fit(x, y)
    assert (model.predict(x) == y).mean() > 0.9


def _sets(shift: float, n: int = 120, seed: int = 0):
    rng = np.random.default_rng(seed)
    real = rng.normal(size=(n, 6))
    gen = rng.normal(size=(n, 6))
    gen[:, 0] += shift
    groups = [f"song{i // 3}" for i in range(n)]
    return real, gen, groups


def test_two_sample_test_tells_different_sets_apart():
    real, gen, groups = _sets(shift=3.0)
    result = two_sample_test(real, gen, groups, groups, feature_names=list("abcdef"), top=2)
    assert result["accuracy"] > 0.9 and result["k"] == 5 and result["n_real"] == 120
    assert result["telling"][0][0] == "a" and result["telling"][0][1] > 0 and len(result["telling"]) == 2
    assert len(result["folds"]) == 5 and result["std"] == pytest.approx(np.std(result["folds"]))


def test_two_sample_test_is_near_chance_for_one_distribution():
    accs = [two_sample_test(*_sets(shift=0.0, seed=s)[:2], *[_sets(0.0, seed=s)[2]] * 2)["accuracy"] for s in range(3)]
    assert all(0.35 < a < 0.65 for a in accs)
    assert abs(np.mean(accs) - 0.5) < 0.08


def test_genre_predictability_against_chance():
    rng = np.random.default_rng(1)
    genres = [g for g in ("pop", "rock", "jazz") for _ in range(20)]
    centres = {"pop": 0.0, "rock": 4.0, "jazz": 8.0}
    x = np.array([[centres[g] + rng.normal(), rng.normal()] for g in genres])
    result = genre_predictability(x, genres)
    assert result["accuracy"] > 0.9 and result["chance"] == pytest.approx(1 / 3) and result["genres"] == ["jazz", "pop", "rock"]
    noise = genre_predictability(rng.normal(size=(60, 2)), genres)
    assert noise["accuracy"] < 0.6
    with pytest.raises(CodeplayError, match="two genres"):
        genre_predictability(x[:5], ["pop"] * 5)


def test_velocity_features_left_out_when_the_real_corpus_has_one_velocity():
    """A corpus that plays one velocity everywhere (Nottingham) cannot be compared on dynamics: the velocity
    features would tell its velocity resolution, not the music, so the two-sample test leaves them out."""
    from codeplay_nb.evaluation_structure import comparable_features
    from codeplay_nb.evaluation_suite import _two_sample

    std = FEATURE_NAMES.index("velocity_std")
    rng = np.random.default_rng(0)

    def row(vel_std: float) -> list[float]:
        r = list(rng.normal(size=len(FEATURE_NAMES)))
        r[std], r[FEATURE_NAMES.index("velocity_mean")] = vel_std, 88.0 + vel_std
        return r

    flat = [row(0.0) for _ in range(40)]
    varied = [row(abs(float(rng.normal())) + 0.5) for _ in range(40)]
    assert len(comparable_features(flat)) == len(FEATURE_NAMES) - 2
    assert len(comparable_features(varied)) == len(FEATURE_NAMES)
    real = [{"features": r, "song": f"s{i % 10}"} for i, r in enumerate(flat)]
    clips = [{"features": r} for r in varied]  # differ only in their velocities
    result = _two_sample(real, clips)
    assert result["left_out"] == ["velocity_mean", "velocity_std"]
    assert result["accuracy"] < 0.75  # the velocities alone would tell them apart every time
