"""Piano-roll figure data for a :class:`~codeplay_nb.music.Piece` (Plotly).

:func:`pianoroll_traces` and :func:`pianoroll_layout` return plain dicts (no plotly import), so the
figure can be built, compared in tests and updated in place in a ``FigureWidget`` trace by trace.
:func:`pianoroll_figure` wraps them in a ``plotly.graph_objects.Figure`` (plotly imported when called).

Layout: x in beats (quarter notes) from the start of the piece, one horizontal bar per note, one trace per
track (one colour each; the app shows the legend as track buttons), bar lines and bar numbers, drums on
stable lanes named after their GM sounds below the pitched notes, chord labels per bar when the song has
them, the selected bars highlighted by a rectangle.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import pairwise
from typing import Any

from .music import Piece

PALETTE: tuple[str, ...] = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
)
DRUM_COLOUR = "#555555"
NOTE_HEIGHT = 0.8  # in pitch rows
UNSELECTED_OPACITY = 0.3
SELECTION_FILL = "rgba(255, 200, 0, 0.18)"
SELECTION_LINE = "rgba(230, 150, 0, 0.9)"
BAR_LINE_COLOUR = "rgba(120, 120, 120, 0.5)"
PITCH_NAMES: tuple[str, ...] = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
DRUM_NAMES: dict[int, str] = {
    27: "High Q", 28: "Slap", 29: "Scratch Push", 30: "Scratch Pull", 31: "Sticks", 32: "Square Click",
    33: "Metronome Click", 34: "Metronome Bell",
    35: "Acoustic Bass Drum", 36: "Bass Drum", 37: "Side Stick", 38: "Snare", 39: "Hand Clap",
    40: "Electric Snare", 41: "Low Floor Tom", 42: "Closed Hi-Hat", 43: "High Floor Tom", 44: "Pedal Hi-Hat",
    45: "Low Tom", 46: "Open Hi-Hat", 47: "Low-Mid Tom", 48: "Hi-Mid Tom", 49: "Crash Cymbal",
    50: "High Tom", 51: "Ride Cymbal", 52: "Chinese Cymbal", 53: "Ride Bell", 54: "Tambourine",
    55: "Splash Cymbal", 56: "Cowbell", 57: "Crash Cymbal 2", 59: "Ride Cymbal 2", 60: "Hi Bongo",
    61: "Low Bongo", 62: "Mute Hi Conga", 63: "Open Hi Conga", 64: "Low Conga", 69: "Cabasa", 70: "Maracas",
    58: "Vibraslap", 65: "High Timbale", 66: "Low Timbale", 67: "High Agogo", 68: "Low Agogo", 71: "Short Whistle",
    72: "Long Whistle", 73: "Short Guiro", 74: "Long Guiro", 75: "Claves", 76: "Hi Wood Block",
    77: "Low Wood Block", 78: "Mute Cuica", 79: "Open Cuica", 80: "Mute Triangle", 81: "Open Triangle",
    82: "Shaker", 83: "Jingle Bell", 84: "Belltree", 85: "Castanets", 86: "Mute Surdo", 87: "Open Surdo",
}


def pitch_name(pitch: int) -> str:
    """``60`` -> ``"C4"`` (scientific pitch notation, middle C = C4)."""
    return f"{PITCH_NAMES[pitch % 12]}{pitch // 12 - 1}"


def drum_name(pitch: int) -> str:
    return DRUM_NAMES.get(pitch, f"Drum {pitch}")


def track_colour(index: int, is_drum: bool) -> str:
    return DRUM_COLOUR if is_drum else PALETTE[index % len(PALETTE)]


def bar_beat(piece: Piece, tick: int) -> str:
    """Musician's position ``bar.beat`` (both from 1; beats in the time signature's unit), e.g. ``3.2``
    or ``3.2.5`` for the second half of beat 2 of bar 3."""
    bar = piece.bar_of(tick)
    start = piece.bar_span(bar, bar)[0]
    ts = piece.time_signature_at(start)
    beat = 1 + (tick - start) * ts.denominator / (4 * piece.tpq)
    return f"{bar + 1}.{beat:.3g}"


DRUM_BASE_LANES: tuple[int, ...] = (36, 38, 42, 46, 49, 51)  # kick, snare, hats, crash, ride: always shown
DRUM_LANE_PX = 15  # height of one drum lane
DRUM_AXIS_GAP = 0.03  # paper fraction between the pitched notes and the drum lanes
LONG_SONG_BARS = 16  # longer songs open on their first bars with a range slider to scroll and zoom


def drum_lanes(piece: Piece, extra: Iterable[int] = ()) -> list[int]:
    """The drum sounds that get a lane, bottom to top (GM key order: kick at the bottom). The usual kit
    (:data:`DRUM_BASE_LANES`) is always there, so lanes stay put between versions; ``extra`` keeps sounds
    seen in earlier versions (the app passes those), so a lane never moves when a sound comes and goes."""
    used = {n.pitch for t in piece.tracks if t.is_drum for n in t.notes}
    if not used and not any(t.is_drum for t in piece.tracks):
        return []
    return sorted({*DRUM_BASE_LANES, *used, *extra})


def _pitched_range(piece: Piece) -> tuple[int, int]:
    pitched = [n.pitch for t in piece.tracks if not t.is_drum for n in t.notes]
    return (min(pitched), max(pitched)) if pitched else (60, 72)


def pianoroll_traces(piece: Piece, selected_tracks: Iterable[int] | None = None, *,
                     drum_lane_pitches: Iterable[int] = ()) -> list[dict[str, Any]]:
    """One horizontal-bar trace per track (in track order): ``base`` = onset and ``x`` = length in beats,
    ``y`` = pitch (drums: their lane, on the second y axis ``y2``), ``customdata`` = ``[bar (from 1),
    note index]``, hover text with the pitch or GM drum name, velocity and ``bar.beat``.
    ``selected_tracks`` (0-based) dims the other tracks."""
    tpq = piece.tpq
    lanes = {p: float(i) for i, p in enumerate(drum_lanes(piece, drum_lane_pitches))}
    chosen = None if selected_tracks is None else set(selected_tracks)
    traces: list[dict[str, Any]] = []
    for ti, track in enumerate(piece.tracks):
        base, length, rows, hover, custom = [], [], [], [], []
        for ni, n in enumerate(track.notes):
            base.append(n.start / tpq)
            length.append(max(n.duration, 1) / tpq)
            if track.is_drum:
                rows.append(lanes[n.pitch])
                name = drum_name(n.pitch)
            else:
                rows.append(float(n.pitch))
                name = pitch_name(n.pitch)
            hover.append(f"{name} · vel {n.velocity} · {bar_beat(piece, n.start)}")
            custom.append([piece.bar_of(n.start) + 1, ni])
        colour = track_colour(ti, track.is_drum)
        traces.append({
            "type": "bar",
            "orientation": "h",
            "name": f"{ti + 1}. {track.label}",
            "base": base,
            "x": length,
            "y": rows,
            "yaxis": "y2" if track.is_drum else "y",
            "width": NOTE_HEIGHT,
            "hovertext": hover,
            "hovertemplate": "%{hovertext}<extra>%{fullData.name}</extra>",
            "customdata": custom,
            "marker": {"color": colour, "line": {"width": 0.5, "color": "rgba(0,0,0,0.4)"}},
            # a box selection must not leave the other notes faded: the app shows the selection itself
            "selected": {"marker": {"opacity": 1.0}},
            "unselected": {"marker": {"opacity": 1.0}},
            "opacity": 1.0 if chosen is None or ti in chosen else UNSELECTED_OPACITY,
            "showlegend": False,
        })
    return traces


def bar_lines(piece: Piece) -> list[dict[str, Any]]:
    """A vertical line shape at every bar start and at the end of the last bar."""
    starts = piece.bar_starts()[: piece.n_bars + 1] if piece.n_bars else [0]
    return [
        {"type": "line", "xref": "x", "yref": "paper", "x0": s / piece.tpq, "x1": s / piece.tpq, "y0": 0, "y1": 1,
         "line": {"color": BAR_LINE_COLOUR, "width": 1}, "layer": "below"}
        for s in starts
    ]


def selection_shape(piece: Piece, selected_bars: tuple[int, int] | None) -> dict[str, Any] | None:
    """The highlight rectangle over bars ``(first, last)`` (1-based, inclusive), or ``None``."""
    if not selected_bars or piece.n_bars == 0:
        return None
    first, last = selected_bars
    first, last = max(1, first), min(piece.n_bars, last)
    if first > last:
        return None
    start, end = piece.bar_span(first - 1, last - 1)
    return {"type": "rect", "xref": "x", "yref": "paper", "x0": start / piece.tpq, "x1": end / piece.tpq,
            "y0": 0, "y1": 1, "fillcolor": SELECTION_FILL, "line": {"color": SELECTION_LINE, "width": 1.5},
            "layer": "below", "name": "selection"}


def pianoroll_shapes(piece: Piece, selected_bars: tuple[int, int] | None = None) -> list[dict[str, Any]]:
    shapes = bar_lines(piece)
    sel = selection_shape(piece, selected_bars)
    return [*shapes, sel] if sel else shapes


def chord_annotations(piece: Piece, chords: Sequence[str | None] | None) -> list[dict[str, Any]]:
    """One label per bar above the roll (``chords[i]`` for bar ``i + 1``; empty or ``None`` shows nothing)."""
    if not chords or piece.n_bars == 0:
        return []
    starts = piece.bar_starts()[: piece.n_bars + 1]
    out = []
    for i, (a, b) in enumerate(pairwise(starts)):
        label = chords[i] if i < len(chords) else None
        if label and str(label) not in ("N", "unknown"):
            out.append({"x": (a + b) / 2 / piece.tpq, "xref": "x", "y": 1.0, "yref": "paper", "yanchor": "bottom",
                        "text": f"<b>{label}</b>", "showarrow": False, "font": {"size": 12, "color": "#444"}})
    return out


def pianoroll_layout(piece: Piece, selected_bars: tuple[int, int] | None = None, *, height: int = 380,
                     drum_lane_pitches: Iterable[int] = (), chords: Sequence[str | None] | None = None,
                     ) -> dict[str, Any]:
    """Axes (bar numbers at the bar lines, octave names; drum lanes named after their GM sounds on a second
    y axis below), the bar-line and selection shapes, chord labels per bar, box selection; songs longer than
    :data:`LONG_SONG_BARS` open on their first bars with a range slider to scroll and zoom."""
    low, high = _pitched_range(piece)
    lanes = drum_lanes(piece, drum_lane_pitches)
    n = piece.n_bars
    starts = piece.bar_starts()[: n + 1] if n else [0, 4 * piece.tpq]
    mids = [(a + b) / 2 / piece.tpq for a, b in pairwise(starts)]
    step = 1 if len(mids) <= 32 else 2 if len(mids) <= 64 else 4
    tickvals = [float(p) for p in range(low - low % 12, high + 1, 12) if p >= low - 1]
    long_song = n > LONG_SONG_BARS
    total = height + (DRUM_LANE_PX * len(lanes) if lanes else 0) + (40 if long_song else 0)
    drum_frac = min(0.5, (DRUM_LANE_PX * len(lanes) + 6) / total) if lanes else 0.0
    end = starts[-1] / piece.tpq
    shown = starts[LONG_SONG_BARS] / piece.tpq if long_song else end
    layout: dict[str, Any] = {
        "barmode": "overlay",
        "bargap": 0,
        "height": total,
        "autosize": True,
        "margin": {"l": 118 if lanes else 50, "r": 10, "t": 28 if chords else 12, "b": 40},
        "dragmode": "select",
        "selectdirection": "any",
        "hovermode": "closest",
        "plot_bgcolor": "white",
        "showlegend": False,
        "xaxis": {"title": {"text": "bar"}, "tickmode": "array", "tickvals": mids[::step],
                  "ticktext": [str(i + 1) for i in range(len(mids))][::step], "range": [0, shown],
                  "showgrid": False, "zeroline": False,
                  "rangeslider": {"visible": long_song, "thickness": 0.06, "range": [0, end]}},
        "yaxis": {"tickmode": "array", "tickvals": tickvals, "ticktext": [pitch_name(int(p)) for p in tickvals],
                  "range": [low - 1.5, high + 1.5], "showgrid": True, "gridcolor": "rgba(0,0,0,0.06)",
                  "zeroline": False, "fixedrange": True,
                  "domain": [drum_frac + DRUM_AXIS_GAP if lanes else 0.0, 1.0]},
        "shapes": pianoroll_shapes(piece, selected_bars),
        "annotations": chord_annotations(piece, chords),
    }
    if lanes:
        layout["yaxis2"] = {"tickmode": "array", "tickvals": [float(i) for i in range(len(lanes))],
                            "ticktext": [drum_name(p) for p in lanes], "range": [-0.6, len(lanes) - 0.4],
                            "domain": [0.0, drum_frac], "fixedrange": True, "showgrid": True,
                            "gridcolor": "rgba(0,0,0,0.06)", "zeroline": False, "tickfont": {"size": 10},
                            "anchor": "x"}
    return layout


def pianoroll_figure(piece: Piece, selected_bars: tuple[int, int] | None = None,
                     selected_tracks: Iterable[int] | None = None, *, height: int = 380,
                     chords: Sequence[str | None] | None = None):
    """A ``plotly.graph_objects.Figure`` of the piece (see the module docstring)."""
    import plotly.graph_objects as go

    return go.Figure(data=pianoroll_traces(piece, selected_tracks),
                     layout=pianoroll_layout(piece, selected_bars, height=height, chords=chords))


def bars_of_points(piece: Piece, points: Iterable[tuple[int, int]]) -> tuple[int, int] | None:
    """The bar range (1-based, inclusive) covering selected notes given as ``(track, note index)``."""
    bars = [piece.bar_of(piece.tracks[t].notes[i].start) + 1 for t, i in points
            if 0 <= t < len(piece.tracks) and 0 <= i < len(piece.tracks[t].notes)]
    return (min(bars), max(bars)) if bars else None


def bars_of_beats(piece: Piece, x0: float, x1: float) -> tuple[int, int] | None:
    """The bar range (1-based, inclusive) touched by a box selection from beat ``x0`` to ``x1``."""
    if piece.n_bars == 0:
        return None
    lo, hi = sorted((x0, x1))
    last_tick = piece.bar_span(piece.n_bars - 1, piece.n_bars - 1)[1] - 1
    first = piece.bar_of(min(max(0, round(lo * piece.tpq)), last_tick)) + 1
    last = piece.bar_of(min(max(0, round(hi * piece.tpq) - 1), last_tick)) + 1
    return first, max(first, last)
