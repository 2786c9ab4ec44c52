"""``codeplay tokenize IN.mid --scheme nnn|mmm|remi|amt [--json] [--roundtrip OUT.mid]``: print the tokens of
a MIDI file and their statistics (tokens, bars, tokens per bar, vocabulary size); ``--roundtrip`` writes
``decode(encode(IN))`` so you can hear what a scheme keeps."""

from __future__ import annotations

import argparse
import json
import sys


def register(sub) -> None:
    p = sub.add_parser("tokenize", help="print the tokens of a MIDI file in one token scheme",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", metavar="IN.mid", help="MIDI file to tokenize")
    p.add_argument("--scheme", default="nnn", help="token scheme: nnn (default), mmm, remi or amt")
    p.add_argument("--json", action="store_true", help="print one JSON object (tokens, ids, stats, fidelity)")
    p.add_argument("--roundtrip", metavar="OUT.mid", help="write decode(encode(IN)) to this MIDI file")
    p.add_argument("--overwrite", action="store_true", help="let --roundtrip replace an existing file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import CodeplayError
    from ..io import read_midi, write_midi
    from ..tokenizers import get_tokenizer

    if args.roundtrip:  # before any work; never the input (a lossy round trip) without --overwrite
        from ..files import check_output

        check_output(args.roundtrip, inputs=[args.input], overwrite=args.overwrite)
    piece = read_midi(args.input)
    try:
        tok = get_tokenizer(args.scheme)
    except ImportError as exc:
        raise CodeplayError(f"token scheme {args.scheme!r} is not available in this install ({exc})") from exc
    ids = tok.encode(piece)
    tokens = tok.tokens(ids)
    stats = tok.stats(piece, ids).to_dict()
    out_path = None
    if args.roundtrip:
        out_path = str(write_midi(tok.decode(ids), args.roundtrip))
    if args.json:
        json.dump({"file": args.input, "scheme": tok.name, "version": tok.version, "stats": stats,
                   "tokens": tokens, "ids": list(map(int, ids)), "roundtrip": out_path}, sys.stdout)
        sys.stdout.write("\n")
        return 0
    print(" ".join(tokens))
    print(f"# scheme {tok.name} v{tok.version}: {stats['tokens']} tokens, {stats['bars']} bars, "
          f"{stats['tokens_per_bar']} tokens per bar, {stats['notes']} notes, vocabulary {stats['vocab_size']}")
    if out_path:
        print(f"# round trip written to {out_path}")
    return 0
