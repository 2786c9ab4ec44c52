"""Figures for the evaluation.

``--part real``: metrics of real 4-bar windows per corpus, how often the key estimator agrees with annotated
keys on 4-bar windows (the ceiling for key control accuracy), and the metric cost.

``--part two-sample``: the evaluation that can tell (``codeplay eval --two-sample``) for each corpus: one
table per corpus, real validation windows vs one paired clip per window from the model (``--model``) and
optionally a second checkpoint (``--compare``). ``--calibrate`` first checks the test itself with no model:
windows of *training* songs of the same corpus replayed as the "generated" side (one distribution: the
classifier should sit near 50%) and windows of another corpus (two distributions: near 100%).

    python benchmarks/bench_eval.py [--data ../shared/data] [--part real|two-sample|all] [--n 200] [--seed 0]
    python benchmarks/bench_eval.py --part two-sample --n-two-sample 100 --bars 8 --corpora pop909,nottingham \
        [--model DIR] [--compare DIR2] [--genre-n 10] [--calibrate] [--markdown]

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
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--part", choices=("real", "two-sample", "all"), default="all")
    ap.add_argument("--n", type=int, default=200, help="real windows per corpus for --part real")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-two-sample", type=int, default=100, help="validation windows (and paired clips) per corpus")
    ap.add_argument("--bars", type=int, default=8)
    ap.add_argument("--corpora", default="pop909,nottingham")
    ap.add_argument("--model", help="checkpoint folder (default: the shipped weights)")
    ap.add_argument("--compare", help="a second checkpoint folder, shown as a column")
    ap.add_argument("--genre-n", type=int, default=10, help="clips per genre for genre predictability")
    ap.add_argument("--calibrate", action="store_true", help="check the two-sample test on real music first")
    ap.add_argument("--no-model", action="store_true", help="with --calibrate: only the calibration")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    print(f"machine: {machine()}")
    if args.part in ("real", "all"):
        real_tables(args)
    if args.part in ("two-sample", "all"):
        two_sample_tables(args)


def two_sample_tables(args) -> None:
    import torch

    from codeplay_nb.dataset import split_of
    from codeplay_nb.evaluation_suite import evaluate_structure, format_structure_table, validation_windows

    torch.set_num_threads(1)
    data = Path(args.data)
    corpora = [c for c in args.corpora.split(",") if c]
    if args.calibrate:
        print("\ncalibration of the two-sample test (no model): the 'generated' side replays real windows")

        def train_split(key: str, fraction: float) -> str:
            return "val" if split_of(key, fraction) == "train" else "train"

        for name in corpora:
            others = [c for c in corpora if c != name] or [name]
            for label, root, split in (("training songs, same corpus", data / name, train_split),
                                       (f"validation songs of {others[0]}", data / others[0], None)):
                pool, _ = validation_windows(root, args.n_two_sample, bars=args.bars, seed=args.seed + 1, split_fn=split)
                replay = _replayer([w["piece"] for w in pool])
                report = evaluate_structure(data / name, n=args.n_two_sample, bars=args.bars, compose_fn=replay,
                                            genre_n=0, seed=args.seed)
                ts = report["models"]["shipped"]["two_sample"]
                print(f"{name} validation vs {label}: classifier accuracy {100 * ts['accuracy']:.1f}% "
                      f"± {100 * ts['std']:.1f} ({ts['n_real']} vs {ts['n_generated']}, {ts['k']} folds by song)")
    models = [args.model] + ([args.compare] if args.compare else [])
    for i, name in enumerate([] if args.no_model else corpora):
        t0 = time.perf_counter()
        # genre clips do not depend on the corpus: composed and classified with the first corpus only
        report = evaluate_structure(data / name, n=args.n_two_sample, bars=args.bars, models=models,
                                    genre_n=args.genre_n if i == 0 else 0, seed=args.seed)
        print(f"\n{name} ({time.perf_counter() - t0:.0f} s)")
        print(format_structure_table(report, markdown=args.markdown))


def _replayer(pieces):
    class Replayed:
        def __init__(self, piece):
            self.piece = piece

    def replay(*, seed=0, **_):
        return Replayed(pieces[seed % len(pieces)])

    return replay


def real_tables(args) -> None:
    data = Path(args.data)
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
