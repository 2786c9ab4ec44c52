"""The piano-roll view: a Plotly ``FigureWidget`` updated in place, or a static fallback.

Plotly 6+ builds ``FigureWidget`` on anywidget, which Colab's widget manager does not always load
(googlecolab/colab-cdn-widget-manager#51): there, and wherever ``FigureWidget`` cannot be built, the roll
is a static figure re-rendered into an ``ipywidgets.Output`` after each change, and bars are chosen with
the range slider instead of clicks on the figure.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable
from typing import Any

from codeplay_nb.music import Piece
from codeplay_nb.pianoroll import (
    bars_of_beats,
    bars_of_points,
    pianoroll_layout,
    pianoroll_shapes,
    pianoroll_traces,
)

log = logging.getLogger(__name__)

BarsCallback = Callable[[tuple[int, int], set[int] | None], None]
TRACE_FIELDS = ("base", "x", "y", "yaxis", "hovertext", "customdata", "name", "marker", "opacity")


def in_colab() -> bool:
    return "google.colab" in sys.modules


def figure_widget_available() -> bool:
    """Whether a Plotly ``FigureWidget`` can be built here (plotly + anywidget installed)."""
    try:
        import plotly.graph_objects as go

        go.FigureWidget()
    except Exception as exc:
        log.info("plotly FigureWidget unavailable (%s): using the static piano roll", exc)
        return False
    return True


class PianoRollView:
    """Holds ``widget`` (what is displayed: a full-width box) and ``figure`` (the current figure: the same
    ``FigureWidget`` when interactive, else the last static ``go.Figure``). ``on_bars`` is called with the
    bar range (1-based) and the tracks of notes selected or clicked on the figure (interactive mode only).

    The ``FigureWidget`` is created at the first drawing (``figure`` is ``None`` until then).
    """

    def __init__(self, *, interactive: bool | None = None, height: int = 360) -> None:
        import ipywidgets as widgets
        import plotly.graph_objects as go

        if interactive is None:
            interactive = not in_colab() and figure_widget_available()
        self.interactive = interactive
        self.height = height
        self.piece: Piece | None = None
        self.chords: list[str | None] | None = None
        self.on_bars: BarsCallback | None = None
        self._pending: set[tuple[int, int]] = set()
        self._drums_seen: set[int] = set()
        box_layout = {"width": "100%", "min_height": f"{height}px"}
        if interactive:
            # the FigureWidget is made at the first drawing, with the notes in its first state: one made while
            # Voila was still running the notebook sometimes never received later updates (empty axes)
            self.figure: Any = None
            self.widget = widgets.Box([widgets.HTML('<div class="codeplay-roll-empty">The piano roll appears '
                                                    'here once you compose.</div>')], layout=box_layout)
        else:
            self.figure = go.Figure(layout={"height": height})
            self.widget = widgets.Output(layout=box_layout)
        self.widget.add_class("codeplay-roll")

    def reset_lanes(self) -> None:
        """Forget the drum sounds of the previous song (lanes stay stable within one song)."""
        self._drums_seen = set()

    # ---------------------------------------------------------------- drawing
    def show(self, piece: Piece, selected_bars: tuple[int, int] | None = None,
             selected_tracks: Iterable[int] | None = None, *, chords: list[str | None] | None = None) -> None:
        """Draw ``piece``; trace objects are reused (updated in place) where the track count allows."""
        self.piece, self.chords = piece, chords
        self._drums_seen |= {n.pitch for t in piece.tracks if t.is_drum for n in t.notes}
        traces = pianoroll_traces(piece, selected_tracks, drum_lane_pitches=self._drums_seen)
        layout = pianoroll_layout(piece, selected_bars, height=self.height, drum_lane_pitches=self._drums_seen,
                                  chords=chords)
        self.widget.layout.min_height = f"{layout['height']}px"
        if not self.interactive:
            import plotly.graph_objects as go

            self.figure = go.Figure(data=traces, layout=layout)
            self._render_static()
            return
        fig = self.figure
        if fig is None:
            import plotly.graph_objects as go

            self.figure = go.FigureWidget(data=traces, layout=layout)
            self.figure._config = {"responsive": True, "displaylogo": False}  # follows the page's width
            self._connect()
            self.widget.children = (self.figure,)
            return
        with fig.batch_update():
            if len(fig.data) != len(traces):
                fig.data = ()
                fig.add_traces(traces)
                self._connect()
            else:
                for trace, new in zip(fig.data, traces, strict=True):
                    trace.update({k: new[k] for k in TRACE_FIELDS}, overwrite=True)
                    trace.selectedpoints = None
            fig.layout.update({**layout, "selections": []}, overwrite=True)  # drop the last box selection

    def highlight(self, selected_bars: tuple[int, int] | None, selected_tracks: Iterable[int] | None) -> None:
        """Move the selection rectangle and dim unselected tracks without recomputing the notes."""
        if self.piece is None or self.figure is None:
            return
        if not self.interactive:
            self.show(self.piece, selected_bars, selected_tracks, chords=self.chords)
            return
        chosen = None if selected_tracks is None else set(selected_tracks)
        from codeplay_nb.pianoroll import UNSELECTED_OPACITY

        with self.figure.batch_update():
            self.figure.layout.shapes = pianoroll_shapes(self.piece, selected_bars)
            for i, trace in enumerate(self.figure.data):
                trace.opacity = 1.0 if chosen is None or i in chosen else UNSELECTED_OPACITY

    def _render_static(self) -> None:
        from IPython.display import display

        self.widget.clear_output(wait=True)
        with self.widget:
            display(self.figure)

    # ---------------------------------------------------------------- selection on the figure
    def _connect(self) -> None:
        for trace in self.figure.data:
            trace.on_selection(self._selected)
            trace.on_click(self._selected)

    def _selected(self, trace, points, selector=None) -> None:
        """Plotly calls this once per trace, in trace order, for each click or selection event: the
        points are gathered until the last trace, then turned into a bar range and a set of tracks."""
        data = list(self.figure.data)
        idx = next((i for i, t in enumerate(data) if t is trace), None)
        if idx is None:
            return
        if idx == 0:
            self._pending = set()
        self._pending.update({(idx, i) for i in getattr(points, "point_inds", [])})
        if idx == len(data) - 1:
            chosen, self._pending = sorted(self._pending), set()
            if self.piece is None or self.on_bars is None:
                return
            bars = bars_of_points(self.piece, chosen)
            xrange = getattr(selector, "xrange", None)
            if xrange:
                bars = bars_of_beats(self.piece, *xrange)
            if bars is not None:
                self.on_bars(bars, {t for t, _ in chosen} or None)

    def select_points(self, points: dict[int, Iterable[int]], xrange: tuple[float, float] | None = None) -> None:
        """Do what a selection on the figure does: ``points`` maps a track (0-based) to selected note
        indices, ``xrange`` is the box in beats (used by tests and scripts; interactive mode only)."""
        if not self.interactive:
            return
        from plotly.callbacks import BoxSelector, Points

        selector = BoxSelector(xrange=list(xrange), yrange=[0, 127]) if xrange else None
        for i, trace in enumerate(self.figure.data):
            inds = list(points.get(i, ()))
            self._selected(trace, Points(point_inds=inds, xs=[], ys=[], trace_name=trace.name, trace_index=i),
                           selector)
