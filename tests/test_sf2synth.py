"""The numpy SoundFont renderer (the default audio backend, no C build): right pitch, instruments differ,
drums sound, notes end, and a file that is not a SoundFont is a clear error."""

from __future__ import annotations

import numpy as np
import pytest

from codeplay_nb.audio import SAMPLE_RATE_HZ, available_backends, render_audio, soundfont_path
from codeplay_nb.music import make_piece
from codeplay_nb.sf2synth import SoundFontError, load_soundfont


def _peak_hz(audio: np.ndarray) -> float:
    seg = audio[: SAMPLE_RATE_HZ // 2]
    spec = np.abs(np.fft.rfft(seg * np.hanning(len(seg))))
    return float(np.argmax(spec) * SAMPLE_RATE_HZ / len(seg))


def test_sf2_is_the_default_backend():
    assert soundfont_path() is not None
    assert available_backends()[0] == "sf2"


@pytest.mark.parametrize("program", [0, 40, 73])
def test_a4_sounds_at_440_hz(program):
    audio = render_audio(make_piece([(program, False, [(69, 100, 0, 960)])]), backend="sf2")
    assert _peak_hz(audio) == pytest.approx(440, abs=6)


def test_an_octave_up_doubles_the_pitch_and_instruments_differ():
    a5 = render_audio(make_piece([(0, False, [(81, 100, 0, 960)])]), backend="sf2")
    assert _peak_hz(a5) == pytest.approx(880, abs=8)
    piano = render_audio(make_piece([(0, False, [(60, 100, 0, 960)])]), backend="sf2")
    flute = render_audio(make_piece([(73, False, [(60, 100, 0, 960)])]), backend="sf2")
    assert np.corrcoef(piano[:11025], flute[:11025])[0, 1] < 0.9


def test_drums_sound_and_notes_end():
    drums = render_audio(make_piece([(0, True, [(36, 110, 0, 120), (42, 90, 480, 120)])], length=4 * 480),
                         backend="sf2")
    assert np.sqrt((drums[:2000] ** 2).mean()) > 1e-3
    held = render_audio(make_piece([(0, False, [(60, 100, 0, 480)])], length=8 * 480), backend="sf2")
    tail = held[int(2.0 * SAMPLE_RATE_HZ):]  # the note ends at 0.5 s; its release is long over at 2 s
    assert np.abs(tail).max() < 1e-3


def test_not_a_soundfont_is_a_clear_error(tmp_path):
    bad = tmp_path / "x.sf2"
    bad.write_bytes(b"RIFF\x04\x00\x00\x00WAVE")
    with pytest.raises(SoundFontError, match="not a SoundFont"):
        load_soundfont(str(bad))
