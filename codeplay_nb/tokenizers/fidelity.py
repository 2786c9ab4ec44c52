"""Round-trip fidelity of a token scheme: what survives ``decode(encode(piece))``.

The rules (issue 2, "Required quality"):

* a note is *kept* when the decoded piece has a note in the **same track** with the **exact pitch**, onset
  and duration each within **one grid step** (``tpq / 12`` ticks) and velocity within **one velocity bin**
  (``|dv| <= 16``); schemes without velocity (``keeps_velocity = False``, e.g. MMM) are checked without it
  and the result says so. Every decoded note matches at most one original note.
* "same track": when the decoded piece has the same instrument sequence as the original, tracks are paired
  by index; otherwise (miditok merges tracks that share a program) the notes of an original track are
  matched against all decoded tracks with the same instrument (program, or drums). ``track_matching``
  says which rule applied.
* ``notes_grid_duplicates`` counts original notes that share track, pitch and grid onset with another
  note (doubled notes in the file): a scheme that merges them loses exactly these.
* a **tempo** is kept when the decoded piece has a tempo change within one grid step of it (the same
  bar/beat position) and within 1 % of its BPM; a **time signature** when the decoded piece has the same
  signature within one grid step. Changes at or after the end of the piece (no note sounds under them)
  are not counted and are reported as ``*_after_end``.

Times are compared in quarter notes, so decoded pieces may use another ticks-per-quarter. Schemes that
store clock time instead of beats (AMT: ``time_base == "seconds"``) have their decoded notes placed on the
original tempo map through seconds before matching; their tempos and time signatures are compared as
decoded (AMT stores none, so they count as lost).
"""

from __future__ import annotations

import bisect
import os
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..music import Note, Piece, Track
from .base import STEPS_PER_QUARTER, Tokenizer

VELOCITY_TOLERANCE = 16
TEMPO_TOLERANCE = 0.01
SCHEMES = ("nnn", "mmm", "remi")
SECONDS_SCHEMES = frozenset({"amt"})  # schemes whose decoded times are clock time, not beats
NO_VELOCITY_SCHEMES = frozenset({"mmm", "amt"})  # fallback when a tokenizer has no ``keeps_velocity``


def _rescale(piece: Piece, tpq: int) -> Piece:
    """``piece`` in ``tpq`` ticks per quarter (rounded), so two pieces compare tick for tick."""
    if piece.tpq == tpq:
        return piece
    f = tpq / piece.tpq

    def r(x: int) -> int:
        return round(x * f)

    tracks = tuple(
        Track(t.program, t.is_drum, t.name,
              tuple(Note(n.pitch, n.velocity, r(n.start), max(1, r(n.end) - r(n.start))) for n in t.notes))
        for t in piece.tracks
    )
    tempos = tuple(type(tp)(r(tp.time), tp.qpm) for tp in piece.tempos)
    sigs = tuple(type(ts)(r(ts.time), ts.numerator, ts.denominator) for ts in piece.time_signatures)
    return Piece(tracks, tpq, tempos, sigs, (), length=r(piece.length))


def _seconds_to_ticks(decoded: Piece, piece: Piece) -> Piece:
    """Notes of ``decoded`` (whose ticks encode clock time, e.g. AMT's 10 ms steps) placed on ``piece``'s
    tempo map: seconds in the decoded piece become ticks of the original."""
    def tick(t: int) -> int:
        return piece.tick_at_seconds(decoded.seconds(t))

    tracks = []
    for t in decoded.tracks:
        notes = []
        for n in t.notes:
            s = tick(n.start)
            notes.append(Note(n.pitch, n.velocity, s, max(1, tick(n.end) - s)))
        tracks.append(Track(t.program, t.is_drum, t.name, tuple(notes)))
    return Piece(tuple(tracks), piece.tpq, decoded.tempos, decoded.time_signatures, (), length=0)


def _instrument(t: Track) -> tuple[int, bool]:
    return (0, True) if t.is_drum else (t.program, False)


def _pair_tracks(orig: Piece, dec: Piece) -> tuple[str, list[list[Note]]]:
    """For each original track, the decoded notes it may match."""
    if [_instrument(t) for t in orig.tracks] == [_instrument(t) for t in dec.tracks]:
        return "index", [list(t.notes) for t in dec.tracks]
    pools: dict[tuple[int, bool], list[Note]] = defaultdict(list)
    for t in dec.tracks:
        pools[_instrument(t)].extend(t.notes)
    return "instrument", [pools.get(_instrument(t), []) for t in orig.tracks]


def match_notes(
    original: Sequence[Note], decoded: Sequence[Note], tol: int, velocity: bool = True
) -> list[Note]:
    """Original notes with no match in ``decoded`` (see the module docstring for the rule)."""
    by_pitch: dict[int, list[Note]] = defaultdict(list)
    for n in decoded:
        by_pitch[n.pitch].append(n)
    starts: dict[int, list[int]] = {}
    used: dict[int, list[bool]] = {}
    for p, ns in by_pitch.items():
        ns.sort(key=lambda n: (n.start, n.duration))
        starts[p] = [n.start for n in ns]
        used[p] = [False] * len(ns)
    missing = []
    for n in sorted(original, key=lambda n: (n.start, n.pitch, n.duration)):
        cands = by_pitch.get(n.pitch)
        found = False
        if cands:
            i = bisect.bisect_left(starts[n.pitch], n.start - tol)
            best, best_cost = -1, None
            while i < len(cands) and cands[i].start <= n.start + tol:
                c = cands[i]
                if not used[n.pitch][i] and abs(c.duration - n.duration) <= tol and (
                    not velocity or abs(c.velocity - n.velocity) <= VELOCITY_TOLERANCE
                ):
                    cost = abs(c.start - n.start) + abs(c.duration - n.duration)
                    if best_cost is None or cost < best_cost:
                        best, best_cost = i, cost
                i += 1
            if best >= 0:
                used[n.pitch][best] = True
                found = True
        if not found:
            missing.append(n)
    return missing


def _events_kept(orig, dec, tol: int, same) -> tuple[int, int]:
    kept = 0
    for e in orig:
        if any(abs(d.time - e.time) <= tol and same(e, d) for d in dec):
            kept += 1
    return kept, len(orig)


def roundtrip_fidelity(tokenizer: Tokenizer, piece: Piece, *, ids: Sequence[int] | None = None) -> dict:
    """Encode, decode and compare ``piece`` with the result; a dict of counts and fractions (see the module
    docstring). ``decoded`` (the decoded :class:`Piece`) and ``missing`` (unmatched original notes per
    track) are included for :func:`write_failure`."""
    ids = tokenizer.encode(piece) if ids is None else ids
    decoded = tokenizer.decode(ids)
    time_base = getattr(tokenizer, "time_base", "seconds" if tokenizer.name in SECONDS_SCHEMES else "beats")
    if time_base == "seconds":
        notes_dec = _seconds_to_ticks(decoded, piece)
        dec = _rescale(decoded, piece.tpq).replace(tracks=notes_dec.tracks)
    else:
        dec = _rescale(decoded, piece.tpq)
    tol = piece.tpq // STEPS_PER_QUARTER
    velocity = bool(getattr(tokenizer, "keeps_velocity", tokenizer.name not in NO_VELOCITY_SCHEMES))
    rule, pools = _pair_tracks(piece, dec)
    missing: list[list[Note]] = []
    for t, pool in zip(piece.tracks, pools, strict=False):
        missing.append(match_notes(t.notes, pool, tol, velocity))
    n_notes = piece.n_notes
    n_missing = sum(len(m) for m in missing)
    end = piece.length
    tempos = [t for t in piece.tempos if t.time < end]
    sigs = [s for s in piece.time_signatures if s.time < end]
    t_kept, t_total = _events_kept(tempos, dec.tempos, tol, lambda a, b: abs(b.qpm / a.qpm - 1) <= TEMPO_TOLERANCE)
    s_kept, s_total = _events_kept(
        sigs, dec.time_signatures, tol, lambda a, b: (a.numerator, a.denominator) == (b.numerator, b.denominator)
    )
    bars = piece.n_bars
    grid_dupes = 0
    for t in piece.tracks:
        seen = {(n.pitch, round(n.start * STEPS_PER_QUARTER / piece.tpq)) for n in t.notes}
        grid_dupes += len(t.notes) - len(seen)
    return {
        "scheme": tokenizer.name,
        "tokens": len(ids),
        "bars": bars,
        "tokens_per_bar": round(len(ids) / max(bars, 1), 3),
        "notes": n_notes,
        "notes_kept": n_notes - n_missing,
        "notes_kept_frac": 1.0 if n_notes == 0 else (n_notes - n_missing) / n_notes,
        "notes_grid_duplicates": grid_dupes,
        "velocity_checked": velocity,
        "track_matching": rule,
        "time_base": time_base,
        "tempos": t_total,
        "tempos_kept": t_kept,
        "tempos_after_end": len(piece.tempos) - len(tempos),
        "time_signatures": s_total,
        "time_signatures_kept": s_kept,
        "time_signatures_after_end": len(piece.time_signatures) - len(sigs),
        "all_tempos_kept": t_kept == t_total,
        "all_time_signatures_kept": s_kept == s_total,
        "decoded": decoded,
        "missing": missing,
    }


def write_failure(piece: Piece, result: dict, folder: str | os.PathLike, name: str) -> list[Path]:
    """Write a failing round trip as MIDI files you can open (MidiTok tests style):
    ``NAME_original.mid``, ``NAME_SCHEME_decoded.mid`` and ``NAME_SCHEME_missing.mid`` (the original
    tracks with only their unmatched notes, track names prefixed ``MISSING``)."""
    from ..io import write_midi

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    scheme = result["scheme"]
    paths = [write_midi(piece, out / f"{name}_original.mid"),
             write_midi(result["decoded"], out / f"{name}_{scheme}_decoded.mid")]
    miss = piece.with_tracks([
        Track(t.program, t.is_drum, f"MISSING {t.label}", tuple(m)) for t, m in zip(piece.tracks, result["missing"], strict=False)
    ])
    paths.append(write_midi(miss, out / f"{name}_{scheme}_missing.mid"))
    return paths


def public(result: dict) -> dict:
    """``result`` without the decoded piece and note lists (JSON-friendly)."""
    return {k: v for k, v in result.items() if k not in ("decoded", "missing")}


def compare_schemes(
    paths: Iterable[str | os.PathLike],
    schemes: Sequence[str] = SCHEMES,
    *,
    failures_dir: str | os.PathLike | None = None,
) -> list[dict]:
    """One row per (file, scheme): round-trip fidelity, tokens per bar, vocabulary size and encode time.
    Unreadable files and missing schemes (e.g. a tokenizer not written yet) are skipped with a
    ``skipped`` reason row. With ``failures_dir``, every file that loses notes, tempos or time signatures
    is written there as MIDI (:func:`write_failure`)."""
    from ..errors import CodeplayError
    from ..io import read_midi
    from .base import get_tokenizer

    toks: dict[str, Tokenizer | str] = {}
    for s in schemes:
        try:
            toks[s] = get_tokenizer(s)
        except (ImportError, AttributeError, CodeplayError) as exc:
            toks[s] = f"{type(exc).__name__}: {exc}"
    rows = []
    for path in paths:
        path = Path(path)
        try:
            piece = read_midi(path)
        except CodeplayError as exc:
            rows.append({"file": path.name, "skipped": str(exc)})
            continue
        for s, tok in toks.items():
            if isinstance(tok, str):
                rows.append({"file": path.name, "scheme": s, "skipped": tok})
                continue
            t0 = time.perf_counter()
            ids = tok.encode(piece)
            enc_s = time.perf_counter() - t0
            res = roundtrip_fidelity(tok, piece, ids=ids)
            if failures_dir is not None and (
                res["notes_kept"] < res["notes"] or not res["all_tempos_kept"] or not res["all_time_signatures_kept"]
            ):
                write_failure(piece, res, failures_dir, path.stem)
            rows.append({"file": path.name, **public(res), "vocab_size": tok.vocab_size,
                         "encode_ms": round(enc_s * 1000, 3)})
    return rows


def summarize(rows: Sequence[dict]) -> list[dict]:
    """Per scheme: files, notes kept (all files pooled), files with every tempo / time signature kept,
    tokens per bar (all tokens / all bars), vocabulary size, total encode time."""
    by: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        if "skipped" not in r:
            by[r["scheme"]].append(r)
    out = []
    for s, rs in by.items():
        notes = sum(r["notes"] for r in rs)
        kept = sum(r["notes_kept"] for r in rs)
        out.append({
            "scheme": s,
            "files": len(rs),
            "notes": notes,
            "notes_kept_frac": round(kept / notes, 5) if notes else 1.0,
            "velocity_checked": all(r["velocity_checked"] for r in rs),
            "files_all_tempos_kept": sum(r["all_tempos_kept"] for r in rs),
            "files_all_time_signatures_kept": sum(r["all_time_signatures_kept"] for r in rs),
            "tokens_per_bar": round(sum(r["tokens"] for r in rs) / max(sum(r["bars"] for r in rs), 1), 2),
            "vocab_size": rs[0]["vocab_size"],
            "encode_ms_total": round(sum(r["encode_ms"] for r in rs), 1),
        })
    return out


def format_table(rows: Sequence[dict], columns: Sequence[str] | None = None) -> str:
    """A Markdown table of ``rows`` (dicts), for printing in scripts and notebooks."""
    if not rows:
        return "(no rows)"
    cols = list(columns or rows[0].keys())

    def cell(v) -> str:
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(cell(r.get(c, "")) for c in cols) + " |" for r in rows]
    return "\n".join(lines)
