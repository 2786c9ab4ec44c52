"""Checkpoints: a ``save_pretrained`` directory (safetensors weights + GPT-2 config) plus the NNN vocabulary,
the attribute vocabulary, the training config and the data manifest. Loads from a path or a Hub id;
never unpickles."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import CodeplayError
from .config import ModelConfig

DEFAULT_WEIGHTS = Path(__file__).resolve().parent.parent / "weights" / "music"
VOCAB_FILE = "nnn_vocab.json"
ATTRIBUTES_FILE = "attribute_vocabulary.json"
TRAIN_CONFIG_FILE = "training_config.json"
MANIFEST_FILE = "data_manifest.json"
METRICS_FILE = "training_metrics.json"
RANGES_FILE = "family_ranges.json"  # each family's register in the training data (model/ranges.py)
GENRE_STATS_FILE = "genre_stats.json"  # genres against ensemble/meter/tempo/mode in the training data (model/genre_plan.py)
PROGRESSIONS_FILE = "chord_progressions.json"  # chord transitions in the training data (model/progressions.py)
DEGREES_FILE = "key_degrees.json"  # how often the training songs play each scale degree (model/degrees.py)


def build_model(config: ModelConfig, vocab_size: int, *, seed: int = 0):
    """A freshly initialised ``GPT2LMHeadModel`` for the NNN vocabulary."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from ..tokenizers.nnn import NNNTokenizer

    tok = NNNTokenizer()
    if vocab_size != tok.vocab_size:
        raise ValueError("vocab_size does not match the NNN tokenizer")
    torch.manual_seed(seed)
    cfg = GPT2Config(
        vocab_size=vocab_size, n_positions=config.n_positions, n_embd=config.n_embd, n_layer=config.n_layer,
        n_head=config.n_head, resid_pdrop=config.dropout, embd_pdrop=config.dropout, attn_pdrop=config.dropout,
        bos_token_id=tok.bos_id, eos_token_id=tok.eos_id, pad_token_id=tok.pad_id,
    )
    return GPT2LMHeadModel(cfg)


@dataclass
class MusicModel:
    """A loaded model with everything needed to use it."""

    model: Any
    tokenizer: Any
    path: str = ""
    info: dict = field(default_factory=dict)

    @property
    def n_positions(self) -> int:
        return int(self.model.config.n_positions)

    @property
    def known_genres(self) -> set[str]:
        return set(self.info.get("manifest", {}).get("genres", []))


def save_model(mm_model, path: str | Path, *, train_config=None, manifest: dict | None = None,
               metrics: dict | None = None, fp16: bool = False, family_ranges: dict | None = None,
               progressions: dict | None = None, genre_stats: dict | None = None) -> Path:
    """Write a checkpoint directory. ``fp16`` halves the size of shipped weights."""
    import tempfile

    import torch

    from ..attributes import attribute_vocabulary
    from ..files import TMP_PREFIX, atomic_path, atomic_write_bytes
    from ..tokenizers.nnn import NNNTokenizer

    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    model = mm_model
    if fp16:
        model = type(mm_model)(mm_model.config)
        model.load_state_dict(mm_model.state_dict())
        model = model.to(torch.float16)
    # every file is written beside its target and renamed onto it: a kill mid-save never leaves a
    # truncated model.safetensors or config.json (an older checkpoint stays whole until replaced)
    staging = Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir=out))
    try:
        model.save_pretrained(staging, safe_serialization=True)
        NNNTokenizer().save(staging / VOCAB_FILE)
        for f in sorted(staging.iterdir()):
            with atomic_path(out / f.name) as tmp:
                tmp.write_bytes(f.read_bytes())
    finally:
        import shutil

        shutil.rmtree(staging, ignore_errors=True)
    atomic_write_bytes(out / ATTRIBUTES_FILE, json.dumps(attribute_vocabulary(), indent=1).encode())
    if train_config is not None:
        atomic_write_bytes(out / TRAIN_CONFIG_FILE, json.dumps(train_config.to_dict(), indent=1).encode())
    if manifest is not None:
        atomic_write_bytes(out / MANIFEST_FILE, json.dumps(manifest, indent=1).encode())
    if metrics is not None:
        atomic_write_bytes(out / METRICS_FILE, json.dumps(metrics, indent=1).encode())
    if family_ranges:
        atomic_write_bytes(out / RANGES_FILE, json.dumps(family_ranges, indent=1).encode())
    if progressions:
        atomic_write_bytes(out / PROGRESSIONS_FILE, json.dumps(progressions, indent=0, sort_keys=True).encode())
    if genre_stats:
        atomic_write_bytes(out / GENRE_STATS_FILE, json.dumps(genre_stats, indent=1, sort_keys=True).encode())
    return out


def _resolve(path_or_id: str | os.PathLike | None) -> Path:
    if path_or_id is None:
        if not (DEFAULT_WEIGHTS / "config.json").exists():
            raise CodeplayError(
                "the default music model weights are missing from this install; reinstall codeplay-nb "
                "or train one with `codeplay train --out DIR` and pass --model DIR"
            )
        return DEFAULT_WEIGHTS
    p = Path(path_or_id)
    if p.exists():
        if not (p / "config.json").is_file():
            raise CodeplayError(f"{p} is not a model folder (no config.json); pass the folder written by "
                                "`codeplay train --out DIR`")
        if not any((p / n).is_file() for n in ("model.safetensors", "model.safetensors.index.json")):
            raise CodeplayError(f"{p} holds no model.safetensors: only safetensors weights are loaded "
                                "(never pickled .bin files); save the model with safe_serialization=True")
        return p
    s = str(path_or_id)
    if s.count("/") == 1 and not s.startswith((".", "/")):
        try:
            from huggingface_hub import snapshot_download

            return Path(snapshot_download(s, allow_patterns=["*.json", "*.safetensors"]))
        except Exception as exc:
            raise CodeplayError(
                f"could not download the model {s!r} from the Hugging Face Hub ({type(exc).__name__}); "
                "check your internet connection, or download it elsewhere and pass the local folder"
            ) from exc
    raise CodeplayError(f"model folder {s!r} not found")


def load_model(path_or_id: str | os.PathLike | None = None) -> MusicModel:
    """Load a music model (the shipped default when ``None``), in float32, in eval mode."""
    return _load_cached(str(_resolve(path_or_id)))


@lru_cache(maxsize=4)
def _load_cached(path: str) -> MusicModel:
    import torch
    from transformers import GPT2LMHeadModel

    from ..tokenizers.nnn import NNNTokenizer

    p = Path(path)
    tok = NNNTokenizer()
    vocab_file = p / VOCAB_FILE
    if vocab_file.exists():
        saved = json.loads(vocab_file.read_text())
        if saved.get("vocab") != tok.vocab:
            raise CodeplayError(
                f"the model in {p} was trained with NNN vocabulary version {saved.get('version')}, "
                f"which differs from this package's {tok.version}; retrain or use a matching package version"
            )
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # no "Loading weights" bar on the user's terminal
    try:
        model = GPT2LMHeadModel.from_pretrained(p, use_safetensors=True, dtype=torch.float32)
    except TypeError:  # transformers < 4.56 names it torch_dtype
        model = GPT2LMHeadModel.from_pretrained(p, use_safetensors=True, torch_dtype=torch.float32)
    model.eval()
    info: dict = {}
    for name, key in ((MANIFEST_FILE, "manifest"), (TRAIN_CONFIG_FILE, "train_config"), (METRICS_FILE, "metrics"),
                      (RANGES_FILE, "family_ranges"), (PROGRESSIONS_FILE, "progressions"),
                      (DEGREES_FILE, "key_degrees"), (GENRE_STATS_FILE, "genre_stats")):
        if (p / name).exists():
            info[key] = json.loads((p / name).read_text())
    return MusicModel(model=model, tokenizer=tok, path=str(p), info=info)


def tiny_music_model(seed: int = 0) -> MusicModel:
    """A tiny randomly initialised model (tests, examples): nothing downloaded."""
    from ..tokenizers.nnn import NNNTokenizer

    tok = NNNTokenizer()
    model = build_model(ModelConfig.tiny(), tok.vocab_size, seed=seed)
    model.eval()
    return MusicModel(model=model, tokenizer=tok, path="<tiny>", info={})
