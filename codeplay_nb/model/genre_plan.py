"""A genre for a request that names none, drawn from what the training data plays with what was asked.

Without a genre the model is conditioned on ``GENRE_unknown`` and writes the average of every genre; a
request for two pianos in 6/8 at 112 BPM in G major is, in the data, nearly always a folk tune, and a real
folk tune's chords sit two octaves under its melody where the average's sit one. :func:`genre_stats` counts,
over a built dataset's training windows, each genre against each thing a request can fix: the ensemble (how
many tracks of each family), the meter, the tempo bin, the mode and the emotion. :func:`choose_genre` draws a genre from those
counts (naive Bayes with add-one smoothing, seeded) given whatever the request fixed. The counts travel beside
the weights as ``genre_stats.json`` (written by ``save_model``); the composer uses them with ``auto_genre``.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Sequence
from pathlib import Path

import numpy as np

FILE = "genre_stats.json"
MAX_WINDOWS = 50_000
MAX_COUNT = 3  # a family's track count is bucketed 0, 1, 2, 3+


def request_features(families: Sequence[str], ts: tuple[int, int] | None, tempo_bin: str | None,
                     mode: str | None, emotion: str | None) -> dict[str, str]:
    """The features a request fixes, as ``{name: value}`` (``ensemble``: each family with its track count,
    3 standing for 3 or more, e.g. ``"piano2"`` or ``"guitar1+bass1+drums1"``; ``ts``, ``tbin``, ``mode``,
    ``emotion``); a feature the request leaves open is absent."""
    from ..instruments import FAMILY_NAMES

    fams = list(families)
    out = {"ensemble": "+".join(f"{f}{min(fams.count(f), MAX_COUNT)}" for f in FAMILY_NAMES if f in fams)} if fams else {}
    if ts:
        out["ts"] = f"{ts[0]}/{ts[1]}"
    if tempo_bin:
        out["tbin"] = tempo_bin
    if mode:
        out["mode"] = mode
    if emotion:
        out["emotion"] = emotion
    return out


def _window_features(tokens: list[str]) -> tuple[str | None, dict[str, str]]:
    head = tokens[: tokens.index("HEADER_END")] if "HEADER_END" in tokens else tokens
    get = {t.split("_", 1)[0]: t.split("_", 1)[1] for t in head if "_" in t}
    genre = get.get("GENRE")
    families = []
    depth = 0
    from ..instruments import family_of_program

    for t in tokens:
        if t == "FILL_START":
            depth += 1
        elif t == "FILL_END":
            depth -= 1
        elif depth == 0 and t.startswith("PROG_") and (t == "PROG_DRUMS" or t[5:].isdigit()):
            families.append("drums" if t == "PROG_DRUMS" else family_of_program(int(t[5:]), False))
    key = next((t for t in head if t.startswith("KEY_")), "KEY_unknown")
    mode = key.rsplit("_", 1)[1] if key.endswith(("_major", "_minor")) else None
    num = next((t[7:] for t in head if t.startswith("TS_NUM_")), None)
    den = next((t[7:] for t in head if t.startswith("TS_DEN_")), None)
    emotion = get.get("EMOTION")
    feats = request_features(families, (int(num), int(den)) if num and den else None, get.get("TBIN"), mode,
                             None if emotion in (None, "unknown") else emotion)
    return (None if genre in (None, "unknown") else genre), feats


def genre_stats(data_dir: str | Path, *, split: str = "train") -> dict:
    """``{"genres": {genre: windows}, "features": {name: {genre: {value: windows}}}}`` over a dataset's
    windows that carry a genre (at most :data:`MAX_WINDOWS`)."""
    from ..tokenizers.nnn import NNNTokenizer
    from .ranges import example_offsets

    tok = NNNTokenizer()
    vocab = tok.vocab
    ids = np.fromfile(Path(data_dir) / f"{split}.bin", dtype=np.uint16)
    offsets = example_offsets(data_dir, split, ids, tok.eos_id)
    genres: dict[str, int] = {}
    features: dict[str, dict[str, dict[str, int]]] = {}
    for i in range(min(len(offsets) - 1, MAX_WINDOWS)):
        genre, feats = _window_features([vocab[x] for x in ids[offsets[i]:offsets[i + 1]]])
        if genre is None:
            continue
        genres[genre] = genres.get(genre, 0) + 1
        for name, value in feats.items():
            per = features.setdefault(name, {}).setdefault(genre, {})
            per[value] = per.get(value, 0) + 1
    return {"genres": genres, "features": features}


def genre_posterior(stats: dict, features: dict[str, str], known: Sequence[str] | None = None) -> dict[str, float]:
    """P(genre | the request's features) under naive Bayes with add-one smoothing (features the data never
    counted are ignored); restricted to ``known`` genres when given."""
    counts = {g: n for g, n in stats.get("genres", {}).items() if known is None or g in known}
    if not counts:
        return {}
    total = sum(counts.values())
    logp = {g: math.log(n / total) for g, n in counts.items()}
    for name, value in features.items():
        per = stats.get("features", {}).get(name)
        if not per:
            continue
        values = {v for g in per.values() for v in g}
        for g in logp:
            seen = per.get(g, {})
            logp[g] += math.log((seen.get(value, 0) + 1) / (counts[g] + len(values) + 1))
    top = max(logp.values())
    z = sum(math.exp(v - top) for v in logp.values())
    return {g: math.exp(v - top) / z for g, v in sorted(logp.items())}


def choose_genre(stats: dict, features: dict[str, str], seed: int, known: Sequence[str] | None = None) -> str | None:
    """A genre drawn from :func:`genre_posterior` with ``seed`` (the same seed, the same genre)."""
    post = genre_posterior(stats, features, known)
    if not post:
        return None
    rng = random.Random(f"genre:{seed}")
    return rng.choices(list(post), weights=list(post.values()))[0]


def save_genre_stats(stats: dict, path: str | Path) -> None:
    """Write ``stats`` beside a checkpoint (for a model trained before they existed: ``save_genre_stats(
    genre_stats(DATA), CHECKPOINT)``)."""
    from ..files import atomic_write_bytes

    atomic_write_bytes(Path(path) / FILE, json.dumps(stats, indent=1, sort_keys=True).encode())


__all__ = ["FILE", "choose_genre", "genre_posterior", "genre_stats", "request_features", "save_genre_stats"]
