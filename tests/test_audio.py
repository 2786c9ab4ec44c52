"""Audio rendering: length follows the piece, sound is not silent, WAV is 16-bit mono 22.05 kHz."""

from __future__ import annotations

import io
import wave

import numpy as np
import pytest

from codeplay_nb.audio import (
    SAMPLE_RATE_HZ,
    TAIL_SECONDS,
    AudioRenderError,
    available_backends,
    n_samples,
    render_audio,
    to_wav_bytes,
)
from codeplay_nb.music import make_piece


def _piece(qpm: float = 120.0):
    melody = [(60 + i % 12, 90, i * 480, 480) for i in range(8)]
    drums = [(36, 100, i * 480, 120) for i in range(8)]
    return make_piece([(0, False, melody), (0, True, drums)], qpm=qpm, length=480 * 8)


def test_sine_fallback_is_always_available():
    assert available_backends()[-1] == "sine"


@pytest.mark.parametrize("backend", available_backends())
def test_audio_length_matches_duration_and_is_not_silent(backend):
    piece = _piece()
    audio = render_audio(piece, backend=backend)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert len(audio) == n_samples(piece) == round((4.0 + TAIL_SECONDS) * SAMPLE_RATE_HZ)
    assert np.abs(audio).max() <= 0.9 + 1e-6
    # sound during each of the 8 beats, not only at the start
    beats = audio[: 4 * SAMPLE_RATE_HZ].reshape(8, -1)
    assert (np.sqrt((beats**2).mean(axis=1)) > 1e-3).all()


def test_tempo_changes_the_length():
    slow = render_audio(_piece(qpm=60.0), backend="sine")
    assert len(slow) == round((8.0 + TAIL_SECONDS) * SAMPLE_RATE_HZ)


def test_wav_bytes_are_16_bit_mono():
    piece = _piece()
    data = to_wav_bytes(piece)
    with wave.open(io.BytesIO(data)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, SAMPLE_RATE_HZ)
        assert w.getnframes() == n_samples(piece)
        frames = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    assert np.abs(frames).max() > 1000


def test_empty_piece_is_silence_and_bad_backend_is_a_user_error():
    empty = make_piece([(0, False, [])], length=1920)
    assert not render_audio(empty).any()
    with pytest.raises(AudioRenderError, match="unknown audio backend"):
        render_audio(_piece(), backend="theremin")
