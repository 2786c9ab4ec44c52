"""Dataset builder: corpus pieces -> 4-8 bar windows -> token arrays written once, then memory-mapped.

Layout of a built dataset folder (nanoGPT ``prepare.py`` style)::

    train.bin, val.bin          flat uint16 token ids, every example ends with the EOS id
    train.idx.npy, val.idx.npy  int64 offsets: example i is bin[idx[i]:idx[i + 1]]
    manifest.json               sources, counts, seed, vocab size, EOS/PAD ids, skipped files with reasons

The split is by piece (a stable hash of the piece's group, so an mma arrangement stays with its source
song) and does not depend on the seed. Windows, transpositions and the encoder's own choices draw from a
``random.Random`` seeded by ``(seed, piece_id)``, so results do not depend on worker count or order.
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .attributes import Attributes, transpose_key
from .chords import annotated_bar_chords, bar_chords, transpose_label
from .corpora import CorpusItem, instrument_families, stable_fraction
from .errors import CodeplayError
from .music import Piece, slice_bars, transpose

log = logging.getLogger(__name__)

EncodeFn = Callable[[Piece, Attributes, random.Random], list[int]]
MaskFn = Callable[[list[int]], "np.ndarray"]
SPLITS = ("train", "val")
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class BuildConfig:
    """How pieces become examples. ``transpositions`` extra random shifts per training window are drawn
    from ``[transpose_min, transpose_max]`` (0 excluded); validation windows are not augmented."""

    min_bars: int = 4
    max_bars: int = 8
    hop_bars: int | None = None  # None: windows follow each other without overlap
    min_notes: int = 4
    transpositions: int = 0  # stored copies; training transposes in token space per epoch instead
    transpose_min: int = -5
    transpose_max: int = 6
    val_fraction: float = 0.05
    seed: int = 0
    eos_id: int = 2
    vocab_size: int = 65535

    def __post_init__(self) -> None:
        if not 1 <= self.min_bars <= self.max_bars:
            raise CodeplayError(f"window bars must satisfy 1 <= min <= max, got {self.min_bars}-{self.max_bars}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise CodeplayError("validation fraction must be in [0, 1)")
        if self.transpose_min > self.transpose_max:
            raise CodeplayError("transpose range is reversed")
        if not 0 < self.vocab_size <= 65536 or not 0 <= self.eos_id < self.vocab_size:
            raise CodeplayError("uint16 arrays need a vocabulary of at most 65,536 ids that contains the EOS id")


def split_of(key: str, val_fraction: float) -> str:
    """``"val"`` for a stable ``val_fraction`` of keys, else ``"train"``."""
    return "val" if stable_fraction(f"split:{key}") < val_fraction else "train"


def window_spans(n_bars: int, rng: random.Random, cfg: BuildConfig) -> list[tuple[int, int]]:
    """``(first, last)`` bar windows (0-based, inclusive) of ``min_bars``-``max_bars`` bars each."""
    out, first = [], 0
    while n_bars - first >= cfg.min_bars:
        length = min(rng.randint(cfg.min_bars, cfg.max_bars), n_bars - first)
        out.append((first, first + length - 1))
        first += cfg.hop_bars or length
    return out


def window_attributes(item: CorpusItem, window: Piece, start_tick: int, shift: int) -> Attributes:
    """Attributes of one window: tempo and time signature where it starts, key (transposed), instruments
    present in the window, genre/emotion from the source."""
    key = item.piece.key_at(start_tick) if item.key_from_piece else item.attributes.key
    if key is not None and shift:
        key = transpose_key(key, shift)
    ts = window.time_signatures[0]
    tsig = (ts.numerator, ts.denominator) if ts.denominator in (1, 2, 4, 8, 16, 32) and ts.numerator <= 32 else None
    bpm = window.tempos[0].qpm
    return Attributes(genre=item.attributes.genre, emotion=item.attributes.emotion,
                      bpm=round(bpm, 3) if 10 <= bpm <= 400 else None, key=key, time_signature=tsig,
                      instruments=instrument_families(window), chords=window_chords(item, window, start_tick, shift))


def window_chords(item: CorpusItem, window: Piece, start_tick: int, shift: int = 0) -> tuple[str, ...]:
    """One chord per bar of the window: annotated changes (``meta["chords"]``, POP909) where a source has
    them, else estimated from the window's pitched notes (``N`` for drum-only bars)."""
    changes = item.meta.get("chords") if item.meta else None
    if changes:
        labels = annotated_bar_chords(window, changes, window.n_bars, offset=start_tick)
        return tuple(transpose_label(c, shift) for c in labels)
    return bar_chords(window, window.n_bars)


def item_examples(item: CorpusItem, encode_fn: EncodeFn, cfg: BuildConfig) -> tuple[str, list[list[int]]]:
    """The split of ``item`` and its encoded windows (each terminated by EOS)."""
    split = split_of(item.split_key, cfg.val_fraction)
    rng = random.Random(f"{cfg.seed}:{item.piece_id}")
    shifts_pool = [s for s in range(cfg.transpose_min, cfg.transpose_max + 1) if s]
    out: list[list[int]] = []
    starts = item.piece.bar_starts()
    for first, last in window_spans(item.piece.n_bars, rng, cfg):
        window = slice_bars(item.piece, first, last)
        if window.n_notes < cfg.min_notes:
            continue
        shifts = [0]
        if split == "train" and shifts_pool and cfg.transpositions:
            shifts += rng.sample(shifts_pool, min(cfg.transpositions, len(shifts_pool)))
        for s in shifts:
            w = transpose(window, s) if s else window
            ids = list(encode_fn(w, window_attributes(item, w, starts[first], s), rng))
            if not ids:
                continue
            if ids[-1] != cfg.eos_id:
                ids.append(cfg.eos_id)
            if max(ids) >= cfg.vocab_size or min(ids) < 0:
                raise CodeplayError(f"encoder returned ids outside 0..{cfg.vocab_size - 1}")
            out.append(ids)
    return split, out


# worker state for multiprocessing (set once per worker by the pool initializer)
_WORKER: dict = {}


def _init_worker(encode_fn: EncodeFn, cfg: BuildConfig) -> None:
    _WORKER["encode_fn"], _WORKER["cfg"] = encode_fn, cfg


def _work(item: CorpusItem) -> tuple[CorpusItem, str, list[list[int]], str]:
    try:
        split, ex = item_examples(item, _WORKER["encode_fn"], _WORKER["cfg"])
        return item, split, ex, ""
    except Exception as exc:  # one odd piece must not stop a build
        return item, "", [], f"{type(exc).__name__}: {exc}"


@dataclass
class _Counts:
    pieces: Counter = field(default_factory=Counter)
    examples: Counter = field(default_factory=Counter)
    tokens: Counter = field(default_factory=Counter)
    bars: Counter = field(default_factory=Counter)
    genres: Counter = field(default_factory=Counter)
    lengths: list = field(default_factory=list)


def default_encoder() -> tuple[EncodeFn, int, int]:
    """The NNN tokenizer's training encoder, its vocabulary size and EOS id (imported lazily)."""
    from .tokenizers.nnn import NNNTokenizer

    tok = NNNTokenizer()
    return tok.encode_training_example, tok.vocab_size, tok.eos_id


def default_mask_fn() -> MaskFn:
    """Pitched-token mask of the NNN tokenizer (for token-space transposition while training)."""
    from functools import partial

    from .tokenizers.augment import pitched_mask
    from .tokenizers.nnn import NNNTokenizer

    return partial(pitched_mask, NNNTokenizer())


def build_dataset(
    items: Iterable[CorpusItem], out_dir: str | os.PathLike, encode_fn: EncodeFn, cfg: BuildConfig, *,
    workers: int = 1, skipped: list | None = None, sources: Iterable[str] = (), extra: dict | None = None,
    mask_fn: MaskFn | None = None,
) -> dict:
    """Encode ``items`` into ``out_dir`` (created; existing arrays are replaced) and return the manifest.
    ``skipped`` holds ``(source, what, reason)`` rows already collected by the loaders; pieces that fail
    here are added to it."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    skipped = skipped if skipped is not None else []
    counts = _Counts()
    files = {s: (out / f"{s}.bin").open("wb") for s in SPLITS}
    mask_files = {s: (out / f"{s}.mask.bin").open("wb") for s in SPLITS} if mask_fn else {}
    offsets: dict[str, list[int]] = {s: [0] for s in SPLITS}
    t0 = time.perf_counter()
    pool = None
    try:
        if workers > 1:
            import multiprocessing as mp

            pool = mp.get_context("fork").Pool(workers, initializer=_init_worker, initargs=(encode_fn, cfg))
            results: Iterator = pool.imap(_work, items, chunksize=4)
        else:
            _init_worker(encode_fn, cfg)
            results = map(_work, items)
        for item, split, examples, err in results:
            if err:
                skipped.append((item.source, item.piece_id, f"encoding failed: {err}"))
                log.warning("skip %s: encoding failed: %s", item.piece_id, err)
                continue
            counts.pieces[(item.source, split)] += 1
            if item.attributes.genre:
                counts.genres[item.attributes.genre] += 1
            counts.bars[item.source] += item.piece.n_bars
            for ids in examples:
                arr = np.asarray(ids, dtype=np.uint16)
                files[split].write(arr.tobytes())
                if mask_fn:
                    mask_files[split].write(np.asarray(mask_fn(ids), dtype=np.uint8).tobytes())
                offsets[split].append(offsets[split][-1] + len(arr))
                counts.examples[(item.source, split)] += 1
                counts.tokens[(item.source, split)] += len(arr)
                counts.lengths.append(len(arr))
    finally:
        if pool is not None:
            pool.close()
            pool.join()
        for f in (*files.values(), *mask_files.values()):
            f.close()
    for s in SPLITS:
        np.save(out / f"{s}.idx.npy", np.asarray(offsets[s], dtype=np.int64))
    lengths = np.asarray(counts.lengths or [0])
    manifest = {
        "format": "codeplay-dataset/1",
        "sources": sorted(set(sources) | {src for src, _ in counts.pieces}),
        "config": asdict(cfg),
        "seed": cfg.seed,
        "vocab_size": cfg.vocab_size,
        "eos_id": cfg.eos_id,
        "dtype": "uint16",
        "pitched_mask": bool(mask_fn),  # {split}.mask.bin: 1 = pitch token of a pitched track (augmentation)
        # the genres the music model will have seen (compose maps any other genre to the closest of these)
        "genres": sorted(counts.genres),
        "pieces_per_genre": dict(counts.genres.most_common()),
        "splits": {s: {"examples": len(offsets[s]) - 1, "tokens": offsets[s][-1]} for s in SPLITS},
        "per_source": _per_source(counts),
        "example_tokens": {"mean": float(lengths.mean()), "p50": float(np.percentile(lengths, 50)),
                           "p95": float(np.percentile(lengths, 95)), "max": int(lengths.max())},
        "skipped": [{"source": s, "what": w, "reason": r} for s, w, r in skipped],
        "skipped_by_reason": dict(Counter(_reason_kind(r) for _, _, r in skipped).most_common()),
        "build_seconds": round(time.perf_counter() - t0, 2),
        **(extra or {}),
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1))
    return manifest


def _reason_kind(reason: str) -> str:
    """Group reasons for the summary (drop file-specific details after the first colon or parenthesis)."""
    return reason.split(":")[0].split("(")[0].strip()[:80]


def _per_source(c: _Counts) -> dict:
    out: dict = {}
    for (src, split), n in c.pieces.items():
        d = out.setdefault(src, {"bars": c.bars[src]})
        d[f"{split}_pieces"] = n
        d[f"{split}_examples"] = c.examples[(src, split)]
        d[f"{split}_tokens"] = c.tokens[(src, split)]
    return dict(sorted(out.items()))


def read_manifest(path: str | os.PathLike) -> dict:
    f = Path(path) / MANIFEST
    if not f.exists():
        raise CodeplayError(f"{path} is not a built dataset (no {MANIFEST}); run `codeplay dataset build` first")
    return json.loads(f.read_text())


class TokenDataset:
    """A memory-mapped split for training: item ``i`` is a dict of ``input_ids``, ``attention_mask`` and
    ``labels`` (torch tensors of length ``block_size``; padding has mask 0 and label -100). Examples longer
    than ``block_size`` are truncated. Works as a map-style dataset for ``DataLoader`` and HF ``Trainer``."""

    def __init__(self, path: str | os.PathLike, split: str = "train", block_size: int = 512,
                 pad_id: int | None = None) -> None:
        if split not in SPLITS:
            raise CodeplayError(f"unknown split {split!r}; use train or val")
        self.path = Path(path)
        self.manifest = read_manifest(self.path)
        self.block_size = int(block_size)
        self.pad_id = int(self.manifest.get("pad_id", self.manifest["eos_id"]) if pad_id is None else pad_id)
        self.offsets = np.load(self.path / f"{split}.idx.npy")
        n_tokens = int(self.offsets[-1])
        self.data = (np.memmap(self.path / f"{split}.bin", dtype=np.uint16, mode="r", shape=(n_tokens,))
                     if n_tokens else np.zeros(0, dtype=np.uint16))

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def ids(self, i: int) -> np.ndarray:
        """The raw token ids of example ``i`` (EOS included)."""
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        i %= len(self)
        return np.asarray(self.data[self.offsets[i]:self.offsets[i + 1]], dtype=np.int64)

    def __getitem__(self, i: int) -> dict:
        import torch

        ids = self.ids(i)[: self.block_size]
        n = len(ids)
        input_ids = torch.full((self.block_size,), self.pad_id, dtype=torch.long)
        input_ids[:n] = torch.from_numpy(ids)
        mask = torch.zeros(self.block_size, dtype=torch.long)
        mask[:n] = 1
        labels = input_ids.clone()
        labels[n:] = -100
        return {"input_ids": input_ids, "attention_mask": mask, "labels": labels}
