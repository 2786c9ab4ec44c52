"""Piano-roll figure data: one trace per track, hover text, bar lines, drum lane, selection."""

from __future__ import annotations

from codeplay_nb.music import make_piece
from codeplay_nb.pianoroll import (
    UNSELECTED_OPACITY,
    bar_beat,
    bars_of_beats,
    bars_of_points,
    drum_name,
    pianoroll_layout,
    pianoroll_traces,
    pitch_name,
)

TPQ = 480


def _piece():
    piano = [(60, 100, 0, 480), (64, 90, 480 * 5, 240), (72, 80, 480 * 9 + 240, 480)]
    bass = [(36, 70, 0, 1920), (43, 70, 1920, 1920)]
    drums = [(36, 110, 0, 120), (42, 60, 240, 120), (38, 100, 480, 120)]
    return make_piece([(0, False, piano), (33, False, bass), (0, True, drums)], length=480 * 12)


def test_one_trace_per_track_with_note_geometry_and_hover():
    piece = _piece()
    traces = pianoroll_traces(piece)
    assert [t["name"] for t in traces] == ["1. Acoustic Grand Piano", "2. Electric Bass (finger)", "3. Drums"]
    piano = traces[0]
    assert piano["base"] == [0.0, 5.0, 9.5] and piano["x"] == [1.0, 0.5, 1.0] and piano["y"] == [60.0, 64.0, 72.0]
    assert piano["hovertext"] == ["C4 · vel 100 · 1.1", "E4 · vel 90 · 2.2", "C5 · vel 80 · 3.2.5"]
    assert [c[0] for c in piano["customdata"]] == [1, 2, 3]
    assert len({t["marker"]["color"] for t in traces}) == 3  # one colour per track


def test_drums_have_stable_named_lanes_on_their_own_axis():
    from codeplay_nb.pianoroll import DRUM_BASE_LANES, drum_lanes

    piece = _piece()
    traces = pianoroll_traces(piece)
    drums = traces[2]
    assert drums["yaxis"] == "y2" and {t["yaxis"] for t in traces[:2]} == {"y"}
    lanes = drum_lanes(piece)
    assert lanes == sorted({*DRUM_BASE_LANES, 36, 42, 38})  # the usual kit is always there
    assert drums["y"] == [float(lanes.index(p)) for p in (36, 42, 38)]
    assert drums["hovertext"][0].startswith("Bass Drum") and "Closed Hi-Hat" in drums["hovertext"][1]
    layout = pianoroll_layout(piece)
    assert layout["yaxis2"]["ticktext"] == [drum_name(p) for p in lanes] and "Snare" in layout["yaxis2"]["ticktext"]
    assert layout["yaxis2"]["domain"][1] < layout["yaxis"]["domain"][0]  # below the pitched notes
    # a version without the hi-hat keeps every lane where it was
    fewer = piece.replace(tracks=(*piece.tracks[:2], piece.tracks[2].with_notes(
        [n for n in piece.tracks[2].notes if n.pitch != 42])))
    assert drum_lanes(fewer) == lanes
    # a rare sound seen earlier keeps its lane when the app passes it along
    assert drum_lanes(fewer, extra=[81]) == sorted({*lanes, 81})
    assert drum_lanes(make_piece([(0, False, [(60, 90, 0, 480)])])) == []


def test_long_songs_scroll_and_chords_label_bars():
    piece = make_piece([(0, False, [(60, 90, 480 * 4 * i, 480) for i in range(40)])], length=480 * 4 * 40)
    layout = pianoroll_layout(piece, chords=["Am", "F", None, "N"])
    assert layout["xaxis"]["rangeslider"]["visible"] and layout["xaxis"]["range"] == [0, 16 * 4.0]
    assert layout["xaxis"]["ticktext"][:3] == ["1", "3", "5"]  # 40 bars: every other bar number
    assert [a["text"] for a in layout["annotations"]] == ["<b>Am</b>", "<b>F</b>"]
    assert [a["x"] for a in layout["annotations"]] == [2.0, 6.0]
    assert not pianoroll_layout(_piece())["xaxis"]["rangeslider"]["visible"]


def test_bar_lines_numbers_and_selection_highlight():
    piece = _piece()
    layout = pianoroll_layout(piece, selected_bars=(2, 3))
    lines = [s for s in layout["shapes"] if s["type"] == "line"]
    assert len(lines) == piece.n_bars + 1 == 4
    assert [s["x0"] for s in lines] == [0.0, 4.0, 8.0, 12.0]
    assert layout["xaxis"]["ticktext"] == ["1", "2", "3"] and layout["xaxis"]["tickvals"] == [2.0, 6.0, 10.0]
    (rect,) = [s for s in layout["shapes"] if s["type"] == "rect"]
    assert (rect["x0"], rect["x1"]) == (4.0, 12.0)
    assert not [s for s in pianoroll_layout(piece)["shapes"] if s["type"] == "rect"]


def test_three_four_time_and_pitch_names():
    piece = make_piece([(0, False, [(61, 90, 480 * 4, 480)])], time_signature=(3, 4), length=480 * 6)
    assert bar_beat(piece, 480 * 4) == "2.2"
    assert [s["x0"] for s in pianoroll_layout(piece)["shapes"]] == [0.0, 3.0, 6.0]
    assert pitch_name(61) == "C#4" and pitch_name(21) == "A0"


def test_selected_tracks_dim_the_others_and_selection_maps_to_bars():
    piece = _piece()
    traces = pianoroll_traces(piece, selected_tracks=[1])
    assert [t["opacity"] for t in traces] == [UNSELECTED_OPACITY, 1.0, UNSELECTED_OPACITY]
    assert bars_of_points(piece, [(0, 1), (0, 2)]) == (2, 3)
    assert bars_of_points(piece, []) is None
    assert bars_of_beats(piece, 3.5, 4.0) == (1, 1)
    assert bars_of_beats(piece, 7.9, 3.9) == (1, 2)
    assert bars_of_beats(piece, 0, 100) == (1, 3)


def test_figure_builds_with_plotly():
    import pytest

    pytest.importorskip("plotly")
    from codeplay_nb.pianoroll import pianoroll_figure

    fig = pianoroll_figure(_piece(), selected_bars=(1, 1))
    assert len(fig.data) == 3 and fig.data[0].type == "bar" and fig.data[0].orientation == "h"
    assert fig.layout.barmode == "overlay"


def test_core_import_stays_free_of_ui_libraries():
    import subprocess
    import sys

    code = ("import sys, codeplay_nb.pianoroll, codeplay_nb.audio; "
            "bad = [m for m in ('plotly', 'ipywidgets', 'IPython') if m in sys.modules]; print(bad); "
            "sys.exit(1 if bad else 0)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0
