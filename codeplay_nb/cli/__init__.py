"""The ``codeplay`` command. Each module in this package that defines ``register(subparsers)`` adds a
subcommand; a user mistake (:class:`CodeplayError`, or an argument argparse rejects) prints one line to
stderr and exits with status 2."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from ..errors import CodeplayError

# arguments that name files or folders: any bytes the file system allows are fine there
PATH_ARGS = frozenset({"input", "output", "file", "model", "data", "out", "real", "roundtrip", "prompts"})


class UsageError(CodeplayError):
    """An argument argparse rejected (unknown option, missing value, wrong type)."""

    def __init__(self, message: str, prog: str) -> None:
        super().__init__(message)
        self.prog = prog


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line (no usage block): ``codeplay CMD: error: ...``."""

    def error(self, message: str):  # type: ignore[override]
        raise UsageError(" ".join(message.split()), self.prog)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="codeplay", description="Text to editable multi-track MIDI: compose, edit, tokenize, evaluate."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    sub.required = True
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "register"):
            module.register(sub)
    return parser


def check_text_args(args: argparse.Namespace) -> None:
    """Text arguments (a prompt, a genre, an instrument) must be valid UTF-8: the shell hands undecodable
    bytes to Python as surrogates, which would fail deep inside the text model."""
    for name, value in vars(args).items():
        if isinstance(value, str) and name not in PATH_ARGS:
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                flag = name if name == "prompt" else "--" + name.replace("_", "-")
                raise CodeplayError(f"{flag} is not valid UTF-8 text; check the terminal's encoding") from None


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    command = "codeplay"
    try:
        args = parser.parse_args(argv)
        command = f"codeplay {args.command}"
        check_text_args(args)
        return int(args.func(args) or 0)
    except UsageError as exc:
        print(f"{exc.prog}: error: {exc}", file=sys.stderr)
        return 2
    except CodeplayError as exc:
        print(f"{command}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # pragma: no cover
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
