"""The attribute-conditioned GPT-2 music model: configs, checkpoints, grammar-constrained sampling, training."""

from .checkpoint import MusicModel, load_model, save_model, tiny_music_model
from .config import ModelConfig, SamplingConfig, TrainConfig

__all__ = ["ModelConfig", "MusicModel", "SamplingConfig", "TrainConfig", "load_model", "save_model", "tiny_music_model"]
