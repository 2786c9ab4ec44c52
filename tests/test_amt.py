"""Anticipatory Music Transformer backend: the published token layout, round trips, the cached sampler
against an uncached loop, and bar-native editing end to end with a tiny random GPT-2 (real vocabulary
and context; nothing is downloaded)."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from codeplay_nb.amt import config as C  # noqa: E402
from codeplay_nb.amt.editing import amt_extend, amt_infill, amt_regenerate_track  # noqa: E402
from codeplay_nb.amt.events import Event, interleave, pad_rests, piece_events  # noqa: E402
from codeplay_nb.amt.model import (  # noqa: E402
    AMTModelUnavailableError,
    amt_config,
    load_amt_model,
    tiny_amt_model,
)
from codeplay_nb.amt.roundtrip import amt_roundtrip, our_roundtrip, roundtrip_loss  # noqa: E402
from codeplay_nb.amt.sample import SampleSettings, generate  # noqa: E402
from codeplay_nb.amt.tokenizer import AMTTokenizer, event_ids  # noqa: E402
from codeplay_nb.errors import BarRangeError, CodeplayError, UnknownTrackError  # noqa: E402
from codeplay_nb.io import read_midi  # noqa: E402
from codeplay_nb.music import (  # noqa: E402
    ControlChange,
    Piece,
    PitchBend,
    Tempo,
    TimeSignature,
    Track,
    make_piece,
    slice_bars,
)
from codeplay_nb.tokenizers import get_tokenizer  # noqa: E402

DATA = Path(__file__).parent / "data"
POP909 = Path("/work/shared/data/pop909/001/001.mid")


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models are fastest on one thread (and the suite shares 2 cores)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tok():
    return AMTTokenizer()


@pytest.fixture(scope="module")
def model():
    return tiny_amt_model(0)


def _song(tpq: int = 480, qpm: float = 86.0) -> Piece:
    """8 bars of 4/4 at 86 BPM: piano chords with varied velocity, a bass line, drums; a pedal and a bend."""
    bar = 4 * tpq
    piano = [(p + (b % 4), 50 + 5 * (b % 5), b * bar + beat * tpq, tpq)
             for b in range(8) for beat in range(4) for p in (60, 64, 67)]
    bass = [(36 + (b % 4), 90, b * bar + h * 2 * tpq, 2 * tpq) for b in range(8) for h in range(2)]
    drums = [(36 if e % 4 == 0 else 42, 100, b * bar + e * tpq // 2, tpq // 4) for b in range(8) for e in range(8)]
    piece = make_piece([(0, False, piano), (33, False, bass), (0, True, drums)], tpq=tpq, qpm=qpm)
    piano_track = piece.tracks[0]
    piano_track = Track(piano_track.program, False, "Keys", piano_track.notes,
                        controls=(ControlChange(0, 64, 127), ControlChange(bar * 3, 64, 0)),
                        pitch_bends=(PitchBend(bar, 512),))
    return piece.replace(tracks=(piano_track, *piece.tracks[1:]), length=8 * bar)


# ---------------------------------------------------------------- published layout
def test_layout_constants_match_the_reference():
    assert (C.TIME_OFFSET, C.DURATION_OFFSET, C.NOTE_OFFSET, C.REST) == (0, 10000, 11000, 27512)
    assert (C.CONTROL_TIME_OFFSET, C.CONTROL_DURATION_OFFSET, C.CONTROL_NOTE_OFFSET) == (27513, 37513, 38513)
    assert (C.SEPARATOR, C.AUTOREGRESS, C.ANTICIPATE, C.VOCAB_SIZE) == (55025, 55026, 55027, 55028)
    assert C.CONTEXT_TOKENS == 1 + 3 * C.CONTEXT_EVENTS == 1024
    assert C.ANTICIPATION_INTERVAL_STEPS == 500 and C.STEPS_PER_SECOND == 100


def test_vocab_names(tok):
    assert tok.vocab_size == 55028
    assert tok.vocab[123] == "onset_123" and tok.vocab[10050] == "duration_50"
    assert tok.vocab[11060] == "note_0_60" and tok.vocab[27420] == "note_drums_36"
    assert tok.vocab[27512] == "rest" and tok.vocab[27613] == "control_onset_100"
    assert tok.vocab[55025:] == ["separator", "autoregress", "anticipate"]
    assert isinstance(get_tokenizer("amt"), AMTTokenizer)


def test_hand_checked_piano_note(tok):
    # 1.00 s at 120 BPM = tick 960; 0.5 s = 480 ticks; piano (program 0) pitch 60
    piece = make_piece([(0, False, [(60, 90, 960, 480)])], tpq=480, qpm=120)
    assert tok.encode(piece) == [C.AUTOREGRESS, 100, 10050, 11060]
    assert event_ids(tok.events(piece)) == [100, 10050, 11060]


def test_tempo_map_gives_seconds(tok):
    piece = make_piece([(0, False, [(60, 90, 0, 480)])], tpq=480, qpm=86)
    end = piece.bar_span(0, 3)[1]
    assert piece.seconds(end) == pytest.approx(11.16, abs=0.01)  # 4 bars of 4/4 at 86 BPM
    late = make_piece([(40, False, [(60, 90, end, 480)])], tpq=480, qpm=86)
    assert event_ids(tok.events(late)) == [1116, 10000 + 70, 11000 + 128 * 40 + 60]  # a quarter = 0.698 s


def test_drums_are_instrument_128(tok):
    piece = make_piece([(0, True, [(36, 100, 0, 240)])], tpq=480, qpm=120)
    assert tok.encode(piece)[1:] == [0, 10025, 11000 + 128 * 128 + 36]


def test_rest_pads_gaps_longer_than_a_second(tok):
    two = make_piece([(0, False, [(60, 90, 0, 480), (62, 90, 2400, 480)])], tpq=480, qpm=120)  # 0 s, 2.5 s
    assert tok.encode(two) == [C.AUTOREGRESS, 0, 10050, 11060, 100, 10000, C.REST, 200, 10000, C.REST,
                               250, 10050, 11062]
    exact = make_piece([(0, False, [(60, 90, 0, 480), (62, 90, 960, 480)])], tpq=480, qpm=120)  # gap = 1 s
    assert C.REST not in tok.encode(exact)
    assert pad_rests([Event(50, 10, 60)], end_time=320) == [Event(50, 10, 60), Event(150, 0, C.REST_NOTE),
                                                             Event(250, 0, C.REST_NOTE)]


def test_controls_use_the_anticipated_offsets_and_interleave_delta_ahead():
    assert event_ids([Event(100, 50, 60)], control=True) == [27613, 37563, 38573]
    events = [Event(t, 10, 60) for t in (0, 100, 200, 300)]
    controls = [Event(250, 10, 64), Event(700, 10, 67)]
    seq, left = interleave(events, controls)
    order = [(it.control, it.event.time) for it in seq]
    # 2.5 s <= delta: placed first; 7 s goes right after the first event at or after 2 s
    assert order == [(True, 250), (False, 0), (False, 100), (False, 200), (True, 700), (False, 300)]
    assert left == []
    _, left = interleave(events[:2], controls)
    assert left == [Event(700, 10, 67)]


def test_check_grammar(tok):
    good = [C.ANTICIPATE, 27613, 37563, 38573, 0, 10050, 11060, 100, 10000, C.REST]
    assert tok.check(good) == []
    assert tok.check([C.AUTOREGRESS, 10050, 0, 11060])  # wrong order in the triplet
    assert tok.check([C.AUTOREGRESS, 100, 10050, 11060, 50, 10050, 11060])  # time goes back
    assert tok.check([C.AUTOREGRESS, 27613, 37563, 38573])  # control in an autoregress sequence
    assert tok.check([C.AUTOREGRESS, 100, 10050])  # incomplete triplet
    assert tok.check([55028])


def test_long_piece_splits_into_100_second_segments(tok):
    piece = make_piece([(0, False, [(60, 90, 0, 480), (62, 90, 480 * 2 * 150, 480)])], tpq=480, qpm=120)
    ids = tok.encode(piece)  # second note at 150 s
    sep = ids.index(C.SEPARATOR)
    assert ids[sep:sep + 6] == [C.SEPARATOR] * 3 + [0, 10000, C.REST]  # the REST at 100 s, relative 0
    assert ids[-3:] == [5000, 10050, 11062]
    assert tok.check(ids) == []
    assert [e.time for e in tok.decode_events(ids) if not e.is_rest] == [0, 15000]


# ---------------------------------------------------------------- round trips on real music
def _real_pieces():
    paths = [DATA / "real_pop909_001_8bars.mid", DATA / "real_openmsx_tttheme2_8bars.mid",
             DATA / "tempo_change.mid", DATA / "drums_only.mid", POP909]
    return [p for p in paths if p.exists()]


@pytest.mark.parametrize("path", _real_pieces(), ids=lambda p: p.stem)
def test_roundtrip_real_files(tok, path):
    piece = read_midi(path)
    ids = tok.encode(piece)
    assert tok.check(ids) == []
    decoded = tok.decode(ids, piece)
    assert decoded.tempos == piece.tempos and decoded.tpq == piece.tpq
    def rows(p: Piece):
        return sorted((t.is_drum, 0 if t.is_drum else t.program, n.pitch, p.seconds(n.start))
                      for t in p.tracks for n in t.notes)

    orig, back = rows(piece), rows(decoded)
    assert [r[:3] for r in orig] == [r[:3] for r in back]  # instruments and pitches exact
    assert max((abs(a[3] - b[3]) for a, b in zip(orig, back, strict=True)), default=0.0) <= 0.0101  # onsets within 10 ms


def test_reference_roundtrip_loses_tempo_and_velocity_ours_keeps_them():
    piece = _song()
    ref, ours = amt_roundtrip(piece), our_roundtrip(piece)
    assert ref.tpq == C.REFERENCE_TICKS_PER_QUARTER and ref.tempos[0].qpm == 120.0
    assert {n.velocity for t in ref.tracks for n in t.notes} == {72}
    lost, kept = roundtrip_loss(piece, ref), roundtrip_loss(piece, ours)
    assert not lost["tempo_kept"] and lost["mean_velocity_error"] > 10
    assert lost["mean_onset_error_quarters"] > 0.5  # 86 BPM read as 120 BPM: bars drift
    assert kept["tempo_kept"] and kept["mean_velocity_error"] == 0 and kept["pitches_equal"]
    assert kept["max_onset_error_s"] <= 0.0051 and kept["bars"] == (8, 8)


# ---------------------------------------------------------------- sampler
def _sample_inputs():
    piece = _song()
    events = [s.event for s in piece_events(piece)]
    return [e for e in events if e.time < 600], [e for e in events if e.time >= 900]


def test_cached_sampler_matches_uncached_loop(model):
    prompt, controls = _sample_inputs()
    # a short history makes the window move (stride and span rules) several times in a short run
    s = SampleSettings(seed=7, history_events=40, stride_events=8, max_events=90, top_p=0.95)
    a = generate(model, start=600, end=10**7, prompt=prompt, controls=controls, settings=s)
    b = generate(model, start=600, end=10**7, prompt=prompt, controls=controls, settings=s, use_cache=False)
    assert len(a.sampled_ids) == 3 * 90
    assert a.sampled_ids == b.sampled_ids and a.events == b.events
    assert a.model_tokens * 4 < b.model_tokens  # the cache is actually used


def test_sampler_grammar_seed_and_instrument_mask(model, tok):
    prompt, controls = _sample_inputs()
    s = SampleSettings(seed=3, max_events=60)
    a = generate(model, start=600, end=2000, prompt=prompt, controls=controls, instruments={33}, settings=s)
    assert a.events and all(e.instrument == 33 for e in a.events)
    assert all(600 <= e.time < 2000 for e in a.events)
    assert [e.time for e in a.events] == sorted(e.time for e in a.events)
    ids = a.sampled_ids
    for t, d, n in zip(ids[0::3], ids[1::3], ids[2::3], strict=True):
        assert t < C.DURATION_OFFSET <= d < C.NOTE_OFFSET <= n <= C.REST
    assert generate(model, start=600, end=2000, prompt=prompt, controls=controls, instruments={33},
                    settings=s).sampled_ids == ids
    other = SampleSettings(seed=4, max_events=60)
    assert generate(model, start=600, end=2000, prompt=prompt, controls=controls, instruments={33},
                    settings=other).sampled_ids != ids
    with pytest.raises(ValueError):
        SampleSettings(top_p=0)


def test_untouched_random_model_has_real_shape():
    m = tiny_amt_model(1, mean_step_seconds=None)
    assert m.config.vocab_size == 55028 and m.config.n_positions == 1024
    r = generate(m, start=0, end=500, settings=SampleSettings(seed=0, max_events=5))
    assert all(0 <= e.time < 500 for e in r.events)


# ---------------------------------------------------------------- bar-native editing
def _same_outside(before: Piece, after: Piece, start: int, end: int, edited: set[int]) -> None:
    for i, (a, b) in enumerate(zip(before.tracks, after.tracks, strict=True)):
        keep_a = [n for n in a.notes if i not in edited or not start <= n.start < end]
        keep_b = [n for n in b.notes if i not in edited or not start <= n.start < end]
        assert keep_a == keep_b
        assert (a.controls, a.pitch_bends, a.name) == (b.controls, b.pitch_bends, b.name)
    assert (after.tempos, after.time_signatures, after.tpq, after.key_signatures) == \
        (before.tempos, before.time_signatures, before.tpq, before.key_signatures)


def _new_notes(before: Piece, after: Piece) -> list[tuple[int, object]]:
    return [(i, n) for i, t in enumerate(after.tracks) for n in t.notes
            if i >= len(before.tracks) or n not in set(before.tracks[i].notes)]


def _on_grid(piece: Piece, notes, start: int, end: int) -> None:
    grid = piece.tpq // 12
    for _, n in notes:
        assert start <= n.start < end and n.end <= end
        assert (n.start - start) % grid == 0 and n.duration >= 1


def test_extend_adds_bars_after_the_piece(model):
    piece = _song()
    out = amt_extend(piece, 2, model=model, seed=1)
    start, end = piece.bar_span(8, 9)
    assert out.n_bars == 10 and out.length == end
    _same_outside(piece, out, start, end, set(range(3)))
    new = _new_notes(piece, out)
    assert new and len(out.tracks) == 3
    _on_grid(piece, new, start, end)
    vels = {i: {n.velocity for n in t.notes} for i, t in enumerate(piece.tracks)}
    assert all(n.velocity in vels[i] for i, n in new)  # medians of real neighbours
    assert amt_extend(piece, 2, model=model, seed=1) == out
    assert amt_extend(piece, 2, model=model, seed=2) != out


def test_infill_rewrites_only_the_span_of_the_chosen_tracks(model):
    piece = _song()
    start, end = piece.bar_span(2, 4)
    out = amt_infill(piece, 2, 4, tracks=[1], model=model, seed=5)
    _same_outside(piece, out, start, end, {1})
    assert out.tracks[0] == piece.tracks[0] and out.tracks[2] == piece.tracks[2]
    new = _new_notes(piece, out)
    assert new and {i for i, _ in new} == {1}
    _on_grid(piece, new, start, end)
    assert out.length == piece.length and out.n_bars == piece.n_bars
    every = amt_infill(piece, 3, 3, model=model, seed=5)
    s3, e3 = piece.bar_span(3, 3)
    _same_outside(piece, every, s3, e3, {0, 1, 2})
    _on_grid(piece, _new_notes(piece, every), s3, e3)
    assert amt_infill(piece, 2, 4, tracks=[1], model=model, seed=5) == out


def test_regenerate_track_keeps_the_others_and_forces_the_instrument(model):
    piece = _song()
    out = amt_regenerate_track(piece, 1, program=38, model=model, seed=2)
    assert out.tracks[0] == piece.tracks[0] and out.tracks[2] == piece.tracks[2]
    assert out.tracks[1].program == 38 and not out.tracks[1].is_drum
    assert out.tracks[1].notes and out.tracks[1].notes != piece.tracks[1].notes
    _on_grid(piece, [(1, n) for n in out.tracks[1].notes], 0, piece.length)
    assert {n.velocity for n in out.tracks[1].notes} == {90}  # the bass's own velocity
    drums = amt_regenerate_track(piece, 0, is_drum=True, model=model, seed=2)
    assert drums.tracks[0].is_drum and drums.tracks[1:] == piece.tracks[1:]


def test_editing_real_excerpt_with_three_piano_tracks(model):
    path = DATA / "real_pop909_001_8bars.mid"
    if not path.exists():
        pytest.skip("fixture missing")
    piece = read_midi(path)
    out = amt_infill(piece, 4, 5, model=model, seed=0)
    start, end = piece.bar_span(4, 5)
    _same_outside(piece, out, start, end, set(range(len(piece.tracks))))
    assert len(out.tracks) == len(piece.tracks)
    _on_grid(piece, _new_notes(piece, out), start, end)


def test_editing_errors(model):
    piece = _song()
    with pytest.raises(BarRangeError):
        amt_infill(piece, 6, 9, model=model)
    with pytest.raises(UnknownTrackError):
        amt_infill(piece, 0, 1, tracks=[5], model=model)
    with pytest.raises(UnknownTrackError):
        amt_regenerate_track(piece, 3, model=model)
    with pytest.raises(CodeplayError):
        amt_extend(piece, 0, model=model)
    with pytest.raises(CodeplayError):
        amt_extend(piece, 1, model=model, top_p=1.5)


def test_editing_a_slice_with_tempo_and_signature_changes(model):
    path = DATA / "ts_change.mid"
    if not path.exists():
        pytest.skip("fixture missing")
    piece = read_midi(path).replace(tempos=(Tempo(0, 100.0), Tempo(1920, 70.0)))
    out = amt_extend(piece, 2, model=model, seed=3)
    start, end = piece.bar_span(piece.n_bars, piece.n_bars + 1)
    _same_outside(piece, out, start, end, set(range(len(piece.tracks))))
    _on_grid(piece, _new_notes(piece, out), start, end)
    assert out.time_signatures == piece.time_signatures and out.tempos == piece.tempos


def test_empty_piece_extend_adds_tracks(model):
    piece = Piece(time_signatures=(TimeSignature(0, 3, 4),))
    out = amt_extend(piece, 2, model=model, seed=0)
    assert out.n_bars == 2 and out.length == piece.bar_span(0, 1)[1]
    assert all(t.notes for t in out.tracks)


def test_pop909_slice_regenerate_melody(model):
    if not POP909.exists():
        pytest.skip("POP909 not on this machine")
    piece = slice_bars(read_midi(POP909), 8, 11)
    out = amt_regenerate_track(piece, 0, model=model, seed=1)
    assert out.tracks[1:] == piece.tracks[1:] and out.tempos == piece.tempos
    assert all(n.start % (piece.tpq // 12) == 0 for n in out.tracks[0].notes)


# ---------------------------------------------------------------- loading
def test_load_without_internet_says_what_to_do():
    with pytest.raises(AMTModelUnavailableError, match="huggingface-cli download"):
        load_amt_model("stanford-crfm/music-small-800k", local_files_only=True)


def test_load_local_folder_and_reject_other_models(tmp_path, model):
    model.save_pretrained(tmp_path / "tiny")
    loaded = load_amt_model(tmp_path / "tiny", device="cpu")
    assert loaded.config.vocab_size == 55028
    from transformers import GPT2Config, GPT2LMHeadModel

    GPT2LMHeadModel(GPT2Config(vocab_size=100, n_positions=64, n_embd=8, n_layer=1, n_head=1)).save_pretrained(
        tmp_path / "other")
    with pytest.raises(AMTModelUnavailableError, match="not an arrival-time"):
        load_amt_model(tmp_path / "other", device="cpu")
    with pytest.raises(AMTModelUnavailableError, match=r"config\.json"):
        load_amt_model(tmp_path, device="cpu")
    assert amt_config(layers=1, width=8, heads=1).vocab_size == 55028
