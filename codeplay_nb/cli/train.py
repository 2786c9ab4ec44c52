"""``codeplay train``: train the music model on a dataset folder built by ``codeplay dataset build``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import CodeplayError

EPILOG = """\
examples:
  codeplay dataset build --sources nottingham --limit 20 --val-fraction 0.2 --out runs/data
  codeplay train --data runs/data --out runs/tiny --tiny            # about a minute on a laptop CPU
  codeplay train --data runs/data --out runs/default                # the default (shipped) configuration
  codeplay compose --model runs/tiny --instruments piano,bass --bars 4 -o clip.mid

several GPUs or nodes (Hugging Face Trainer underneath, so no code changes; --batch-size is per device):
  accelerate launch -m codeplay_nb.model.train --data DIR --out DIR [--max-steps N ...]
  torchrun --nproc_per_node 4 -m codeplay_nb.model.train --data DIR --out DIR [--max-steps N ...]
  multi-node: accelerate launch --num_machines N --machine_rank R --main_process_ip HOST -m ...
              torchrun --nnodes N --node_rank R --master_addr HOST --nproc_per_node G -m ...
  (codeplay_nb.model.train takes the model/step/batch/lr/seed options; `-m codeplay_nb train`
   launched the same way takes every option of this command)
"""

# (flag, config field, type, help) for the model and training settings that can be overridden
MODEL_FLAGS = (
    ("--layers", "n_layer", int, "transformer layers"),
    ("--width", "n_embd", int, "embedding width"),
    ("--heads", "n_head", int, "attention heads (must divide --width)"),
    ("--positions", "n_positions", int, "context length in tokens"),
    ("--dropout", "dropout", float, "dropout probability"),
)
TRAIN_FLAGS = (
    ("--max-steps", "max_steps", int, "optimizer steps"),
    ("--batch-size", "batch_size", int, "sequences per device per step"),
    ("--block-size", "block_size", int, "tokens per training sequence (capped at --positions)"),
    ("--lr", "learning_rate", float, "peak learning rate (cosine schedule)"),
    ("--warmup", "warmup_steps", int, "learning-rate warm-up steps"),
    ("--weight-decay", "weight_decay", float, "AdamW weight decay"),
    ("--grad-accum", "gradient_accumulation_steps", int, "gradient accumulation steps"),
    ("--eval-steps", "eval_steps", int, "evaluate on the validation split every N steps"),
    ("--logging-steps", "logging_steps", int, "log the training loss every N steps"),
    ("--save-steps", "save_steps", int, "write OUT/latest every N steps"),
    ("--seed", "seed", int, "random seed (same seed and data: same weights)"),
)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train", help="train the music model on a built dataset folder",
        description="Train the attribute-conditioned GPT-2 music model (Hugging Face Trainer: one CPU, one GPU, "
                    "or several GPUs/nodes through accelerate/torchrun) and write a checkpoint folder that "
                    "`codeplay compose --model OUT` and codeplay_nb.load_model(OUT) load.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="dataset folder from `codeplay dataset build` (train.bin, val.bin)")
    p.add_argument("--out", required=True, help="checkpoint folder to write")
    p.add_argument("--tiny", action="store_true", help="tiny model and 30 steps (CI, debugging)")
    for flag, _, typ, text in MODEL_FLAGS + TRAIN_FLAGS:
        p.add_argument(flag, type=typ, default=None, metavar="X" if typ is float else "N", help=text)
    p.add_argument("--no-bf16", action="store_true", help="train in float32 even where bf16 autocast is available")
    p.add_argument("--fp32-weights", action="store_true", help="save float32 weights (default: float16, half size)")
    p.add_argument("--overwrite", action="store_true", help="replace a checkpoint already in --out")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted run in --out from its newest checkpoint (optimizer, scheduler, "
                        "RNG and step restored; pass the same options as the first run)")
    p.add_argument("--init-from", metavar="CHECKPOINT", default=None,
                   help="start from this checkpoint's weights (e.g. the shipped model) with a fresh optimizer and "
                        "learning-rate schedule; its shape overrides --layers/--width/--heads/--positions")
    p.add_argument("--no-augment", action="store_true", help="no per-epoch transposition of training chunks")
    p.add_argument("--json", action="store_true", help="print the final metrics as JSON")
    p.set_defaults(func=run)


def configs_from_args(args: argparse.Namespace):
    """The ``(ModelConfig, TrainConfig)`` the options ask for: tiny or default, with overrides applied."""
    from ..model.config import ModelConfig, TrainConfig

    mc = ModelConfig.tiny() if args.tiny else ModelConfig()
    tc = TrainConfig.tiny() if args.tiny else TrainConfig()
    model_over = {f: getattr(args, flag[2:].replace("-", "_")) for flag, f, _, _ in MODEL_FLAGS}
    train_over = {f: getattr(args, flag[2:].replace("-", "_")) for flag, f, _, _ in TRAIN_FLAGS}
    if args.no_bf16:
        train_over["bf16"] = False
    try:
        mc = ModelConfig.from_dict({**mc.to_dict(), **{k: v for k, v in model_over.items() if v is not None}})
        tc = TrainConfig.from_dict({**tc.to_dict(), **{k: v for k, v in train_over.items() if v is not None}})
    except ValueError as exc:
        raise CodeplayError(f"bad training option: {exc}") from None
    for name, value in (("--warmup", tc.warmup_steps), ("--eval-steps", tc.eval_steps),
                        ("--logging-steps", tc.logging_steps), ("--save-steps", tc.save_steps),
                        ("--grad-accum", tc.gradient_accumulation_steps)):
        if value < (0 if name == "--warmup" else 1):
            raise CodeplayError(f"{name} must be {'>= 0' if name == '--warmup' else 'positive'}, got {value}")
    if not 0 <= mc.dropout < 1:
        raise CodeplayError(f"--dropout must be in [0, 1), got {mc.dropout}")
    return mc, tc


def check_folders(data: Path, out: Path, block: int, overwrite: bool) -> None:
    """Fail early, with what to do, on a missing dataset or an existing checkpoint."""
    train_bin = data / "train.bin"
    if not train_bin.exists():
        raise CodeplayError(f"{data} is not a built dataset (no train.bin); run "
                            f"`codeplay dataset build --out {data}` first")
    n_tokens = train_bin.stat().st_size // 2
    if n_tokens <= block:
        raise CodeplayError(f"{train_bin} holds {n_tokens} tokens, not one block of {block}; build from more "
                            "pieces (--limit) or pass a smaller --block-size")
    if (out / "config.json").exists() and not overwrite:
        raise CodeplayError(f"{out} already holds a checkpoint; pass --overwrite to replace it or choose another --out")


def run(args: argparse.Namespace) -> int:
    import logging

    mc, tc = configs_from_args(args)
    data, out = Path(args.data), Path(args.out)
    check_folders(data, out, min(tc.block_size, mc.n_positions), args.overwrite or args.resume)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    from ..model.train import train

    metrics = train(data, out, model_config=mc, train_config=tc, ship_fp16=not args.fp32_weights,
                    resume=args.resume, augment=not args.no_augment, init_from=args.init_from)
    final = {k: v for k, v in metrics.items() if k != "log_history"}
    if args.json:
        print(json.dumps(final, indent=1))
    else:
        train_loss, val = final.get("train_loss_final"), final.get("val_loss_final")
        print(f"trained {final['steps']} steps ({final['parameters']:,} parameters, {final['tokens_seen']:,} tokens "
              f"in {final['seconds']} s); final train loss "
              + (f"{train_loss:.3f}" if train_loss is not None else "not logged (fewer steps than --logging-steps)")
              + (f", validation loss {val:.3f}" if val is not None else ", no validation split"))
        print(f"checkpoint: {out}  (codeplay compose --model {out} ...)")
    return 0
