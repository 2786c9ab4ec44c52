"""``codeplay dataset build|stats|preview``: turn the corpora into training token arrays, summarise them per
source, and write pieces as the loaders yield them (logic in :mod:`codeplay_nb.corpora.inspect` / ``.stats``)."""

from __future__ import annotations

import argparse
import json
import logging
import time

from ..errors import CodeplayError

DEFAULT_SOURCES = "pop909,nottingham,vgmidi,music21,mma,gm,groove,freedoom"


def register(subparsers) -> None:
    p = subparsers.add_parser("dataset", help="build training token arrays from the corpora; show their stats")
    sub = p.add_subparsers(dest="dataset_command", metavar="ACTION")
    sub.required = True
    b = sub.add_parser("build", help="encode corpora into DIR/{train,val}.bin + manifest.json")
    b.add_argument("--sources", default=DEFAULT_SOURCES, help=f"comma-separated (default {DEFAULT_SOURCES})")
    b.add_argument("--data", default=None, help="folder with pop909/, nottingham/, vgmidi/ "
                   "(default $CODEPLAY_DATA or ../shared/data)")
    b.add_argument("--out", required=True, help="output folder")
    b.add_argument("--limit", type=int, default=None, help="at most N pieces per source")
    b.add_argument("--source-limits", default="music21=1000,mma=1000",
                   help="per-source limits overriding --limit (default music21=1000: its first conversion is slow; "
                   "mma=1000 source songs per source keeps the synthetic accompaniment near a third of the tokens)")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--workers", type=int, default=1, help="encoding processes")
    b.add_argument("--min-bars", type=int, default=4)
    b.add_argument("--max-bars", type=int, default=8)
    b.add_argument("--transpositions", type=int, default=0,
                   help="extra stored transpositions per window (default 0: training transposes per epoch)")
    b.add_argument("--val-fraction", type=float, default=0.05)
    b.add_argument("--scheme", default="nnn", help="token scheme (nnn)")
    b.add_argument("-v", "--verbose", action="store_true", help="log every skipped file")
    b.set_defaults(func=run_build)
    s = sub.add_parser("stats", help="summarise a built dataset (DIR) and/or measure sources piece by piece "
                       "(--sources)")
    s.add_argument("dir", nargs="?", help="a built dataset folder (its manifest.json)")
    s.add_argument("--sources", default=None,
                   help="comma-separated sources to load and measure: pieces, bars, tokens, share, off-grid "
                   "onsets, empty bars, drum/bass presence, POP909 bar lines")
    s.add_argument("--data", default=None, help="data folder for --sources (default $CODEPLAY_DATA or ../shared/data)")
    s.add_argument("--limit", type=int, default=None, help="at most N pieces per source")
    s.add_argument("--source-limits", default="", help="per-source limits overriding --limit, e.g. mma=20")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=run_stats)
    v = sub.add_parser("preview", help="write pieces exactly as a loader yields them: MIDI + bars/beats listing")
    v.add_argument("--source", required=True, help="one source (pop909, groove, freedoom, mma, ...)")
    v.add_argument("--data", default=None, help="data folder, or for pop909 a folder of NNN/NNN.mid song folders")
    v.add_argument("--limit", type=int, default=10, help="at most N pieces (default 10)")
    v.add_argument("-o", "--out", required=True, help="output folder")
    v.add_argument("--overwrite", action="store_true", help="replace existing files in the output folder")
    v.set_defaults(func=run_preview)


def run_build(args: argparse.Namespace) -> int:
    from .. import dataset as ds
    from ..corpora import iter_corpus, parse_limits, resolve_data_dir

    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    if args.scheme != "nnn":
        raise CodeplayError("only the nnn scheme has a training encoder; use --scheme nnn")
    sources = [s.strip() for s in args.sources.split(",") if s.strip()]
    data_dir = resolve_data_dir(args.data) if any(s in ("pop909", "nottingham", "vgmidi", "mma")
                                                  for s in sources) else args.data
    encode_fn, vocab_size, eos_id = ds.default_encoder()
    pad_id = getattr(getattr(encode_fn, "__self__", None), "pad_id", eos_id)
    cfg = ds.BuildConfig(min_bars=args.min_bars, max_bars=args.max_bars, transpositions=args.transpositions,
                      val_fraction=args.val_fraction, seed=args.seed, eos_id=eos_id, vocab_size=vocab_size)
    skipped: list = []
    t0 = time.perf_counter()
    limits = parse_limits(args.source_limits)
    if args.limit is not None:
        limits = {k: min(v, args.limit) for k, v in limits.items()}
    items = iter_corpus(sources, data_dir, limit=args.limit, skipped=skipped, limits=limits)
    m = ds.build_dataset(items, args.out, encode_fn, cfg, workers=args.workers, skipped=skipped, sources=sources,
                      mask_fn=ds.default_mask_fn(),
                      extra={"scheme": args.scheme, "pad_id": pad_id, "data": str(data_dir),
                             "limit": args.limit, "source_limits": limits})
    print(format_stats(m))
    print(f"built {args.out} in {time.perf_counter() - t0:.1f} s")
    return 0


def format_stats(m: dict) -> str:
    lines = [f"vocab {m['vocab_size']}  eos {m['eos_id']}  seed {m['seed']}  sources {', '.join(m['sources'])}"]
    for s, d in m["splits"].items():
        lines.append(f"{s:5s}: {d['examples']:7d} examples {d['tokens']:10d} tokens")
    lines.append(f"{'source':12s} {'pieces':>7s} {'bars':>7s} {'train ex':>9s} {'val ex':>7s} {'tokens':>10s}")
    for src, d in m["per_source"].items():
        pieces = d.get("train_pieces", 0) + d.get("val_pieces", 0)
        toks = d.get("train_tokens", 0) + d.get("val_tokens", 0)
        lines.append(f"{src:12s} {pieces:7d} {d['bars']:7d} {d.get('train_examples', 0):9d} "
                     f"{d.get('val_examples', 0):7d} {toks:10d}")
    et = m["example_tokens"]
    lines.append(f"tokens per example: mean {et['mean']:.0f}, p50 {et['p50']:.0f}, p95 {et['p95']:.0f}, max {et['max']}")
    lines.append(f"skipped: {len(m['skipped'])}" + "".join(f"\n  {n:5d}  {r}" for r, n in m["skipped_by_reason"].items()))
    return "\n".join(lines)


def _split_sources(text: str) -> list[str]:
    return [s.strip() for s in text.split(",") if s.strip()]


def run_stats(args: argparse.Namespace) -> int:
    from ..dataset import read_manifest

    if not args.sources:
        if not args.dir:
            raise CodeplayError("give a built dataset folder (stats DIR) or sources to measure (--sources pop909,...)")
        m = read_manifest(args.dir)
        if args.json:
            print(json.dumps({k: v for k, v in m.items() if k != "skipped"}, indent=1))
        else:
            print(format_stats(m))
        return 0
    from ..corpora import iter_corpus, parse_limits
    from ..corpora.stats import format_source_table, manifest_rows, source_stats

    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    manifest = read_manifest(args.dir) if args.dir else None
    skipped: list = []
    t0 = time.perf_counter()
    items = iter_corpus(_split_sources(args.sources), args.data, limit=args.limit, skipped=skipped,
                        limits=parse_limits(args.source_limits))
    rows = source_stats(items, data_dir=args.data)
    out = {"sources": rows, "limit": args.limit, "source_limits": parse_limits(args.source_limits),
           "skipped": len(skipped), "seconds": round(time.perf_counter() - t0, 1)}
    if manifest is not None:
        out["build"] = manifest_rows(manifest)
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    print(format_source_table(rows))
    if manifest is not None:
        print(f"\nfull build {args.dir}:")
        print(f"{'source':11s} {'pieces':>6s} {'bars':>7s} {'tokens':>9s} {'share':>6s}")
        for src, r in out["build"].items():
            print(f"{src:11s} {r['pieces']:6d} {r['bars']:7d} {r['tokens']:9d} {100 * r['token_share']:5.1f}%")
    print(f"measured {sum(r['pieces'] for k, r in rows.items() if k != 'all')} pieces in {out['seconds']} s"
          f" (limit {args.limit}); skipped {len(skipped)}")
    return 0


def run_preview(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..corpora import iter_corpus
    from ..corpora.inspect import write_preview

    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    if args.limit is not None and args.limit < 1:
        raise CodeplayError("--limit must be at least 1")
    skipped: list = []
    items = iter_corpus([args.source], args.data, limit=args.limit, skipped=skipped)
    index = write_preview(items, args.out, overwrite=args.overwrite, data_dir=args.data)
    for r in index:
        bl = "" if r["bar_line_error_beats"] is None else f"  bar lines {r['bar_line_error_beats']:.4f} beats off"
        print(f"{r['file']:40s} {r['bars']:4d} bars {r['notes']:6d} notes  off-grid {100 * r['off_grid_8th']:.1f}%{bl}")
    for src, what, reason in skipped:
        print(f"skipped {src} {what}: {reason}")
    print(f"wrote {len(index)} pieces to {Path(args.out)}")
    return 0
