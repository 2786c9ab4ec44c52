"""The core type: exact bar arithmetic under meter changes, tempo-map time, slicing, transposition."""

from __future__ import annotations

import pytest

from codeplay_nb.errors import BarRangeError
from codeplay_nb.music import (
    KeySignature,
    Note,
    Piece,
    Tempo,
    TimeSignature,
    Track,
    make_piece,
    slice_bars,
    transpose,
)

Q = 480
BAR44, BAR34 = 4 * Q, 3 * Q


def _piece(sigs, length, tempos=((0, 120.0),), keys=(), tracks=()) -> Piece:
    return Piece(tuple(tracks), Q, tuple(Tempo(t, q) for t, q in tempos),
                 tuple(TimeSignature(t, n, d) for t, n, d in sigs), tuple(KeySignature(t, k) for t, k in keys),
                 length=length)


def test_bars_of_4_4_then_3_4():
    p = _piece([(0, 4, 4), (2 * BAR44, 3, 4)], length=2 * BAR44 + 3 * BAR34)
    assert p.bar_starts() == [0, BAR44, 2 * BAR44, 2 * BAR44 + BAR34, 2 * BAR44 + 2 * BAR34, 2 * BAR44 + 3 * BAR34]
    assert p.n_bars == 5
    assert p.bar_span(0) == (0, BAR44)
    assert p.bar_span(2) == (2 * BAR44, 2 * BAR44 + BAR34)
    assert p.bar_span(1, 3) == (BAR44, 2 * BAR44 + 2 * BAR34)


def test_mid_bar_meter_change_starts_a_new_bar():
    change = BAR44 + 3 * Q  # three quarters into the second 4/4 bar
    p = _piece([(0, 4, 4), (change, 3, 4)], length=change + 2 * BAR34)
    assert p.bar_starts() == [0, BAR44, change, change + BAR34, change + 2 * BAR34]
    assert p.bar_span(1) == (BAR44, change)  # the cut bar is three quarters long
    assert p.bar_of(change - 1) == 1
    assert p.bar_of(change) == 2
    assert p.time_signature_at(change) == TimeSignature(change, 3, 4)


def test_bar_span_past_the_end_continues_in_the_last_meter():
    p = _piece([(0, 4, 4), (BAR44, 3, 4)], length=BAR44 + BAR34)
    assert p.n_bars == 2
    assert p.bar_span(2) == (BAR44 + BAR34, BAR44 + 2 * BAR34)
    assert p.bar_span(5, 6) == (BAR44 + 4 * BAR34, BAR44 + 6 * BAR34)
    assert p.bar_span(0, 5)[1] - p.bar_span(0, 4)[1] == BAR34


def test_bar_span_rejects_reversed_and_negative_ranges():
    p = _piece([(0, 4, 4)], length=4 * BAR44)
    with pytest.raises(BarRangeError):
        p.bar_span(3, 1)
    with pytest.raises(BarRangeError):
        p.bar_span(-1, 1)


@pytest.mark.parametrize("tick,bar", [(0, 0), (BAR44 - 1, 0), (BAR44, 1), (2 * BAR44 + BAR34 + 5, 3),
                                      (2 * BAR44 + 10 * BAR34, 12)])
def test_bar_of(tick, bar):
    p = _piece([(0, 4, 4), (2 * BAR44, 3, 4)], length=2 * BAR44 + 2 * BAR34)
    assert p.bar_of(tick) == bar


def test_6_8_and_7_8_bar_lengths():
    assert _piece([(0, 6, 8)], length=1).bar_span(0) == (0, 3 * Q)
    assert _piece([(0, 7, 8)], length=1).bar_span(1) == (7 * Q // 2, 7 * Q)


def test_empty_piece_has_no_bars_and_length_follows_the_notes():
    assert Piece().n_bars == 0
    p = make_piece([(0, False, [(60, 80, BAR44 + 10, Q)])])
    assert p.length == BAR44 + 10 + Q
    assert p.n_bars == 2


def test_seconds_follow_the_tempo_map_and_invert():
    p = _piece([(0, 4, 4)], length=8 * BAR44, tempos=((0, 120.0), (BAR44, 60.0), (2 * BAR44 + Q // 2, 90.0)))
    assert p.seconds(BAR44) == pytest.approx(2.0)  # 4 quarters at 120
    assert p.seconds(2 * BAR44) == pytest.approx(6.0)  # + 4 quarters at 60
    assert p.seconds(2 * BAR44 + Q // 2 + Q) == pytest.approx(6.5 + 60 / 90)
    for tick in (0, 1, 479, BAR44, BAR44 + 1, 2 * BAR44 + Q // 2, 2 * BAR44 + Q // 2 + 1, 7 * BAR44 + 123):
        assert p.tick_at_seconds(p.seconds(tick)) == tick
    for secs in (0.0, 1.0, 2.0, 3.3, 6.25, 10.0):
        assert p.seconds(p.tick_at_seconds(secs)) == pytest.approx(secs, abs=60 / (60 * Q))
    assert p.tempo_at(BAR44 - 1) == 120.0 and p.tempo_at(BAR44) == 60.0


def test_missing_first_events_are_placed_at_tick_zero():
    p = Piece(tempos=(Tempo(100, 90.0),), time_signatures=(TimeSignature(Q, 3, 4),), length=BAR44)
    assert p.tempos[0] == Tempo(0, 90.0)
    assert p.time_signatures[0] == TimeSignature(0, 3, 4)


def test_slice_bars_carries_tempo_meter_and_key_in_force_at_the_start():
    notes = [(60 + i, 70 + i, i * Q, Q) for i in range(20)]
    p = _piece([(0, 4, 4), (2 * BAR44, 3, 4)], length=2 * BAR44 + 4 * BAR34,
               tempos=((0, 100.0), (BAR44 + Q, 140.0), (2 * BAR44 + BAR34, 70.0)),
               keys=((0, "C major"), (BAR44 + 2 * Q, "A minor")),
               tracks=[Track(0, False, "p", tuple(Note(*n) for n in notes))])
    s = slice_bars(p, 2, 3)  # bars 3-4: two 3/4 bars
    assert s.tempos == (Tempo(0, 140.0), Tempo(BAR34, 70.0))
    assert s.time_signatures == (TimeSignature(0, 3, 4),)
    assert s.key_signatures == (KeySignature(0, "A minor"),)
    assert s.length == 2 * BAR34
    start = 2 * BAR44
    expected = [Note(60 + i, 70 + i, i * Q - start, Q) for i in range(20) if start <= i * Q < start + 2 * BAR34]
    assert list(s.tracks[0].notes) == expected
    assert p.tracks[0].notes[0] == Note(60, 70, 0, Q)  # the input is untouched


def test_transpose_drops_out_of_range_notes_and_leaves_drums():
    p = make_piece([(0, False, [(2, 80, 0, Q), (60, 80, Q, Q), (126, 80, 2 * Q, Q)]),
                    (0, True, [(36, 100, 0, Q), (42, 100, Q, Q)])])
    p = p.replace(key_signatures=(KeySignature(0, "C major"),))
    up = transpose(p, 3)
    assert [n.pitch for n in up.tracks[0].notes] == [5, 63]
    assert up.tracks[1] == p.tracks[1]
    assert up.key_signatures == (KeySignature(0, "Eb major"),)
    down = transpose(p, -5)
    assert [n.pitch for n in down.tracks[0].notes] == [55, 121]
    assert transpose(p, 0) == p
