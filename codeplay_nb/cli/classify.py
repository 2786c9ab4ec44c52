"""``codeplay classify "PROMPT" [--json]`` and ``codeplay classify --file PROMPTS.txt --json``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..attributes import Attributes
from ..errors import CodeplayError

JSON_KEYS = (
    "prompt", "genre", "emotion", "tempo_bin", "bpm", "instruments", "inferred_instruments", "language", "method",
    "probabilities",
)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "classify",
        help="read genre, emotion, tempo and instruments from a text prompt",
        description="Read genre, emotion, tempo (bin and BPM), instruments and a named key from a prompt, "
        "with the probability of every label. Runs offline with the shipped model.",
    )
    p.add_argument("prompt", nargs="?", help="the prompt, e.g. 'a calm piano piece for studying'")
    p.add_argument("--file", help="a UTF-8 text file with one prompt per line (blank lines are skipped)")
    p.add_argument("--json", action="store_true", help="print one JSON object per prompt")
    p.add_argument("--model", help="a folder of trained heads (default: the shipped classifier)")
    p.set_defaults(func=run)


def attributes_json(prompt: str, attrs: Attributes) -> dict:
    """The JSON object of one prompt: exactly the keys in :data:`JSON_KEYS` (``inferred_instruments``: the
    returned instruments the prompt implies rather than names; ``language`` / ``method``: how it was read)."""
    reading = attrs.probabilities.get("reading", {})
    return {
        "prompt": prompt,
        "genre": attrs.genre,
        "emotion": attrs.emotion,
        "tempo_bin": attrs.tempo_bin,
        "bpm": attrs.bpm,
        "instruments": list(attrs.instruments),
        "inferred_instruments": inferred_instruments(attrs),
        "language": reading.get("language"),
        "method": reading.get("method"),
        "probabilities": attrs.probabilities,
    }


def inferred_instruments(attrs: Attributes) -> list[str]:
    """The returned instruments that the prompt implies (a style, ensemble or scene) rather than names."""
    source = attrs.probabilities.get("instrument_source", {})
    return [f for f in attrs.instruments if source.get(f) == "implied"]


def format_attributes(attrs: Attributes) -> str:
    """A short human-readable summary with the confidence of each choice."""
    pr = attrs.probabilities
    genre = f"{attrs.genre} ({pr['genre'][attrs.genre]:.2f})" if attrs.genre else "not implied (the model chooses)"
    lines = [
        f"genre        {genre}",
        f"emotion      {attrs.emotion} ({pr['emotion'][attrs.emotion]:.2f})",
        f"tempo        {attrs.tempo_bin.replace('_', ' ')}, {attrs.bpm:g} BPM ({pr['tempo_bin'][attrs.tempo_bin]:.2f})",
        f"instruments  {_instrument_text(attrs)}",
    ]
    reading = pr.get("reading", {})
    if reading:
        styles = ", ".join(reading.get("styles", []))
        lines.append(f"read as      {reading.get('language')} ({reading.get('method')})" + (f"; styles: {styles}" if styles else ""))
    if attrs.key:
        lines.append(f"key          {attrs.key}")
    lines.extend(f"note: {n}" for n in attrs.notes)
    return "\n".join(lines)


def _instrument_text(attrs: Attributes) -> str:
    if not attrs.instruments:
        return "not named (the model chooses)"
    pr = attrs.probabilities.get("instruments", {})
    implied = set(inferred_instruments(attrs))
    return ", ".join(f"{f} ({pr.get(f, 1.0):.2f}{', implied' if f in implied else ''})" for f in attrs.instruments)


def _read_prompts(args: argparse.Namespace) -> list[str]:
    if args.file and args.prompt is not None:
        raise CodeplayError("give either a prompt or --file, not both")
    if args.file:
        path = Path(args.file)
        if not path.is_file():
            raise CodeplayError(f"no such prompt file: {path}")
        prompts = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        if not prompts:
            raise CodeplayError(f"{path} holds no prompts: write one prompt per line")
        return prompts
    if args.prompt is None:
        raise CodeplayError('give a prompt, e.g. codeplay classify "a calm piano piece for studying"')
    return [args.prompt]


def run(args: argparse.Namespace) -> int:
    prompts = _read_prompts(args)
    from ..text import EmptyPromptError, classify

    if any(not p.strip() for p in prompts):
        raise EmptyPromptError("the prompt is empty: describe the music you want, e.g. 'a calm piano piece'")
    for i, prompt in enumerate(prompts):
        attrs = classify(prompt, model=args.model)
        if args.json:
            print(json.dumps(attributes_json(prompt, attrs), ensure_ascii=False))
            for note in attrs.notes:
                print(f"note: {note}", file=sys.stderr)
        else:
            if len(prompts) > 1:
                print(("\n" if i else "") + f"> {prompt}")
            print(format_attributes(attrs))
    return 0
