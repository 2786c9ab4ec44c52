"""Figures for the evaluation: metrics of real 4-bar windows per corpus, how often the key estimator agrees
with annotated keys on 4-bar windows (the ceiling for key control accuracy), and the metric cost.

    python benchmarks/bench_eval.py [--data /work/shared/data] [--n 200] [--seed 0]

Prints machine info and tables; nothing is timed in tests.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

from codeplay_nb.attributes import normalize_key
from codeplay_nb.evaluation import compare_metrics, evaluate_model, sample_real_windows
from codeplay_nb.io import read_midi
from codeplay_nb.metrics import QUALITY_METRICS, compute_metrics, estimate_key, summarize


def machine() -> str:
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def pop909_key(root: Path, file: str, piece, first_bar: int) -> str | None:
    """The annotated key (key_audio.txt, seconds) at the start of a POP909 window."""
    song = Path(file).parent
    table = root / song / "key_audio.txt"
    if not table.exists():
        return None
    full = read_midi(root / file)
    secs = full.seconds(full.bar_span(first_bar - 1)[0])
    key = None
    for line in table.read_text().split("\n"):
        parts = line.split()
        if len(parts) == 3 and float(parts[0]) <= secs + 1e-6:
            tonic, mode = parts[2].split(":")
            key = normalize_key(f"{tonic} {'minor' if mode.startswith('min') else 'major'}")
    return key


def key_agreement(root: Path, windows, annotated) -> tuple[int, int, int]:
    """(exact, same pitch set: relative major/minor, total) over windows with an annotated key."""
    exact = relative = total = 0
    for w in windows:
        truth = annotated(root, w)
        if truth is None:
            continue
        est = w["metrics"]["key"]
        total += 1
        exact += est == truth
        relative += est is not None and _scale_set(est) == _scale_set(truth)
    return exact, relative, total


def _scale_set(key: str) -> frozenset[int]:
    from codeplay_nb.attributes import pitch_class
    from codeplay_nb.metrics import MAJOR_SCALE, MINOR_SCALE

    tonic, mode = key.split()
    return frozenset((pitch_class(tonic) + s) % 12 for s in (MAJOR_SCALE if mode == "major" else MINOR_SCALE))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default="/work/shared/data")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    data = Path(args.data)
    print(f"machine: {machine()}")
    corpora = {"pop909": data / "pop909", "nottingham": data / "nottingham", "vgmidi": data / "vgmidi" / "labelled"}
    found = {}
    print(f"\nreal 4-bar windows, {args.n} per corpus (mean ± std, population std)")
    print(f"{'metric':<22}" + "".join(f"{c:>20}" for c in corpora))
    for name, root in corpora.items():
        t0 = time.perf_counter()
        windows, skipped = sample_real_windows(root, args.n, bars=4, seed=args.seed)
        t1 = time.perf_counter()
        for w in windows:
            w["metrics"] = compute_metrics(w["piece"])
        t2 = time.perf_counter()
        found[name] = (windows, skipped, t1 - t0, (t2 - t1) / max(len(windows), 1))
    for metric in QUALITY_METRICS:
        cells = []
        for name in corpora:
            s = summarize([w["metrics"][metric] for w in found[name][0]])
            cells.append(f"{s['mean']:.3f} ± {s['std']:.3f}")
        print(f"{metric:<22}" + "".join(f"{c:>20}" for c in cells))
    for name, (windows, skipped, read_s, per_window) in found.items():
        print(f"{name}: {len(windows)} windows, {len(skipped)} files skipped, sampling {read_s:.2f} s, "
              f"compute_metrics {1000 * per_window:.1f} ms per window")

    print("\nkey estimator (music21 Krumhansl-Schmuckler) on 4-bar windows vs annotated keys")

    def nottingham_key(root, w):
        return w["piece"].key_at(0)

    def pop_key(root, w):
        return pop909_key(root, w["file"], w["piece"], w["first_bar"])

    for name, annotated in (("nottingham", nottingham_key), ("pop909", pop_key)):
        exact, relative, total = key_agreement(corpora[name], found[name][0], annotated)
        if total:
            print(f"{name:<12} exact {exact}/{total} = {100 * exact / total:.1f}%   "
                  f"same scale (relative major/minor too) {relative}/{total} = {100 * relative / total:.1f}%")

    t0 = time.perf_counter()
    for w in found["pop909"][0][:100]:
        estimate_key(w["piece"])
    print(f"estimate_key: {1000 * (time.perf_counter() - t0) / min(100, len(found['pop909'][0])):.1f} ms per window")

    print("\nsanity check of the 'within 1 real std' test: corpus A windows as the 'generated' side")
    pop = found["pop909"][0]
    half = len(pop) // 2
    for label, gen, real in (
        ("pop909 half A vs pop909 half B", pop[:half], pop[half:]),
        ("nottingham vs pop909", found["nottingham"][0], pop),
    ):
        rows = compare_metrics([w["metrics"] for w in gen], [w["metrics"] for w in real])
        inside = [m for m, r in rows.items() if r["within_real_std"]]
        overlaps = ", ".join(f"{m} {r['overlap']:.2f}" for m, r in rows.items())
        print(f"{label:<32} within 1 real std: {len(inside)}/{len(rows)}; overlap: {overlaps}")

    print("\nevaluation plumbing with a compose function that returns real POP909 windows (no model)")
    clips = [w["piece"] for w in pop]

    class Song:
        def __init__(self, piece):
            self.piece = piece

    def replay(*, seed=0, **_):
        return Song(clips[seed % len(clips)])

    t0 = time.perf_counter()
    report = evaluate_model(corpora["nottingham"], n=50, compose_fn=replay, n_real=args.n, seed=args.seed)
    secs = time.perf_counter() - t0
    acc = report["control_accuracy"]
    print(f"N=50 random attribute sets: {secs:.1f} s without the model; control accuracy of replayed real "
          f"windows (chance level): tempo_bin {acc['tempo_bin']['accuracy']:.2f}, key {acc['key']['accuracy']:.2f}, "
          f"instruments {acc['instruments']['accuracy']:.2f}, bar_count {acc['bar_count']['accuracy']:.2f}")
    print(f"median compose_fn time per clip: {statistics.median(c['seconds'] for c in report['clips']) * 1000:.2f} ms")


if __name__ == "__main__":
    main()
