"""Seconds per generated note for the AMT sampler with the KV cache vs the uncached loop (which recomputes
the whole window for each of the three tokens of a note, as the reference sampler does), with a randomly
initialised GPT-2 of the shape of ``stanford-crfm/music-small-800k`` (12 layers x 768, 12 heads, vocabulary
55028, context 1024; train/lakh-small.yaml). Random weights time the same as trained ones; they are biased
towards short onset steps so the window fills and moves as it does with real music.

    python benchmarks/bench_amt.py [--cached-notes 128] [--uncached-notes 4] [--threads N] [--device cpu]

The prompt is a full window (about 339 events), the steady state of a long extend or infill.
"""

from __future__ import annotations

import argparse
import time


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cached-notes", type=int, default=128)
    ap.add_argument("--uncached-notes", type=int, default=4)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--width", type=int, default=768)
    ap.add_argument("--heads", type=int, default=12)
    args = ap.parse_args(argv)

    import torch
    from transformers import GPT2LMHeadModel

    from codeplay_nb.amt.events import Event
    from codeplay_nb.amt.model import amt_config, favour_short_steps
    from codeplay_nb.amt.sample import SampleSettings, generate

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = GPT2LMHeadModel(amt_config(layers=args.layers, width=args.width, heads=args.heads))
    favour_short_steps(model, 0.25)
    model = model.to(args.device).eval()
    params = sum(p.numel() for p in model.parameters()) / 1e6
    # a full window of prompt: 340 notes, one every 70 ms (about 24 s of dense piano and bass)
    prompt = [Event(7 * i, 40, 128 * (0 if i % 3 else 33) + 48 + (i * 7) % 24) for i in range(340)]
    start = prompt[-1].time + 7
    print(f"model: GPT-2 {args.layers} layers x {args.width}, {args.heads} heads, {params:.1f} M parameters, "
          f"device {args.device}, torch threads {torch.get_num_threads()}")

    rows = {}
    for label, cache, n in (("cached", True, args.cached_notes), ("uncached", False, args.uncached_notes)):
        settings = SampleSettings(seed=0, top_p=0.98, max_events=n)
        generate(model, start=start, end=10**9, prompt=prompt, settings=SampleSettings(seed=0, max_events=1),
                 use_cache=cache)  # warm-up
        t0 = time.perf_counter()
        res = generate(model, start=start, end=10**9, prompt=prompt, settings=settings, use_cache=cache)
        dt = time.perf_counter() - t0
        events = len(res.sampled_ids) // 3
        rows[label] = dt / events
        print(f"{label:9s} {events:4d} events in {dt:7.2f} s: {dt / events:.4f} s/note, "
              f"{res.model_tokens / events:7.1f} tokens through the model per note")
    print(f"speed-up (uncached / cached seconds per note): {rows['uncached'] / rows['cached']:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
