"""``codeplay compose "PROMPT" -o OUT.mid``: compose from a prompt and/or attributes."""

from __future__ import annotations

import json
import sys


def register(sub) -> None:
    p = sub.add_parser("compose", help="compose a multi-track MIDI file from a prompt and/or attributes")
    p.add_argument("prompt", nargs="?", help='what the music should be like, e.g. "a sad piano ballad"')
    p.add_argument("-o", "--output", required=True, help="MIDI file to write")
    p.add_argument("--bars", type=int, default=4, help="number of bars (1-64, default 4)")
    p.add_argument("--genre")
    p.add_argument("--emotion")
    p.add_argument("--tempo", help="BPM (e.g. 96) or slow / moderate / fast / very_fast")
    p.add_argument("--instruments", help="comma-separated: families (piano,bass,drums), GM names or numbers; "
                   "one named twice is two tracks (piano,piano: melody and accompaniment)")
    p.add_argument("--key", help='e.g. "A minor" or "Eb major"')
    p.add_argument("--time-signature", help="e.g. 3/4")
    p.add_argument("--chords", help='one chord per bar, repeated to fill the bars: "Am F C G" (N = no chord, ? = any)')
    p.add_argument("--density", choices=("auto", "low", "medium", "high"), default="auto",
                   help="notes per bar of every track (default auto: the model chooses)")
    p.add_argument("--rests", action="store_true", help="let tracks rest for whole bars (default: every "
                   "requested track plays in every bar)")
    p.add_argument("--seed", type=int, help="same prompt + settings + seed = same MIDI")
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--top-p", type=float, default=0.95)
    p.add_argument("--model", help="checkpoint folder or Hugging Face Hub id (default: shipped weights)")
    p.add_argument("--overwrite", action="store_true", help="replace the output file if it exists")
    p.add_argument("--json", action="store_true", help="print the attributes used and output stats as JSON")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=run)


def check_output_folder(output: str, *, inputs=(), overwrite: bool = False) -> None:
    """Fail before generating, not after: the output must be a writable file path in an existing folder,
    not one of the inputs and not an existing file unless ``overwrite`` (see :func:`files.check_output`)."""
    from ..files import check_output

    check_output(output, inputs=inputs, overwrite=overwrite)


def check_generation_args(args) -> None:
    """Temperature, top-p and seed the sampler can use (one-line errors before any work)."""
    from ..editing import check_sampling, check_seed

    check_sampling(args.temperature, args.top_p)
    check_seed(args.seed)


class _LazyBar:
    """A tqdm bar counting generated tokens on stderr, opened at the first token: a mistake found before
    generation starts leaves stderr with the one error line only."""

    def __init__(self, desc: str) -> None:
        self.desc = desc
        self.bar = None

    def update(self, _tid: int) -> None:
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(desc=self.desc, unit="tok", file=sys.stderr, leave=False)
        self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def progress_bar(enabled: bool, desc: str):
    """A progress bar and its per-token callback, or (None, None)."""
    if not enabled:
        return None, None
    bar = _LazyBar(desc)
    return bar, bar.update


def run(args) -> int:
    from ..composer import compose

    check_generation_args(args)
    check_output_folder(args.output, overwrite=args.overwrite)
    bar, cb = progress_bar(not args.no_progress and not args.json, "composing")
    try:
        song = compose(args.prompt, bars=args.bars, genre=args.genre, emotion=args.emotion, tempo=args.tempo,
                       instruments=args.instruments, key=args.key, time_signature=args.time_signature,
                       seed=args.seed, temperature=args.temperature, top_p=args.top_p, model=args.model,
                       on_token=cb, chords=args.chords, density=None if args.density == "auto" else args.density,
                       rests=args.rests)
    finally:
        if bar is not None:
            bar.close()
    path = song.save(args.output, overwrite=args.overwrite)
    if args.json:
        print(json.dumps({"output": str(path), "attributes": song.attributes.to_dict(), **song.summary()}))
    else:
        s = song.summary()
        a = song.attributes
        print(f"wrote {path}: {s['bars']} bars, {len(s['tracks'])} tracks "
              f"({', '.join(t['name'] for t in s['tracks'])}), {s['notes']} notes, {s['tempo_bpm']} BPM, "
              f"{s['time_signature']}, genre={a.genre or '?'}, emotion={a.emotion or '?'}, key={a.key or '?'}, "
              f"seed={s['seed']}")
        if a.chords:
            from ..chords import display

            chosen = song.versions[song.position].params.get("chords_chosen")
            print("chords: " + " ".join(display(c) for c in a.chords)
                  + ("  (a progression learned from the training data; --chords to choose your own)" if chosen else ""))
        if song.versions[song.position].params.get("key_chosen"):
            print(f"key: {a.key} (chosen from the emotion; --key to choose your own)")
        if song.versions[0].params.get("genre_chosen") and song.versions[0].params["genre_chosen"] == a.genre:
            print(f"genre: {a.genre} (what the training data plays with these instruments, meter and tempo; "
                  "--genre to choose your own)")
        for note in a.notes:
            print(f"note: {note}")
    return 0
