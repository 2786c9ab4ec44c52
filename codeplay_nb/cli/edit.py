"""Editing commands: ``extend``, ``infill``, ``regenerate``, ``add-track`` (bar-exact, never in place)."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import CodeplayError


def _common(p) -> None:
    p.add_argument("input", help="MIDI file to edit (never modified unless -o points at it with --overwrite)")
    p.add_argument("-o", "--output", required=True, help="MIDI file to write")
    p.add_argument("--overwrite", action="store_true",
                   help="allow the output to replace an existing file (the input file included)")
    p.add_argument("--seed", type=int)
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--top-p", type=float, default=0.95)
    p.add_argument("--backend", choices=("nnn", "amt"), default="nnn",
                   help="nnn: our model (default); amt: Anticipatory Music Transformer (needs its weights)")
    p.add_argument("--model", help="checkpoint folder or Hub id (amt default: stanford-crfm/music-small-800k)")
    p.add_argument("--json", action="store_true")


def register(sub) -> None:
    p = sub.add_parser("extend", help="append bars that continue the piece")
    _common(p)
    p.add_argument("--bars", type=int, default=4, help="bars to add (default 4)")
    p.set_defaults(func=run, op="extend")
    p = sub.add_parser("infill", help="regenerate chosen bars (all tracks or some)")
    _common(p)
    p.add_argument("--bars", required=True, help="1-based inclusive range, e.g. 3-4")
    p.add_argument("--tracks", help="comma-separated 1-based track numbers or names (default: all)")
    p.set_defaults(func=run, op="infill")
    p = sub.add_parser("regenerate", help="regenerate one track given the others")
    _common(p)
    p.add_argument("--track", required=True, help="1-based track number or name")
    p.add_argument("--instrument", help="regenerate it as this instrument (family, GM name or number)")
    p.set_defaults(func=run, op="regenerate_track")
    p = sub.add_parser("add-track", help="generate a new track that fits the others")
    _common(p)
    p.add_argument("--instrument", required=True)
    p.set_defaults(func=run, op="add_track")


def run(args) -> int:
    from .. import editing
    from ..io import read_midi, write_midi
    from .compose import check_generation_args, check_output_folder, progress_bar

    src, out = Path(args.input), Path(args.output)
    check_generation_args(args)
    check_output_folder(args.output, inputs=[src], overwrite=args.overwrite)
    tracks = None
    if args.op == "infill" and args.tracks is not None:
        tracks = [t.strip() for t in args.tracks.split(",")]
        if not all(tracks):
            raise CodeplayError(f"--tracks {args.tracks!r} names an empty track; give 1-based numbers or names "
                                "separated by commas, or leave --tracks out for all tracks")
    piece = read_midi(src)
    model = args.model
    if args.backend == "amt" and model is not None:
        from ..amt.model import load_amt_model

        model = load_amt_model(model)
    common = {"model": model, "seed": args.seed, "temperature": args.temperature, "top_p": args.top_p,
              "backend": args.backend}
    bar, cb = progress_bar(not args.json and args.backend == "nnn", args.op)
    if cb is not None:
        common["on_token"] = cb
    try:
        if args.op == "extend":
            result = editing.extend(piece, args.bars, **common)
        elif args.op == "infill":
            if piece.n_notes == 0:
                raise CodeplayError(f"{src} has no notes: there is nothing to infill from")
            result = editing.infill(piece, args.bars, tracks, **common)
        elif args.op == "regenerate_track":
            result = editing.regenerate_track(piece, args.track, args.instrument, **common)
        else:
            result = editing.add_track(piece, args.instrument, **common)
    finally:
        if bar is not None:
            bar.close()
    write_midi(result, out, overwrite=True)  # checked above: a new file, or --overwrite
    info = {"output": str(out), "bars": result.n_bars, "tracks": len(result.tracks), "notes": result.n_notes,
            "notes_before": piece.n_notes}
    print(json.dumps(info) if args.json else
          f"wrote {out}: {info['bars']} bars, {info['tracks']} tracks, {info['notes']} notes "
          f"(was {piece.n_notes})")
    return 0
