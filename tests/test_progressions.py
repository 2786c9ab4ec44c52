"""Chord progressions learned from the training windows' chord lanes (model/progressions.py) and their use
when a piece has a key but no chords asked for."""

from __future__ import annotations

import numpy as np
import pytest

from codeplay_nb.attributes import Attributes
from codeplay_nb.model.progressions import progression_stats, sample_progression
from codeplay_nb.tokenizers.nnn import NNNTokenizer


def _write_windows(folder, windows):
    tok = NNNTokenizer()
    ids = []
    for key, chords in windows:
        head = tok.header_tokens(Attributes(key=key, chords=chords), len(chords), {"piano"}, 100.0, (4, 4))
        ids += tok.ids(head)
    np.asarray(ids, dtype=np.uint16).tofile(folder / "train.bin")


@pytest.fixture
def stats(tmp_path):
    # the same progression in two keys (I-vi-IV-V), a minor one (i-VI-VII-i), and a window without a key
    _write_windows(tmp_path, [
        ("C major", ("C_maj", "A_min", "F_maj", "G_maj")),
        ("D major", ("D_maj", "B_min", "G_maj", "A_maj")),
        ("A minor", ("A_min", "F_maj", "G_maj", "A_min")),
        (None, ("E_maj", "E_maj", "E_maj", "E_maj")),
    ])
    return progression_stats(tmp_path)


def test_transitions_are_counted_relative_to_the_key(stats):
    major = stats["major"]
    assert major["start"] == {"0_maj": 2}
    assert major["next"] == {"0_maj": {"9_min": 2}, "9_min": {"5_maj": 2}, "5_maj": {"7_maj": 2}}
    assert stats["minor"]["next"] == {"0_min": {"8_maj": 1}, "8_maj": {"10_maj": 1}, "10_maj": {"0_min": 1}}


def test_sampled_progression_follows_the_data_opens_and_closes_at_home(stats):
    chords = sample_progression("E major", 8, stats, seed=5)
    # E major: I vi IV V (the only path the data knows), repeated, last bar back to I
    assert chords == ("E_maj", "C#_min", "A_maj", "B_maj", "E_maj", "C#_min", "A_maj", "E_maj")
    assert sample_progression("E major", 8, stats, seed=5) == chords  # deterministic
    assert sample_progression("B minor", 3, stats, seed=1) == ("B_min", "G_maj", "B_min")
    assert sample_progression("C major", 1, stats, seed=1) == ("C_maj",)
    assert sample_progression("C major", 4, {}, seed=1) is None


def test_compose_follows_a_learned_progression_unless_switched_off(tiny_model):
    from codeplay_nb import compose
    from codeplay_nb.model.config import decoding_overrides

    stats = {"major": {"start": {"0_maj": 1}, "next": {"0_maj": {"5_maj": 1}, "5_maj": {"7_7": 1}, "7_7": {"0_maj": 1}}}}
    tiny_model.info["progressions"] = stats
    try:
        with decoding_overrides(auto_chords=0):
            off = compose(bars=4, instruments=["piano"], key="G major", seed=2, model=tiny_model)
        assert off.attributes.chords is None
        with decoding_overrides(auto_chords=1):  # the default
            on = compose(bars=4, instruments=["piano"], key="G major", seed=2, model=tiny_model)
            asked = compose(bars=4, instruments=["piano"], key="G major", seed=2, model=tiny_model, chords="Em")
            with decoding_overrides(auto_key=0):
                no_key = compose(bars=4, instruments=["piano"], seed=2, model=tiny_model)
    finally:
        del tiny_model.info["progressions"]
    assert on.attributes.chords == ("G_maj", "C_maj", "D_7", "G_maj")
    assert asked.attributes.chords == ("E_min",) * 4  # what the person asks for wins
    assert no_key.attributes.chords is None


def test_chosen_chords_get_their_own_chord_tone_strength(tiny_model):
    """A learned progression is a plan: its chord tones get ``chosen_chord_tone_bonus``; asked chords get
    ``chord_tone_bonus``."""
    from codeplay_nb import compose
    from codeplay_nb.chords import chord_pitch_classes
    from codeplay_nb.model.config import SHAPING_KNOBS, decoding_overrides

    stats = {"major": {"start": {"0_maj": 1}, "next": {"0_maj": {"5_maj": 1}, "5_maj": {"7_7": 1}, "7_7": {"0_maj": 1}}}}

    def chord_share(song):
        p = song.piece
        notes = [(p.bar_of(n.start), n.pitch) for t in p.tracks for n in t.notes]
        return np.mean([pitch % 12 in chord_pitch_classes(song.attributes.chords[b]) for b, pitch in notes])

    # the line-shaping, phrase and degree pulls off: they pull notes off a chord (a repeated chord tone, an
    # echo of a bar with another chord)
    off = dict.fromkeys(SHAPING_KNOBS, 0.0)  # the line-shaping, phrase, degree and grid pulls
    tiny_model.info["progressions"] = stats
    try:
        kw = dict(bars=8, instruments=["piano", "strings"], key="G major", seed=4, model=tiny_model)
        with decoding_overrides(chosen_chord_tone_bonus=0, chord_tone_bonus=8, out_of_key_penalty=0, **off):
            weak = compose(**kw)
            asked = compose(**kw, chords="G C D7 G")
        with decoding_overrides(chosen_chord_tone_bonus=8, chord_tone_bonus=0, out_of_key_penalty=0, **off):
            strong = compose(**kw)
            asked_weak = compose(**kw, chords="G C D7 G")
    finally:
        del tiny_model.info["progressions"]
    assert weak.attributes.chords == strong.attributes.chords == asked.attributes.chords
    assert chord_share(strong) > 0.9 > chord_share(weak)
    assert chord_share(asked) > 0.9 > chord_share(asked_weak)


def test_annotated_bar_chords_add_up_each_chords_segments_in_a_bar():
    from codeplay_nb.chords import annotated_bar_chords
    from codeplay_nb.music import Piece

    bar = 4 * 480
    piece = Piece(tracks=(), tpq=480).replace(length=2 * bar)
    # bar 0: A:min 1 beat + F:maj 1.5 beats + A:min 1.5 beats -> A minor (2.5 beats) although F holds the
    # longest single stretch; bar 1: nothing annotated after the first beat's G
    changes = [(0, "A:min"), (480, "F:maj"), (1200, "A:min"), (bar, "G:7"), (bar + 480, "N")]
    assert annotated_bar_chords(piece, changes, 2) == ("A_min", "N")
    assert annotated_bar_chords(piece, changes[:4], 2) == ("A_min", "G_7")


def test_auto_key_chooses_the_emotions_mode_and_then_a_progression(tiny_model):
    from codeplay_nb import compose
    from codeplay_nb.model.config import decoding_overrides

    stats = {"minor": {"start": {"0_min": 1}, "next": {"0_min": {"8_maj": 1}, "8_maj": {"0_min": 1}}}}
    tiny_model.info["progressions"] = stats
    try:
        with decoding_overrides(auto_key=1):
            sad = [compose(bars=2, instruments=["piano"], emotion="sad", seed=s, model=tiny_model) for s in range(6)]
            again = compose(bars=2, instruments=["piano"], emotion="sad", seed=3, model=tiny_model)
            happy = compose(bars=2, instruments=["piano"], emotion="happy", seed=3, model=tiny_model)
            asked = compose(bars=2, instruments=["piano"], emotion="sad", key="E major", seed=3, model=tiny_model)
        with decoding_overrides(auto_key=0):
            off = compose(bars=2, instruments=["piano"], emotion="sad", seed=3, model=tiny_model)
    finally:
        del tiny_model.info["progressions"]
    assert all(s.attributes.key.endswith(" minor") for s in sad)
    assert len({s.attributes.key for s in sad}) > 1  # the tonic varies with the seed ...
    assert again.attributes.key == sad[3].attributes.key and again.piece == sad[3].piece  # ... deterministically
    assert sad[3].versions[-1].params["key_chosen"] is True
    tonic = sad[3].attributes.key.split()[0]
    assert sad[3].attributes.chords[0] == f"{tonic}_min"  # the learned progression follows the chosen key
    assert happy.attributes.key.endswith(" major") and happy.attributes.chords is None  # no major statistics
    assert asked.attributes.key == "E major" and "key_chosen" not in asked.versions[-1].params
    assert off.attributes.key is None


def test_a_chosen_key_conditions_the_model_without_the_key_biases(tiny_model):
    """``chosen_key_bias`` scales the key biases for a key the model chose: at 0 the clip is the one an asked key
    gives with every key bias off; at 1, the one an asked key gives with the biases on."""
    from codeplay_nb import compose
    from codeplay_nb.model.config import decoding_overrides

    kw = dict(bars=4, instruments=["piano", "bass"], emotion="sad", seed=5, model=tiny_model)
    biases_off = dict(out_of_key_penalty=0, tonic_bonus=0, tonic_bonus_on_beat=0, third_bonus=0, fifth_bonus=0)
    with decoding_overrides(auto_key=1, chosen_key_bias=0):
        chosen = compose(**kw)
    key = chosen.attributes.key
    with decoding_overrides(auto_key=1, **biases_off):
        plain = compose(**kw, key=key)
    with decoding_overrides(auto_key=1, chosen_key_bias=1):
        chosen_full = compose(**kw)
    with decoding_overrides(auto_key=1):
        asked = compose(**kw, key=key)
    assert chosen.piece == plain.piece and chosen_full.piece == asked.piece
    assert chosen.piece != asked.piece  # the biases do change the notes
    # an edit of the song keeps the chosen key a plan: extending it is extending the unbiased clip
    with decoding_overrides(auto_key=1, chosen_key_bias=0):
        longer = chosen.branch().extend(4, seed=9, model=tiny_model).piece
    with decoding_overrides(auto_key=1, **biases_off):
        longer_plain = plain.branch().extend(4, seed=9, model=tiny_model).piece
    with decoding_overrides(auto_key=1):
        longer_asked = plain.branch().extend(4, seed=9, model=tiny_model).piece
    assert longer.n_bars == 8 and longer == longer_plain != longer_asked


def test_cli_says_which_key_it_chose(tmp_path, capsys):
    from codeplay_nb.cli import main
    from codeplay_nb.model.config import decoding_overrides

    with decoding_overrides(auto_key=1):
        assert main(["compose", "a sad piano ballad", "--bars", "2", "--seed", "1",
                     "--out", str(tmp_path / "a.mid")]) == 0
    out = capsys.readouterr().out
    assert "key: " in out and " minor (chosen from the emotion; --key to choose your own)" in out
    assert main(["compose", "a sad piano ballad", "--bars", "2", "--seed", "1", "--key", "D minor",
                 "--out", str(tmp_path / "b.mid")]) == 0
    assert "chosen from the emotion" not in capsys.readouterr().out
