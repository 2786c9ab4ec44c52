"""Shared fixtures: the tiny random music model (nothing downloaded), a tiny checkpoint on disk, the MIDI
fixtures in tests/data, and a piece with everything editing must preserve (tempo changes, 3/4, drums,
controllers, pitch bends, a key signature)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from codeplay_nb.music import (
    ControlChange,
    KeySignature,
    Note,
    Piece,
    PitchBend,
    Tempo,
    TimeSignature,
    Track,
)

DATA = Path(__file__).parent / "data"
REAL_MULTITRACK = ("real_openmsx_tttheme2_8bars.mid", "real_pop909_001_8bars.mid", "real_pop909_003_8bars.mid")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def tiny_model():
    """``codeplay_nb.model.tiny_music_model(0)``: a 2-layer random GPT-2 over the NNN vocabulary.

    Torch runs single-threaded for these tests: a tiny model gains nothing from two threads, and on a
    shared 2-core machine intra-op threads that wait for each other made sampling ~15x slower."""
    import torch

    torch.set_num_threads(1)
    from codeplay_nb.model import tiny_music_model

    return tiny_music_model(0)


@pytest.fixture
def tiny_model_with(tiny_model):
    """``tiny_model_with(family_ranges=..., ...)``: the tiny model with these checkpoint extras in its ``info``
    (as a trained checkpoint carries them beside the weights), restored after the test."""
    old = {k: dict(v) if isinstance(v, dict) else v for k, v in tiny_model.info.items()}

    def add(**info):
        tiny_model.info.update(info)
        return tiny_model

    yield add
    tiny_model.info.clear()
    tiny_model.info.update(old)


@pytest.fixture(scope="session")
def tiny_checkpoint(tiny_model, tmp_path_factory) -> Path:
    """The tiny model saved as a checkpoint folder (what ``--model DIR`` points to)."""
    from codeplay_nb.model import save_model

    return save_model(tiny_model.model, tmp_path_factory.mktemp("tiny_ckpt") / "model")


def build_rich_piece(seed: int = 0, bars_44: int = 3, bars_34: int = 3) -> Piece:
    """Piano, bass and drums over 4/4 bars then 3/4 bars at 480 tpq, with three tempo changes (one mid-bar),
    an off-grid note, sustain pedal and modulation controllers, pitch bends and an A minor key."""
    rng = random.Random(seed)
    tpq = 480
    bar44, bar34 = 4 * tpq, 3 * tpq
    starts = [i * bar44 for i in range(bars_44)] + [bars_44 * bar44 + i * bar34 for i in range(bars_34)]
    lengths = [bar44] * bars_44 + [bar34] * bars_34
    end = starts[-1] + lengths[-1]
    piano, bass, drums = [], [], []
    for s, length in zip(starts, lengths, strict=False):
        for beat in range(length // tpq):
            t = s + beat * tpq
            piano.append(Note(rng.choice([57, 60, 64, 67, 69, 72]), rng.randrange(30, 120), t, tpq // 2))
            piano.append(Note(rng.choice([48, 52, 55]), rng.randrange(30, 120), t, tpq))
            drums.append(Note(36 if beat == 0 else 42, rng.randrange(60, 127), t, tpq // 4))
        bass.append(Note(rng.choice([33, 36, 40, 45]), rng.randrange(50, 110), s, length - tpq // 4))
    piano.append(Note(77, 63, starts[1] + 17, 101))  # off the 12-steps grid: must survive untouched
    piano.sort(key=lambda n: (n.start, n.pitch, n.duration, n.velocity))
    controls = tuple(ControlChange(s + d, 64, v) for s in starts for d, v in ((0, 127), (tpq * 2, 0)))
    controls = tuple(sorted((*controls, ControlChange(starts[2] + 5, 1, 40)), key=lambda c: c.time))
    bends = tuple(PitchBend(s + tpq, b) for s, b in zip(starts, (0, 1200, -800, 0, 300, -4096), strict=False))
    return Piece(
        tracks=(
            Track(0, False, "Piano", tuple(piano), controls, bends),
            Track(33, False, "Bass", tuple(bass), (ControlChange(starts[0], 7, 100),)),
            Track(0, True, "Drums", tuple(sorted(drums, key=lambda n: (n.start, n.pitch)))),
        ),
        tpq=tpq,
        tempos=(Tempo(0, 96.0), Tempo(starts[2], 120.0), Tempo(starts[3] + tpq + 7, 87.5)),
        time_signatures=(TimeSignature(0, 4, 4), TimeSignature(starts[bars_44], 3, 4)),
        key_signatures=(KeySignature(0, "A minor"),),
        length=end,
    )


@pytest.fixture
def rich_piece() -> Piece:
    return build_rich_piece()


@pytest.fixture(scope="session")
def real_pieces() -> dict[str, Piece]:
    """The real multi-track excerpts of tests/data (OpenMSX GM arrangement with drums, POP909 songs)."""
    from codeplay_nb.io import read_midi

    return {name: read_midi(DATA / name) for name in REAL_MULTITRACK}


def preservation_problems(before: Piece, after: Piece, edited: dict[int, tuple[int, int]]) -> list[str]:
    """What changed outside the edited region. ``edited`` maps a track index to the tick span ``[s, e)``
    whose notes (by onset) may change; every other note must be identical (pitch, velocity, start, end,
    track), as must controllers, pitch bends, the tempo map, time signatures, key signatures and tpq."""
    problems: list[str] = []
    for what in ("tpq", "tempos", "time_signatures", "key_signatures"):
        if getattr(before, what) != getattr(after, what):
            problems.append(f"{what} changed")
    if len(after.tracks) < len(before.tracks):
        problems.append(f"tracks dropped: {len(before.tracks)} -> {len(after.tracks)}")
    for i, (a, b) in enumerate(zip(before.tracks, after.tracks, strict=False)):
        if (a.controls, a.pitch_bends, a.name, a.is_drum) != (b.controls, b.pitch_bends, b.name, b.is_drum):
            problems.append(f"track {i}: controls/pitch bends/name/drum flag changed")
        s, e = edited.get(i, (0, 0))
        kept_a = sorted((n for n in a.notes if not s <= n.start < e), key=lambda n: (n.start, n.pitch, n.end, n.velocity))
        kept_b = sorted((n for n in b.notes if not s <= n.start < e), key=lambda n: (n.start, n.pitch, n.end, n.velocity))
        if kept_a != kept_b:
            lost = len(set(kept_a) - set(kept_b))
            problems.append(f"track {i}: {lost} untouched notes changed or lost, {len(kept_b) - len(kept_a)} added")
    return problems


@pytest.fixture(scope="session")
def check_preserved():
    return preservation_problems
