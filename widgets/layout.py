"""The app's page: fixed-width columns that wrap instead of overlapping (1024-1920 px wide, in JupyterLab,
Notebook 7, VS Code and Voila), the piano roll across the full width, track buttons as its legend."""

from __future__ import annotations

import html
import os
from collections.abc import Callable
from typing import Any

from codeplay_nb.pianoroll import track_colour

CSS = """<style>
.codeplay-app { width: 100%; box-sizing: border-box; gap: 6px; }
.codeplay-app .codeplay-row { display: flex; flex-flow: row wrap; align-items: flex-start; gap: 10px 18px;
  width: 100%; }
.codeplay-app .codeplay-col { flex: 0 0 auto; overflow: visible; }
.codeplay-app .codeplay-col-prompt { flex: 1 1 380px; min-width: 340px; max-width: 720px; }
.codeplay-app .codeplay-col h4, .codeplay-app .codeplay-title { margin: 2px 0 4px 0; font-size: 13px;
  font-weight: 600; }
.codeplay-app .codeplay-buttons { display: flex; flex-flow: row wrap; gap: 4px; }
.codeplay-app .codeplay-buttons .widget-button, .codeplay-app .codeplay-buttons .widget-toggle-button
  { width: auto; min-width: 0; margin: 0; }
.codeplay-app .widget-button { overflow: visible; }
.codeplay-app .codeplay-roll { width: 100%; display: flex; }
.codeplay-app .codeplay-roll > * { flex: 1 1 100%; min-width: 0; width: 100%; }
.codeplay-app .codeplay-roll-empty { color: #777; padding: 40px 12px; font-style: italic; }
.codeplay-app .codeplay-conf { display: inline-block; margin-left: 6px; padding: 1px 8px; border-radius: 10px;
  background: #e8f0fe; color: #1a4a8a; font-size: 12px; line-height: 20px; white-space: nowrap; }
.codeplay-app .codeplay-hint { color: #666; font-size: 12px; }
.codeplay-app .codeplay-label { display: inline-block; width: 96px; text-align: right; padding-right: 4px;
  line-height: 28px; }
.codeplay-app .codeplay-attr-row .jupyter-widget-tagsinput, .codeplay-app .codeplay-attr-row .widget-tagsinput
  { min-width: 170px; border: 1px solid #9e9e9e; min-height: 28px; }
.codeplay-app .codeplay-summary { font-size: 13px; color: #333; }
.codeplay-app .codeplay-message { font-size: 13px; }
.codeplay-app .codeplay-history select { height: 168px; }
.codeplay-app a.codeplay-download { display: inline-block; padding: 4px 10px; margin: 2px 6px 2px 0;
  border: 1px solid #1976d2; border-radius: 3px; color: #1976d2; text-decoration: none; font-size: 13px; }
.codeplay-app a.codeplay-download:hover { background: #e3f2fd; }
.codeplay-app .codeplay-tracks .widget-button { border-radius: 12px; }
</style>"""


def column(title: str, children: list, width: str | None = None, cls: str = ""):
    import ipywidgets as w

    box = w.VBox([w.HTML(f"<h4>{title}</h4>"), *children] if title else list(children),
                 layout={"width": width} if width else {})
    box.add_class("codeplay-col")
    if cls:
        box.add_class(cls)
    return box


def buttons(items: list):
    import ipywidgets as w

    box = w.HBox(items)
    box.add_class("codeplay-buttons")
    return box


def row(items: list):
    import ipywidgets as w

    box = w.HBox(items, layout={"width": "100%"})
    box.add_class("codeplay-row")
    return box


class TrackButtons:
    """The roll's legend as buttons, one per track in its colour: a click selects or deselects the track
    (the selection lives in ``tracks``, an ``ipywidgets.SelectMultiple`` that is not displayed)."""

    def __init__(self, tracks: Any, on_change: Callable[[], None] | None = None) -> None:
        import ipywidgets as w

        self.tracks = tracks
        self.on_change = on_change
        self.all_button = w.Button(description="All tracks", tooltip="select every track",
                                   layout={"width": "auto"})
        self.all_button.on_click(lambda _: self._set(tuple(range(len(self.tracks.options)))))
        self.items: list[Any] = []
        self.box = w.HBox([], layout={"width": "100%"})
        self.box.add_class("codeplay-buttons")
        self.box.add_class("codeplay-tracks")
        self._drums: list[bool] = []

    def update(self, labels: list[str], drums: list[bool]) -> None:
        import ipywidgets as w

        if [b.description for b in self.items] != labels:
            self.items = []
            for i, label in enumerate(labels):
                b = w.Button(description=label, tooltip="click to select or deselect this track",
                             layout={"width": "auto"})
                b.on_click(lambda _, i=i: self.toggle(i))
                self.items.append(b)
            self.box.children = (w.HTML("<b>Tracks</b>&nbsp;"), *self.items, self.all_button)
        self._drums = drums
        self.paint()

    def toggle(self, index: int) -> None:
        chosen = set(self.tracks.value)
        chosen ^= {index}
        self._set(tuple(sorted(chosen)))

    def _set(self, value: tuple[int, ...]) -> None:
        self.tracks.value = value
        if self.on_change:
            self.on_change()

    def paint(self) -> None:
        chosen = set(self.tracks.value)
        for i, b in enumerate(self.items):
            colour = track_colour(i, self._drums[i] if i < len(self._drums) else False)
            on = i in chosen
            b.style.button_color = colour if on else "#ffffff"
            b.style.text_color = "#ffffff" if on else colour
            b.style.font_weight = "bold" if on else "normal"


def _in_voila() -> bool:
    return any(k.startswith("VOILA_") for k in os.environ)


def build_layout(app: Any):
    """The whole page: form row, More settings, status, track buttons, full-width roll, tool columns."""
    import ipywidgets as w

    f = app.form
    describe = column("Describe the music", [app.prompt, buttons([app.compose_button, app.analyze_button])],
                      cls="codeplay-col-prompt")
    shape = column("Shape", [w.HBox([f.bar_count, f.bars_hint]), f.chords, f.density], width="310px")
    attrs = column("Attributes (auto = from the prompt)", [app.attributes.box], width="420px")
    server = [] if _in_voila() else [
        w.HTML("<h4>Save a copy on the server</h4>"), app.save_path,
        buttons([app.overwrite, app.save_button])]
    more = w.Accordion(children=[w.VBox([w.HBox([f.seed, f.random_seed]), f.temperature, f.top_p, f.backend,
                                         f.amt_model, *server])], layout={"width": "100%"})
    more.set_title(0, "More settings")
    more.selected_index = None
    edit = column("Edit bars", [app.bars, buttons([app.infill_button, app.extend_button])], width="340px")
    instrument = column("Tracks", [app.instrument, buttons([app.regenerate_track_button,
                                                             app.change_instrument_button,
                                                             app.add_track_button])], width="320px")
    history = column("Songs and history", [app.song_picker, buttons([app.undo_button, app.redo_button]),
                                           app.history], width="340px")
    listen = column("Listen and download", [app.audio, app.downloads, app.saved_note], width="320px")
    root = w.VBox([
        w.HTML(CSS), row([describe, shape, attrs]), more,
        row([app.progress, app.message]), app.summary, app.track_buttons.box, app.piano_roll,
        row([edit, instrument, history, listen]),
    ], layout={"width": "100%"})
    root.add_class("codeplay-app")
    return root


def chord_labels(song: Any) -> list[str | None] | None:
    """The chord of each bar, as written on the roll, when the song has them."""
    chords = getattr(song.attributes, "chords", None) or song.versions[0].params.get("chords")
    if not chords:
        return None
    try:
        from codeplay_nb.chords import display
    except ImportError:
        return list(chords)
    out = []
    for c in chords:
        try:
            out.append(display(c) if c else None)
        except Exception:
            out.append(str(c))
    return out


def summary_html(song: Any) -> str:
    """The summary line: title, the key used (asked for, chosen from the mood, or heard in the notes), bars,
    notes, tempo..."""
    s = song.summary()
    key = song.attributes.key
    chosen = bool(song.versions[0].params.get("key_chosen"))
    how = ("chosen from the mood" if chosen else "asked for") if key else "heard in the notes"
    if not key:
        from codeplay_nb.metrics import estimate_key_numpy

        key = estimate_key_numpy(song.piece) or "unclear"
    genre = song.attributes.genre
    genre_how = " (chosen from the instruments, meter and tempo)" if genre and \
        song.versions[0].params.get("genre_chosen") == genre else ""
    parts = [f"<b>{html.escape(song.title)}</b>", f"key {html.escape(key)} ({how})",
             *([f"genre {html.escape(genre)}{genre_how}"] if genre else []),
             f"{s['bars']} bars", f"{s['notes']} notes", f"{s['tempo_bpm']:g} BPM", s["time_signature"],
             f"{s['seconds']:.1f} s", f"version {s['version'] + 1} of {len(song.versions)}"]
    return f'<div class="codeplay-summary">{" · ".join(parts)}</div>'
