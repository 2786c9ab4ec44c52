"""Sampling from an Anticipatory Music Transformer with a KV cache.

The loop follows the published sampler (anticipation ``sample.py::generate``): the prompt is padded with
RESTs up to the start time, controls are anticipated ``delta`` (5 s) ahead of the events, each new event is
three tokens (onset, duration, note) whose legal ranges are enforced by restricting the candidates (onset
not before the current time, durations, notes of the allowed instruments or REST, at most 16 instruments),
and times are relative to the window the model sees.

Where it differs, on purpose:

* The reference recomputes the whole window (up to 1017 tokens) for each of the three tokens of every
  event, because its window slides by one event and is re-relativised every step. Here the window moves
  in strides (drop ``stride_events`` at once when the 339-event history is full, or drop what is older than
  the span limit), and its time origin is the earliest time inside it; both only change when the window
  moves, so between moves the model runs incrementally on a KV cache. :class:`CachedStepper` checks that
  the new input extends what is cached and otherwise starts over, so the cached loop and the uncached
  :class:`RecomputeStepper` see exactly the same inputs (tests compare them token for token).
* Sampling is Gumbel-max over the legal candidates after temperature and top-p, with noise from a seeded
  ``torch.Generator``: reproducible, and insensitive to the last-bit float differences between an
  incremental and a full forward pass.
* Optional instrument restriction (the reference has none), used to regenerate a single track.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from . import config as C
from .events import Event, Item, interleave, item_tokens, pad_rests


@dataclass(frozen=True)
class SampleSettings:
    """Sampling options; times in 10 ms steps."""

    top_p: float = 0.98
    temperature: float = 1.0
    seed: int | None = None
    delta_steps: int = C.ANTICIPATION_INTERVAL_STEPS
    history_events: int = C.HISTORY_EVENTS  # 339 events = the reference's 1017-token history
    stride_events: int = 64  # events dropped at once when the history is full
    max_window_span_steps: int = 50 * C.STEPS_PER_SECOND  # keeps relative times far inside the 100 s block
    max_events: int = 4096  # safety stop

    def __post_init__(self) -> None:
        if not 0.0 < self.top_p <= 1.0:
            raise ValueError("top_p must lie in (0, 1]")
        if self.temperature <= 0:
            raise ValueError("temperature must be positive")
        if not 1 <= self.history_events <= C.HISTORY_EVENTS:
            raise ValueError(f"history_events must lie in 1..{C.HISTORY_EVENTS}")
        if not 1 <= self.stride_events <= self.history_events:
            raise ValueError("stride_events must lie in 1..history_events")
        if not 0 < self.max_window_span_steps <= C.MAX_TIME_STEPS - 2 * self.delta_steps:
            raise ValueError("max_window_span_steps must leave room for anticipated controls")


@dataclass
class GenerationResult:
    """Generated events (absolute steps, RESTs removed), every sampled id, and how many tokens the
    model processed (the cost measure the cache reduces)."""

    events: list[Event]
    sampled_ids: list[int] = field(default_factory=list)
    model_tokens: int = 0
    model_calls: int = 0


def _forward_params(model) -> set[str]:
    import inspect

    return set(inspect.signature(model.forward).parameters)


class RecomputeStepper:
    """Next-token logits by running the model over the whole input every time (the reference's way)."""

    def __init__(self, model) -> None:
        self.model = model
        self.tokens = 0
        self.calls = 0
        params = _forward_params(model)
        # only the last position's 55028 logits are needed (argument present in transformers >= 4.45)
        self.extra = {"logits_to_keep": 1} if "logits_to_keep" in params else {}
        # transformers 5 calls the cache argument ``cache``; 4.x (Colab's) ``past_key_values``
        self.cache_name = "cache" if "cache" in params else "past_key_values"

    def logits(self, ids: list[int]):
        import torch

        x = torch.tensor([ids], device=self.model.device)
        self.tokens += len(ids)
        self.calls += 1
        return self.model(input_ids=x, use_cache=False, **self.extra).logits[0, -1]


class CachedStepper(RecomputeStepper):
    """Next-token logits with a KV cache: only the ids not yet cached go through the model; an input that
    does not extend the cached one (the window moved) starts a fresh cache."""

    def __init__(self, model) -> None:
        super().__init__(model)
        self.cached: list[int] = []
        self.past = None

    def logits(self, ids: list[int]):
        import torch

        n = len(self.cached)
        if self.past is None or n >= len(ids) or ids[:n] != self.cached:
            self.past, n = None, 0
        x = torch.tensor([ids[n:]], device=self.model.device)
        self.tokens += len(ids) - n
        self.calls += 1
        out = self.model(input_ids=x, use_cache=True, **{self.cache_name: self.past}, **self.extra)
        self.past = getattr(out, self.cache_name)
        self.cached = list(ids)
        return out.logits[0, -1]


def pick(logits, generator, *, top_p: float, temperature: float) -> int:
    """Index of the sampled candidate: temperature, nucleus (top-p; the most likely candidate is always
    kept), then Gumbel-max with noise from ``generator``."""
    import torch

    x = logits.detach().to("cpu", torch.float64) / temperature
    if top_p < 1.0:
        probs = torch.softmax(x, dim=-1)
        p_sorted, order = torch.sort(probs, descending=True)
        before = torch.cumsum(p_sorted, dim=-1) - p_sorted
        x[order[before > top_p]] = float("-inf")
    u = torch.rand(x.shape, generator=generator, dtype=torch.float64).clamp_(min=1e-300)
    return int(torch.argmax(x - torch.log(-torch.log(u))))


def _window_start(stream: list[Item], win: int, lo: int, s: SampleSettings) -> int:
    """Where the model's window starts: unchanged until the history overflows or holds something older
    than the span limit; then drop ``stride_events`` (and everything older than half the span)."""
    n = len(stream) - win
    if n <= s.history_events and all(lo - it.event.time <= s.max_window_span_steps for it in stream[win:]):
        return win
    win = max(win, len(stream) - (s.history_events - s.stride_events))
    threshold = lo - s.max_window_span_steps // 2
    for i in range(len(stream) - 1, win - 1, -1):
        if stream[i].event.time < threshold:
            return i + 1
    return win


def generate(
    model,
    *,
    start: int,
    end: int,
    prompt: Sequence[Event] = (),
    controls: Sequence[Event] = (),
    instruments: Collection[int] | None = None,
    settings: SampleSettings = SampleSettings(),
    use_cache: bool = True,
) -> GenerationResult:
    """Sample events with onsets in ``[start, end)`` (steps) after ``prompt`` (events before ``start``),
    anticipating ``controls`` (fixed events anywhere in time). ``instruments`` restricts generated notes
    to those AMT instrument codes (0-127 programs, 128 drums). ``use_cache=False`` is the uncached
    reference loop (tests and benchmarks only)."""
    import torch

    s = settings
    gen = torch.Generator()
    if s.seed is None:
        gen.seed()
    else:
        gen.manual_seed(s.seed)
    prompt = pad_rests(sorted(prompt, key=lambda e: (e.time, e.note)), start)
    flag = C.ANTICIPATE if controls else C.AUTOREGRESS
    stream, pending = interleave(prompt, controls, s.delta_steps)
    current = max((e.time for e in prompt), default=0)
    seen = {it.event.instrument for it in stream if not it.event.is_rest}
    allowed = set(range(C.MAX_INSTRUMENT) if instruments is None else instruments)
    if not allowed or not allowed <= set(range(C.MAX_INSTRUMENT)):
        raise ValueError("instruments must be AMT instrument codes 0-128")
    note_ids_cache: dict[frozenset[int], object] = {}

    def note_candidates():
        usable = allowed
        if len(seen) >= C.MAX_INSTRUMENTS_PER_SEQUENCE and allowed & seen:
            usable = allowed & seen
        key = frozenset(usable)
        if key not in note_ids_cache:
            ids = [C.NOTE_OFFSET + C.MAX_PITCH * i + p for i in sorted(usable) for p in range(C.MAX_PITCH)]
            note_ids_cache[key] = torch.tensor([*ids, C.REST], device=model.device)
        return note_ids_cache[key]

    stepper = CachedStepper(model) if use_cache else RecomputeStepper(model)
    result = GenerationResult(events=[])
    was_training = model.training
    model.eval()
    win = next_control = 0
    try:
        with torch.inference_mode():
            for _ in range(s.max_events):
                while next_control < len(pending) and current >= pending[next_control].time - s.delta_steps:
                    stream.append(Item(pending[next_control], True))
                    seen.add(stream[-1].event.instrument)
                    next_control += 1
                lo = max(start, current)
                win = _window_start(stream, win, lo, s)
                offset = min([it.event.time for it in stream[win:]] + [lo])
                ctx = [flag]
                for it in stream[win:]:
                    ctx.extend(item_tokens(it, offset))
                logits = stepper.logits(ctx)
                t_id = C.TIME_OFFSET + lo - offset + pick(
                    logits[C.TIME_OFFSET + lo - offset:C.TIME_OFFSET + C.MAX_TIME_STEPS], gen,
                    top_p=s.top_p, temperature=s.temperature)
                logits = stepper.logits([*ctx, t_id])
                d_id = C.DURATION_OFFSET + pick(
                    logits[C.DURATION_OFFSET:C.NOTE_OFFSET], gen, top_p=s.top_p, temperature=s.temperature)
                logits = stepper.logits([*ctx, t_id, d_id])
                cand = note_candidates()
                n_id = int(cand[pick(logits[cand], gen, top_p=s.top_p, temperature=s.temperature)])
                result.sampled_ids += [t_id, d_id, n_id]
                ev = Event(t_id - C.TIME_OFFSET + offset, d_id - C.DURATION_OFFSET, n_id - C.NOTE_OFFSET)
                if ev.time >= end:
                    break
                stream.append(Item(ev))
                current = ev.time
                if not ev.is_rest:
                    seen.add(ev.instrument)
                    result.events.append(ev)
    finally:
        model.train(was_training)
    result.model_tokens, result.model_calls = stepper.tokens, stepper.calls
    return result
