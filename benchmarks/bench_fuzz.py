"""Fuzz 1,000 mutated real MIDI files through read -> NNN tokenize -> infill (tiny random model) and print
the outcome table: ok / one-line error / multi-line error / traceback / hang / memory (issue 16 asks for 0
tracebacks, 0 hangs past 10 s, no run above 2 GB).

    nice -n 19 python benchmarks/bench_fuzz.py --n 1000 --seed 0
    python benchmarks/bench_fuzz.py --n 100 --timeout 10 --memory-gb 2 --show 5

Sources: every file of tests/data plus real files sampled from ../shared/data (POP909, Nottingham, VGMIDI,
Groove), whichever are there. Each case runs in a worker subprocess with RLIMIT_AS = --memory-gb and a
--timeout per case (a case past it is a hang: the worker is killed and a fresh one starts).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
TESTS = ROOT / "tests" / "data"


def sources(n_real: int, seed: int) -> list[Path]:
    fixtures = sorted(TESTS.glob("*.mid"))
    real = sorted(p for p in SHARED.rglob("*") if p.suffix.lower() in (".mid", ".midi")) if SHARED.exists() else []
    rng = random.Random(seed)
    return fixtures + (rng.sample(real, min(n_real, len(real))) if real else [])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1000, help="mutated files (default 1000)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--real", type=int, default=200, help="real files to sample as sources (default 200)")
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds per case (default 10)")
    ap.add_argument("--memory-gb", type=float, default=2.0, help="RLIMIT_AS of the worker (default 2)")
    ap.add_argument("--nice", type=int, default=0, help="run the worker under nice -n N")
    ap.add_argument("--show", type=int, default=3, help="examples to print per outcome (default 3)")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from codeplay_nb.fuzz import OUTCOMES, fuzz, make_cases

    src = sources(args.real, args.seed)
    print(f"{len(src)} source files ({len(list(TESTS.glob('*.mid')))} fixtures), {args.n} mutated cases, "
          f"seed {args.seed}, timeout {args.timeout:g} s, RLIMIT_AS {args.memory_gb:g} GB", flush=True)
    t0 = time.perf_counter()

    def progress(k: int, total: int, res: dict) -> None:
        if k % 100 == 0 or res["outcome"] in ("traceback", "hang", "memory", "multiline"):
            print(f"  {k}/{total} {res['outcome']} {res.get('detail', '')[:120]}", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory() as d:
        cases = make_cases(src, args.n, args.seed, Path(d))
        counts, results = fuzz(cases, timeout_s=args.timeout, memory_bytes=int(args.memory_gb * 2**30),
                               nice=args.nice, progress=progress)
    wall = time.perf_counter() - t0
    secs = sorted(r.get("seconds", 0.0) for _, r in results if "seconds" in r)
    rss = max((r.get("max_rss_mb", 0) for _, r in results), default=0)
    print("\n| outcome | files | share |\n|---|---|---|")
    labels = {"ok": "ok (valid result)", "error": "one-line error", "multiline": "multi-line error",
              "traceback": "traceback", "hang": f"hang (> {args.timeout:g} s)", "memory": "memory / worker died"}
    for o in OUTCOMES:
        print(f"| {labels[o]} | {counts[o]} | {100 * counts[o] / max(1, args.n):.1f}% |")
    if secs:
        print(f"\nper case: median {secs[len(secs) // 2]:.3f} s, max {secs[-1]:.2f} s; worker peak RSS {rss} MB; "
              f"wall {wall:.0f} s")
    errors = Counter(r.get("detail", "").split(" (")[0].split(";")[0][:70]
                     for _, r in results if r["outcome"] == "error")
    print("\nmost common errors:")
    for text, k in errors.most_common(8):
        print(f"  {k:4d}  {text}")
    for o in ("traceback", "hang", "memory", "multiline"):
        shown = [(p, r) for p, r in results if r["outcome"] == o][: args.show]
        for p, r in shown:
            print(f"{o}: {p.name}: {r.get('detail', '')}")
    return 0 if counts["traceback"] + counts["hang"] + counts["memory"] + counts["multiline"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
