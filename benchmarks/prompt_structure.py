"""Structure statistics of compositions from natural prompts: what a person typing prompts gets.

The two-sample evaluation (``codeplay eval --two-sample``) pairs clips with real windows and always asks for a
key; people mostly name none, so their compositions go through the prompt classifier, genre guidance and a
chosen key. This composes one clip per prompt of labelled prompt files (prompt i with seed i) and prints the
statistics of ``codeplay eval``'s table (bars silent in every track, empty bars per family, off-grid onsets,
drums, bass, range, repetition, scale and chord-tone fit, key agreement with the key the song reports under
both music21 estimators; a clip with no pitched notes is left out of the key agreement) and the pitch-class
entropy. Run from the repository root, e.g.:

    python benchmarks/prompt_structure.py tests/data/prompts_fresh_2026_12c_test.tsv --bars 8 16
    python benchmarks/prompt_structure.py tests/data/prompts_eval_test.tsv --decoding chosen_key_bias=0
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

from codeplay_nb import compose
from codeplay_nb.evaluation import generate_clips
from codeplay_nb.evaluation_structure import FEATURE_NAMES
from codeplay_nb.evaluation_suite import aggregate, measure
from codeplay_nb.instruments import family_of_program
from codeplay_nb.model.config import decoding_overrides, parse_decoding
from codeplay_nb.text.evaluate import read_labelled_tsv

SHOWN = ("silent_bars", "empty_bars_piano", "empty_bars_bass", "empty_bars_drums", "empty_bars_other", "file_length_ok",
         "off8", "drum_similarity", "backbeat", "bass_pitch", "bass_notes_per_onset", "pitch_range_piano",
         "pitch_range_bass", "pitch_range_other", "repetition", "scale_fit", "chord_tone_fit",
         "key_default_agreement", "key_krumhansl_agreement")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("prompts", nargs="+", help="labelled prompt TSV files (the prompt column is read)")
    ap.add_argument("--bars", type=int, nargs="+", default=[8])
    ap.add_argument("--decoding", default="", help="NAME=V,... decoding overrides")
    args = ap.parse_args()
    prompts = [r.prompt for path in args.prompts for r in read_labelled_tsv(path)]
    pce_index = FEATURE_NAMES.index("pitch_class_entropy")
    t0 = time.perf_counter()
    with decoding_overrides(**parse_decoding(args.decoding)):
        for bars in args.bars:
            clips = generate_clips([{"prompt": p} for p in prompts], 1, compose_fn=compose, bars=bars)
            records, keys = [], []
            for clip in clips:  # prompt i with seed i
                piece, key = clip["piece"], clip["attributes"].key
                families = sorted({family_of_program(t.program, t.is_drum) for t in piece.tracks})
                records.append(measure(piece, bars, {"instruments": families, "key": key}, written=piece))
                keys.append(key)
            values = aggregate(records, keys)
            pce = [r["features"][pce_index] for r in records
                   if not math.isnan(r["features"][pce_index]) and r["stats"]["key_default"] is not None]
            print(f"{bars} bars, {len(records)} prompts ({args.decoding or 'shipped decoding'}):")
            for name in SHOWN:
                v = values.get(name)
                if v is not None:
                    print(f"  {name:26s} {v:.3f}")
            print(f"  {'pitch_class_entropy':26s} {statistics.mean(pce):.3f}")
    print(f"{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
