"""What is in each corpus: per-piece statistics and Plotly charts for notebook 01.

Statistics are plain dicts (no pandas needed); figures are ``plotly.graph_objects.Figure`` built inside the
functions, so importing this module does not import plotly.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

from .corpora import CorpusItem, iter_corpus


def piece_stats(item: CorpusItem) -> dict:
    """One row: source, id, bars, notes, tracks, seconds, tempo, time signature, key, genre, emotion,
    instrument families, lowest/highest pitched note."""
    p, a = item.piece, item.attributes
    pitches = [n.pitch for t in p.tracks if not t.is_drum for n in t.notes]
    return {
        "source": item.source, "piece_id": item.piece_id, "bars": p.n_bars, "notes": p.n_notes,
        "tracks": sum(1 for t in p.tracks if t.notes), "seconds": round(p.duration_seconds, 1),
        "bpm": a.bpm, "time_signature": f"{a.time_signature[0]}/{a.time_signature[1]}" if a.time_signature else None,
        "key": a.key, "genre": a.genre, "emotion": a.emotion, "instruments": list(a.instruments),
        "pitch_min": min(pitches, default=None), "pitch_max": max(pitches, default=None),
        "tempo_changes": len(p.tempos) - 1,
    }


DATA_SOURCES = ("pop909", "nottingham", "vgmidi", "mma")


def available_sources(sources: Sequence[str], data_dir: str | os.PathLike | None = None) -> list[str]:
    """``sources`` minus those needing the data folder when it is absent (music21 and gm need none)."""
    from .corpora import resolve_data_dir
    from .corpora.accompaniment import mma_available
    from .errors import CodeplayError

    try:
        resolve_data_dir(data_dir)
        have_data = True
    except CodeplayError:
        have_data = False
    return [s for s in sources if (have_data or s not in DATA_SOURCES) and (s != "mma" or mma_available())]


def collect_stats(
    sources: Sequence[str], data_dir: str | os.PathLike | None = None, *, limit: int | None = None,
) -> tuple[list[dict], list[tuple[str, str, str]]]:
    """Rows for every piece of ``sources`` (``limit`` per source) and the skipped files with reasons."""
    skipped: list = []
    rows = [piece_stats(it) for it in iter_corpus(sources, data_dir, limit=limit, skipped=skipped)]
    return rows, skipped


def summarize(rows: Iterable[dict]) -> list[dict]:
    """Per source: pieces, bars, notes, hours, median tempo, distinct keys, pitch range."""
    by: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by[r["source"]].append(r)
    out = []
    for src, rs in by.items():
        bpms = sorted(r["bpm"] for r in rs if r["bpm"])
        lows = [r["pitch_min"] for r in rs if r["pitch_min"] is not None]
        highs = [r["pitch_max"] for r in rs if r["pitch_max"] is not None]
        out.append({
            "source": src, "pieces": len(rs), "bars": sum(r["bars"] for r in rs),
            "notes": sum(r["notes"] for r in rs), "hours": round(sum(r["seconds"] for r in rs) / 3600, 2),
            "median_bpm": bpms[len(bpms) // 2] if bpms else None,
            "keys": len({r["key"] for r in rs if r["key"]}),
            "genres": dict(Counter(r["genre"] or "unknown" for r in rs)),
            "pitch_range": (min(lows, default=None), max(highs, default=None)),
        })
    return out


def skipped_summary(skipped: Iterable[tuple[str, str, str]]) -> list[dict]:
    """Skipped files counted per source and reason."""
    c = Counter((s, r.split(":")[0][:80]) for s, _, r in skipped)
    return [{"source": s, "reason": r, "files": n} for (s, r), n in c.most_common()]


def _sources(rows: Sequence[dict]) -> list[str]:
    return list(dict.fromkeys(r["source"] for r in rows))


def fig_sizes(rows: Sequence[dict]):
    """Pieces and bars per source (two bar charts side by side)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    summ = summarize(rows)
    fig = make_subplots(rows=1, cols=2, subplot_titles=("pieces", "bars"))
    fig.add_trace(go.Bar(x=[s["source"] for s in summ], y=[s["pieces"] for s in summ], name="pieces"), 1, 1)
    fig.add_trace(go.Bar(x=[s["source"] for s in summ], y=[s["bars"] for s in summ], name="bars"), 1, 2)
    fig.update_layout(title="Corpus size", showlegend=False, height=350)
    return fig


def fig_tempo(rows: Sequence[dict]):
    """Tempo (first tempo, BPM) histogram per source."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for src in _sources(rows):
        fig.add_trace(go.Histogram(x=[r["bpm"] for r in rows if r["source"] == src and r["bpm"]], name=src,
                                   xbins={"size": 5}, opacity=0.6))
    fig.update_layout(barmode="overlay", title="Tempo at the start (BPM)", xaxis_title="BPM",
                      yaxis_title="pieces", height=350)
    return fig


def _category_bars(rows: Sequence[dict], field: str, title: str, order: Sequence[str] | None = None):
    import plotly.graph_objects as go

    fig = go.Figure()
    for src in _sources(rows):
        vals = []
        for r in rows:
            if r["source"] != src:
                continue
            v = r[field]
            vals += v if isinstance(v, list) else [v if v is not None else "unknown"]
        c = Counter(vals)
        cats = list(order) if order else sorted(c)
        fig.add_trace(go.Bar(x=cats, y=[c.get(k, 0) for k in cats], name=src))
    fig.update_layout(barmode="group", title=title, yaxis_title="pieces", height=380)
    return fig


def fig_keys(rows: Sequence[dict]):
    """Keys per source (annotated where the corpus has them, estimated otherwise)."""
    from .attributes import KEYS

    present = {r["key"] or "unknown" for r in rows}
    order = [k for k in KEYS if k in present] + (["unknown"] if "unknown" in present else [])
    return _category_bars(rows, "key", "Keys", order)


def fig_time_signatures(rows: Sequence[dict]):
    return _category_bars(rows, "time_signature", "Time signatures")


def fig_instruments(rows: Sequence[dict]):
    """Instrument families present (a piece counts once per family)."""
    from .instruments import FAMILY_NAMES

    present = {f for r in rows for f in r["instruments"]}
    return _category_bars(rows, "instruments", "Instrument families", [f for f in FAMILY_NAMES if f in present])


def fig_genres(rows: Sequence[dict]):
    return _category_bars(rows, "genre", "Genre labels (from the source)")


def fig_pitch_ranges(rows: Sequence[dict]):
    """Lowest and highest pitched note of each piece, per source (box plots)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for src in _sources(rows):
        rs = [r for r in rows if r["source"] == src and r["pitch_min"] is not None]
        fig.add_trace(go.Box(y=[r["pitch_min"] for r in rs], name=f"{src} low", boxpoints=False))
        fig.add_trace(go.Box(y=[r["pitch_max"] for r in rs], name=f"{src} high", boxpoints=False))
    fig.update_layout(title="Pitch range per piece (MIDI note numbers; 60 = middle C)", showlegend=False,
                      yaxis_title="pitch", height=380)
    return fig


def all_figures(rows: Sequence[dict]) -> dict:
    """Every chart of notebook 01, by name."""
    return {
        "sizes": fig_sizes(rows), "tempo": fig_tempo(rows), "keys": fig_keys(rows),
        "time_signatures": fig_time_signatures(rows), "instruments": fig_instruments(rows),
        "genres": fig_genres(rows), "pitch_ranges": fig_pitch_ranges(rows),
    }
