"""KV-cached sampling under the grammar constraint (a function that takes a model, anticipation-style).

Forced tokens (the only legal token at a step) are not sampled: they are queued and fed to the model
together in one forward pass, so structure costs almost nothing.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence

import torch

from .grammar import NNNConstraint

GENERATION_THREADS = 1


def _cache_arg(model) -> str:
    """Name of the KV-cache argument: ``cache`` (transformers >= 5) or ``past_key_values`` (4.x, Colab)."""
    import inspect

    params = inspect.signature(model.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


def cached_forward(model, ids: torch.Tensor, past, arg: str | None = None):
    """One forward pass that extends the KV cache; returns (logits of the last position, new cache): one
    row of logits for a batch of one, else a row per sequence."""
    arg = arg or _cache_arg(model)
    res = model(input_ids=ids, use_cache=True, **({arg: past} if past is not None else {}))
    new = getattr(res, "cache", None)
    if new is None:
        new = res.past_key_values
    last = res.logits[:, -1].float()
    return (last[0] if ids.shape[0] == 1 else last), new


def tilted(scores: torch.Tensor, tilt: torch.Tensor, groups) -> torch.Tensor:
    """``scores + tilt`` inside each group (a ``(start, stop)`` range or a tensor of token ids), shifted so the
    group keeps its total probability (``logsumexp`` unchanged): the tilt reorders the choice within a group,
    not the choice of group."""
    out = scores.clone()
    for g in groups:
        at = slice(*g) if isinstance(g, tuple) else g
        s = scores[at]
        if not torch.isfinite(s).any():
            continue
        t = s + tilt[at]
        out[at] = t - (torch.logsumexp(t, 0) - torch.logsumexp(s, 0))
    return out


def _filter(logits: torch.Tensor, top_k: int, top_p: float) -> torch.Tensor:
    """Reference top-k / top-p filter over the whole vocabulary (a full sort)."""
    if top_k > 0:
        kth = torch.topk(logits, min(top_k, logits.numel())).values[-1]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, idx = torch.sort(logits, descending=True)
        probs = torch.softmax(sorted_logits, dim=-1)
        cum = torch.cumsum(probs, dim=-1)
        remove = cum - probs > top_p
        sorted_logits = sorted_logits.masked_fill(remove, float("-inf"))
        logits = torch.full_like(logits, float("-inf")).scatter(0, idx, sorted_logits)
    return logits


NUCLEUS_PROBE = 64  # top-p looks at the 64 most likely tokens first; a full sort only if they are not enough


def draw(scores: torch.Tensor, top_k: int, top_p: float, gen: torch.Generator) -> int:
    """One token from ``softmax(scores)`` under top-k / top-p, with ``gen``'s randomness.

    The same distribution as filtering with :func:`_filter` and calling ``torch.multinomial``, at a fraction
    of the cost (a sampling step must stay small next to a ~1 ms forward pass): the nucleus is found among
    the ``NUCLEUS_PROBE`` most likely tokens (a partial sort) whenever it lies there, and the token is drawn by
    inverting the cumulative distribution with one uniform number (a few tensor calls, the rest on short
    Python lists).
    """
    if top_k > 0:
        scores = _filter(scores, top_k, 1.0)
    probs = torch.softmax(scores, dim=-1)
    k = min(NUCLEUS_PROBE, probs.numel())
    pv, idx = torch.topk(probs, k)
    cum = torch.cumsum(pv, dim=0).tolist()
    # the nucleus (or, without top-p, the support) reaches past the probe
    beyond = cum[-1] <= top_p if top_p < 1.0 else k < probs.numel() and int(torch.count_nonzero(probs)) > k
    if beyond:  # rare: sort everything
        pv, idx = torch.sort(probs, descending=True)
        cum = torch.cumsum(pv, dim=0).tolist()
    # token i is kept while the mass before it is <= top_p
    n_keep = min(bisect.bisect_right(cum, top_p) + 1, len(cum)) if top_p < 1.0 else len(cum)
    u = float(torch.rand(1, generator=gen)) * cum[n_keep - 1]
    j = min(bisect.bisect_left(cum, u, 0, n_keep), n_keep - 1)
    return int(idx[j])


@torch.inference_mode()
def sample(
    model,
    prompt: Sequence[int],
    constraint: NNNConstraint,
    *,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 0.95,
    seed: int = 0,
    max_new_tokens: int | None = None,
    on_token: Callable[[int], None] | None = None,
    uncond_prompt: Sequence[int] | None = None,
    guidance: float = 1.0,
    drum_guidance: float | None = None,
) -> list[int]:
    """Sample until the constraint is satisfied (EOS). Returns the generated ids (prompt excluded).

    With ``uncond_prompt`` (the prompt with some conditions set to unknown, same length) and ``guidance``
    other than 1, classifier-free guidance: both run as one batch and the logits are
    ``uncond + guidance * (cond - uncond)``, so the conditions that differ are followed more (> 1);
    ``drum_guidance`` (default: ``guidance``) is the strength while the constraint is in a drum track.
    Same model, prompt, constraint and seed give the same tokens.
    """
    if uncond_prompt is not None and len(uncond_prompt) != len(prompt):
        raise ValueError("the unconditional prompt must have the prompt's length")
    drum_guidance = guidance if drum_guidance is None else drum_guidance
    if guidance == 1.0 and drum_guidance == 1.0:
        uncond_prompt = None
    # one intra-op thread: per-token forward passes of a small model are too short to split, and on a
    # busy 2-core machine two threads were measured ~50x slower (restored afterwards)
    threads = torch.get_num_threads()
    torch.set_num_threads(GENERATION_THREADS)
    try:
        return _sample(model, prompt, constraint, temperature=temperature, top_k=top_k, top_p=top_p, seed=seed,
                       max_new_tokens=max_new_tokens, on_token=on_token, uncond=uncond_prompt, guidance=guidance,
                       drum_guidance=drum_guidance)
    finally:
        torch.set_num_threads(threads)


def _sample(model, prompt, constraint, *, temperature, top_k, top_p, seed, max_new_tokens, on_token, uncond=None,
            guidance=1.0, drum_guidance=1.0) -> list[int]:
    n_ctx = int(model.config.n_positions)
    if len(prompt) >= n_ctx - 1:
        raise ValueError(f"prompt of {len(prompt)} tokens does not fit the model context ({n_ctx})")
    gen = torch.Generator().manual_seed(int(seed))
    arg = _cache_arg(model)
    out: list[int] = []
    pending: list[int] = list(prompt)
    past = None
    logits = None
    total = 0
    budget = (n_ctx - 1) if max_new_tokens is None else min(n_ctx - 1, len(prompt) + max_new_tokens)
    inv_t = 1.0 / temperature
    while not constraint.done:
        _, n_allowed, single, add = constraint.allowed_info()
        if n_allowed == 0:  # pragma: no cover - the grammar always leaves a way forward
            raise RuntimeError("grammar allows no token")
        if n_allowed == 1:
            tid = single
        else:
            if pending:
                if total + len(pending) > budget:
                    break
                if uncond is None:
                    logits, past = cached_forward(model, torch.tensor([pending], dtype=torch.long), past, arg)
                else:  # the first call holds the two different prompts, later ones the same new tokens twice
                    rows = [pending, list(uncond) + pending[len(uncond):]] if past is None else [pending, pending]
                    both, past = cached_forward(model, torch.tensor(rows, dtype=torch.long), past, arg)
                    g = drum_guidance if constraint.in_drum_track else guidance
                    logits = torch.lerp(both[1], both[0], g)  # uncond + g * (cond - uncond)
                total += len(pending)
                pending = []
            scores = torch.add(add, logits, alpha=inv_t)  # grammar mask and key bias in one
            tilt = constraint.tilt() if hasattr(constraint, "tilt") else None
            if tilt is not None:
                scores = tilted(scores, tilt, constraint.tilt_groups)
            tid = draw(scores, top_k, top_p, gen)
        constraint.advance(tid)
        out.append(tid)
        pending.append(tid)
        if on_token is not None:
            on_token(tid)
        if total + len(pending) >= budget and not constraint.done:
            break
    if not constraint.done:
        out += constraint.closing_tokens()
    return out


@torch.inference_mode()
def raw_forward_rate(model, n_tokens: int = 256, prompt_len: int = 32) -> float:
    """Tokens per second of a bare cached forward loop (greedy, no grammar): the limit for this model."""
    import time

    threads = torch.get_num_threads()
    torch.set_num_threads(GENERATION_THREADS)  # the same setting as sample()
    try:
        return _raw_rate(model, n_tokens, prompt_len, time)
    finally:
        torch.set_num_threads(threads)


def _raw_rate(model, n_tokens: int, prompt_len: int, time) -> float:
    # never past the context (a sampler that ran into it closed its output with grammar tokens)
    n_tokens = max(1, min(n_tokens, int(model.config.n_positions) - prompt_len))
    arg = _cache_arg(model)
    ids = torch.ones((1, prompt_len), dtype=torch.long)
    logits, past = cached_forward(model, ids, None, arg)
    t0 = time.perf_counter()
    for _ in range(n_tokens):
        nxt = logits.argmax(-1).view(1, 1)
        logits, past = cached_forward(model, nxt, past, arg)
    return n_tokens / (time.perf_counter() - t0)
