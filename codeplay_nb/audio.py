"""Render a :class:`~codeplay_nb.music.Piece` to audio: mono, 22.05 kHz, with a General MIDI SoundFont.

Synthesizers are tried in order (``BACKENDS``), the first that works is used:

1. ``sf2``: our numpy SoundFont renderer (:mod:`codeplay_nb.sf2synth`) — nothing to build or install
   beyond the core dependencies, so ``pip install "codeplay-nb[audio]"`` works everywhere (no portaudio);
2. ``tinysoundfont`` (a C SoundFont synthesizer; used only when installed by hand, e.g.
   ``pip install tinysoundfont --no-deps`` — its metadata asks for ``pyaudio``, which needs portaudio);
3. ``symusic`` (a core dependency; its SoundFont synthesizer fails to return audio with some numpy builds);
4. ``fluidsynth`` (``pretty_midi.fluidsynth``, needs the libfluidsynth system library and pyfluidsynth);
5. ``sine``: additive sine tones with an envelope and noise-burst drums in numpy — always available.

The SoundFont is ``$CODEPLAY_SOUNDFONT`` when set, else the TimGM6mb.sf2 that ships inside pretty_midi.
The audio is ``TAIL_SECONDS`` longer than the piece so the last notes can ring out.
"""

from __future__ import annotations

import io
import logging
import os
import wave
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import CodeplayError
from .music import Piece

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

SAMPLE_RATE_HZ = 22050
TAIL_SECONDS = 0.5
PEAK_LEVEL = 0.9  # the rendered audio is scaled down when its peak exceeds this
BACKENDS: tuple[str, ...] = ("sf2", "tinysoundfont", "symusic", "fluidsynth", "sine")
DRUM_CHANNEL = 9


class AudioRenderError(CodeplayError):
    """No synthesizer could render the piece (or the one asked for is unavailable)."""


def soundfont_path() -> Path | None:
    """The General MIDI SoundFont used: ``$CODEPLAY_SOUNDFONT`` or pretty_midi's bundled TimGM6mb.sf2."""
    env = os.environ.get("CODEPLAY_SOUNDFONT")
    if env:
        p = Path(env)
        if not p.is_file():
            raise AudioRenderError(f"CODEPLAY_SOUNDFONT={env} is not a file; point it at a .sf2 SoundFont")
        return p
    try:
        import pretty_midi
    except ImportError:  # pragma: no cover - pretty_midi is a core dependency
        return None
    p = Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"
    return p if p.is_file() else None


def n_samples(piece: Piece, sample_rate: int = SAMPLE_RATE_HZ) -> int:
    """Length of the rendered audio in samples: the piece's duration plus ``TAIL_SECONDS``."""
    return round((piece.duration_seconds + TAIL_SECONDS) * sample_rate)


def _fit(audio: np.ndarray, length: int) -> np.ndarray:
    import numpy as np

    audio = np.asarray(audio, dtype=np.float32).reshape(-1)
    if audio.size >= length:
        return audio[:length]
    return np.concatenate([audio, np.zeros(length - audio.size, dtype=np.float32)])


def _events(piece: Piece) -> list[tuple[float, int, int, int, int]]:
    """(seconds, order, channel, pitch, velocity) note-on (order 1) and note-off (order 0) events with
    one channel per track (drums on channel 10; pitched tracks share the other 15 when there are more)."""
    channels = [c for c in range(16) if c != DRUM_CHANNEL]
    events = []
    pitched = 0
    for t in piece.tracks:
        if t.is_drum:
            ch = DRUM_CHANNEL
        else:
            ch = channels[pitched % len(channels)]
            pitched += 1
        for n in t.notes:
            events.append((piece.seconds(n.start), 1, ch, n.pitch, n.velocity))
            events.append((piece.seconds(n.end), 0, ch, n.pitch, 0))
    events.sort()
    return events


def _programs(piece: Piece) -> dict[int, tuple[int, bool]]:
    out: dict[int, tuple[int, bool]] = {}
    channels = [c for c in range(16) if c != DRUM_CHANNEL]
    pitched = 0
    for t in piece.tracks:
        if t.is_drum:
            out[DRUM_CHANNEL] = (0, True)
        else:
            out.setdefault(channels[pitched % len(channels)], (t.program, False))
            pitched += 1
    return out


def _render_sf2(piece: Piece, sample_rate: int) -> np.ndarray:
    from .sf2synth import render

    sf = soundfont_path()
    if sf is None:
        raise AudioRenderError("no SoundFont found")
    notes = [(piece.seconds(n.start), piece.seconds(n.end) - piece.seconds(n.start), n.pitch, n.velocity,
              t.program, t.is_drum) for t in piece.tracks for n in t.notes]
    return render(notes, n_samples(piece, sample_rate), str(sf), sample_rate)


def _render_tinysoundfont(piece: Piece, sample_rate: int) -> np.ndarray:
    import numpy as np
    import tinysoundfont

    sf = soundfont_path()
    if sf is None:
        raise AudioRenderError("no SoundFont found")
    synth = tinysoundfont.Synth(samplerate=sample_rate)
    sfid = synth.sfload(str(sf))
    for ch, (program, is_drum) in _programs(piece).items():
        try:
            synth.program_select(ch, sfid, 128 if is_drum else 0, program, is_drums=is_drum)
        except RuntimeError:  # the bank is missing from this SoundFont: use its first preset
            synth.program_select(ch, sfid, 0, 0 if is_drum else program, is_drums=is_drum)
    total = n_samples(piece, sample_rate)
    chunks = []
    done = 0
    for secs, on, ch, pitch, vel in _events(piece):
        at = min(round(secs * sample_rate), total)
        if at > done:
            chunks.append(np.frombuffer(synth.generate(at - done), dtype=np.float32))
            done = at
        if on:
            synth.noteon(ch, pitch, vel)
        else:
            synth.noteoff(ch, pitch)
    if total > done:
        chunks.append(np.frombuffer(synth.generate(total - done), dtype=np.float32))
    stereo = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    return stereo.reshape(-1, 2).mean(axis=1)


def _render_symusic(piece: Piece, sample_rate: int) -> np.ndarray:
    import symusic

    from .io import piece_to_score

    sf = soundfont_path()
    if sf is None:
        raise AudioRenderError("no SoundFont found")
    synth = symusic.Synthesizer(str(sf), sample_rate, 0)
    return synth.render(piece_to_score(piece), stereo=False)


def _render_fluidsynth(piece: Piece, sample_rate: int) -> np.ndarray:
    from .io import to_pretty_midi

    sf = soundfont_path()
    pm = to_pretty_midi(piece)
    if sf is None:
        return pm.fluidsynth(fs=sample_rate)
    try:
        return pm.fluidsynth(fs=sample_rate, synthesizer=str(sf))
    except TypeError:  # pretty_midi < 0.2.11
        return pm.fluidsynth(fs=sample_rate, sf2_path=str(sf))


def _render_sine(piece: Piece, sample_rate: int) -> np.ndarray:
    """Additive synthesis: three harmonics with an attack/decay envelope; drums as decaying noise bursts."""
    import numpy as np

    total = n_samples(piece, sample_rate)
    out = np.zeros(total, dtype=np.float32)
    rng = np.random.default_rng(0)
    noise = rng.uniform(-1, 1, int(0.3 * sample_rate)).astype(np.float32)
    for t in piece.tracks:
        for n in t.notes:
            s = int(piece.seconds(n.start) * sample_rate)
            if t.is_drum:
                length = min(len(noise), total - s)
                env = np.exp(-np.arange(length) / (0.04 * sample_rate)).astype(np.float32)
                seg = noise[:length] * env
            else:
                e = int(piece.seconds(n.end) * sample_rate) + int(0.05 * sample_rate)
                length = max(0, min(e, total) - s)
                time = np.arange(length, dtype=np.float32) / sample_rate
                freq = 440.0 * 2 ** ((n.pitch - 69) / 12)
                wave_ = sum(np.sin(2 * np.pi * freq * k * time) / k**1.5 for k in (1, 2, 3))
                env = np.minimum(1.0, time / 0.01) * np.exp(-time / 0.8)
                release = np.clip((length - np.arange(length)) / (0.05 * sample_rate), 0, 1)
                seg = (wave_ * env * release).astype(np.float32)
            out[s:s + len(seg)] += seg * (n.velocity / 127) * 0.3
    return out


_RENDERERS = {
    "sf2": _render_sf2,
    "tinysoundfont": _render_tinysoundfont,
    "symusic": _render_symusic,
    "fluidsynth": _render_fluidsynth,
    "sine": _render_sine,
}


@lru_cache(maxsize=1)
def _working_backends() -> tuple[str, ...]:
    """Backends that render a one-note test piece here (checked once per process)."""
    from .music import make_piece

    probe = make_piece([(0, False, [(60, 100, 0, 480)])])
    ok = []
    for name in BACKENDS:
        try:
            audio = _RENDERERS[name](probe, SAMPLE_RATE_HZ)
            import numpy as np

            if np.abs(np.asarray(audio, dtype=np.float32)).max() > 0:
                ok.append(name)
        except Exception as exc:
            log.debug("audio backend %s unavailable: %s: %s", name, type(exc).__name__, exc)
    return tuple(ok)


def available_backends() -> tuple[str, ...]:
    """The synthesizers that work in this environment, best first (``"sine"`` is always there)."""
    return _working_backends()


def render_audio(piece: Piece, *, sample_rate: int = SAMPLE_RATE_HZ, backend: str | None = None) -> np.ndarray:
    """Mono float32 audio in [-1, 1] of length :func:`n_samples` (``backend``: one of ``BACKENDS``;
    default: the first that works here)."""
    import numpy as np

    if backend is not None and backend not in BACKENDS:
        raise AudioRenderError(f"unknown audio backend {backend!r}; use one of {', '.join(BACKENDS)}")
    names = [backend] if backend else list(available_backends())
    if backend and backend not in available_backends():
        raise AudioRenderError(f"the {backend} synthesizer does not work here; available: "
                               f"{', '.join(available_backends())}")
    length = n_samples(piece, sample_rate)
    if piece.n_notes == 0:
        return np.zeros(length, dtype=np.float32)
    for name in names:
        try:
            audio = _fit(_RENDERERS[name](piece, sample_rate), length)
        except Exception as exc:
            log.warning("audio backend %s failed (%s: %s); trying the next", name, type(exc).__name__, exc)
            continue
        peak = float(np.abs(audio).max()) if audio.size else 0.0
        if peak > PEAK_LEVEL:
            audio = audio * (PEAK_LEVEL / peak)
        return audio.astype(np.float32)
    raise AudioRenderError("no synthesizer could render this piece")  # pragma: no cover - sine always works


def wav_bytes(audio: np.ndarray, sample_rate: int = SAMPLE_RATE_HZ) -> bytes:
    """16-bit mono PCM WAV file contents of float audio in [-1, 1]."""
    import numpy as np

    pcm = (np.clip(np.asarray(audio, dtype=np.float32), -1, 1) * 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def to_wav_bytes(piece: Piece, *, sample_rate: int = SAMPLE_RATE_HZ, backend: str | None = None) -> bytes:
    """The piece rendered (see :func:`render_audio`) as a 16-bit mono WAV file in memory."""
    return wav_bytes(render_audio(piece, sample_rate=sample_rate, backend=backend), sample_rate)


def write_wav(piece: Piece, path: str | os.PathLike, **kwargs) -> Path:
    """Write the piece as a WAV file, atomically (temporary file in the same folder, fsync, rename)."""
    from .files import atomic_write_bytes

    return atomic_write_bytes(Path(path), to_wav_bytes(piece, **kwargs))
