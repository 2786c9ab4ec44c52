"""``compose`` with the tiny random model and a stub classifier: every output has exactly the requested bars,
tempo, time signature and instruments (100% over 50 random requests), seeds reproduce bytes, bad input
is a CodeplayError."""

from __future__ import annotations

import io
import random

import pytest

from codeplay_nb.attributes import EMOTIONS, GENRES, KEYS, Attributes
from codeplay_nb.composer import compose
from codeplay_nb.errors import CodeplayError, UnknownInstrumentError
from codeplay_nb.instruments import FAMILY_NAMES, parse_instrument
from codeplay_nb.music import Tempo, TimeSignature

METERS = ("3/4", "4/4", "6/8", "7/8", "2/4", "5/4")


def stub_classifier(prompt: str) -> Attributes:
    """Stands in for the text classifier: a fixed guess that explicit arguments must override."""
    return Attributes(genre="jazz", emotion="calm", bpm=70, instruments=("organ",), time_signature=(4, 4))


def _random_request(rng: random.Random) -> dict:
    n = rng.randint(1, 4)
    names: list = rng.sample(FAMILY_NAMES, n)
    if rng.random() < 0.3:  # an exact GM program number or name
        names[0] = rng.choice([40, 56, "Flute", "Electric Bass (finger)", 11])
    return dict(
        bars=rng.choice((1, 1, 2, 2, 3, 4, 5)),
        genre=rng.choice([*GENRES, None]),
        emotion=rng.choice([*EMOTIONS, None]),
        tempo=rng.choice((40, 41.5, 63, 90, 110.5, 128, 155, 200)),
        instruments=names,
        key=rng.choice([*KEYS, None]),
        time_signature=rng.choice(METERS),
        seed=rng.randrange(10_000),
    )


def _expected_specs(instruments) -> set[tuple[int, bool]]:
    return {parse_instrument(i) for i in instruments}


def _check(song, req) -> list[str]:
    p = song.piece
    problems = []
    num, den = (int(x) for x in req["time_signature"].split("/"))
    if p.n_bars != req["bars"]:
        problems.append(f"{p.n_bars} bars, asked {req['bars']}")
    if p.length != p.bar_span(req["bars"] - 1)[1]:
        problems.append("length is not on the last bar line")
    if p.tempos != (Tempo(0, float(req["tempo"])),):
        problems.append(f"tempo {p.tempos}")
    if p.time_signatures != (TimeSignature(0, num, den),):
        problems.append(f"meter {p.time_signatures}")
    got = {(t.program, t.is_drum) for t in p.tracks}
    if got != _expected_specs(req["instruments"]) or len(got) != len(p.tracks):
        problems.append(f"instruments {got}")
    if not all(t.notes for t in p.tracks):
        problems.append("a requested instrument has no notes")
    if any(n.end > p.length for t in p.tracks for n in t.notes):
        problems.append("a note rings past the end")
    return problems


def test_fifty_random_requests_are_all_exact(tiny_model):
    rng = random.Random(2024)
    failures = []
    for i in range(50):
        req = _random_request(rng)
        song = compose("some music", model=tiny_model, classify_fn=stub_classifier, **req)
        problems = _check(song, req)
        if problems:
            failures.append((i, req, problems))
        # what is written to MIDI reads back the same way
        if i % 10 == 0:
            from codeplay_nb.io import read_midi

            buf = io.BytesIO(song.to_midi_bytes())
            path = f"/tmp/_compose_{i}.mid"
            with open(path, "wb") as f:
                f.write(buf.getvalue())
            back = read_midi(path)
            assert back.n_bars == req["bars"] and back.tempos[0].qpm == pytest.approx(req["tempo"], abs=1e-3)
    assert failures == [], f"{len(failures)}/50 requests not met: {failures[:3]}"


@pytest.mark.parametrize("bars", [1, 4, 12])
def test_bar_counts_including_the_sliding_window(tiny_model, bars):
    req = dict(bars=bars, tempo=96, instruments=["piano", "bass", "drums"], time_signature="3/4", seed=5)
    song = compose(model=tiny_model, **req)
    assert _check(song, req) == []
    if bars > 4:  # each 4-bar unit after the first was generated (the grammar demands notes in it)
        p = song.piece
        for first in range(4, bars, 4):
            s, e = p.bar_span(first, min(first + 3, bars - 1))
            assert any(s <= n.start < e for t in p.tracks for n in t.notes), first


def test_explicit_attributes_override_the_classifier(tiny_model):
    song = compose("a calm jazz organ piece", genre="rock", emotion="tense", tempo=150, instruments="guitar,drums",
                   key="E minor", time_signature="6/8", model=tiny_model, classify_fn=stub_classifier, seed=1)
    a = song.attributes
    assert (a.genre, a.emotion, a.bpm, a.time_signature, a.key) == ("rock", "tense", 150.0, (6, 8), "E minor")
    assert a.instruments == ("guitar", "drums")
    assert song.piece.key_signatures[0].key == "E minor"
    # and what the classifier says is used when nothing overrides it
    guess = compose("anything", bars=1, model=tiny_model, classify_fn=stub_classifier, seed=1)
    assert guess.piece.tempos[0].qpm == 70.0
    assert {(t.program, t.is_drum) for t in guess.piece.tracks} == {parse_instrument("organ")}
    assert guess.attributes.genre == "jazz"


def test_an_instrument_named_twice_is_two_tracks(tiny_model):
    song = compose(None, bars=2, instruments="piano, piano, bass", tempo=100, model=tiny_model, seed=3)
    assert [(t.program, t.is_drum) for t in song.piece.tracks] == [(0, False), (0, False), (33, False)]
    assert song.attributes.instruments == ("piano", "bass")  # the families asked for, once each
    for t in song.piece.tracks:  # every requested track plays in every bar
        assert {song.piece.bar_of(n.start) for n in t.notes} == {0, 1}
    # two words for one instrument are one track
    assert len(compose(None, bars=1, instruments="flute, woodwinds", model=tiny_model, seed=3).piece.tracks) == 1
    # a prompt's instruments stay one track per family
    one = compose("piano and bass", bars=1, model=tiny_model, classify_fn=stub_classifier, seed=3)
    assert len({(t.program, t.is_drum) for t in one.piece.tracks}) == len(one.piece.tracks)


def test_same_seed_gives_byte_identical_midi(tiny_model):
    kw = dict(bars=5, genre="pop", tempo=120, instruments=["piano", "bass", "drums"], key="C major", seed=42,
              model=tiny_model)
    a, b = compose(**kw), compose(**kw)
    assert a.to_midi_bytes() == b.to_midi_bytes()
    assert a.seed == b.seed == 42
    c = compose(**{**kw, "seed": 43})
    assert c.to_midi_bytes() != a.to_midi_bytes()


def test_no_seed_records_the_seed_that_reproduces_it(tiny_model):
    a = compose(bars=1, instruments="piano", model=tiny_model)
    assert isinstance(a.seed, int)
    b = compose(bars=1, instruments="piano", model=tiny_model, seed=a.seed)
    assert a.to_midi_bytes() == b.to_midi_bytes()


@pytest.mark.parametrize("kwargs,error,needle", [
    (dict(bars=0), CodeplayError, "bars"),
    (dict(bars=65), CodeplayError, "bars"),
    (dict(bars=2.5), CodeplayError, "bars"),
    (dict(tempo=5), CodeplayError, "tempo"),
    (dict(tempo="speedy"), CodeplayError, "tempo"),
    (dict(instruments=["piano", "banana"]), UnknownInstrumentError, "banana"),
    (dict(instruments=[200]), UnknownInstrumentError, "0 to 127"),
    (dict(key="H major"), CodeplayError, "H"),
    (dict(key="C dorian"), CodeplayError, "key"),
    (dict(prompt="   "), CodeplayError, "prompt is empty"),
    (dict(genre="polka"), CodeplayError, "genre"),
    (dict(time_signature="4-4"), CodeplayError, "3/4"),
    (dict(time_signature="4/5"), CodeplayError, "not supported"),
])
def test_bad_input_raises_a_codeplay_error(tiny_model, kwargs, error, needle):
    with pytest.raises(error, match=needle):
        compose(model=tiny_model, classify_fn=stub_classifier, **kwargs)
