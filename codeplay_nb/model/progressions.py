"""Chord progressions learned from the training data, for pieces whose chords the person left open.

Without chords the model hears only a key; with them it is told where the harmony goes, and a composer's
pieces start and end at home. :func:`progression_stats` counts, over the training windows of a built dataset
(``train.bin``), how often each chord follows another, relative to the window's key (``"7_maj"`` = the major
chord on the fifth degree), per mode. :func:`sample_progression` draws a phrase from those counts: it opens on
the tonic chord, walks the learned transitions for the rest of a ``period``-bar phrase, repeats the phrase
(real songs repeat four-bar progressions), and closes on the tonic. The counts travel beside the weights as
``chord_progressions.json`` (written by ``save_model`` at the end of training).
"""

from __future__ import annotations

import itertools
import random
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from ..attributes import pitch_class
from ..chords import NO_CHORD, QUALITIES, UNKNOWN, chord_label

MAX_WINDOWS = 50_000


def _relative(label: str, tonic: int) -> str | None:
    """``"G_maj"`` in C -> ``"7_maj"``; None for no chord / unknown / other labels."""
    if label in (NO_CHORD, UNKNOWN) or "_" not in label:
        return None
    root, quality = label.rsplit("_", 1)
    if quality not in QUALITIES:
        return None
    return f"{(pitch_class(root) - tonic) % 12}_{quality}"


def _headers(ids: np.ndarray, vocab: list[str], bos: int, end: int):
    """Each window's header tokens (BOS up to its HEADER_END), found with two vectorised scans."""
    starts = np.flatnonzero(ids == bos)[:MAX_WINDOWS]
    ends = np.flatnonzero(ids == end)
    for s, j in zip(starts, np.searchsorted(ends, starts), strict=True):
        if j < len(ends):
            yield [vocab[i] for i in ids[s:ends[j]]]


def progression_stats(data_dir: str | Path) -> dict:
    """Per mode: ``{"start": {chord: n}, "next": {chord: {chord: n}}}`` from the training windows' chord lanes
    (windows with a known key and at least two known chords in a row)."""
    from ..tokenizers.nnn import NNNTokenizer

    tok = NNNTokenizer()
    path = Path(data_dir) / "train.bin"
    ids = np.fromfile(path, dtype=np.uint16) if path.exists() else np.zeros(0, dtype=np.uint16)
    start: dict[str, Counter] = defaultdict(Counter)
    nxt: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    for header in _headers(ids, tok.vocab, tok.token_to_id["BOS"], tok.token_to_id["HEADER_END"]):
        key = next((t[4:] for t in header if t.startswith("KEY_")), "unknown")
        if key == "unknown":
            continue
        tonic_name, mode = key.rsplit("_", 1)
        tonic = pitch_class(tonic_name)
        lane = [_relative(t[6:], tonic) for t in header if t.startswith("CHORD_")]
        if lane and lane[0]:
            start[mode][lane[0]] += 1
        for a, b in itertools.pairwise(lane):
            if a and b:
                nxt[mode][a][b] += 1
    return {mode: {"start": dict(start[mode]), "next": {a: dict(c) for a, c in nxt[mode].items()}}
            for mode in ("major", "minor") if nxt[mode]}


def tonic_chord(key: str) -> str:
    tonic, mode = key.split()
    return chord_label(pitch_class(tonic), "min" if mode == "minor" else "maj")


def sample_progression(key: str, n_bars: int, stats: dict, seed: int, *, period: int = 4) -> tuple[str, ...] | None:
    """One chord label per bar (see the module doc), or None without statistics for the key's mode."""
    tonic_name, mode = key.split()
    table = stats.get(mode, {}).get("next", {})
    if not table or n_bars < 1:
        return None
    tonic = pitch_class(tonic_name)
    home = "0_min" if mode == "minor" else "0_maj"
    rng = random.Random(f"progression:{seed}:{key}:{n_bars}")
    phrase = [home]
    while len(phrase) < min(period, n_bars):
        options = table.get(phrase[-1]) or table.get(home) or {}
        if not options:
            break
        labels = sorted(options)
        phrase.append(rng.choices(labels, weights=[options[x] for x in labels])[0])
    rel = [phrase[b % len(phrase)] for b in range(n_bars)]
    if n_bars > 1:
        rel[-1] = home  # a piece ends at home
    out = []
    for r in rel:
        degree, quality = r.split("_", 1)
        out.append(chord_label(tonic + int(degree), quality))
    return tuple(out)
