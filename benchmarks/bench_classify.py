"""Median milliseconds per prompt for ``codeplay_nb.classify`` after the model is loaded.

    python benchmarks/bench_classify.py [--threads N] [--repeat R]

Goal: <= 50 ms per prompt on a laptop-class CPU. Prints the machine it ran on.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
PROMPTS_TSVS = (DATA / "prompts_natural.tsv", DATA / "prompts_eval_tune.tsv", DATA / "prompts_eval_test.tsv")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    parser.add_argument("--repeat", type=int, default=3, help="passes over the prompt set")
    args = parser.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from codeplay_nb.text import classify, default_classifier
    from codeplay_nb.text.evaluate import read_labelled_tsv

    prompts = [r.prompt for path in PROMPTS_TSVS for r in read_labelled_tsv(path)]
    t0 = time.perf_counter()
    default_classifier()
    load_s = time.perf_counter() - t0
    for p in prompts[:5]:
        classify(p)  # warm-up
    times, korean = [], []
    for _ in range(args.repeat):
        for p in prompts:
            t = time.perf_counter()
            classify(p)
            times.append((time.perf_counter() - t) * 1000)
            if any("\uac00" <= ch <= "\ud7a3" for ch in p):
                korean.append(times[-1])
    times.sort()
    print(f"machine: {platform.machine()} {platform.processor() or ''} | {os.cpu_count()} logical CPUs | "
          f"load average {os.getloadavg()[0]:.1f} | python {platform.python_version()} | torch {torch.__version__} "
          f"| torch threads {torch.get_num_threads()}")
    print(f"model load: {load_s:.2f} s")
    print(f"classify: {len(times)} calls, median {statistics.median(times):.1f} ms/prompt, "
          f"p90 {times[int(0.9 * (len(times) - 1))]:.1f} ms, min {times[0]:.1f} ms (goal <= 50 ms)")
    if korean:
        print(f"  of which Korean: {len(korean)} calls, median {statistics.median(korean):.1f} ms/prompt")


if __name__ == "__main__":
    main()
