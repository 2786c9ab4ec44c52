"""A genre for a request that names none, drawn from the training windows (model/genre_plan.py), and the
composer's ``auto_genre``: the chosen genre conditions the model, is kept in the song and stays a plan."""

from __future__ import annotations

import numpy as np
import pytest

from codeplay_nb import compose
from codeplay_nb.attributes import Attributes
from codeplay_nb.model.config import decoding_overrides
from codeplay_nb.model.genre_plan import choose_genre, genre_posterior, genre_stats, request_features
from codeplay_nb.tokenizers.nnn import NNNTokenizer


def _write(folder, windows):
    """Each window: (genre, key, ts, programs) as a header and empty tracks."""
    tok = NNNTokenizer()
    ids, offsets = [], [0]
    for genre, key, ts, programs in windows:
        fams = {"drums" if p is None else ("bass" if 32 <= p < 40 else "piano") for p in programs}
        head = tok.header_tokens(Attributes(genre=genre, key=key), 4, fams, 110.0, ts)
        body = [t for p in programs for t in ("TRACK", "PROG_DRUMS" if p is None else f"PROG_{p}", "TRACK_END")]
        ids += tok.ids([*head, *body, "EOS"])
        offsets.append(len(ids))
    np.asarray(ids, dtype=np.uint16).tofile(folder / "train.bin")
    np.save(folder / "train.idx.npy", np.asarray(offsets, dtype=np.int64))


@pytest.fixture
def stats(tmp_path):
    _write(tmp_path, [("folk", "G major", (6, 8), [0, 0])] * 6 + [("pop", "C major", (4, 4), [0, 33, None])] * 6
           + [("pop", "A minor", (4, 4), [0, 0])] * 2 + [(None, "C major", (4, 4), [0])] * 5)
    return genre_stats(tmp_path)


def test_windows_are_counted_per_genre_and_feature(stats):
    assert stats["genres"] == {"folk": 6, "pop": 8}  # windows without a genre are not counted
    assert stats["features"]["ensemble"] == {"folk": {"piano2": 6}, "pop": {"piano1+bass1+drums1": 6, "piano2": 2}}
    assert stats["features"]["ts"]["folk"] == {"6/8": 6}
    assert stats["features"]["mode"]["pop"] == {"major": 6, "minor": 2}


def test_posterior_follows_what_was_asked(stats):
    jig = genre_posterior(stats, request_features(["piano", "piano"], (6, 8), None, "major", None))
    band = genre_posterior(stats, request_features(["piano", "bass", "drums"], (4, 4), None, None, None))
    assert jig["folk"] > 0.9 and band["pop"] > 0.9
    assert abs(sum(jig.values()) - 1) < 1e-9
    assert genre_posterior(stats, {}) == pytest.approx({"folk": 6 / 14, "pop": 8 / 14})  # nothing asked: the prior
    assert genre_posterior(stats, {}, known=["pop", "jazz"]) == {"pop": 1.0}
    assert genre_posterior({"genres": {}}, {}) == {} and choose_genre({"genres": {}}, {}, 0) is None


def test_choice_is_seeded_and_drawn_in_proportion(stats):
    feats = request_features(["piano", "piano"], (4, 4), None, None, None)
    assert choose_genre(stats, feats, 7) == choose_genre(stats, feats, 7)
    draws = [choose_genre(stats, feats, s) for s in range(400)]
    share = draws.count("pop") / len(draws)
    expected = genre_posterior(stats, feats)["pop"]
    assert abs(share - expected) < 0.08 and 0.05 < expected < 0.95


@pytest.fixture
def planning_model(tiny_model_with, stats):
    manifest = {**tiny_model_with().info.get("manifest", {}), "genres": ["folk", "pop"]}
    return tiny_model_with(genre_stats=stats, manifest=manifest)


def test_compose_chooses_a_genre_only_when_none_is_asked_and_keeps_it_a_plan(planning_model):
    with decoding_overrides(auto_genre=1, chosen_genre_guidance=1):
        song = compose(instruments="piano,piano", time_signature="6/8", key="G major", bars=2, seed=1,
                       model=planning_model)
        asked = compose(instruments="piano,piano", genre="pop", bars=2, seed=1, model=planning_model)
    assert song.attributes.genre == "folk" and song.versions[0].params["genre_chosen"] == "folk"
    assert song._plan()["guidance"] == 1.0  # an edit of the song guides the chosen genre as compose did
    assert asked.attributes.genre == "pop" and "genre_chosen" not in asked.versions[0].params
    assert "guidance" not in asked._plan()
    with decoding_overrides(auto_genre=0):
        off = compose(instruments="piano,piano", time_signature="6/8", bars=2, seed=1, model=planning_model)
    assert off.attributes.genre is None


def test_summary_says_a_chosen_genre_was_chosen(planning_model):
    from widgets.layout import summary_html

    with decoding_overrides(auto_genre=1):
        song = compose(instruments="piano,piano", time_signature="6/8", bars=2, seed=1, model=planning_model)
        asked = compose(instruments="piano,piano", genre="folk", bars=2, seed=1, model=planning_model)
    assert "genre folk (chosen from the instruments, meter and tempo)" in summary_html(song)
    assert "genre folk" in summary_html(asked) and "chosen from the instruments" not in summary_html(asked)
