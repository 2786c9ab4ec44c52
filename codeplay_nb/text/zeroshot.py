"""Zero-shot signal from the frozen encoder: similarity of a prompt to descriptions of each label and style.

The descriptions (label sentences below, one sentence per row of the style table) are encoded once; for the
shipped MiniLM encoder the embeddings ship next to the heads (``zeroshot.safetensors``, rebuilt by
``python -m codeplay_nb.text.train``) and are recomputed at load only if the descriptions changed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..attributes import EMOTIONS, GENRES, TEMPO_BINS
from .styles import Style, load_styles

if TYPE_CHECKING:
    import torch

    from .backbones import TransformerBackbone

ZEROSHOT_NAME = "zeroshot.safetensors"

GENRE_DESCRIPTIONS: dict[str, str] = {
    "pop": "a catchy pop song, radio pop music with vocals",
    "rock": "rock music with electric guitars, bass and drums, a rock band",
    "jazz": "jazz music, swing, saxophone and piano improvisation, a jazz club",
    "classical": "classical music, an orchestra, symphony, string quartet or solo piano in concert",
    "folk": "folk music, acoustic guitar, fiddle, a traditional tune, a tavern or campfire song",
    "electronic": "electronic dance music, synthesizers and drum machines, club, techno, house, edm",
    "hiphop": "hip hop beat, rap, trap, boom bap, lo-fi beats with 808 bass",
    "game": "video game music, chiptune, game soundtrack, boss battle, level theme",
    "blues": "blues music, twelve-bar blues, slide guitar and harmonica",
    "latin": "latin music, salsa, samba, bossa nova, tango, reggaeton",
    "country": "country music, cowboy, banjo, steel guitar, western saloon",
}
EMOTION_DESCRIPTIONS: dict[str, str] = {
    "happy": "happy, cheerful, joyful, uplifting, fun music for celebrating",
    "sad": "sad, melancholic, sorrowful, heartbroken music, grief and loss",
    "calm": "calm, peaceful, relaxing, gentle, soothing music to unwind",
    "tense": "tense, scary, suspenseful, aggressive, dangerous music, fear and anger",
    "epic": "epic, heroic, triumphant, majestic, powerful cinematic music",
    "romantic": "romantic, tender, loving, passionate music for lovers",
    "mysterious": "mysterious, eerie, haunting, magical, strange and dark music",
    "playful": "playful, silly, bouncy, quirky, cute and mischievous music",
}
TEMPO_DESCRIPTIONS: dict[str, str] = {
    "slow": "slow, gentle, unhurried tempo",
    "moderate": "moderate, medium, walking tempo",
    "fast": "fast, upbeat, energetic tempo",
    "very_fast": "very fast, frantic, breakneck tempo",
}


def descriptions() -> dict[str, list[str]]:
    """The sentences encoded for each head, plus one per style."""
    return {
        "genre": [GENRE_DESCRIPTIONS[g] for g in GENRES],
        "emotion": [EMOTION_DESCRIPTIONS[e] for e in EMOTIONS],
        "tempo_bin": [TEMPO_DESCRIPTIONS[t] for t in TEMPO_BINS],
        "styles": [s.description() for s in load_styles()],
    }


def descriptions_hash(backbone_name: str) -> str:
    text = backbone_name + "\n" + "\n".join(f"{k}:{v}" for k, vs in descriptions().items() for v in vs)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass
class ZeroShotBank:
    """Description embeddings of one backbone: ``[labels, dim]`` per head and ``[styles, dim]``."""

    embeddings: dict[str, torch.Tensor]
    styles: tuple[Style, ...]
    key: str

    def similarities(self, features: torch.Tensor) -> dict[str, torch.Tensor]:
        """Cosine similarity (features are L2-normalised) of each prompt to each description."""
        import torch

        x = torch.nn.functional.normalize(features, dim=-1)
        out = {k: x @ v.T for k, v in self.embeddings.items()}
        if "tempo_bin" in out and "styles" in self.embeddings:
            out["tempo_bin"] = out["tempo_bin"] - self.tempo_offset()
        return out

    def tempo_offset(self) -> torch.Tensor:
        """Per-bin similarity offset that removes the tempo descriptions' own pull, label-free: the mean
        over the style descriptions (which say nothing about tempo) of their log-softmax over the tempo
        descriptions, in similarity units. Without it the "fast" description wins for almost any prompt and
        "moderate" almost never does."""
        import torch

        if getattr(self, "_tempo_offset", None) is None:
            from .combine import WEIGHTS

            sims = self.embeddings["styles"] @ self.embeddings["tempo_bin"].T
            self._tempo_offset = WEIGHTS.zs_temp * torch.log_softmax(sims / WEIGHTS.zs_temp, dim=-1).mean(0)
        return self._tempo_offset


def build_bank(backbone: TransformerBackbone) -> ZeroShotBank:
    import torch

    emb = {k: torch.nn.functional.normalize(backbone.encode(v, batch_size=128), dim=-1) for k, v in descriptions().items()}
    return ZeroShotBank(emb, load_styles(), descriptions_hash(backbone.name))


def save_bank(bank: ZeroShotBank, out_dir: str | Path) -> Path:
    from safetensors.torch import save_file

    path = Path(out_dir) / ZEROSHOT_NAME
    save_file({k: v.contiguous() for k, v in bank.embeddings.items()}, str(path), metadata={"key": bank.key})
    return path


def load_bank(backbone: TransformerBackbone, weights_dir: str | Path | None) -> ZeroShotBank:
    """The shipped embeddings when they match the backbone and the descriptions, else freshly encoded."""
    key = descriptions_hash(backbone.name)
    path = Path(weights_dir) / ZEROSHOT_NAME if weights_dir else None
    if path is not None and path.is_file():
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            if (f.metadata() or {}).get("key") == key:
                return ZeroShotBank({k: f.get_tensor(k) for k in f.keys()}, load_styles(), key)  # noqa: SIM118
    return build_bank(backbone)
