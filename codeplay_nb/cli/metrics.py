"""``codeplay metrics FILE.mid [--json] [--window-bars N]``: the musical metrics of a MIDI file."""

from __future__ import annotations

import argparse
import json
import math


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "metrics",
        help="print musical metrics of a MIDI file (pitch-class entropy, scale/groove consistency, ...)",
        description="Print the metrics of codeplay_nb.metrics for a MIDI file, as a table or JSON.",
    )
    p.add_argument("file", metavar="FILE.mid", help="a Standard MIDI File")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument(
        "--window-bars", type=int, default=0, metavar="N",
        help="also report mean metrics over consecutive N-bar windows (e.g. 4, as codeplay eval does)",
    )
    p.set_defaults(func=run)


def json_safe(value):
    """``value`` with every NaN or infinite float replaced by ``None`` (JSON has no Infinity or NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return "-" if value is None else str(value)


def run(args: argparse.Namespace) -> int:
    from ..io import read_midi
    from ..metrics import QUALITY_METRICS, compute_metrics, summarize, windows

    piece = read_midi(args.file)
    result = compute_metrics(piece)
    if args.window_bars:
        wins = [compute_metrics(w) for w in windows(piece, args.window_bars)]
        result["windows"] = {
            "bars": args.window_bars,
            "count": len(wins),
            **{k: summarize([m[k] for m in wins]) for k in QUALITY_METRICS},
        }
    if args.json:
        print(json.dumps(json_safe(result), indent=2, allow_nan=False))
        return 0
    width = max(len(k) for k in result)
    for key, value in result.items():
        if key != "windows":
            print(f"{key:<{width}}  {_fmt(value)}")
    if "windows" in result:
        w = result["windows"]
        print(f"\n{w['count']} windows of {w['bars']} bars (mean ± std):")
        for key in QUALITY_METRICS:
            s = w[key]
            text = "-" if s["mean"] is None else f"{s['mean']:.4f} ± {s['std']:.4f}"
            print(f"{key:<{width}}  {text}")
    return 0
