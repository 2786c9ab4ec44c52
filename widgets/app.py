"""``ComposerApp``: the composing notebook UI (prompt form, piano roll, bar and track editing, songs and
history, playback, downloads).

Every control is a public attribute, so a notebook or a test can drive the app: set ``.value``, call
``button.click()``, read ``app.song``. Callbacks only call core functions (``compose`` and the ``Song``
edits); errors a user can cause show in ``app.message``, never as a traceback. Nothing is lost: a new
composition joins the Songs list, editing an earlier version starts a new song (a branch), and every song
is autosaved to a folder next to the notebook and reopened by the next session.
"""

from __future__ import annotations

import html
import logging
import os
from collections.abc import Callable
from typing import Any

from codeplay_nb.attributes import Attributes
from codeplay_nb.errors import CodeplayError
from codeplay_nb.instruments import FAMILY_NAMES, GM_PROGRAM_NAMES
from codeplay_nb.song import Song, SongList

from .controls import ClassifyFn, build_attribute_controls, make_classifier
from .form import build_form
from .layout import TrackButtons, build_layout, chord_labels, summary_html
from .library import SongLibrary, download_link, save_copy, song_slug
from .roll import PianoRollView

log = logging.getLogger(__name__)

EXTEND_BARS = 4
TOKENS_PER_BAR_PER_TRACK = 25  # only for the progress bar's first estimate
DEFAULT_SONGS_DIR = "codeplay-songs"


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
    (True) or the static fallback (False); default: detect (static in Colab). ``songs_dir``: the autosave
    folder (``None``: no autosave); songs saved there earlier are reopened into the Songs list.
    """

    def __init__(self, model: Any = None, *, classify_fn: ClassifyFn | str | None = None, display: bool = True,
                 prompt: str = "", bars: int = 4, interactive_roll: bool | None = None, audio: bool = True,
                 songs_dir: str | os.PathLike | None = DEFAULT_SONGS_DIR) -> None:
        import ipywidgets as w

        self._model_arg = model
        self._model = None
        self._classify = make_classifier(classify_fn)
        self._inferred: Attributes | None = None
        self._busy = False
        self._syncing = False
        self._render_audio = audio
        self.songs = SongList()
        self.library = SongLibrary(songs_dir) if songs_dir else None
        self.wav: bytes = b""

        # ---------------------------------------------------------------- prompt form
        self.prompt = w.Textarea(value=prompt, placeholder="Describe the music, e.g. 'a calm jazz piano trio at 90 bpm'",
                                 layout={"width": "100%", "height": "72px"})
        self.compose_button = w.Button(description="Compose", button_style="primary", icon="music",
                                       tooltip="compose a new song (earlier songs stay in the Songs list)")
        self.analyze_button = w.Button(description="Read prompt", tooltip="fill the attributes from the prompt")
        self.form = build_form(bars)
        f = self.form
        self.bar_count, self.chords, self.density = f.bar_count, f.chords, f.density
        self.seed, self.random_seed, self.temperature, self.top_p = f.seed, f.random_seed, f.temperature, f.top_p
        self.backend, self.amt_model = f.backend, f.amt_model
        self.attributes = build_attribute_controls()
        self.genre, self.emotion, self.tempo = self.attributes.genre, self.attributes.emotion, self.attributes.tempo
        self.instruments, self.key = self.attributes.instruments, self.attributes.key

        # ---------------------------------------------------------------- status
        self.message = w.HTML("", layout={"width": "100%"})
        self.progress = w.IntProgress(value=0, min=0, max=100, bar_style="info",
                                      layout={"visibility": "hidden", "width": "220px"})
        self.summary = w.HTML("", layout={"width": "100%"})

        # ---------------------------------------------------------------- roll and selection
        self.roll = PianoRollView(interactive=interactive_roll)
        self.roll.on_bars = self._bars_from_figure
        self.piano_roll = self.roll.widget
        self.bars = w.IntRangeSlider(value=(1, 1), min=1, max=1, description="Bars", continuous_update=False,
                                     style={"description_width": "40px"}, layout={"width": "330px"})
        self.tracks = w.SelectMultiple(options=[], rows=4, description="Tracks")  # shown as track buttons
        self.track_buttons = TrackButtons(self.tracks, on_change=lambda: None)
        self.infill_button = w.Button(description="Regenerate bars", icon="refresh",
                                      tooltip="write the selected bars anew in the selected tracks")
        self.extend_button = w.Button(description=f"Extend +{EXTEND_BARS} bars", icon="plus")
        self.regenerate_track_button = w.Button(description="Regenerate track",
                                                tooltip="write the selected track anew (as the instrument "
                                                        "below, if one is given)")
        self.instrument = w.Combobox(options=[*FAMILY_NAMES, *GM_PROGRAM_NAMES], value="",
                                     placeholder="instrument: strings, Violin, 40…", ensure_option=False,
                                     layout={"width": "300px"})
        self.change_instrument_button = w.Button(description="Change instrument")
        self.add_track_button = w.Button(description="Add track")

        # ---------------------------------------------------------------- songs, history, playback, download
        self.undo_button = w.Button(description="Undo", icon="undo")
        self.redo_button = w.Button(description="Redo", icon="repeat")
        self.song_picker = w.Dropdown(options=[], description="Song", style={"description_width": "40px"},
                                      layout={"width": "330px"})
        self.history = w.Select(options=[], rows=8, layout={"width": "330px"})
        self.history.add_class("codeplay-history")
        self.song_picker.add_class("codeplay-songs")
        self.audio = w.Audio(value=b"", format="wav", autoplay=False, loop=False, controls=True,
                             layout={"width": "300px"})
        self.downloads = w.HTML("")
        self.save_path = w.Text(value="", description="File name", placeholder="sad-piano-ballad.mid",
                                style={"description_width": "110px"}, layout={"width": "360px"})
        self.overwrite = w.Checkbox(value=False, description="Replace an existing file", indent=False,
                                    layout={"width": "220px"})
        self.save_button = w.Button(description="Save on the server", icon="save",
                                    tooltip="write a copy next to the notebook (.mid or .wav)")
        self.saved_note = w.HTML("")

        self._edit_buttons = [self.infill_button, self.extend_button, self.regenerate_track_button,
                              self.change_instrument_button, self.add_track_button, self.save_button]
        self._all_buttons = [self.compose_button, self.analyze_button, *self._edit_buttons, self.undo_button,
                             self.redo_button]
        for b in self._all_buttons:
            b.layout.width = "auto"
        self._wire()
        self.widget = self._layout()
        self._reopen()
        self._set_buttons()
        if display:
            self.display()

    # ---------------------------------------------------------------- the current song
    @property
    def song(self) -> Song | None:
        return self.songs.current

    @song.setter
    def song(self, song: Song | None) -> None:
        if song is None:
            self.songs.index = None
        else:
            self.songs.add(song)

    # ---------------------------------------------------------------- display
    def display(self) -> None:
        from IPython.display import display

        display(self.widget)

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def _layout(self):
        return build_layout(self)

    def _wire(self) -> None:
        self.compose_button.on_click(lambda _: self._run("Composing", self._compose))
        self.analyze_button.on_click(lambda _: self._run("Reading the prompt", self._analyze, busy=False))
        self.infill_button.on_click(lambda _: self._run("Regenerating bars", self._infill))
        self.extend_button.on_click(lambda _: self._run("Extending", self._extend))
        self.regenerate_track_button.on_click(lambda _: self._run("Regenerating the track", self._regenerate_track))
        self.change_instrument_button.on_click(lambda _: self._run("Changing instrument", self._change_instrument))
        self.add_track_button.on_click(lambda _: self._run("Adding a track", self._add_track))
        self.undo_button.on_click(lambda _: self._run("Undo", lambda: self._move(-1), busy=False))
        self.redo_button.on_click(lambda _: self._run("Redo", lambda: self._move(+1), busy=False))
        self.save_button.on_click(lambda _: self._run("Saving", self._save, busy=False, changes=False))
        self.prompt.observe(lambda _: self.attributes.reset_auto(), names="value")
        self.bars.observe(lambda _: self._highlight(), names="value")
        self.tracks.observe(lambda _: self._highlight(), names="value")
        self.history.observe(self._jump, names="value")
        self.song_picker.observe(self._pick_song, names="value")

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
                self._autosave()
            self._say(done if isinstance(done, str) else self._describe())
        except CodeplayError as exc:
            self._say(str(exc), error=True)
        except Exception as exc:
            log.warning("%s failed", label, exc_info=True)
            self._say(f"{label} did not work: {exc}", error=True)
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
        self.message.value = f'<span class="codeplay-message" style="color:{colour}">{html.escape(text, quote=False)}</span>'

    def _describe(self) -> str:
        song = self.song
        return "" if song is None else song.describe_version(song.position) + "."

    def _next_seed(self) -> int:
        from codeplay_nb.generation import new_seed

        if self.random_seed.value:
            self.seed.value = new_seed(None)
        return int(self.seed.value)

    def _sampling(self) -> dict[str, Any]:
        return {"seed": self._next_seed(), "temperature": self.temperature.value, "top_p": self.top_p.value,
                "model": self.model, "on_token": self._on_token}

    def _require_song(self) -> Song:
        if self.song is None:
            raise CodeplayError("compose something first")
        return self.song

    def _editable(self) -> tuple[Song, str]:
        """The song to edit: an earlier version is first copied into a new song (a branch), so the later
        versions stay where they were."""
        song = self._require_song()
        if not song.can_redo:
            return song, ""
        branch = song.branch()
        self.songs.add(branch)
        self.roll.reset_lanes()
        return branch, (f' You edited version {song.position + 1} of "{song.title}", so this is a new song; '
                        f"its later versions are still in the Songs list.")

    # ---------------------------------------------------------------- callbacks (each calls core functions)
    def _classify_and_remember(self, prompt: str) -> Attributes:
        self._inferred = self._classify(prompt)
        return self._inferred

    def _compose(self) -> str:
        from codeplay_nb.composer import compose

        bars = self.form.bars()
        extras, notes = self.form.extras(compose)
        prompt = self.prompt.value.strip() or None
        overrides = self.attributes.overrides()
        self._inferred = None
        self._expect(bars, len(overrides["instruments"] or ()) or 3)
        song = compose(prompt, bars=bars, classify_fn=self._classify_and_remember, **overrides, **extras,
                       **self._sampling())
        before = len(self.songs)
        self.roll.reset_lanes()
        self.songs.add(song)
        self.attributes.fill(song.attributes, self._inferred)
        n = max(song.piece.n_bars, 1)
        self._syncing = True
        try:
            self.bars.max, self.bars.value = n, (1, n)
        finally:
            self._syncing = False
        tracks = ", ".join(t.label for t in song.piece.tracks)
        kept = f" Your {before} earlier song{'s are' if before > 1 else ' is'} in the Songs list." if before else ""
        return " ".join([f'Composed "{song.title}": {n} bars ({tracks}).{kept}', *song.attributes.notes, *notes])

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
            raise CodeplayError("select exactly one track (click its button above the piano roll) for this")
        return self.tracks.value[0] + 1

    def _edit_kwargs(self, song: Song) -> dict[str, Any]:
        kw = {"attributes": song.attributes, **self._sampling()}
        if self.backend.value == "amt":  # extend / infill / regenerate through the AMT backend
            kw.update(backend="amt", model=self.amt_model.value.strip() or None)
        return kw

    def _edit(self, apply: Callable[[Song], Any]) -> str:
        song, note = self._editable()
        apply(song)
        return self._describe() + note

    def _infill(self) -> str:
        first, last = self.bars.value
        tracks = self._selected_tracks()
        self._expect(last - first + 1, len(self._require_song().piece.tracks))
        return self._edit(lambda s: s.infill((first, last), tracks=tracks, **self._edit_kwargs(s)))

    def _extend(self) -> str:
        self._expect(EXTEND_BARS, len(self._require_song().piece.tracks))
        return self._edit(lambda s: s.extend(EXTEND_BARS, **self._edit_kwargs(s)))

    def _instrument(self) -> str:
        if not self.instrument.value.strip():
            raise CodeplayError("type or pick an instrument first (e.g. strings, Violin or a GM number)")
        return self.instrument.value.strip()

    def _regenerate_track(self) -> str:
        track = self._one_track()
        self._expect(self._require_song().piece.n_bars, 1)
        instrument = self.instrument.value.strip() or None
        return self._edit(lambda s: s.regenerate_track(track, instrument, **self._edit_kwargs(s)))

    def _change_instrument(self) -> str:
        track, instrument = self._one_track(), self._instrument()
        from codeplay_nb.editing import set_instrument

        set_instrument(self._require_song().piece, track, instrument)  # refused before any branch is made
        return self._edit(lambda s: s.set_instrument(track, instrument))

    def _add_track(self) -> str:
        instrument = self._instrument()
        self._expect(self._require_song().piece.n_bars, 1)
        return self._edit(lambda s: s.add_track(instrument, **self._edit_kwargs(s)))

    def _move(self, step: int) -> str:
        song = self._require_song()
        song.undo() if step < 0 else song.redo()
        return f"Now at version {song.position + 1}: {song.describe_version(song.position)}."

    def _save(self) -> str:
        song = self._require_song()
        name = self.save_path.value.strip() or f"{song_slug(song)}.mid"
        out = save_copy(song, name, overwrite=self.overwrite.value)
        self.overwrite.value = False
        return f"Saved a copy as {out}"

    def _jump(self, change) -> None:
        if self._syncing or self._busy or self.song is None or change["new"] is None:
            return
        if change["new"] != self.song.position:
            self.song.position = int(change["new"])
            self._run("Version", lambda: f"Showing version {self.song.position + 1}; editing it starts a new song "
                      "and keeps the later versions." if self.song.can_redo else None, busy=False)

    def _pick_song(self, change) -> None:
        if self._syncing or self._busy or change["new"] is None or change["new"] == self.songs.index:
            return
        self.songs.select(int(change["new"]))
        self.roll.reset_lanes()
        self._run("Song", lambda: f'Showing "{self.song.title}".', busy=False)

    def _bars_from_figure(self, bars: tuple[int, int], tracks: set[int] | None) -> None:
        self.bars.value = bars
        if tracks:
            self.tracks.value = tuple(sorted(tracks))

    # ---------------------------------------------------------------- autosave and reopening
    def _autosave(self) -> None:
        if self.library is None or self.song is None:
            return
        try:
            home = self.library.save(self.song)
            self.saved_note.value = (f'<span class="codeplay-hint">Autosaved in {html.escape(self.library.display_path())}'
                                     f"{html.escape(home.name)}</span>")
        except OSError as exc:
            self.saved_note.value = f'<span class="codeplay-hint">Autosave is off: {html.escape(str(exc))}</span>'

    def _reopen(self) -> None:
        if self.library is None:
            return
        songs = self.library.load_all()
        for s in songs:
            self.songs.add(s)
        if songs:
            self.songs.index = None  # nothing shown until the person picks a song or composes
            self._sync_songs()
            self._say(f"{len(songs)} song{'s' if len(songs) > 1 else ''} from earlier "
                      f"{'are' if len(songs) > 1 else 'is'} in the Songs list (autosaved in "
                      f"{self.library.display_path()}).")

    # ---------------------------------------------------------------- refreshing the view
    def _highlight(self) -> None:
        self.track_buttons.paint()
        if self._syncing or self.song is None:
            return
        self.roll.highlight(self.bars.value, self.tracks.value or None)

    def _sync_songs(self) -> None:
        self._syncing = True
        try:
            self.song_picker.options = [(t, i) for i, t in enumerate(self.songs.titles())]
            self.song_picker.value = self.songs.index
        finally:
            self._syncing = False

    def refresh(self) -> None:
        """Show the current song everywhere: roll, track buttons, bars, songs, history, audio, downloads."""
        self._sync_songs()
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
            same = len(options) == len(old)  # a renamed track keeps its selection
            self.tracks.value = keep if same and keep else tuple(range(len(options)))
            self.history.options = [(f"{i + 1}. {line}", i) for i, line in enumerate(self.song.history_sentences())]
            self.history.value = self.song.position
        finally:
            self._syncing = False
        self.track_buttons.update([o[0] for o in options], [t.is_drum for t in piece.tracks])
        self.roll.show(piece, self.bars.value, self.tracks.value, chords=chord_labels(self.song))
        self.summary.value = summary_html(self.song)
        self._render_outputs()

    def _render_outputs(self) -> None:
        name = song_slug(self.song)
        links = [download_link(self.song.to_midi_bytes(), "audio/midi", f"{name}.mid", "⬇ MIDI")]
        if self._render_audio:
            from codeplay_nb.audio import to_wav_bytes

            self.wav = to_wav_bytes(self.song.piece)
            self.audio.value = self.wav
            links.append(download_link(self.wav, "audio/wav", f"{name}.wav", "⬇ WAV"))
        self.downloads.value = "".join(links)
        self.save_path.placeholder = f"{name}.mid"

    def _set_buttons(self) -> None:
        has = self.song is not None
        self.compose_button.disabled = self.analyze_button.disabled = False
        for b in self._edit_buttons:
            b.disabled = not has
        self.undo_button.disabled = not (has and self.song.can_undo)
        self.redo_button.disabled = not (has and self.song.can_redo)
