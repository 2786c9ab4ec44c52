"""``ComposerApp``: the composing notebook UI (prompt form, piano roll, bar editing, playback, download).

Every control is a public attribute, so a notebook or a test can drive the app: set ``.value``, call
``button.click()``, read ``app.song``. Callbacks only call core functions (``compose`` and the ``Song``
edits); errors a user can cause show in ``app.message``, never as a traceback.
"""

from __future__ import annotations

import base64
import html
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from codeplay_nb.attributes import Attributes
from codeplay_nb.errors import CodeplayError
from codeplay_nb.instruments import FAMILY_NAMES, GM_PROGRAM_NAMES

from .controls import ClassifyFn, build_attribute_controls, make_classifier
from .roll import PianoRollView

log = logging.getLogger(__name__)

EXTEND_BARS = 4
TOKENS_PER_BAR_PER_TRACK = 25  # only for the progress bar's first estimate
DEFAULT_SAVE_PATH = "codeplay.mid"


def resolve_model(model: Any):
    """A ``MusicModel`` from an instance, ``"tiny"`` (random tiny model), a folder / Hub id, or ``None``
    (the shipped weights)."""
    from codeplay_nb.model.checkpoint import MusicModel, load_model, tiny_music_model

    if isinstance(model, MusicModel):
        return model
    if model == "tiny":
        return tiny_music_model()
    return load_model(model)


class ComposerApp:
    """Compose from a prompt, then edit bars and tracks, listen, undo/redo and download.

    ``model``: a ``MusicModel``, a folder, ``"tiny"`` or ``None`` (the shipped weights; loaded at the
    first composition). ``classify_fn``: ``None`` (shipped classifier, prompt rules as fallback),
    ``"rules"`` or a function ``prompt -> Attributes``. ``interactive_roll``: force the ``FigureWidget``
    (True) or the static fallback (False); default: detect (static in Colab).
    """

    def __init__(self, model: Any = None, *, classify_fn: ClassifyFn | str | None = None, display: bool = True,
                 prompt: str = "", bars: int = 4, interactive_roll: bool | None = None, audio: bool = True) -> None:
        import ipywidgets as w

        self._model_arg = model
        self._model = None
        self._classify = make_classifier(classify_fn)
        self._inferred: Attributes | None = None
        self._busy = False
        self._syncing = False
        self._render_audio = audio
        self.song = None
        self.wav: bytes = b""

        # ---------------------------------------------------------------- prompt form
        self.prompt = w.Textarea(value=prompt, placeholder="Describe the music, e.g. 'a calm jazz piano trio at 90 bpm'",
                                 layout={"width": "100%", "height": "60px"})
        self.compose_button = w.Button(description="Compose", button_style="primary", icon="music")
        self.analyze_button = w.Button(description="Read prompt", tooltip="fill the attributes from the prompt")
        self.bar_count = w.BoundedIntText(value=bars, min=1, max=64, description="Bars", layout={"width": "140px"})
        self.seed = w.IntText(value=0, description="Seed", layout={"width": "200px"})
        self.random_seed = w.Checkbox(value=True, description="new seed each time", indent=False,
                                      layout={"width": "160px"})
        self.temperature = w.FloatSlider(value=1.0, min=0.5, max=1.5, step=0.05, description="Temperature")
        self.top_p = w.FloatSlider(value=0.95, min=0.5, max=1.0, step=0.01, description="Top-p")
        # the editing backend: our model, or the Anticipatory Music Transformer (its weights need internet)
        self.backend = w.Dropdown(options=[("our model (NNN)", "nnn"), ("Anticipatory Music Transformer", "amt")],
                                  value="nnn", description="Edit with")
        self.amt_model = w.Text(value="stanford-crfm/music-small-800k", description="AMT model",
                                layout={"width": "420px"})
        self.attributes = build_attribute_controls()
        self.genre, self.emotion, self.tempo = self.attributes.genre, self.attributes.emotion, self.attributes.tempo
        self.instruments, self.key = self.attributes.instruments, self.attributes.key

        # ---------------------------------------------------------------- status
        self.message = w.HTML("")
        self.progress = w.IntProgress(value=0, min=0, max=100, bar_style="info", layout={"visibility": "hidden"})

        # ---------------------------------------------------------------- roll and selection
        self.roll = PianoRollView(interactive=interactive_roll)
        self.roll.on_bars = self._bars_from_figure
        self.piano_roll = self.roll.widget
        self.bars = w.IntRangeSlider(value=(1, 1), min=1, max=1, description="Bars", continuous_update=False,
                                     layout={"width": "420px"})
        self.tracks = w.SelectMultiple(options=[], rows=4, description="Tracks")
        self.infill_button = w.Button(description="Regenerate bars", icon="refresh")
        self.extend_button = w.Button(description=f"Extend +{EXTEND_BARS} bars", icon="plus")
        self.regenerate_track_button = w.Button(description="Regenerate track")
        self.instrument = w.Combobox(options=[*FAMILY_NAMES, *GM_PROGRAM_NAMES], value="",
                                     placeholder="instrument: strings, Violin, 40…", ensure_option=False)
        self.change_instrument_button = w.Button(description="Change instrument")
        self.add_track_button = w.Button(description="Add track")

        # ---------------------------------------------------------------- history, playback, download
        self.undo_button = w.Button(description="Undo", icon="undo")
        self.redo_button = w.Button(description="Redo", icon="repeat")
        self.history = w.Select(options=[], rows=4, layout={"width": "100%"})
        self.audio = w.Audio(value=b"", format="wav", autoplay=False, loop=False, controls=True)
        self.save_path = w.Text(value=DEFAULT_SAVE_PATH, description="Save as", layout={"width": "320px"})
        self.save_button = w.Button(description="Save", icon="save", tooltip=".mid writes MIDI, .wav writes audio")
        self.downloads = w.HTML("")
        self.summary = w.HTML("")

        self._edit_buttons = [self.infill_button, self.extend_button, self.regenerate_track_button,
                              self.change_instrument_button, self.add_track_button, self.save_button]
        self._all_buttons = [self.compose_button, self.analyze_button, *self._edit_buttons, self.undo_button,
                             self.redo_button]
        for b in self._all_buttons:
            b.layout.width = "auto"
        self._wire()
        self.widget = self._layout()
        self._set_buttons()
        if display:
            self.display()

    # ---------------------------------------------------------------- display
    def display(self) -> None:
        from IPython.display import display

        display(self.widget)

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def _layout(self):
        import ipywidgets as w

        accordion = w.Accordion(children=[w.VBox([self.attributes.box, w.HBox([self.temperature, self.top_p]),
                                                   w.HBox([self.backend, self.amt_model])])])
        accordion.set_title(0, "Attributes (auto = from the prompt) and sampling")
        form = w.VBox([
            w.HTML("<b>Describe the music</b>"), self.prompt,
            w.HBox([self.compose_button, self.analyze_button, self.bar_count, self.seed, self.random_seed]),
            accordion,
        ])
        edit = w.VBox([
            w.HBox([self.bars, self.tracks]),
            w.HBox([self.infill_button, self.extend_button, self.regenerate_track_button]),
            w.HBox([self.instrument, self.change_instrument_button, self.add_track_button]),
        ])
        side = w.VBox([w.HBox([self.undo_button, self.redo_button]), w.HTML("<b>History</b>"), self.history])
        output = w.VBox([self.audio, w.HBox([self.save_path, self.save_button]), self.downloads])
        root = w.VBox([form, w.HBox([self.progress, self.message]), self.summary, self.piano_roll,
                       w.HBox([edit, side]), output])
        root.add_class("codeplay-app")
        return root

    def _wire(self) -> None:
        self.compose_button.on_click(lambda _: self._run("Composing", self._compose))
        self.analyze_button.on_click(lambda _: self._run("Reading the prompt", self._analyze, busy=False))
        self.infill_button.on_click(lambda _: self._run("Regenerating bars", self._infill))
        self.extend_button.on_click(lambda _: self._run("Extending", self._extend))
        self.regenerate_track_button.on_click(lambda _: self._run("Regenerating the track", self._regenerate_track))
        self.change_instrument_button.on_click(lambda _: self._run("Changing instrument", self._change_instrument))
        self.add_track_button.on_click(lambda _: self._run("Adding a track", self._add_track))
        self.undo_button.on_click(lambda _: self._run("Undo", lambda: self.song.undo(), busy=False))
        self.redo_button.on_click(lambda _: self._run("Redo", lambda: self.song.redo(), busy=False))
        self.save_button.on_click(lambda _: self._run("Saving", self._save, busy=False, changes=False))
        self.prompt.observe(lambda _: self.attributes.reset_auto(), names="value")
        self.bars.observe(lambda _: self._highlight(), names="value")
        self.tracks.observe(lambda _: self._highlight(), names="value")
        self.history.observe(self._jump, names="value")

    # ---------------------------------------------------------------- running operations
    @property
    def model(self):
        if self._model is None:
            self._model = resolve_model(self._model_arg)
        return self._model

    def _run(self, label: str, action: Callable[[], Any], *, busy: bool = True, changes: bool = True) -> None:
        """Run ``action`` with the buttons disabled and a progress bar; show errors as a message."""
        if self._busy:
            return
        self._busy = True
        for b in self._all_buttons:
            b.disabled = True
        if busy:
            self.progress.value, self.progress.max = 0, 100
            self.progress.layout.visibility = "visible"
        self._say(f"{label}…")
        try:
            done = action()
            if changes:
                self.refresh()
            self._say(done if isinstance(done, str) else self._notes(label))
        except CodeplayError as exc:
            self._say(str(exc), error=True)
        except Exception as exc:
            log.debug("%s failed", label, exc_info=True)
            self._say(f"{label} failed: {type(exc).__name__}: {exc}", error=True)
        finally:
            self._busy = False
            self.progress.layout.visibility = "hidden"
            self._set_buttons()

    def _on_token(self, _token_id: int) -> None:
        p = self.progress
        if p.value + 1 >= p.max:
            p.max = int(p.max * 1.5) + 1
        p.value += 1

    def _expect(self, bars: int, tracks: int) -> None:
        self.progress.max = max(10, bars * max(tracks, 1) * TOKENS_PER_BAR_PER_TRACK)

    def _say(self, text: str, *, error: bool = False) -> None:
        colour = "#b00020" if error else "#333"
        self.message.value = f'<span class="codeplay-message" style="color:{colour}">{html.escape(text)}</span>'

    def _notes(self, label: str) -> str:
        if self.song is None:
            return ""
        v = self.song.versions[self.song.position]
        notes = list(self.song.attributes.notes) if v.operation == "compose" else []
        return " ".join([f"Version {self.song.position}: {v.operation}, seed {v.seed}.", *notes])

    def _next_seed(self) -> int:
        from codeplay_nb.generation import new_seed

        if self.random_seed.value:
            self.seed.value = new_seed(None)
        return int(self.seed.value)

    def _sampling(self) -> dict[str, Any]:
        return {"seed": self._next_seed(), "temperature": self.temperature.value, "top_p": self.top_p.value,
                "model": self.model, "on_token": self._on_token}

    def _require_song(self):
        if self.song is None:
            raise CodeplayError("compose something first")
        return self.song

    # ---------------------------------------------------------------- callbacks (each calls core functions)
    def _classify_and_remember(self, prompt: str) -> Attributes:
        self._inferred = self._classify(prompt)
        return self._inferred

    def _compose(self) -> None:
        from codeplay_nb.composer import compose

        prompt = self.prompt.value.strip() or None
        overrides = self.attributes.overrides()
        self._inferred = None
        self._expect(self.bar_count.value, len(overrides["instruments"] or ()) or 3)
        self.song = compose(prompt, bars=self.bar_count.value, classify_fn=self._classify_and_remember,
                            **overrides, **self._sampling())
        self.attributes.fill(self.song.attributes, self._inferred)
        n = self.song.piece.n_bars
        self._syncing = True
        try:
            self.bars.max, self.bars.value = max(n, 1), (1, max(n, 1))
        finally:
            self._syncing = False

    def _analyze(self) -> str:
        attrs = self._classify(self.prompt.value)
        self.attributes.reset_auto()
        self.attributes.fill(attrs, attrs)
        return " ".join(["Attributes read from the prompt; change any before composing.", *attrs.notes])

    def _selected_tracks(self) -> list[int] | None:
        """1-based tracks for an edit, ``None`` for all."""
        chosen = list(self.tracks.value)
        if not chosen or len(chosen) == len(self.tracks.options):
            return None
        return [i + 1 for i in chosen]

    def _one_track(self) -> int:
        if len(self.tracks.value) != 1:
            raise CodeplayError("select exactly one track in the Tracks list for this")
        return self.tracks.value[0] + 1

    def _edit_kwargs(self) -> dict[str, Any]:
        kw = {"attributes": self._require_song().attributes, **self._sampling()}
        if self.backend.value == "amt":  # extend / infill / regenerate through the AMT backend
            kw.update(backend="amt", model=self.amt_model.value.strip() or None)
        return kw

    def _infill(self) -> None:
        song = self._require_song()
        first, last = self.bars.value
        self._expect(last - first + 1, len(song.piece.tracks))
        song.infill((first, last), tracks=self._selected_tracks(), **self._edit_kwargs())

    def _extend(self) -> None:
        song = self._require_song()
        self._expect(EXTEND_BARS, len(song.piece.tracks))
        song.extend(EXTEND_BARS, **self._edit_kwargs())

    def _instrument(self) -> str:
        if not self.instrument.value.strip():
            raise CodeplayError("type or pick an instrument first (e.g. strings, Violin or a GM number)")
        return self.instrument.value.strip()

    def _regenerate_track(self) -> None:
        song = self._require_song()
        track = self._one_track()
        self._expect(song.piece.n_bars, 1)
        song.regenerate_track(track, self.instrument.value.strip() or None, **self._edit_kwargs())

    def _change_instrument(self) -> None:
        self._require_song().set_instrument(self._one_track(), self._instrument())

    def _add_track(self) -> None:
        song = self._require_song()
        self._expect(song.piece.n_bars, 1)
        song.add_track(self._instrument(), **self._edit_kwargs())

    def _save(self) -> str:
        song = self._require_song()
        path = Path(self.save_path.value.strip() or DEFAULT_SAVE_PATH).expanduser()
        if path.suffix.lower() == ".wav":
            from codeplay_nb.audio import write_wav

            out = write_wav(song.piece, path)
        elif path.suffix.lower() in (".mid", ".midi"):
            out = song.save(path)
        else:
            raise CodeplayError(f"save as .mid (MIDI) or .wav (audio), not {path.name!r}")
        return f"Saved {out.resolve()}"

    def _jump(self, change) -> None:
        if self._syncing or self._busy or self.song is None or change["new"] is None:
            return
        if change["new"] != self.song.position:
            self.song.position = int(change["new"])
            self._run("Version", lambda: None, busy=False)

    def _bars_from_figure(self, bars: tuple[int, int], tracks: set[int] | None) -> None:
        self.bars.value = bars
        if tracks:
            self.tracks.value = tuple(sorted(tracks))

    # ---------------------------------------------------------------- refreshing the view
    def _highlight(self) -> None:
        if self._syncing or self.song is None:
            return
        self.roll.highlight(self.bars.value, self.tracks.value or None)

    def refresh(self) -> None:
        """Show ``self.song``'s current version everywhere: roll, selectors, history, audio, downloads."""
        if self.song is None:
            return
        piece = self.song.piece
        n = max(piece.n_bars, 1)
        self._syncing = True
        try:
            first, last = self.bars.value
            self.bars.max = n
            self.bars.value = (min(first, n), min(max(last, first), n))
            old = [o[0] for o in self.tracks.options]
            options = [(f"{i + 1}. {t.label}", i) for i, t in enumerate(piece.tracks)]
            keep = tuple(i for i in self.tracks.value if i < len(options))
            self.tracks.options = options
            same = [o[0] for o in options] == old
            self.tracks.value = keep if same and keep else tuple(range(len(options)))
            self.history.options = [(line, i) for i, line in enumerate(self.song.describe_history())]
            self.history.value = self.song.position
        finally:
            self._syncing = False
        self.roll.show(piece, self.bars.value, self.tracks.value)
        s = self.song.summary()
        self.summary.value = (f"<small>{s['bars']} bars · {s['notes']} notes · {s['tempo_bpm']:g} BPM · "
                              f"{s['time_signature']} · {s['seconds']:.1f} s · version {s['version']}</small>")
        self._render_outputs()

    def _render_outputs(self) -> None:
        midi = self.song.to_midi_bytes()
        links = [_data_link(midi, "audio/midi", "codeplay.mid", "Download MIDI")]
        if self._render_audio:
            from codeplay_nb.audio import to_wav_bytes

            self.wav = to_wav_bytes(self.song.piece)
            self.audio.value = self.wav
            links.append(_data_link(self.wav, "audio/wav", "codeplay.wav", "Download WAV"))
        self.downloads.value = " · ".join(links)

    def _set_buttons(self) -> None:
        has = self.song is not None
        self.compose_button.disabled = self.analyze_button.disabled = False
        for b in self._edit_buttons:
            b.disabled = not has
        self.undo_button.disabled = not (has and self.song.can_undo)
        self.redo_button.disabled = not (has and self.song.can_redo)


def _data_link(data: bytes, mime: str, filename: str, text: str) -> str:
    b64 = base64.b64encode(data).decode("ascii")
    return f'<a download="{filename}" href="data:{mime};base64,{b64}">{html.escape(text)}</a>'
