"""The composing app driven headless (tiny random model): its results equal calling the core directly."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("plotly")

from codeplay_nb.widgets import ComposerApp
from codeplay_nb.widgets.form import parse_bars
from codeplay_nb.widgets.library import SongLibrary, slug

from codeplay_nb.attributes import Attributes
from codeplay_nb.composer import compose
from codeplay_nb.errors import CodeplayError
from codeplay_nb.model.checkpoint import tiny_music_model
from codeplay_nb.pianoroll import pianoroll_traces
from codeplay_nb.song import Song

PROMPT = "a happy pop tune with piano and bass"
SEED = 11


def stub_classify(prompt: str) -> Attributes:
    return Attributes(genre="pop", emotion="happy", bpm=112.0, instruments=("piano", "bass"),
                      probabilities={"genre": {"pop": 0.7, "rock": 0.3}, "emotion": {"happy": 0.9, "sad": 0.1},
                                     "tempo_bin": {"moderate": 0.6, "fast": 0.4},
                                     "instruments": {"piano": 0.95, "bass": 0.8}})


@pytest.fixture(scope="module")
def model():
    return tiny_music_model()


def _notes_outside(piece, first: int, last: int):
    start, end = piece.bar_span(first - 1, last - 1)
    return [[n for n in t.notes if not start <= n.start < end] for t in piece.tracks]


@pytest.fixture(scope="module")
def songs_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("songs")


@pytest.fixture(scope="module")
def composed(model, songs_dir):
    app = ComposerApp(model, classify_fn=stub_classify, display=False, songs_dir=songs_dir)
    app.prompt.value = PROMPT
    app.bar_count.value = "8"
    app.random_seed.value = False
    app.seed.value = SEED
    app.compose_button.click()
    return app


def test_compose_button_equals_core_compose(composed, model):
    app = composed
    direct = compose(PROMPT, bars=8, seed=SEED, temperature=1.0, top_p=0.95, model=model, classify_fn=stub_classify)
    assert "color:#b00020" not in app.message.value and 'Composed "a happy pop tune' in app.message.value
    assert app.song.piece == direct.piece
    assert app.song.attributes == direct.attributes
    # the figure shows exactly the core piano-roll traces of that piece
    expected = pianoroll_traces(direct.piece)
    fig = app.roll.figure
    assert app.piano_roll.children == (fig,)
    assert len(fig.data) == len(expected) == len(direct.piece.tracks)
    for trace, exp in zip(fig.data, expected, strict=True):
        assert trace.name == exp["name"]
        assert list(trace.base) == exp["base"] and list(trace.x) == exp["x"] and list(trace.y) == exp["y"]
        assert list(trace.hovertext) == exp["hovertext"]
    # controls: inferred attributes with confidence, bar selector over the whole piece, one version
    assert (app.genre.value, app.emotion.value, app.tempo.value) == ("pop", "happy", 112)
    assert "70% sure" in app.attributes.confidence["genre"].value
    assert app.bars.max == 8 and app.bars.value == (1, 8)
    assert app.history.options == (("1. Composed 8 bars", 0),)
    assert app.undo_button.disabled and not app.infill_button.disabled
    assert app.audio.value[:4] == b"RIFF" and 'download="happy-pop-tune-piano.mid"' in app.downloads.value
    # no key in the prompt: the app says the key was chosen from the mood (auto_key)
    assert "key " in app.summary.value and "(chosen from the mood)" in app.summary.value
    # no developer text: no function calls, seeds or model objects in what the person reads
    for text in (app.message.value, app.summary.value, *[o[0] for o in app.history.options]):
        assert not re.search(r"\w\(\w+=", text) and "seed" not in text and "<bound" not in text
    # the legend is a row of track buttons; clicking one deselects that track
    assert [b.description for b in app.track_buttons.items] == [o[0] for o in app.tracks.options]
    app.track_buttons.items[0].click()
    assert 0 not in app.tracks.value and app.roll.figure.data[0].opacity < 1
    app.track_buttons.all_button.click()
    assert app.tracks.value == tuple(range(len(app.tracks.options)))


def test_infill_selected_bars_then_undo(composed):
    app = composed
    before = app.song.piece
    app.bars.value = (3, 4)
    shape = app.roll.figure.layout.shapes[-1]
    start, end = before.bar_span(2, 3)
    assert (shape.x0, shape.x1) == (start / before.tpq, end / before.tpq)  # the selection is highlighted
    app.infill_button.click()
    after = app.song.piece
    assert "Regenerated bars 3–4 (all tracks)" in app.message.value and app.song.position == 1
    assert _notes_outside(after, 3, 4) == _notes_outside(before, 3, 4)
    assert after.n_bars == before.n_bars
    assert list(app.roll.figure.data[0].base) == pianoroll_traces(after)[0]["base"]
    assert not app.undo_button.disabled and len(app.history.options) == 2
    app.undo_button.click()
    assert app.song.piece == before
    assert not app.redo_button.disabled
    assert list(app.roll.figure.data[0].base) == pianoroll_traces(before)[0]["base"]
    app.redo_button.click()
    assert app.song.piece == after
    app.history.value = 0  # picking a version in the history list jumps to it
    assert app.song.piece == before and app.song.position == 0
    # editing that earlier version starts a new song: the later version stays in the first one
    first = app.song
    app.extend_button.click()
    assert len(app.songs) == 2 and app.song is not first and "new song" in app.message.value
    assert [v.piece for v in first.versions] == [before, after]
    assert app.song.history_sentences() == ["Composed 8 bars", "Extended by 4 bars"]
    assert app.song_picker.value == 1 and len(app.song_picker.options) == 2
    app.song_picker.value = 0  # the first song is one click away
    assert app.song is first and app.song.piece == before
    app.song.position = 1
    app.refresh()


def test_selecting_notes_on_the_roll_selects_their_bars(composed):
    app = composed
    piece = app.song.piece
    track = next(i for i, t in enumerate(piece.tracks) if len(t.notes) >= 2)
    notes = piece.tracks[track].notes
    last = len(notes) - 1
    app.roll.select_points({track: [0, last]})
    expected = (piece.bar_of(notes[0].start) + 1, piece.bar_of(notes[last].start) + 1)
    assert app.bars.value == expected
    assert app.tracks.value == (track,)
    app.roll.select_points({}, xrange=(4.5, 9.0))  # a box over beats 4.5-9 touches bars 2 and 3
    assert app.bars.value == (2, 3)


def test_change_instrument_and_errors_show_as_messages(composed):
    app = composed
    app.tracks.value = tuple(range(len(app.tracks.options)))
    app.instrument.value = "violin"
    app.change_instrument_button.click()
    assert "select exactly one track" in app.message.value and "color:#b00020" in app.message.value
    app.tracks.value = (0,)
    app.instrument.value = "kazoo-o-phone"
    app.change_instrument_button.click()
    assert "unknown instrument" in app.message.value
    position = app.song.position
    app.instrument.value = "violin"
    app.change_instrument_button.click()
    assert app.song.piece.tracks[0].program == 40 and app.song.position == position + 1
    assert "color:#b00020" not in app.message.value and "Changed track 1 to Violin" in app.message.value
    assert app.tracks.options[0][0] == "1. Violin" and app.roll.figure.data[0].name == "1. Violin"
    app.instrument.value = "drums"  # a melody is not a drum part: refused, nothing changes
    app.change_instrument_button.click()
    assert "regenerate the track" in app.message.value and app.song.position == position + 1
    assert not app.compose_button.disabled and app.progress.layout.visibility == "hidden"


def test_errors_before_composing_and_bad_model(tmp_path):
    app = ComposerApp("tiny", classify_fn=stub_classify, display=False, audio=False, songs_dir=None)
    assert app.infill_button.disabled  # nothing to edit yet
    app._run("Regenerating bars", app._infill)
    assert "compose something first" in app.message.value
    bad = ComposerApp(str(tmp_path / "missing-model"), classify_fn=stub_classify, display=False, songs_dir=None)
    bad.prompt.value = PROMPT
    bad.compose_button.click()
    assert "not found" in bad.message.value and "Traceback" not in bad.message.value
    assert bad.song is None and not bad.compose_button.disabled


def test_prompt_change_resets_inferred_attributes(composed):
    app = ComposerApp("tiny", classify_fn=stub_classify, display=False, songs_dir=None)
    app.prompt.value = PROMPT
    app.analyze_button.click()
    assert (app.genre.value, app.tempo.value, list(app.instruments.value)) == ("pop", 112, ["piano", "bass"])
    app.emotion.value = "sad"  # the person's own choice survives a new prompt
    app.prompt.value = "something else"
    assert (app.genre.value, app.tempo.value, list(app.instruments.value), app.emotion.value) == ("auto", 0, [], "sad")
    assert app.attributes.overrides() == {"genre": None, "emotion": "sad", "tempo": None, "instruments": None,
                                          "key": None}


def test_static_fallback_roll():
    import ipywidgets

    from codeplay_nb.music import make_piece
    from codeplay_nb.song import Song

    piece = make_piece([(0, False, [(60, 90, 0, 480), (64, 90, 1920, 480)]), (0, True, [(36, 100, 0, 120)])],
                       length=480 * 8)
    app = ComposerApp("tiny", classify_fn=stub_classify, display=False, interactive_roll=False, audio=False,
                      songs_dir=None)
    app.song = Song.new(piece)
    app.refresh()
    assert isinstance(app.piano_roll, ipywidgets.Output)
    assert len(app.roll.figure.data) == 2 and list(app.roll.figure.data[0].base) == [0.0, 4.0]
    app.bars.value = (2, 2)
    assert app.roll.figure.layout.shapes[-1].name == "selection"
    assert (app.roll.figure.layout.shapes[-1].x0, app.roll.figure.layout.shapes[-1].x1) == (4.0, 8.0)


def test_save_on_the_server_never_overwrites(composed, tmp_path):
    from codeplay_nb.io import read_midi

    app = composed
    app.save_path.value = str(tmp_path / "song.mid")
    app.save_button.click()
    assert "Saved a copy" in app.message.value
    assert read_midi(tmp_path / "song.mid").n_notes == app.song.piece.n_notes
    (tmp_path / "mine.mid").write_bytes(b"the person's own file")
    app.save_path.value = str(tmp_path / "mine.mid")
    app.save_button.click()
    assert "already exists" in app.message.value and (tmp_path / "mine.mid").read_bytes() == b"the person's own file"
    app.overwrite.value = True  # only when asked
    app.save_button.click()
    assert read_midi(tmp_path / "mine.mid").n_notes == app.song.piece.n_notes and not app.overwrite.value
    app.save_path.value = str(tmp_path / "song.wav")
    app.save_button.click()
    assert (tmp_path / "song.wav").read_bytes()[:4] == b"RIFF"
    app.save_path.value = str(tmp_path / "song.txt")
    app.save_button.click()
    assert "save as .mid" in app.message.value


def test_autosave_reopens_every_song_and_never_writes_over_files(composed, songs_dir, model):
    app = composed
    homes = sorted(p for p in songs_dir.iterdir() if p.is_dir())
    assert [p.name for p in homes] == ["happy-pop-tune-piano", "happy-pop-tune-piano-2"]  # two songs (a branch)
    assert (homes[0] / "song.json").exists() and not list(songs_dir.rglob("*.tmp"))
    again = ComposerApp(model, classify_fn=stub_classify, display=False, songs_dir=songs_dir)  # a reload
    assert len(again.songs) == 2 and again.song is None and "2 songs from earlier" in again.message.value
    original = app.songs.songs[0]
    again.song_picker.value = next(i for i, s in enumerate(again.songs.songs) if s.title == original.title)
    reopened = again.song
    assert reopened.history_sentences() == original.history_sentences()
    assert [v.piece.n_notes for v in reopened.versions] == [v.piece.n_notes for v in original.versions]
    assert again.roll.figure is not None and len(again.roll.figure.data) == len(reopened.piece.tracks)
    # a folder of the person's own with the song's name is left alone
    lib = SongLibrary(songs_dir / "other")
    (songs_dir / "other" / "untitled-song").mkdir(parents=True)
    (songs_dir / "other" / "untitled-song" / "notes.txt").write_text("mine")
    home = lib.save(Song.new(app.song.piece))
    assert home.name == "untitled-song-2" and (songs_dir / "other" / "untitled-song" / "notes.txt").read_text() == "mine"
    assert lib.load_all()[0].piece.n_notes == app.song.piece.n_notes


def test_bars_field_says_what_is_wrong(model):
    app = ComposerApp(model, classify_fn=stub_classify, display=False, songs_dir=None, audio=False)
    app.prompt.value = PROMPT
    for typed in ("0", "abc", "65", ""):
        app.bar_count.value = typed
        app.compose_button.click()
        assert "Bars must be a whole number from 1 to 64" in app.message.value and app.song is None
        assert app.bar_count.value == typed and "1 to 64" in app.form.bars_hint.value
    assert parse_bars(" 12 ") == 12 and slug("A sad piano ballad!") == "sad-piano-ballad"
    with pytest.raises(CodeplayError):
        parse_bars("3.5")


def test_chords_and_density_reach_compose_only_when_it_takes_them(model):
    app = ComposerApp(model, classify_fn=stub_classify, display=False, songs_dir=None, audio=False)
    app.chords.value = "Am F  C,G"
    app.density.value = "high"

    def old(prompt, *, bars=4):
        return None

    def new(prompt, *, bars=4, chords=None, density=None):
        return None

    assert app.form.extras(new) == ({"chords": ["Am", "F", "C", "G"], "density": "high"}, [])
    kwargs, notes = app.form.extras(old)
    assert kwargs == {} and "chords or density" in notes[0]
    app.chords.value = "Xq9"
    with pytest.raises(CodeplayError, match="not a chord"):
        app.form.extras(new)
    # chord labels, when the song has them, are written over their bars
    from codeplay_nb.widgets.layout import chord_labels

    song = Song.new(stub_piece(), params={"chords": ["A_min", "F_maj"]})
    assert chord_labels(song) == ["Am", "F"]


def stub_piece():
    from codeplay_nb.music import make_piece

    return make_piece([(0, False, [(60, 90, 0, 480)])], length=480 * 8)


def test_extend_with_the_amt_backend_setting(model, tmp_path):
    """The UI's backend setting routes edits through the Anticipatory Music Transformer (a tiny local one)."""
    from codeplay_nb.amt.model import tiny_amt_model

    amt_dir = tmp_path / "amt"
    tiny_amt_model(0).save_pretrained(amt_dir, safe_serialization=True)
    app = ComposerApp(model, classify_fn=stub_classify, display=False, songs_dir=None)
    app.prompt.value = PROMPT
    app.random_seed.value = False
    app.seed.value = SEED
    app.compose_button.click()
    before = app.song.piece
    app.backend.value = "amt"
    app.amt_model.value = str(amt_dir)
    app.extend_button.click()
    assert "color:#b00020" not in app.message.value, app.message.value
    after = app.song.piece
    assert after.n_bars == before.n_bars + 4 and app.song.versions[-1].params.get("backend") == "amt"
    start = before.bar_span(before.n_bars - 1)[1]
    assert [[n for n in t.notes if n.start < start] for t in after.tracks[: len(before.tracks)]] == \
        [list(t.notes) for t in before.tracks]
    app.amt_model.value = str(tmp_path / "missing")
    app.extend_button.click()
    assert "color:#b00020" in app.message.value and "Traceback" not in app.message.value


def test_song_history_sentences_branches_and_song_list():
    from codeplay_nb.song import SongList

    piece = stub_piece()
    song = Song.new(piece, params={"prompt": "a sad piano ballad"})
    song.push(piece, "infill", {"bars": (3, 4), "tracks": [1]})
    song.push(piece, "set_instrument", {"track": 1, "instrument": "violin"})
    song.push(piece, "add_track", {"instrument": "bass"})
    assert song.history_sentences() == ["Composed 2 bars", "Regenerated bars 3–4 (Acoustic Grand Piano)",
                                        "Changed track 1 to Acoustic Grand Piano",
                                        "Added track 1: Acoustic Grand Piano"]
    branch = song.branch(1)
    assert len(branch.versions) == 2 and branch.position == 1 and len(song.versions) == 4
    assert branch.title == "a sad piano ballad (from version 2)"
    songs = SongList()
    songs.add(song)
    songs.add(branch)
    assert songs.current is branch and songs.select(0) is song and len(songs.titles()) == 2
