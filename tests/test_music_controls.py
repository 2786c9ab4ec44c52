"""The music model's controls, checked on the tiny random model (the grammar makes them hold for any
weights): every requested track in every bar, family registers, one bass note per onset, density levels,
the chord lane in the prompt (and kept around infill/extend), MIDI files as long as asked."""

from __future__ import annotations

import io
import itertools
from collections import Counter
from dataclasses import replace

import mido
import pytest

from codeplay_nb import compose
from codeplay_nb.attributes import Attributes
from codeplay_nb.chords import parse_chords
from codeplay_nb.editing import extend, window_attributes
from codeplay_nb.errors import CodeplayError
from codeplay_nb.generation import density_bin_for
from codeplay_nb.model.config import SHAPING_KNOBS
from codeplay_nb.music import Note, Piece, Track, make_piece
from codeplay_nb.tokenizers.nnn import NNNTokenizer, density_bin

RANGES = {"bass": {"lo": 28, "hi": 52}, "piano": {"lo": 45, "hi": 84}}


@pytest.fixture
def ranged_model(tiny_model_with):
    """The tiny model with family registers, as a trained checkpoint carries them (family_ranges.json)."""
    return tiny_model_with(family_ranges=RANGES)


def _bar_counts(piece: Piece, track: Track) -> list[int]:
    return [sum(1 for n in track.notes if piece.bar_of(n.start) == b) for b in range(piece.n_bars)]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_requested_track_plays_in_every_bar(ranged_model, seed):
    song = compose(instruments="piano,bass,drums", bars=8, seed=seed, model=ranged_model, tempo=110)
    p = song.piece
    assert p.n_bars == 8
    for t in p.tracks:
        assert min(_bar_counts(p, t)) >= 1, (t.name, _bar_counts(p, t))


def test_rests_allowed_on_request_still_gives_each_track_notes(ranged_model):
    song = compose(instruments="piano,bass", bars=4, seed=3, model=ranged_model, tempo=100, rests=True)
    assert all(t.notes for t in song.piece.tracks)


def test_registers_and_one_bass_note_per_onset(ranged_model):
    song = compose(instruments="piano,bass", bars=4, seed=4, model=ranged_model, tempo=100)
    piano, bass = song.piece.tracks
    assert all(28 <= n.pitch <= 52 for n in bass.notes)
    assert all(45 <= n.pitch <= 84 for n in piano.notes)
    assert max(Counter(n.start for n in bass.notes).values()) == 1


def test_density_level_sets_the_density_token(ranged_model):
    tok = ranged_model.tokenizer
    seen = []
    compose(instruments="piano,drums", bars=2, seed=5, model=ranged_model, tempo=100, density="high",
            on_token=seen.append)
    dens = [tok.vocab[i] for i in seen if tok.vocab[i].startswith("DENS_")]
    assert dens == [f"DENS_{density_bin_for('high', False)}", f"DENS_{density_bin_for('high', True)}"]
    assert density_bin_for("auto", False) is None
    with pytest.raises(CodeplayError, match="density"):
        compose(instruments="piano", bars=2, seed=5, model=ranged_model, density="loud")


def test_density_levels_are_ordered():
    lo, mid, hi = (density_bin_for(x, False) for x in ("low", "medium", "high"))
    assert lo < mid < hi
    assert density_bin(3) == lo  # 3 notes a bar reads as "low"


def test_chords_reach_the_prompt_and_the_song(ranged_model):
    tok = ranged_model.tokenizer
    song = compose(instruments="piano", bars=6, seed=6, model=ranged_model, tempo=100, chords="Am F C G")
    assert song.attributes.chords == ("A_min", "F_maj", "C_maj", "G_maj", "A_min", "F_maj")
    header = tok.header_tokens(replace(Attributes(), chords=song.attributes.chords[:4]), 4, ["piano"], 100, (4, 4))
    assert header[-5:] == ["CHORD_A_min", "CHORD_F_maj", "CHORD_C_maj", "CHORD_G_maj", "HEADER_END"]
    with pytest.raises(CodeplayError, match="chord"):
        compose(instruments="piano", bars=2, model=ranged_model, chords="Hm7")


def test_window_chords_keep_the_harmony_around_an_edit():
    tpq = 480
    c_major = [(60, 80, 0, 4 * tpq), (64, 80, 0, 4 * tpq), (67, 80, 0, 4 * tpq)]
    a_minor = [(57, 80, 4 * tpq, 4 * tpq), (60, 80, 4 * tpq, 4 * tpq), (64, 80, 4 * tpq, 4 * tpq)]
    piece = make_piece([(0, False, c_major + a_minor), (33, False, [(36, 90, 8 * tpq, 4 * tpq)])])
    attrs = window_attributes(Attributes(), piece, 0, {1: {2}})
    assert attrs.chords[:2] == ("C_maj", "A_min")  # context bars: what they play
    assert attrs.chords[2] == "unknown"  # the bar being written, with nothing else sounding there
    asked = window_attributes(Attributes(chords=parse_chords("G G G")), piece, 0, {1: {2}})
    assert asked.chords == ("G_maj", "G_maj", "G_maj")  # what the person asked for wins


def test_extend_keeps_every_track_playing(ranged_model):
    song = compose(instruments="piano,bass", bars=4, seed=7, model=ranged_model, tempo=100)
    longer = extend(song.piece, 4, model=ranged_model, seed=8)
    assert longer.n_bars == 8
    for t in longer.tracks:
        assert min(_bar_counts(longer, t)) >= 1


def test_written_file_lasts_exactly_the_bars_asked_for(ranged_model):
    song = compose(instruments="piano", bars=8, seed=9, model=ranged_model, tempo=100)
    midi = mido.MidiFile(file=io.BytesIO(song.to_midi_bytes()))
    end = max(sum(m.time for m in tr) for tr in midi.tracks)
    assert end == 8 * 4 * midi.ticks_per_beat


def test_a_short_last_note_still_gives_a_full_length_file():
    from codeplay_nb.io import midi_bytes

    piece = Piece((Track(0, False, "p", (Note(60, 80, 0, 480),)),), 480, length=480 * 4 * 3)
    midi = mido.MidiFile(file=io.BytesIO(midi_bytes(piece)))
    assert max(sum(m.time for m in tr) for tr in midi.tracks) == 480 * 12


def test_tokenizer_vocabulary_has_the_chord_lane():
    tok = NNNTokenizer()
    assert "CHORD_A_min" in tok.token_to_id and "CHORD_unknown" in tok.token_to_id
    assert tok.version == "2.1"


def _drum_similarity(piece: Piece) -> float:
    from codeplay_nb.generation import bar_hits

    drums = next(t for t in piece.tracks if t.is_drum)
    bars = [bar_hits(piece, drums, b) for b in range(piece.n_bars)]
    sims = [len(a & b) / max(1, len(a | b)) for a, b in itertools.pairwise(bars)]
    return sum(sims) / len(sims)


def test_groove_bias_keeps_drum_bars_alike(ranged_model):
    from codeplay_nb.model.config import decoding_overrides

    def sim(bias: float) -> float:
        with decoding_overrides(groove_bias=bias):
                return sum(_drum_similarity(compose(instruments="drums", bars=4, seed=s, model=ranged_model,
                                                tempo=100).piece) for s in range(3)) / 3

    assert sim(30.0) > sim(0.0) + 0.2


# the line-shaping, phrase and degree pulls all off: a test of one knob turns the others off
# (and the key biases of the key a request without one gets: ``out_of_key_penalty=0`` alone would leave the chosen
# key's tonic emphasis, which moves the tiny model's notes and with them these tests' small counts)
SHAPING_OFF = {**dict.fromkeys(SHAPING_KNOBS, 0.0), "chosen_key_bias": 0.0}


def _repeats_per_bar(piece: Piece) -> int:
    """Onsets of a pitch already played earlier in the same bar of the same pitched track."""
    out = 0
    for t in piece.tracks:
        if t.is_drum:
            continue
        per_bar = Counter((piece.bar_of(n.start), n.pitch) for n in t.notes)
        out += sum(c - 1 for c in per_bar.values())
    return out


def test_repeat_penalty_keeps_a_line_off_one_note(ranged_model):
    """repeat_penalty subtracts logits from a pitch per earlier onset of it in the bar (pitched tracks)."""
    from codeplay_nb.model.config import decoding_overrides

    def repeats(penalty: float) -> int:
        with decoding_overrides(**{**SHAPING_OFF, "repeat_penalty": penalty}, out_of_key_penalty=0.0):
            return sum(_repeats_per_bar(compose(instruments="piano", bars=4, seed=s, model=ranged_model,
                                                tempo=100, density="high").piece) for s in range(3))

    base = repeats(0.0)
    assert base > 0  # the tiny random model repeats pitches when nothing stops it
    assert repeats(60.0) == 0


def test_repeat_grace_lets_a_pitch_sound_twice_in_a_bar(ranged_model):
    """With repeat_grace 1 the first repeat of a pitch in a bar is free and only later ones are penalised."""
    from codeplay_nb.model.config import decoding_overrides

    with decoding_overrides(**{**SHAPING_OFF, "repeat_penalty": 60.0, "repeat_grace": 1}, out_of_key_penalty=0.0):
        pieces = [compose(instruments="piano", bars=4, seed=s, model=ranged_model, tempo=100,
                          density="high").piece for s in range(3)]
    per_bar = Counter((i, p.bar_of(n.start), n.pitch) for i, p in enumerate(pieces) for n in p.tracks[0].notes)
    assert max(per_bar.values()) == 2  # repeated once, never a third time


def test_repeat_penalty_leaves_a_bass_line_its_repeated_root(ranged_model):
    from codeplay_nb.model.config import decoding_overrides

    with decoding_overrides(**{**SHAPING_OFF, "repeat_penalty": 60.0}, out_of_key_penalty=0.0):
        pieces = [compose(instruments="piano,bass", bars=4, seed=s, model=ranged_model, tempo=100,
                          density="high").piece for s in range(3)]
    piano = [replace(p, tracks=[p.tracks[0]]) for p in pieces]
    bass = [replace(p, tracks=[p.tracks[1]]) for p in pieces]
    assert sum(map(_repeats_per_bar, piano)) == 0
    assert sum(map(_repeats_per_bar, bass)) > 0


def test_span_penalty_keeps_each_track_in_a_register(ranged_model):
    """span_penalty subtracts logits per semitone a pitch would widen its track beyond span_limit."""
    from codeplay_nb.model.config import decoding_overrides

    def spans(**over: float) -> list[int]:
        with decoding_overrides(out_of_key_penalty=0.0, **{**SHAPING_OFF, **over}):
            songs = [compose(instruments="piano,bass", bars=4, seed=s, model=ranged_model, tempo=100,
                             density="high") for s in range(3)]
        return [max(n.pitch for n in t.notes) - min(n.pitch for n in t.notes)
                for song in songs for t in song.piece.tracks]

    assert max(spans(span_penalty=0.0)) > 12  # the tiny random model wanders when nothing holds it
    assert max(spans(span_penalty=60.0, span_limit=12)) <= 12


def test_span_penalty_holds_across_an_extension(ranged_model):
    """An extension (a fill of new bars) starts from the span the track already has, so the whole track
    keeps to ``span_limit``, not each new bar on its own."""
    from codeplay_nb.model.config import decoding_overrides

    with decoding_overrides(out_of_key_penalty=0.0, **{**SHAPING_OFF, "span_penalty": 60.0, "span_limit": 12}):
        for s in range(3):
            song = compose(instruments="piano", bars=4, seed=s, model=ranged_model, tempo=100, density="high")
            longer = extend(song.piece, 4, model=ranged_model, seed=s)
            pitches = [n.pitch for n in longer.tracks[0].notes]
            assert longer.n_bars == 8 and max(pitches) - min(pitches) <= 12


def test_spread_penalty_starts_a_new_part_away_from_earlier_ones(ranged_model):
    """spread_penalty puts a new pitched track's first note at least spread_gap from an earlier track's mean."""
    from codeplay_nb.model.config import decoding_overrides

    def gaps(**over: float) -> list[float]:
        out = []
        with decoding_overrides(out_of_key_penalty=0.0, **{**SHAPING_OFF, **over}):
            for s in range(4):
                a, b = compose(instruments="piano,piano", bars=2, seed=s, model=ranged_model, tempo=100).piece.tracks
                out.append(abs(min(b.notes, key=lambda n: (n.start, n.pitch)).pitch
                               - sum(n.pitch for n in a.notes) / len(a.notes)))
        return out

    assert min(gaps(spread_penalty=0.0)) < 10  # nothing keeps the tiny model's parts apart ...
    assert min(gaps(spread_penalty=60.0, spread_gap=10)) >= 9.5  # ... until asked (means round to a semitone)


def _crossings(piece: Piece, skip: int = 1) -> int:
    """Notes of a pitched track that cross an earlier one (above the lowest note of a higher track, or below the
    highest of a lower one, at that track's latest onset in the bar at or before it), past each track's first
    ``skip`` notes (the cross penalty knows a track's side from its own notes)."""
    from codeplay_nb.generation import bar_hits

    tracks = [t for t in piece.tracks if not t.is_drum and t.notes]
    mean = [sum(n.pitch for n in t.notes) / len(t.notes) for t in tracks]
    out = 0
    for i, t in enumerate(tracks):
        for n in sorted(t.notes, key=lambda n: (n.start, n.pitch))[skip:]:
            bar = piece.bar_of(n.start)
            pos = round((n.start - piece.bar_span(bar, bar)[0]) * 12 / piece.tpq)
            for j, u in enumerate(tracks[:i]):
                hits = bar_hits(piece, u, bar)
                last = max((q for q, _ in hits if q <= pos), default=None)
                if last is None:
                    continue
                held = [p for q, p in hits if q == last]
                out += n.pitch > min(held) if mean[j] > mean[i] else n.pitch < max(held)
    return out


def test_cross_penalty_keeps_parts_on_their_side(ranged_model):
    """cross_penalty keeps a later part below (above) an earlier one it lies under (over): in a first window
    (tracks task), an extension (fill blocks against the other track's new blocks) and an infill of the second
    track under the kept first."""
    from codeplay_nb.model.config import decoding_overrides

    def crossings(pen: float) -> list[int]:
        out = []
        with decoding_overrides(out_of_key_penalty=0.0, **{**SHAPING_OFF, "cross_penalty": pen}):
            for s in range(3):
                song = compose(instruments="piano,piano", bars=2, seed=s, model=ranged_model, tempo=100)
                out.append(_crossings(song.piece, skip=2))
                out.append(_crossings(extend(song.piece, 2, model=ranged_model, seed=s), skip=2))
                out.append(_crossings(song.infill(2, tracks=[2], seed=s, model=ranged_model).piece, skip=2))
        return out

    assert min(crossings(0.0)) > 3  # the tiny model's two piano parts cross freely ...
    assert max(crossings(60.0)) == 0  # ... and not once they are told apart


def _off_grid(piece: Piece) -> float:
    """Share of the onsets that fall between the 8th notes of their bar."""
    from codeplay_nb.generation import bar_hits

    hits = [q for t in piece.tracks for b in range(piece.n_bars) for q, _ in bar_hits(piece, t, b)]
    return sum(q % 6 != 0 for q in hits) / max(len(hits), 1)


def test_grid_penalty_keeps_onsets_on_the_eighth_notes(ranged_model):
    """grid_penalty tilts the shifts towards ones landing on the 8th-note grid (first window and extension),
    without moving probability between shifting and the other token groups."""
    from codeplay_nb.model.config import decoding_overrides

    def off(pen: float) -> float:
        with decoding_overrides(out_of_key_penalty=0.0, **{**SHAPING_OFF, "grid_penalty": pen}):
            pieces = [compose(instruments="piano,drums", bars=2, seed=s, model=ranged_model, tempo=100).piece
                      for s in range(3)]
            pieces += [extend(p, 2, model=ranged_model, seed=5) for p in pieces]
        return sum(map(_off_grid, pieces)) / len(pieces)

    loose, tight = off(0.0), off(30.0)
    assert loose > 0.5  # the random tiny model lands anywhere ...
    assert tight < loose / 4  # ... and on the grid when told (NEXT after an off-grid start may still leave it)


def _echo_share(piece: Piece) -> float:
    """Share of the pitched notes of bars 4.. that repeat (same step, same pitch) a note of the bar 4 before."""
    from codeplay_nb.generation import bar_hits

    same = total = 0
    for t in piece.tracks:
        for b in range(4, piece.n_bars):
            now = bar_hits(piece, t, b)
            same, total = same + len(now & bar_hits(piece, t, b - 4)), total + len(now)
    return same / max(total, 1)


def test_phrase_bias_brings_a_phrase_back_four_bars_later(ranged_model):
    """phrase_bias adds logits towards the notes of the bar four bars before, in a first window (tracks
    task: bars 0-3 then 4-7 of one track) and in an extension (fills, against the context's bars)."""
    from codeplay_nb.model.config import decoding_overrides

    def echo(bars: int, **over: float) -> float:
        with decoding_overrides(out_of_key_penalty=0.0, **{**SHAPING_OFF, **over}):
            pieces = [compose(instruments="piano", bars=bars, seed=s, model=ranged_model, tempo=100).piece
                      for s in range(3)]
            if bars == 4:
                pieces = [extend(p, 4, model=ranged_model, seed=7) for p in pieces]
        return sum(map(_echo_share, pieces)) / len(pieces)

    assert echo(8, phrase_bias=0.0) < 0.5 and echo(4, phrase_bias=0.0) < 0.5  # the tiny model does not repeat ...
    assert echo(8, phrase_bias=60.0) > 0.9  # ... until asked, in one window
    assert echo(4, phrase_bias=60.0) > 0.9  # and when extending


def test_key_feedback_drops_the_emphasis_once_the_key_is_heard(ranged_model):
    """With key_feedback, the tonic emphasis stops once the notes so far establish the key (Temperley-Kostka-
    Payne correlation margin), so a strong tonic bonus no longer fills the clip with tonics."""
    from codeplay_nb.model.config import decoding_overrides
    from codeplay_nb.model.key_feedback import KeyFeedback

    c_major = KeyFeedback(0, "major", 0.05, [8, 0, 4, 0, 6, 4, 0, 7, 0, 3, 0, 3])
    assert c_major.established and not KeyFeedback(9, "minor", 0.05, c_major.counts).established
    assert not KeyFeedback(0, "major", 0.05, [1] * 12).established

    def tonic_share(**over: float) -> float:
        with decoding_overrides(tonic_bonus=4.0, tonic_bonus_on_beat=4.0, **{**SHAPING_OFF, **over}):
            notes = [n for s in range(3) for n in compose(instruments="piano", bars=4, seed=s, model=ranged_model,
                                                           tempo=100, key="C major").piece.tracks[0].notes]
        return sum(n.pitch % 12 == 0 for n in notes) / len(notes)

    emphasised = tonic_share()
    assert emphasised > 0.6
    assert tonic_share(key_feedback=0.02) < emphasised - 0.1


def test_degree_balance_pulls_pitch_classes_to_the_target_rates(ranged_model):
    """degree_balance favours the scale degrees a clip is short of against key_degrees.json's rates."""
    from codeplay_nb.model.config import decoding_overrides
    from codeplay_nb.model.degrees import DegreeBalance

    major = [0.2, 0.0, 0.14, 0.0, 0.16, 0.09, 0.0, 0.2, 0.0, 0.12, 0.0, 0.08]
    b = DegreeBalance(2, "major", major, 1.0)  # D major
    assert abs(b.by_pitch_class).max() < 1e-9  # nothing played yet: nothing to correct
    for _ in range(20):
        b.add(62)  # D, the tonic, again and again
    assert b.by_pitch_class[2] < 0 < b.by_pitch_class[9]  # less tonic, more of the fifth (A)

    def share(pc: int, target: list[float], **over: float) -> float:
        old = ranged_model.info.get("key_degrees")
        ranged_model.info["key_degrees"] = {"major": target, "minor": target}
        try:
            with decoding_overrides(out_of_key_penalty=0.0, tonic_bonus_on_beat=0.0, third_bonus=0.0,
                                    fifth_bonus=0.0, **{**SHAPING_OFF, **over}):
                notes = [n for s in range(3) for n in compose(instruments="piano", bars=4, seed=s, model=ranged_model,
                                                              tempo=100, key="C major").piece.tracks[0].notes]
        finally:
            ranged_model.info.pop("key_degrees")
            if old is not None:
                ranged_model.info["key_degrees"] = old
        return sum(n.pitch % 12 == pc for n in notes) / len(notes)

    fifths = [0.05] * 12
    fifths[7] = 0.45
    off = share(7, fifths, degree_balance=0.0)
    assert off < 0.3  # the tiny random model spreads its pitch classes ...
    assert share(7, fifths, degree_balance=3.0) > off + 0.15  # ... the balance pulls to the target


def test_chord_penalty_thins_chords(ranged_model):
    """chord_penalty subtracts logits from one more note at an onset, per note it already holds."""
    from codeplay_nb.model.config import decoding_overrides

    def most_per_onset(**over: float) -> int:
        with decoding_overrides(out_of_key_penalty=0.0, **{**SHAPING_OFF, **over}):
            songs = [compose(instruments="piano", bars=4, seed=s, model=ranged_model, tempo=100,
                             density="high") for s in range(3)]
        return max(Counter((i, n.start) for i, song in enumerate(songs) for n in song.piece.tracks[0].notes).values())

    assert most_per_onset(chord_penalty=0.0) > 1
    assert most_per_onset(chord_penalty=60.0) == 1


def _on_beat_pitch_classes(piece: Piece) -> dict[int, tuple[int, set[int]]]:
    """onset tick -> (bar, pitch classes starting there) for the pitched onsets on a beat."""
    out: dict[int, tuple[int, set[int]]] = {}
    for t in piece.tracks:
        for n in t.notes:
            bar = piece.bar_of(n.start)
            if not t.is_drum and (n.start - piece.bar_span(bar, bar)[0]) % piece.tpq == 0:
                out.setdefault(n.start, (bar, set()))[1].add(n.pitch % 12)
    return out


def test_beat_emphasis_follows_the_chords_asked_for(ranged_model):
    """With a key and chords, the on-beat bonus goes to each bar's chord root (harmony_bias), not to the
    key's tonic in every bar; with harmony_bias 0 (the default) the tonic emphasis holds through every chord."""
    from codeplay_nb.model.config import decoding_overrides

    roots = {0: 9, 1: 5, 2: 0, 3: 7}  # Am F C G
    with decoding_overrides(harmony_bias=1.0, chord_root_bonus=40.0, chord_tone_bonus=0.0):
        song = compose(instruments="piano", bars=4, seed=2, model=ranged_model, tempo=100, key="C major",
                       chords="Am F C G")
    beats = _on_beat_pitch_classes(song.piece).values()
    assert beats and all(roots[bar] in pcs for bar, pcs in beats)
    assert {bar for bar, _ in beats} == set(roots)
    with decoding_overrides(harmony_bias=0.0, tonic_bonus_on_beat=40.0, chord_tone_bonus=0.0):
        song = compose(instruments="piano", bars=4, seed=2, model=ranged_model, tempo=100, key="C major",
                       chords="Am F C G")
    beats = _on_beat_pitch_classes(song.piece).values()
    assert beats and all(0 in pcs for _, pcs in beats)
    assert not all(roots[bar] in pcs for bar, pcs in beats)
