"""Train the classifier heads on generated prompts: ``python -m codeplay_nb.text.train --out DIR``.

The encoder is frozen, so every prompt is encoded once and the heads train on the cached features
(a minute on a laptop CPU for the full configuration, seconds for ``--small``). Seeded and reproducible.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from .backbones import MINILM, TransformerBackbone, load_backbone
from .classifier import PromptClassifier
from .evaluate import evaluate_by_language, evaluate_examples
from .heads import HeadsConfig, PromptHeads, save_heads
from .prompts import NO_GENRE, PromptExample, generate_prompts
from .zeroshot import ZeroShotBank, build_bank, save_bank


@dataclass(frozen=True)
class TrainConfig:
    """Dataset size and optimisation settings; :meth:`small` is the CI/notebook configuration."""

    n_train: int = 12000
    n_val: int = 3000
    epochs: int = 30
    batch_size: int = 256
    lr: float = 2e-3
    weight_decay: float = 0.01
    hidden_dim: int = 256
    dropout: float = 0.2
    feature_noise: float = 0.02
    seed: int = 0
    backbone: str = MINILM
    features: str = "mean"
    use_nrc: bool = True
    final: bool = False  # after validating, retrain on training + held-out vocabulary (the shipped heads)

    def __post_init__(self) -> None:
        if self.n_train < 1 or self.n_val < 0 or self.epochs < 1 or self.batch_size < 1:
            raise ValueError("n_train, epochs and batch_size must be positive, n_val non-negative")
        if self.lr <= 0:
            raise ValueError("lr must be positive")

    @classmethod
    def small(cls, **kw) -> TrainConfig:
        return cls(**{"n_train": 1500, "n_val": 200, "epochs": 15, **kw})

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


@dataclass
class TrainResult:
    heads: PromptHeads
    backbone: TransformerBackbone
    history: list[dict]
    val_metrics: dict
    train_examples: list[PromptExample]
    val_examples: list[PromptExample]
    seconds: float
    bank: ZeroShotBank | None = None

    def classifier(self, vocabulary: str = "all") -> PromptClassifier:
        """The trained classifier; ``vocabulary="train"`` to score held-out prompts honestly."""
        return PromptClassifier(self.backbone, self.heads, vocabulary=vocabulary, bank=self.bank)


def build_dataset(cfg: TrainConfig) -> tuple[list[PromptExample], list[PromptExample]]:
    """Training prompts (training vocabulary and frames) and validation prompts (held-out ones)."""
    train = generate_prompts(cfg.n_train, split="train", seed=cfg.seed, use_nrc=cfg.use_nrc)
    val = generate_prompts(cfg.n_val, split="val", seed=cfg.seed + 1, use_nrc=cfg.use_nrc)
    return train, val


def preview_prompts(cfg: TrainConfig, n: int = 10, split: str = "train") -> list[dict]:
    """A few generated prompts with their labels, for a quick look."""
    return [
        {"prompt": e.text, "genre": e.genre, "emotion": e.emotion, "tempo_bin": e.tempo_bin,
         "instruments": ", ".join(e.instruments)}
        for e in generate_prompts(n, split=split, seed=cfg.seed, use_nrc=cfg.use_nrc)
    ]


def label_tensors(examples: list[PromptExample], config: HeadsConfig) -> dict[str, torch.Tensor]:
    g = {lab: i for i, lab in enumerate(config.genre_labels)}
    e = {lab: i for i, lab in enumerate(config.emotion_labels)}
    t = {lab: i for i, lab in enumerate(config.tempo_labels)}
    inst = torch.zeros(len(examples), len(config.instrument_labels))
    for i, ex in enumerate(examples):
        for f in ex.instruments:
            inst[i, config.instrument_labels.index(f)] = 1.0
    return {
        "genre": torch.tensor([g[ex.genre or NO_GENRE] for ex in examples]),
        "emotion": torch.tensor([e[ex.emotion] for ex in examples]),
        "tempo_bin": torch.tensor([t[ex.tempo_bin] for ex in examples]),
        "instruments": inst,
    }


def fit_heads(features: torch.Tensor, labels: dict[str, torch.Tensor], config: HeadsConfig, cfg: TrainConfig,
              log=print) -> tuple[PromptHeads, list[dict]]:
    """Train fresh heads on cached features (deterministic for a given seed)."""
    torch.manual_seed(cfg.seed)
    heads = PromptHeads(config)
    opt = torch.optim.AdamW(heads.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = cfg.epochs * ((len(features) + cfg.batch_size - 1) // cfg.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=steps)
    ce, bce = nn.CrossEntropyLoss(), nn.BCEWithLogitsLoss()
    gen = torch.Generator().manual_seed(cfg.seed)
    history = []
    for epoch in range(cfg.epochs):
        heads.train()
        order = torch.randperm(len(features), generator=gen)
        total = 0.0
        for i in range(0, len(order), cfg.batch_size):
            idx = order[i:i + cfg.batch_size]
            x = features[idx]
            if cfg.feature_noise:
                x = x + cfg.feature_noise * torch.randn(x.shape, generator=gen)
            out = heads(x)
            loss = (ce(out["genre"], labels["genre"][idx]) + ce(out["emotion"], labels["emotion"][idx])
                    + ce(out["tempo_bin"], labels["tempo_bin"][idx]) + bce(out["instruments"], labels["instruments"][idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        history.append({"epoch": epoch + 1, "loss": total / len(features)})
        if log and (epoch + 1) % max(1, cfg.epochs // 5) == 0:
            log(f"epoch {epoch + 1}/{cfg.epochs} loss {total / len(features):.4f}")
    return heads.eval(), history


def train_heads(cfg: TrainConfig, *, backbone: TransformerBackbone | None = None, log=print) -> TrainResult:
    """Generate the data, encode it once, train the heads, score them on the held-out prompts."""
    start = time.perf_counter()
    torch.manual_seed(cfg.seed)
    backbone = backbone or load_backbone(cfg.backbone)
    train, val = build_dataset(cfg)
    if log:
        log(f"{len(train)} training and {len(val)} held-out prompts; encoding with {backbone.name}")
    features = backbone.features([e.text for e in train], cfg.features, batch_size=128)
    config = HeadsConfig(
        input_dim=backbone.feature_dim(cfg.features), hidden_dim=cfg.hidden_dim, dropout=cfg.dropout,
        backbone=backbone.name, features=cfg.features,
    )
    heads, history = fit_heads(features, label_tensors(train, config), config, cfg, log=log)
    bank = build_bank(backbone)
    # held-out prompts are scored with rules that do not know the held-out words either
    val_metrics = evaluate_examples(val, model=PromptClassifier(backbone, heads, vocabulary="train", bank=bank)) if val else {}
    if cfg.final:
        # the figures above belong to heads that never saw the held-out words; the final heads also learn
        # them from fresh prompts of the held-out vocabulary (not the validation prompts themselves)
        extra = generate_prompts(max(cfg.n_val, cfg.n_train // 4), split="val", seed=cfg.seed + 2, use_nrc=cfg.use_nrc)
        if log:
            log(f"final heads: adding {len(extra)} prompts of the held-out vocabulary")
        features = torch.cat([features, backbone.features([e.text for e in extra], cfg.features, batch_size=128)])
        train = train + extra
        heads, history = fit_heads(features, label_tensors(train, config), config, cfg, log=log)
    heads.config.metrics.update({"validation": val_metrics, "train_config": cfg.to_dict()})
    return TrainResult(heads, backbone, history, val_metrics, train, val, time.perf_counter() - start, bank)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m codeplay_nb.text.train", description=__doc__)
    parser.add_argument("--out", required=True, help="folder for model.safetensors + config.json")
    parser.add_argument("--small", action="store_true", help="the small CI configuration")
    parser.add_argument("--final", action="store_true",
                        help="after validation, retrain on the held-out vocabulary too (how the shipped heads are made)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-train", type=int)
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--backbone", default=MINILM)
    parser.add_argument("--natural", action="append",
                        help="a labelled TSV of natural prompts to report accuracy on (repeatable)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    overrides = {"seed": args.seed, "backbone": args.backbone, "final": args.final}
    if args.n_train:
        overrides["n_train"] = args.n_train
    if args.epochs:
        overrides["epochs"] = args.epochs
    cfg = TrainConfig.small(**overrides) if args.small else TrainConfig(**overrides)
    backbone = load_backbone(cfg.backbone)
    result = train_heads(cfg, backbone=backbone)
    print("held-out validation:", json.dumps({k: round(v, 4) for k, v in result.val_metrics.items()}))
    for path in args.natural or ():
        nat = evaluate_by_language(path, model=result.classifier())
        result.heads.config.metrics.setdefault("natural", {})[Path(path).stem] = nat
        print(f"natural prompts {Path(path).name}:", json.dumps(
            {lang: {k: round(v, 4) for k, v in m.items()} for lang, m in nat.items()}))
    out = save_heads(result.heads, Path(args.out))
    save_bank(result.bank, out)
    print(f"saved heads to {out} in {result.seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
