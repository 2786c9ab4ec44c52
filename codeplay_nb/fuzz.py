"""Seeded MIDI fuzzing: mutate real files, push each through read -> tokenize -> infill, classify the outcome.

Used by ``tests/test_fuzz.py`` (a few hundred cases) and ``benchmarks/bench_fuzz.py`` (1,000). Each case runs
in a worker subprocess under ``RLIMIT_AS`` (address space) and a per-case time limit enforced by the parent:
a case that does not answer in time is a *hang* (the worker is killed and replaced), one that runs out of
memory is *memory*. Outcomes:

* ``ok``: a valid result (the file read, tokenized and, when it has notes, infilled);
* ``error``: a one-line :class:`~codeplay_nb.errors.CodeplayError` (what a user should see);
* ``multiline``: a CodeplayError whose message spans lines;
* ``traceback``: any other exception (a bug);
* ``hang``: no answer within the time limit;
* ``memory``: ``MemoryError`` or the worker died (killed, crashed).
"""

from __future__ import annotations

import json
import os
import random
import select
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

OUTCOMES = ("ok", "error", "multiline", "traceback", "hang", "memory")
INTERESTING = (0x00, 0x01, 0x7F, 0x80, 0xFF, 0x90, 0xFF, 0x51, 0x58, 0x2F)


def mutate(data: bytes, rng: random.Random) -> bytes:
    """1-4 random edits of ``data``: byte flips, interesting bytes, huge delta times, inserted, deleted or
    duplicated ranges, truncation, a header field changed (format, track count, division)."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        if len(buf) < 16:
            buf += bytes(16 - len(buf))
        # most edits keep the chunk lengths (so the file still parses and the odd values reach the code
        # behind the parser); one in five changes the structure
        kind = rng.choices(range(9), weights=(4, 4, 3, 1, 1, 1, 1, 3, 4))[0]
        i = rng.randrange(14, len(buf)) if kind != 7 else 0
        if kind == 0:
            buf[i] ^= 1 << rng.randrange(8)
        elif kind == 1:
            buf[i] = rng.choice(INTERESTING)
        elif kind == 2:  # a huge variable-length delta time, in place
            buf[i:i + 4] = bytes([0x8F, 0xFF, 0xFF, 0x7F])[: len(buf) - i]
        elif kind == 3:
            buf[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif kind == 4:
            del buf[i:i + rng.randint(1, 64)]
        elif kind == 5:
            j = min(len(buf), i + rng.randint(1, 256))
            buf[j:j] = buf[i:j] * rng.randint(1, 8)
        elif kind == 6:
            del buf[rng.randrange(14, len(buf)):]
        elif kind == 7:  # header: format, number of tracks, division
            k = rng.choice((8, 9, 10, 11, 12, 13))
            buf[k] = rng.choice((*INTERESTING, rng.randrange(256)))
        else:  # a data byte (0-127) changed: pitches, velocities, controller values, meta fields
            buf[i] = rng.randrange(128)
    return bytes(buf)


def make_cases(sources: list[Path], n: int, seed: int, out: Path) -> list[Path]:
    """Write ``n`` mutated copies of ``sources`` (round-robin) into ``out``; returns their paths."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    datas = [p.read_bytes() for p in sources]
    paths = []
    for k in range(n):
        i = k % len(datas)
        path = out / f"{k:04d}_{sources[i].stem[:40]}.mid"
        path.write_bytes(mutate(datas[i], rng))
        paths.append(path)
    return paths


# ---------------------------------------------------------------- the worker (runs in the subprocess)
def run_case(path: str, model) -> dict:
    """read -> NNN tokenize -> infill one bar of one track; the outcome as a dict."""
    from . import editing
    from .errors import CodeplayError
    from .io import read_midi
    from .music import Piece
    from .tokenizers import get_tokenizer

    try:
        piece = read_midi(path)
        ids = get_tokenizer("nnn").encode(piece)
        assert len(ids) > 0
        tracks = [i + 1 for i, t in enumerate(piece.tracks) if t.notes]
        if tracks:
            bar = min(2, piece.n_bars)
            result = editing.infill(piece, (bar, bar), [tracks[0]], model=model, seed=0)
            assert isinstance(result, Piece) and len(result.tracks) == len(piece.tracks)
            assert result.tpq == piece.tpq and result.time_signatures == piece.time_signatures
        return {"outcome": "ok"}
    except CodeplayError as exc:
        text = str(exc)
        return {"outcome": "multiline" if "\n" in text else "error",
                "detail": text.replace(str(path), "FILE")[:200]}
    except MemoryError:
        return {"outcome": "memory", "detail": "MemoryError"}
    except Exception as exc:
        import traceback

        where = traceback.extract_tb(exc.__traceback__)[-1]
        return {"outcome": "traceback", "detail": f"{type(exc).__name__}: {str(exc)[:160]} "
                                                   f"({Path(where.filename).name}:{where.lineno})"}


def worker(memory_bytes: int) -> None:
    """Read paths from stdin, one per line; answer one JSON line per path."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    import torch

    torch.set_num_threads(1)
    from .model import tiny_music_model

    model = tiny_music_model(0)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        t0 = time.perf_counter()
        result = run_case(line.strip(), model)
        result["seconds"] = round(time.perf_counter() - t0, 3)
        result["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        print(json.dumps(result), flush=True)


# ---------------------------------------------------------------- the parent
class Runner:
    """Feeds cases to a worker subprocess, enforcing the per-case time limit; restarts it after a hang or
    a crash. ``nice`` lowers the worker's priority (a shared machine)."""

    def __init__(self, timeout_s: float = 10.0, memory_bytes: int = 2 * 2**30, nice: int = 0,
                 startup_s: float = 300.0) -> None:
        self.timeout_s, self.memory_bytes, self.nice, self.startup_s = timeout_s, memory_bytes, nice, startup_s
        self.proc: subprocess.Popen | None = None

    def _start(self) -> None:
        cmd = [sys.executable, "-c", f"from codeplay_nb.fuzz import worker; worker({self.memory_bytes})"]
        if self.nice:
            cmd = ["nice", "-n", str(self.nice), *cmd]
        env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        line = self._readline(self.startup_s)
        if line is None or "ready" not in line:
            self.close()
            raise RuntimeError("the fuzz worker did not start")

    def _readline(self, timeout: float) -> str | None:
        assert self.proc is not None and self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            return None
        line = self.proc.stdout.readline()
        return line or None

    def run(self, path: Path) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        assert self.proc is not None and self.proc.stdin is not None
        t0 = time.perf_counter()
        try:
            self.proc.stdin.write(f"{path}\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            self.close()
            return {"outcome": "memory", "detail": "worker died"}
        line = self._readline(self.timeout_s)
        if line is None:
            died = self.proc.poll() is not None
            self.close()
            if died:
                return {"outcome": "memory", "detail": f"worker died (status {self.proc.returncode})"}
            return {"outcome": "hang", "seconds": round(time.perf_counter() - t0, 1)}
        return json.loads(line)

    def close(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            for f in (self.proc.stdin, self.proc.stdout):
                if f is not None:
                    f.close()


def fuzz(paths: list[Path], *, timeout_s: float = 10.0, memory_bytes: int = 2 * 2**30, nice: int = 0,
         progress=None) -> tuple[Counter, list[tuple[Path, dict]]]:
    """Run every path; returns (outcome counts, [(path, result)])."""
    runner = Runner(timeout_s, memory_bytes, nice)
    counts: Counter = Counter({o: 0 for o in OUTCOMES})
    results = []
    try:
        for k, path in enumerate(paths):
            res = runner.run(path)
            counts[res["outcome"]] += 1
            results.append((path, res))
            if progress is not None:
                progress(k + 1, len(paths), res)
    finally:
        runner.close()
    return counts, results
