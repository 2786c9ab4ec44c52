"""Encode the same MIDI files with NNN, MMM and miditok's REMI: files/s, tokens per bar, and the ratios the
issue asks for (NNN/MMM tokens per bar, NNN/REMI speed). Not a test: it prints figures.

    python benchmarks/bench_tokenizers.py                       # default folders, 10 files each, 5 repeats
    python benchmarks/bench_tokenizers.py DIR [DIR ...] --max-files 50 --repeats 7 --fidelity

Pieces are read once (symusic) before timing. Each scheme's time is the median over repeats of encoding
every file once. "remi" is our wrapper (Piece -> symusic.Score -> miditok), "remi-native" is miditok alone on
a symusic Score that was built beforehand: the fairer (harder) baseline for NNN's speed goal.
With ``--fidelity`` the round-trip fidelity summary of :mod:`codeplay_nb.tokenizers.fidelity` is printed
for the same files.
"""

from __future__ import annotations

import argparse
import glob
import os
import platform
import statistics
import subprocess
import time
from pathlib import Path

DEFAULT_FOLDERS = {
    "openmsx+planetblupi (GM multi-track, drums)": ["/usr/share/games/openttd/baseset/openmsx/*.mid",
                                                    "/usr/share/planetblupi/music/*.mid"],
    "pop909 (piano, 3 tracks)": ["/work/shared/data/pop909/*/*.mid"],
    "vgmidi (piano performances)": ["/work/shared/data/vgmidi/labelled/*.mid"],
    "nottingham (melody + chords)": ["/work/shared/data/nottingham/*.mid"],
}


def machine_info() -> str:
    import miditok  # noqa: F401
    import symusic  # noqa: F401

    def version(pkg: str) -> str:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version(pkg)
        except PackageNotFoundError:
            return "-"

    cpu = platform.processor() or platform.machine()
    try:
        model = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo"], capture_output=True,
                               text=True, check=False).stdout.split(":")[-1].strip()
        cpu = model or cpu
    except OSError:  # pragma: no cover
        pass
    return (f"{platform.platform()} | python {platform.python_version()} | {cpu} | {os.cpu_count()} CPUs | "
            f"torch {version('torch')} | miditok {version('miditok')} | symusic {version('symusic')}")


def collect(patterns: list[str], max_files: int) -> list[Path]:
    files: list[Path] = []
    for pat in patterns:
        files += sorted(Path(p) for p in glob.glob(pat))
    step = max(1, len(files) // max_files) if max_files else 1
    return files[::step][:max_files] if max_files else files  # spread the sample over the folder


def bench_set(label: str, files: list[Path], repeats: int, schemes: list[str]) -> dict:
    from codeplay_nb.errors import CodeplayError
    from codeplay_nb.io import piece_to_score, read_midi
    from codeplay_nb.tokenizers import get_tokenizer

    pieces = []
    for f in files:
        try:
            p = read_midi(f)
        except CodeplayError as exc:
            print(f"  skip {f.name}: {exc}")
            continue
        if p.n_notes:
            pieces.append(p)
    scores = [piece_to_score(p) for p in pieces]
    bars = sum(p.n_bars for p in pieces)
    toks = {s: get_tokenizer(s) for s in schemes}
    result = {"label": label, "files": len(pieces), "bars": bars, "notes": sum(p.n_notes for p in pieces)}
    for name in [*schemes, "remi-native"] if "remi" in schemes else schemes:
        if name == "remi-native":
            mt = toks["remi"].miditok

            def run(mt=mt) -> int:
                return sum(len(mt.encode(s).ids) for s in scores)
        else:
            tok = toks[name]

            def run(tok=tok) -> int:
                return sum(len(tok.encode(p)) for p in pieces)
        n_tokens = run()  # warm-up (imports, caches)
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            run()
            times.append(time.perf_counter() - t0)
        med = statistics.median(times)
        result[name] = {"tokens": n_tokens, "tokens_per_bar": n_tokens / max(bars, 1), "seconds": med,
                        "files_per_s": len(pieces) / med if med else float("inf")}
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folders", nargs="*", help="folders of MIDI files (default: the four sets listed in the script)")
    ap.add_argument("--max-files", type=int, default=10, help="files per set, spread over the folder (0: all)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--schemes", default="nnn,mmm,remi")
    ap.add_argument("--fidelity", action="store_true", help="also print round-trip fidelity for the same files")
    args = ap.parse_args(argv)
    schemes = args.schemes.split(",")
    sets = ({f: [str(Path(f) / "**" / "*.mid")] for f in args.folders} if args.folders else DEFAULT_FOLDERS)
    print(machine_info())
    print(f"median of {args.repeats} repeats; up to {args.max_files or 'all'} files per set\n")
    from codeplay_nb.tokenizers.fidelity import compare_schemes, format_table, summarize

    rows, totals, all_files = [], {}, []
    for label, pats in sets.items():
        files = collect([p for pat in pats for p in ([pat] if "**" not in pat else [pat.replace("**/", ""), pat])],
                        args.max_files)
        if not files:
            print(f"{label}: no files found, skipped")
            continue
        all_files += files
        r = bench_set(label, files, args.repeats, schemes)
        for name in [k for k in r if isinstance(r[k], dict)]:
            t = totals.setdefault(name, {"tokens": 0, "seconds": 0.0})
            t["tokens"] += r[name]["tokens"]
            t["seconds"] += r[name]["seconds"]
        totals.setdefault("_", {"files": 0, "bars": 0})
        totals["_"]["files"] += r["files"]
        totals["_"]["bars"] += r["bars"]
        row = {"set": label, "files": r["files"], "bars": r["bars"], "notes": r["notes"]}
        for name in [k for k in r if isinstance(r[k], dict)]:
            row[f"{name} tok/bar"] = round(r[name]["tokens_per_bar"], 1)
            row[f"{name} files/s"] = round(r[name]["files_per_s"], 1)
        if "nnn" in r and "mmm" in r:
            row["NNN/MMM tok/bar"] = round(r["nnn"]["tokens_per_bar"] / r["mmm"]["tokens_per_bar"], 3)
        if "nnn" in r and "remi-native" in r:
            row["NNN/REMI speed"] = round(r["remi-native"]["seconds"] / r["nnn"]["seconds"], 2)
        rows.append(row)
    print(format_table(rows))
    files_total, bars_total = totals["_"]["files"], totals["_"]["bars"]
    print(f"\nall sets: {files_total} files, {bars_total} bars")
    for name, t in totals.items():
        if name != "_":
            print(f"  {name:12s} {t['tokens'] / max(bars_total, 1):8.1f} tokens/bar  "
                  f"{files_total / t['seconds']:8.1f} files/s")
    if "nnn" in totals and "mmm" in totals:
        print(f"  NNN/MMM tokens per bar: {totals['nnn']['tokens'] / totals['mmm']['tokens']:.3f} (goal <= 0.6)")
    if "nnn" in totals and "remi-native" in totals:
        print(f"  NNN/REMI speed (REMI time / NNN time): {totals['remi-native']['seconds'] / totals['nnn']['seconds']:.2f}"
              f" vs miditok alone, {totals['remi']['seconds'] / totals['nnn']['seconds']:.2f} vs our REMI wrapper"
              " (goal >= 1)")
    if args.fidelity:
        print("\nround-trip fidelity on the same files:")
        print(format_table(summarize(compare_schemes(all_files, schemes))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
