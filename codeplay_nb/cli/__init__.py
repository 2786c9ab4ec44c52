"""The ``codeplay`` command. Each module in this package that defines ``register(subparsers)`` adds a
subcommand; a user mistake (:class:`CodeplayError`) prints one line to stderr and exits with status 2."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from ..errors import CodeplayError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="codeplay", description="Text to editable multi-track MIDI: compose, edit, tokenize, evaluate."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "register"):
            module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CodeplayError as exc:
        print(f"codeplay {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # pragma: no cover
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
