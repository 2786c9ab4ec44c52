"""Per-source statistics measured on the pieces as the loaders yield them (``codeplay dataset stats
--sources``): pieces, bars, training tokens (the NNN windows the dataset builder would write for these
pieces), share of all tokens, share of onsets off the 8th-note (and 16th-note) grid counted from each bar
line, share of empty bars per track, drum and bass presence, and for POP909 how far bar lines lie from the
annotated downbeats. A loader that puts music off its grid shows up here as a high off-grid share (or, for
POP909, a bar-line distance above :data:`BAR_LINE_TOLERANCE`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from ..instruments import family_of_program
from .base import CorpusItem
from .beats import off_grid_share, off_grids_share
from .inspect import bar_line_check, bar_positions

BAR_LINE_TOLERANCE = 1 / 24  # beats
GRID_TOLERANCE = 1 / 24  # quarter notes


@dataclass
class SourceStats:
    pieces: int = 0
    bars: int = 0
    tokens: int = 0
    onsets: int = 0
    off_8th: float = 0.0  # sums of off-grid onsets (divided by onsets at the end)
    off_16th: float = 0.0
    off_grids: float = 0.0  # off both the 16th and the triplet grid: no grid at all
    track_bars: int = 0
    empty_track_bars: int = 0
    family_bars: dict = field(default_factory=dict)  # family -> [track bars, empty track bars]
    with_drums: int = 0
    with_bass: int = 0
    bar_line_max: float | None = None
    bar_line_checked: int = 0
    bar_line_over: int = 0

    def as_row(self, total_tokens: int) -> dict:
        share = lambda a, b: round(a / b, 4) if b else None  # noqa: E731
        return {
            "pieces": self.pieces, "bars": self.bars, "tokens": self.tokens,
            "token_share": share(self.tokens, total_tokens),
            "off_grid_8th": share(self.off_8th, self.onsets), "off_grid_16th": share(self.off_16th, self.onsets),
            "off_grid_16th_and_triplet": share(self.off_grids, self.onsets),
            "empty_bars_per_track": share(self.empty_track_bars, self.track_bars),
            "empty_bars_by_family": {f: share(e, b) for f, (b, e) in sorted(self.family_bars.items())},
            "drum_presence": share(self.with_drums, self.pieces), "bass_presence": share(self.with_bass, self.pieces),
            "bar_line_max_beats": None if self.bar_line_max is None else round(self.bar_line_max, 5),
            "bar_line_checked": self.bar_line_checked, "bar_line_over_tolerance": self.bar_line_over,
        }


def _count_off(positions: np.ndarray, tpq: int, division: int) -> float:
    return off_grid_share(positions.tolist(), tpq, division, GRID_TOLERANCE) * len(positions)


def add_piece(acc: SourceStats, item: CorpusItem, n_tokens: int, bar_line: float | None = None) -> None:
    """Add one piece's measurements to its source's totals."""
    p = item.piece
    n = p.n_bars
    acc.pieces += 1
    acc.bars += n
    acc.tokens += n_tokens
    starts = [x.start for t in p.tracks for x in t.notes]
    if starts:
        pos = bar_positions(p, starts)
        acc.onsets += len(pos)
        acc.off_8th += _count_off(pos, p.tpq, 2)
        acc.off_16th += _count_off(pos, p.tpq, 4)
        acc.off_grids += off_grids_share(pos.tolist(), p.tpq, tolerance_quarters=GRID_TOLERANCE) * len(pos)
    lines = np.asarray(p.bar_starts()[: n + 1], dtype=np.int64)
    fams = set()
    for t in p.tracks:
        if not t.notes or n == 0:
            continue
        fam = family_of_program(t.program, t.is_drum)
        fams.add(fam)
        s = np.fromiter((x.start for x in t.notes), dtype=np.int64, count=len(t.notes))
        idx = np.searchsorted(lines, s, side="right") - 1
        filled = len(np.unique(idx[(idx >= 0) & (idx < n)]))
        acc.track_bars += n
        acc.empty_track_bars += n - filled
        fb = acc.family_bars.setdefault(fam, [0, 0])
        fb[0] += n
        fb[1] += n - filled
    acc.with_drums += "drums" in fams
    acc.with_bass += "bass" in fams
    if bar_line is not None:
        acc.bar_line_checked += 1
        acc.bar_line_over += bar_line > BAR_LINE_TOLERANCE
        acc.bar_line_max = bar_line if acc.bar_line_max is None else max(acc.bar_line_max, bar_line)


def source_stats(
    items: Iterable[CorpusItem], *, data_dir: str | os.PathLike | None = None, encode: bool = True,
    progress: Callable[[CorpusItem], None] | None = None,
) -> dict[str, dict]:
    """Per-source rows (see :meth:`SourceStats.as_row`) plus an ``"all"`` row. Tokens are the builder's
    own windows for these pieces (default NNN encoder and build settings, no stored transpositions);
    ``encode=False`` skips them (tokens 0)."""
    from .. import dataset as ds

    cfg = fn = None
    if encode:
        fn, vocab, eos = ds.default_encoder()
        cfg = ds.BuildConfig(eos_id=eos, vocab_size=vocab)
    accs: dict[str, SourceStats] = {}
    total = SourceStats()
    for item in items:
        n_tok = sum(len(x) for x in ds.item_examples(item, fn, cfg)[1]) if encode else 0
        check = bar_line_check(item, data_dir)
        add_piece(accs.setdefault(item.source, SourceStats()), item, n_tok, check)
        add_piece(total, item, n_tok, check)
        if progress:
            progress(item)
    rows = {src: a.as_row(total.tokens) for src, a in accs.items()}
    if accs:
        rows["all"] = total.as_row(total.tokens)
    return rows


def _fmt(v, pct: bool = True) -> str:
    if v is None:
        return "-"
    return f"{100 * v:.1f}%" if pct else str(v)


def format_source_table(rows: dict[str, dict]) -> str:
    """A plain-text table of :func:`source_stats` rows."""
    head = (f"{'source':11s} {'pieces':>6s} {'bars':>7s} {'tokens':>9s} {'share':>6s} {'off8':>6s} {'off16':>6s} "
            f"{'off16/3':>7s} {'empty':>6s} {'drums':>6s} {'bass':>6s} {'barline':>8s}")
    out = [head]
    for src, r in rows.items():
        bl = "-" if r["bar_line_max_beats"] is None else f"{r['bar_line_max_beats']:.4f}"
        out.append(f"{src:11s} {r['pieces']:6d} {r['bars']:7d} {r['tokens']:9d} {_fmt(r['token_share']):>6s} "
                   f"{_fmt(r['off_grid_8th']):>6s} {_fmt(r['off_grid_16th']):>6s} {_fmt(r['off_grid_16th_and_triplet']):>7s} "
                   f"{_fmt(r['empty_bars_per_track']):>6s} {_fmt(r['drum_presence']):>6s} "
                   f"{_fmt(r['bass_presence']):>6s} {bl:>8s}")
    out.append("off8/off16: onsets more than 1/24 quarter off the 8th/16th grid (from the bar line); off16/3: off "
               "both the 16th and the triplet grid; empty: bars without an onset, per track; barline: max distance "
               "of bar lines from annotated downbeats (beats)")
    return "\n".join(out)


def manifest_rows(manifest: dict) -> dict[str, dict]:
    """Pieces, bars, tokens and token share per source of a built dataset (both splits)."""
    per = manifest.get("per_source", {})
    tok = {s: d.get("train_tokens", 0) + d.get("val_tokens", 0) for s, d in per.items()}
    total = sum(tok.values()) or 1
    return {s: {"pieces": d.get("train_pieces", 0) + d.get("val_pieces", 0), "bars": d.get("bars", 0),
                "tokens": tok[s], "token_share": round(tok[s] / total, 4)} for s, d in per.items()}
