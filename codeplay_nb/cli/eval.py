"""``codeplay eval``: generated clips vs real music (``--real DIR``) and text-classifier accuracy (``--prompts``)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "eval",
        help="evaluate the music model against real MIDI (--real DIR) or the text classifier (--prompts FILE.tsv)",
        description=(
            "With --real DIR: compose N clips per attribute set (or N clips for N random attribute sets), "
            "compare their metrics with real windows of the same length sampled from the MIDI files under "
            "DIR, and report control accuracy (tempo bin, key, instruments, bar count). Writes report.json, "
            "report.html and the clips into --out. With --real DIR --two-sample: one clip per real window of "
            "a validation song (same instruments, tempo, meter, key), a classifier grouped by song that tries "
            "to tell them apart, structure statistics per instrument family and genre predictability, as one "
            "table (--compare DIR2 adds a second checkpoint as a column). With --prompts FILE.tsv: accuracy "
            "of the text classifier."
        ),
    )
    p.add_argument("--real", metavar="DIR", help="folder searched recursively for real MIDI files")
    p.add_argument("--n", type=int, default=50, help="clips per attribute set; with --two-sample, real windows "
                                                     "and paired clips (default 50)")
    p.add_argument(
        "--attributes", action="append", metavar="SPEC",
        help="an attribute set such as 'genre=pop,emotion=sad,tempo=fast,key=A minor,instruments=piano+bass'; "
             "repeat for several sets (default: N random sets, one clip each)",
    )
    p.add_argument("--paired", action="store_true",
                   help="compose one clip per real window with that window's tempo, meter, key and instruments "
                        "(the generated and real sets then ask for the same things)")
    p.add_argument("--two-sample", action="store_true",
                   help="the evaluation that can tell: paired clips for validation-song windows, a two-sample "
                        "classifier, structure statistics and genre predictability in one table")
    p.add_argument("--compare", metavar="DIR", help="with --two-sample: a second model checkpoint, shown as a column")
    p.add_argument("--with-report", action="append", metavar="JSON",
                   help="with --two-sample: add the model columns of an earlier two_sample_report.json (e.g. the "
                        "previous checkpoint evaluated by the previous package version); repeatable")
    p.add_argument("--genre-n", type=int, default=10,
                   help="with --two-sample: clips per genre for genre predictability (default 10; 0 skips)")
    p.add_argument("--model", metavar="PATH", help="model checkpoint (default: the packaged default model)")
    p.add_argument("--out", metavar="DIR", default="codeplay-eval", help="output folder (default codeplay-eval)")
    p.add_argument("--bars", type=int, help="bars per clip and per real window (default 4; 8 with --two-sample)")
    p.add_argument("--n-real", type=int, default=200, help="real windows to sample (default 200)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (default 1.0)")
    p.add_argument("--prompts", metavar="FILE.tsv", help="labelled prompts: prompt, genre, emotion, tempo, instruments")
    p.add_argument("--songs", choices=("validation", "tuning"), default="validation",
                   help="with --two-sample: real windows from the validation songs (report these) or from a "
                        "same-sized set of training songs (choose decoding settings on these, never on the "
                        "reported ones)")
    p.add_argument("--pairing", choices=("tracks", "families"), default="tracks",
                   help="with --two-sample: the paired clip asks for one instrument per real track (default) or "
                        "each family once (the protocol of reports before per-track pairing)")
    p.add_argument("--decoding", metavar="NAME=V,...", default=None,
                   help="decoding strengths for this run, e.g. 'guidance=1.5,groove_bias=3' (names: "
                        "codeplay_nb.model.config.DECODING_DEFAULTS)")
    p.add_argument("--markdown", action="store_true", help="with --two-sample: print the table as Markdown")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import CodeplayError

    if not args.real and not args.prompts:
        raise CodeplayError("give --real DIR (music model) and/or --prompts FILE.tsv (text classifier)")
    if (args.compare or args.two_sample) and not args.real:
        raise CodeplayError("--two-sample and --compare need --real DIR")
    if (args.compare or args.with_report) and not args.two_sample:
        raise CodeplayError("--compare and --with-report work with --two-sample")
    out = Path(args.out)

    def progress(i: int, total: int, secs: float) -> None:
        if not args.quiet:
            print(f"clip {i}/{total}: {secs:.2f} s", file=sys.stderr, flush=True)

    if args.prompts:
        from ..evaluation import evaluate_prompts_file

        result = evaluate_prompts_file(args.prompts)
        text = json.dumps(result, indent=2, default=str) if isinstance(result, (dict, list)) else str(result)
        print(text)
        out.mkdir(parents=True, exist_ok=True)
        (out / "prompts_report.json").write_text(json.dumps(result, indent=2, default=str))
    if args.real and args.two_sample:
        from ..evaluation_report import _jsonable
        from ..evaluation_suite import (
            evaluate_structure,
            format_structure_table,
            merge_reports,
            structure_report_json,
        )

        earlier = []
        for f in args.with_report or []:
            try:
                earlier.append((f, json.loads(Path(f).read_text())))
            except (OSError, ValueError) as exc:
                raise CodeplayError(f"cannot read the report {f}: {exc}") from None
        from ..evaluation_suite import tuning_split
        from ..model.config import decoding_overrides, parse_decoding

        try:
            decoding = parse_decoding(args.decoding)
        except ValueError as exc:
            raise CodeplayError(f"--decoding: {exc}") from None
        models = [args.model] + ([args.compare] if args.compare else [])
        with decoding_overrides(**decoding):
            report = evaluate_structure(args.real, n=args.n, bars=args.bars or 8, models=models,
                                        genre_n=args.genre_n, seed=args.seed, temperature=args.temperature,
                                        progress=progress, split_fn=tuning_split if args.songs == "tuning" else None,
                                        pairing=args.pairing)
        report["config"].update(songs=args.songs, decoding=decoding)
        out.mkdir(parents=True, exist_ok=True)
        path = out / "two_sample_report.json"
        path.write_text(json.dumps(structure_report_json(report), indent=2, default=_jsonable, allow_nan=False))
        for f, data in earlier:
            for warning in merge_reports(report, data, Path(f).parent.name or f):
                print(f"warning: {warning}", file=sys.stderr)
        print(format_structure_table(report, markdown=args.markdown))
        print(f"\nwrote {path}")
    elif args.real:
        from ..evaluation import evaluate_model, format_report, write_report

        report = evaluate_model(
            args.real, n=args.n, attribute_sets=args.attributes, model=args.model, bars=args.bars or 4,
            seed=args.seed, n_real=args.n_real, temperature=args.temperature, paired=args.paired,
            progress=progress,
        )
        paths = write_report(report, out)
        print(format_report(report))
        print(f"\nwrote {paths['json']}, {paths['html']} and {len(report['clips'])} clips in {paths['clips']}")
    return 0
