"""The trained part of the classifier: a small shared layer and one output layer per attribute.

Saved as ``model.safetensors`` + ``config.json`` (label sets, sizes, backbone name): everything needed to
rebuild the heads, no pickle.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from ..attributes import EMOTIONS, GENRES, INSTRUMENTS, TEMPO_BINS
from ..errors import CodeplayError
from .backbones import MINILM
from .prompts import NO_GENRE

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
HEAD_NAMES = ("genre", "emotion", "tempo_bin", "instruments")
FEATURE_MODES = ("mean", "mean+segments")


@dataclass(frozen=True)
class HeadsConfig:
    """Sizes and label sets of the heads; ``genre_labels`` ends with ``"none"`` (no genre implied)."""

    input_dim: int = 384
    hidden_dim: int = 256
    dropout: float = 0.2
    backbone: str = MINILM
    features: str = "mean"  # see TransformerBackbone.features
    genre_labels: tuple[str, ...] = (*GENRES, NO_GENRE)
    emotion_labels: tuple[str, ...] = EMOTIONS
    tempo_labels: tuple[str, ...] = TEMPO_BINS
    instrument_labels: tuple[str, ...] = INSTRUMENTS
    metrics: dict = field(default_factory=dict, compare=False)  # validation figures stored with the weights

    def __post_init__(self) -> None:
        if self.input_dim <= 0 or self.hidden_dim <= 0:
            raise ValueError("input_dim and hidden_dim must be positive")
        if self.features not in FEATURE_MODES:
            raise ValueError(f"features must be one of {FEATURE_MODES}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError("dropout must be in [0, 1)")
        for name in ("genre_labels", "emotion_labels", "tempo_labels", "instrument_labels"):
            object.__setattr__(self, name, tuple(getattr(self, name)))

    def labels(self, head: str) -> tuple[str, ...]:
        return {
            "genre": self.genre_labels, "emotion": self.emotion_labels, "tempo_bin": self.tempo_labels,
            "instruments": self.instrument_labels,
        }[head]

    def to_dict(self) -> dict:
        d = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    @classmethod
    def from_dict(cls, d: dict) -> HeadsConfig:
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        return cls(**known)


class PromptHeads(nn.Module):
    """Shared ``Linear -> GELU -> Dropout`` trunk, then one linear layer per head (logits)."""

    def __init__(self, config: HeadsConfig) -> None:
        super().__init__()
        self.config = config
        self.trunk = nn.Sequential(
            nn.Dropout(config.dropout / 2), nn.Linear(config.input_dim, config.hidden_dim), nn.GELU(),
            nn.Dropout(config.dropout),
        )
        self.out = nn.ModuleDict({h: nn.Linear(config.hidden_dim, len(config.labels(h))) for h in HEAD_NAMES})

    def forward(self, features: torch.Tensor) -> dict[str, torch.Tensor]:
        h = self.trunk(features)
        return {name: layer(h) for name, layer in self.out.items()}

    @torch.inference_mode()
    def probabilities(self, features: torch.Tensor) -> dict[str, torch.Tensor]:
        """Softmax for the single-label heads, sigmoid for instruments."""
        logits = self.eval()(features)
        return {h: torch.sigmoid(v) if h == "instruments" else torch.softmax(v, -1) for h, v in logits.items()}


def save_heads(heads: PromptHeads, out_dir: str | Path) -> Path:
    from safetensors.torch import save_file

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous() for k, v in heads.state_dict().items()}
    save_file(state, str(out / WEIGHTS_NAME), metadata={"format": "pt"})
    (out / CONFIG_NAME).write_text(json.dumps(heads.config.to_dict(), indent=1) + "\n")
    return out


def load_heads(path: str | Path) -> PromptHeads:
    from safetensors.torch import load_file

    p = Path(path)
    if not (p / CONFIG_NAME).is_file() or not (p / WEIGHTS_NAME).is_file():
        raise CodeplayError(
            f"no classifier weights in {p}: expected {CONFIG_NAME} and {WEIGHTS_NAME}; "
            "train them with `python -m codeplay_nb.text.train --out DIR`"
        )
    config = HeadsConfig.from_dict(json.loads((p / CONFIG_NAME).read_text()))
    heads = PromptHeads(config)
    heads.load_state_dict(load_file(str(p / WEIGHTS_NAME)))
    return heads.eval()
