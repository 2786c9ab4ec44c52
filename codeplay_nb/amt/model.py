"""Loading the released Anticipatory Music Transformer weights, and a tiny random stand-in for tests."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from ..errors import CodeplayError
from . import config as C


class AMTModelUnavailableError(CodeplayError):
    """The AMT weights could not be loaded (no internet, wrong id or path)."""


def _unavailable(source: str, exc: Exception) -> AMTModelUnavailableError:
    return AMTModelUnavailableError(
        f"could not load the Anticipatory Music Transformer weights {source!r} ({type(exc).__name__}: "
        f"{str(exc).splitlines()[0][:160] if str(exc) else 'no detail'}). The weights come from the Hugging "
        "Face Hub, which needs internet: run on a machine with internet (e.g. Colab), or download them "
        f"once with `huggingface-cli download {C.DEFAULT_MODEL_ID} --local-dir music-small-800k` and pass "
        "that folder as the model (--model music-small-800k)."
    )


def check_amt_model(model) -> None:
    """Raise unless ``model`` looks like an arrival-time AMT (vocabulary 55028, context >= 1024)."""
    cfg = getattr(model, "config", None)
    vocab = getattr(cfg, "vocab_size", None)
    ctx = getattr(cfg, "n_positions", None) or getattr(cfg, "max_position_embeddings", None)
    if vocab != C.VOCAB_SIZE or ctx is None or ctx < C.CONTEXT_TOKENS:
        raise AMTModelUnavailableError(
            f"this is not an arrival-time Anticipatory Music Transformer (vocabulary {vocab}, context {ctx}; "
            f"expected {C.VOCAB_SIZE} and {C.CONTEXT_TOKENS}): use e.g. {C.DEFAULT_MODEL_ID}"
        )


def _hub_reachable(timeout_s: float = 3.0) -> bool:
    """Whether the Hugging Face Hub host resolves and accepts a connection (fails fast offline, instead of
    the Hub client's retries)."""
    import os
    import socket
    from urllib.parse import urlparse

    host = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname or "huggingface.co"
    try:
        with socket.create_connection((host, 443), timeout=timeout_s):
            return True
    except OSError:
        return False


def load_amt_model(model_id_or_path: str | Path = C.DEFAULT_MODEL_ID, *, device: str | None = None,
                   local_files_only: bool = False):
    """``AutoModelForCausalLM.from_pretrained`` for a Hub id (``stanford-crfm/music-small-800k``,
    ``-medium-``, ``-large-``) or a local folder, safetensors weights only; in eval mode, on
    ``device`` (default: CUDA when available). Raises :class:`AMTModelUnavailableError` with the way out
    when the weights cannot be fetched."""
    import torch
    from transformers import AutoModelForCausalLM

    source = str(model_id_or_path)
    local = Path(source).expanduser()
    if local.exists() and not (local / "config.json").exists():
        raise AMTModelUnavailableError(f"{source!r} is a path but holds no config.json: give the folder "
                                       f"made by `huggingface-cli download {C.DEFAULT_MODEL_ID} --local-dir DIR`")
    if not local.exists() and not local_files_only and not _hub_reachable():
        local_files_only = True  # no network: the Hugging Face cache may still hold the weights
    if local.is_dir() and not any((local / n).is_file()
                                  for n in ("model.safetensors", "model.safetensors.index.json")):
        raise AMTModelUnavailableError(
            f"{source!r} holds no model.safetensors: only safetensors weights are loaded (never pickled "
            "pytorch_model.bin files); convert them or download a repository that has safetensors weights")
    try:  # safetensors only: a repository with nothing but pickled .bin weights is refused
        model = AutoModelForCausalLM.from_pretrained(
            str(local) if local.exists() else source, local_files_only=local_files_only, use_safetensors=True)
    except (OSError, ValueError) as exc:  # missing files, no connection, offline mode, no safetensors
        raise _unavailable(source, exc) from exc
    check_amt_model(model)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    return model.to(device).eval()


@lru_cache(maxsize=2)
def cached_amt_model(model_id_or_path: str = C.DEFAULT_MODEL_ID):
    """:func:`load_amt_model` once per id/path in this process (the editing functions use this)."""
    return load_amt_model(model_id_or_path)


def amt_config(*, layers: int, width: int, heads: int):
    """A GPT-2 configuration with the AMT vocabulary and context."""
    from transformers import GPT2Config

    return GPT2Config(vocab_size=C.VOCAB_SIZE, n_positions=C.CONTEXT_TOKENS, n_embd=width, n_layer=layers,
                      n_head=heads, scale_attn_by_inverse_layer_idx=True, bos_token_id=C.SEPARATOR,
                      eos_token_id=C.SEPARATOR)


def small_amt_config():
    """The shape of ``music-small-800k`` (train/lakh-small.yaml: 12 layers x 768, 12 heads, 1024 context)."""
    return amt_config(layers=C.SMALL_MODEL_LAYERS, width=C.SMALL_MODEL_WIDTH, heads=C.SMALL_MODEL_HEADS)


def tiny_amt_model(seed: int = 0, *, layers: int = 2, width: int = 64, heads: int = 2,
                   mean_step_seconds: float | None = 0.25):
    """A tiny randomly initialised GPT-2 with the real vocabulary (55028) and context (1024), for tests.

    A random model spreads onsets over the whole 100 s time block, so it would rarely write a note inside
    a few bars. With ``mean_step_seconds`` the weights are biased (deterministically) so that logits fall
    linearly with the relative onset and duration: onsets then advance by about that much per note, and
    durations stay short. ``None`` leaves the random initialisation untouched. The result still depends
    on the context, so cache tests remain meaningful.
    """
    import torch
    from transformers import GPT2LMHeadModel

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = GPT2LMHeadModel(amt_config(layers=layers, width=width, heads=heads))
    if mean_step_seconds is not None:
        favour_short_steps(model, mean_step_seconds)
    return model.eval()


def favour_short_steps(model, mean_step_seconds: float = 0.25) -> None:
    """Bias a (random) AMT GPT-2 in place so that onsets advance by about ``mean_step_seconds`` per note
    and durations stay short: the final layer norm adds a constant to hidden channel 0 and the (tied)
    embeddings of onset and duration tokens fall linearly on that channel. For tests and benchmarks."""
    import torch

    if mean_step_seconds <= 0:
        raise ValueError("mean_step_seconds must be positive")
    lift = 8.0
    rate = 1.0 / (mean_step_seconds * C.STEPS_PER_SECOND)  # per 10 ms step
    with torch.no_grad():
        model.transformer.ln_f.bias[0] = lift
        wte = model.transformer.wte.weight
        steps = torch.arange(C.MAX_TIME_STEPS, dtype=wte.dtype, device=wte.device)
        wte[C.TIME_OFFSET:C.DURATION_OFFSET, 0] = -rate * steps / lift
        durs = torch.arange(C.MAX_DURATION_STEPS, dtype=wte.dtype, device=wte.device)
        wte[C.DURATION_OFFSET:C.NOTE_OFFSET, 0] = -4 * rate * durs / lift
