"""Train the music model with the Hugging Face ``Trainer`` (so the same script runs on one CPU, one GPU, or
many GPUs/nodes through ``accelerate launch`` / ``torchrun``: no home-made distributed loop).

Data: a folder written once by :mod:`codeplay_nb.dataset` (flat ``train.bin`` / ``val.bin`` uint16 token
streams, examples separated by EOS). Training packs the stream into ``block_size`` chunks (nanoGPT style)
read through a memory map.

    python -m codeplay_nb.model.train --data DATA_DIR --out OUT_DIR [--tiny] [--max-steps N]
    accelerate launch -m codeplay_nb.model.train --data DATA_DIR --out OUT_DIR
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np

from .checkpoint import build_model, save_model
from .config import ModelConfig, TrainConfig

log = logging.getLogger(__name__)


class PackedTokens:
    """``block_size`` chunks of a flat uint16 token stream (memory-mapped), as a torch-style dataset.

    With ``augment`` (a :class:`~codeplay_nb.tokenizers.augment.TokenTransposer`) and the builder's pitched
    mask beside the stream, every chunk is transposed in token space by a shift drawn from
    ``(seed, epoch, i)``: each epoch sees the windows in new keys, and a resumed run draws the same shifts
    as an uninterrupted one. ``epoch`` is set by the trainer callback at each epoch's start."""

    def __init__(self, path: str | Path, block_size: int, *, stride: int | None = None, augment=None,
                 seed: int = 0) -> None:
        self.data = np.memmap(path, dtype=np.uint16, mode="r")
        self.block_size = block_size
        self.stride = stride or block_size
        self.n = max(0, (len(self.data) - block_size - 1) // self.stride + 1)
        if self.n == 0:
            raise ValueError(f"{path} holds {len(self.data)} tokens, fewer than one block of {block_size}")
        mask_path = Path(str(path).removesuffix(".bin") + ".mask.bin")
        self.augment = augment if augment is not None and mask_path.exists() else None
        self.mask = np.memmap(mask_path, dtype=np.uint8, mode="r") if self.augment is not None else None
        self.seed = seed
        self.epoch = 0

    def __len__(self) -> int:
        return self.n

    def shift_for(self, i: int, ids: np.ndarray, mask: np.ndarray) -> int:
        lo, hi = self.augment.allowed(ids, mask)
        if lo > hi:
            return 0
        r = np.random.default_rng([self.seed, self.epoch, i]).integers(lo, hi + 1)
        return int(r)

    def __getitem__(self, i: int) -> dict:
        import torch

        s = i * self.stride
        ids = self.data[s: s + self.block_size].astype(np.int64)
        if self.augment is not None:
            mask = np.asarray(self.mask[s: s + self.block_size])
            ids = self.augment.apply(ids, mask, self.shift_for(i, ids, mask))
        chunk = torch.from_numpy(ids)
        return {"input_ids": chunk, "labels": chunk.clone()}


def latest_checkpoint(out: Path) -> Path | None:
    """The newest complete Trainer checkpoint under ``out/trainer`` (``trainer_state.json`` is written last,
    so a checkpoint cut short by a kill is passed over)."""
    root = out / "trainer"
    if not root.is_dir():
        return None
    done = [d for d in root.glob("checkpoint-*") if (d / "trainer_state.json").exists()
            and d.name.split("-")[-1].isdigit()]
    return max(done, key=lambda d: int(d.name.split("-")[-1]), default=None)


def _epoch_setter(dataset: PackedTokens):
    from transformers import TrainerCallback

    class _Epoch(TrainerCallback):
        def on_epoch_begin(self, args, state, control, **kw):
            dataset.epoch = int(state.epoch + 1e-6) if state.epoch else 0

    return _Epoch()


def _loss_logger(history: list[dict], out: Path):
    from transformers import TrainerCallback

    class _Cb(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kw):
            if logs:
                history.append({"step": state.global_step, "time": time.time(), **logs})
                (out / "log_history.json").write_text(json.dumps(history))

    return _Cb()


def _periodic_saver(out: Path, train_cfg: TrainConfig, manifest: dict):
    from transformers import TrainerCallback

    class _Saver(TrainerCallback):
        def on_step_end(self, args, state, control, model=None, **kw):
            if state.global_step % train_cfg.save_steps == 0 and model is not None and state.is_world_process_zero:
                save_model(model, out / "latest", train_config=train_cfg, manifest=manifest, fp16=True)

    return _Saver()


def train(
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    model_config: ModelConfig | None = None,
    train_config: TrainConfig | None = None,
    ship_fp16: bool = True,
    resume: bool = False,
    augment: bool = True,
    callbacks: list | None = None,
    init_from: str | Path | None = None,
) -> dict:
    """Train, save the final checkpoint to ``out_dir`` and return metrics (final train/val loss...).

    Every ``save_steps`` the Trainer writes a full checkpoint (weights as safetensors, optimizer, scheduler,
    RNG states, step) under ``out_dir/trainer``; ``resume`` continues from the newest complete one with no
    lost steps. ``augment`` transposes training chunks per epoch in token space (needs the builder's mask).
    ``init_from`` starts from the weights of a saved checkpoint (safetensors; its shape replaces
    ``model_config``) with a fresh optimizer and schedule: continued training of a shipped model."""
    import torch
    from transformers import Trainer, TrainingArguments, set_seed

    from ..tokenizers.nnn import NNNTokenizer

    model_config = model_config or ModelConfig()
    train_config = train_config or TrainConfig()
    data = Path(data_dir)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    set_seed(train_config.seed)
    tok = NNNTokenizer()
    init_model = None
    if init_from is not None:  # its shape always; its weights unless a resumed run restores its own
        init_model = _init_model(init_from, tok)
        c = init_model.config
        model_config = ModelConfig(n_layer=c.n_layer, n_embd=c.n_embd, n_head=c.n_head, n_positions=c.n_positions,
                                   dropout=c.resid_pdrop)
        if resume:
            init_model = None
        else:
            log.info("starting from the weights of %s", init_from)
    block = min(train_config.block_size, model_config.n_positions)
    transposer = None
    if augment:
        from ..tokenizers.augment import TokenTransposer

        transposer = TokenTransposer(tok)
    train_ds = PackedTokens(data / "train.bin", block, augment=transposer, seed=train_config.seed)
    val_bin = data / "val.bin"  # a small build may hold no (or less than one block of) validation tokens
    val_ds = PackedTokens(val_bin, block) if val_bin.exists() and val_bin.stat().st_size // 2 > block else None
    manifest = json.loads((data / "manifest.json").read_text()) if (data / "manifest.json").exists() else {}
    model = init_model if init_model is not None else build_model(model_config, tok.vocab_size, seed=train_config.seed)
    n_params = sum(p.numel() for p in model.parameters())
    log.info("model %.2fM parameters, %d train blocks of %d", n_params / 1e6, len(train_ds), block)
    bf16 = train_config.bf16 and (torch.cuda.is_available() or _cpu_bf16())
    args = TrainingArguments(
        output_dir=str(out / "trainer"),
        max_steps=train_config.max_steps,
        per_device_train_batch_size=train_config.batch_size,
        per_device_eval_batch_size=train_config.batch_size,
        gradient_accumulation_steps=train_config.gradient_accumulation_steps,
        learning_rate=train_config.learning_rate,
        warmup_steps=train_config.warmup_steps,
        weight_decay=train_config.weight_decay,
        lr_scheduler_type="cosine",
        logging_steps=train_config.logging_steps,
        eval_strategy="steps" if val_ds is not None else "no",
        eval_steps=train_config.eval_steps,
        save_strategy="steps",
        save_steps=train_config.save_steps,
        save_total_limit=2,
        report_to=[],
        seed=train_config.seed,
        data_seed=train_config.seed,
        bf16=bf16,
        use_cpu=not torch.cuda.is_available(),
        dataloader_num_workers=0,
        disable_tqdm=True,
        max_grad_norm=1.0,
    )
    history: list[dict] = []
    resume_from = None
    if resume:
        resume_from = latest_checkpoint(out)
        if resume_from is None:
            from ..errors import CodeplayError

            raise CodeplayError(f"nothing to resume in {out} (no complete checkpoint under {out}/trainer); "
                                "start without --resume")
        old = out / "log_history.json"
        if old.exists():
            step0 = int(resume_from.name.split("-")[-1])
            history.extend(h for h in json.loads(old.read_text()) if h.get("step", 0) <= step0)
    callbacks = [_loss_logger(history, out), _periodic_saver(out, train_config, manifest), _epoch_setter(train_ds),
                 *(callbacks or [])]
    eval_sub = None
    if val_ds is not None:
        import torch.utils.data as tud

        n_eval = min(len(val_ds), 64)
        eval_sub = tud.Subset(val_ds, list(range(0, len(val_ds), max(1, len(val_ds) // n_eval)))[:n_eval])
    trainer = Trainer(model=model, args=args, train_dataset=train_ds, eval_dataset=eval_sub, callbacks=callbacks)
    t0 = time.time()
    result = trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    seconds = time.time() - t0
    metrics = {
        "train_loss_final": _last(history, "loss"),
        "train_loss_mean": float(result.training_loss),
        "steps": int(result.global_step),
        "resumed_from": resume_from.name if resume_from else None,
        "seconds": round(seconds, 1),
        "tokens_seen": int(result.global_step * train_config.batch_size * block * train_config.gradient_accumulation_steps),
        "parameters": int(n_params),
        "model_config": model_config.to_dict(),
        "init_from": str(init_from) if init_from is not None else None,
    }
    metrics["tokens_per_second"] = round(metrics["tokens_seen"] / max(seconds, 1e-9), 1)
    if eval_sub is not None:
        metrics["val_loss_final"] = float(trainer.evaluate()["eval_loss"])
    metrics["log_history"] = history
    if trainer.is_world_process_zero():
        from .genre_plan import genre_stats
        from .progressions import progression_stats
        from .ranges import family_ranges, with_roles

        save_model(trainer.model, out, train_config=train_config, manifest=manifest, metrics=metrics, fp16=ship_fp16,
                   family_ranges=with_roles(family_ranges(data), data), progressions=progression_stats(data),
                   genre_stats=genre_stats(data))
    return metrics


def _init_model(path: str | Path, tok):
    """A float32, trainable copy of the checkpoint at ``path`` (safetensors only; same vocabulary)."""
    import copy

    from .checkpoint import load_model

    mm = load_model(path)
    if mm.model.config.vocab_size != tok.vocab_size:
        from ..errors import CodeplayError

        raise CodeplayError(f"{path} has a vocabulary of {mm.model.config.vocab_size} tokens, this package "
                            f"{tok.vocab_size}; --init-from needs a checkpoint of this NNN version")
    model = copy.deepcopy(mm.model).float()
    model.train()
    return model


def _last(history: list[dict], key: str) -> float | None:
    vals = [h[key] for h in history if key in h]
    return float(vals[-1]) if vals else None


def _cpu_bf16() -> bool:
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
        return "avx512_bf16" in flags or "amx_bf16" in flags
    except OSError:  # pragma: no cover
        return False


def main(argv: list[str] | None = None) -> int:
    """``python -m codeplay_nb.model.train ARGS`` (also under ``accelerate launch`` / ``torchrun``): the same
    options and checks as ``codeplay train ARGS`` -- one parser, in :mod:`codeplay_nb.cli.train`."""
    import sys

    from ..cli import main as cli_main

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    return cli_main(["train", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
