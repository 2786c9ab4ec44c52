"""The music-model evaluation's report: the text table, the JSON, the Plotly HTML page and the files
(:func:`write_report`), for reports made by :func:`codeplay_nb.evaluation.evaluate_model`."""

from __future__ import annotations

import json
import os
from pathlib import Path

from .metrics import QUALITY_METRICS


def _pct(acc: float | None) -> str:
    return "-" if acc is None else f"{100 * acc:.1f}%"


def _ms(s: dict) -> str:
    return "-" if s["mean"] is None else f"{s['mean']:.3f} ± {s['std']:.3f}"


def format_report(report: dict) -> str:
    """The metric table and the control accuracies as plain text."""
    cfg = report["config"]
    lines = [
        f"{cfg['n_generated']} generated {cfg['bars']}-bar clips ({cfg['attribute_sets']} attribute sets) vs "
        f"{cfg['n_real_windows']} real {cfg['bars']}-bar windows from {cfg['real_dir']}",
        "",
        f"{'metric':<22}{'generated':>20}{'real':>20}  within 1 real std  overlap",
    ]
    for name, row in report["metrics"].items():
        within = {True: "yes", False: "no", None: "-"}[row["within_real_std"]]
        overlap = "-" if row["overlap"] is None else f"{row['overlap']:.2f}"
        lines.append(f"{name:<22}{_ms(row['generated']):>20}{_ms(row['real']):>20}  {within:<17}  {overlap:>7}")
    names = list(report["published"])
    lines += ["", f"{'control accuracy':<18}{'this model':>18}" + "".join(f"{p:>24}" for p in names)]
    for name, acc in report["control_accuracy"].items():
        ours = f"{acc['correct']}/{acc['total']} = {_pct(acc['accuracy'])}" if acc["total"] else "-"
        pub = "".join(f"{_pct(report['published'][p].get(name)):>24}" for p in names)
        lines.append(f"{name:<18}{ours:>18}{pub}")
    t = report["timing"]
    lines += [
        "",
        f"time: {t['total_seconds']:.1f} s in all, median {t['compose_seconds_median']:.2f} s per clip",
    ]
    if report["skipped_files"]:
        lines.append(f"skipped {len(report['skipped_files'])} unreadable or empty MIDI files (see report.json)")
    return "\n".join(lines)


def report_json(report: dict) -> dict:
    """The report without the pieces (what ``report.json`` holds)."""
    out = dict(report)
    out["clips"] = [{k: v for k, v in c.items() if k not in ("piece", "attributes")} for c in report["clips"]]
    out["real_windows"] = [{k: v for k, v in w.items() if k != "piece"} for w in report["real_windows"]]
    return out


def report_html(report: dict) -> str:
    """A self-contained HTML page (plotly.js inlined): the tables and the metric distributions."""
    import html

    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    names = list(QUALITY_METRICS)
    cols = 3
    rows = (len(names) + 1 + cols - 1) // cols
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[*names, "control accuracy"])
    for i, name in enumerate(names):
        r, c = i // cols + 1, i % cols + 1
        for label, values, color in (
            ("generated", [x["metrics"][name] for x in report["clips"]], "#d62728"),
            ("real", [x["metrics"][name] for x in report["real_windows"]], "#1f77b4"),
        ):
            fig.add_trace(
                go.Histogram(x=values, name=label, histnorm="probability", opacity=0.6, marker_color=color,
                             legendgroup=label, showlegend=i == 0),
                row=r, col=c,
            )
    r, c = len(names) // cols + 1, len(names) % cols + 1
    controls = list(report["control_accuracy"])
    series = [("this model", {k: v["accuracy"] for k, v in report["control_accuracy"].items()}, "#d62728")]
    series += list(zip(report["published"], report["published"].values(), ("#7f7f7f", "#bcbd22"), strict=False))
    width = 0.8 / len(series)  # side-by-side bars by hand: barmode is "overlay" for the histograms
    for k, (label, figs, color) in enumerate(series):
        fig.add_trace(go.Bar(x=[i - 0.4 + width * (k + 0.5) for i in range(len(controls))],
                             y=[figs.get(c) for c in controls], width=width, name=label, marker_color=color),
                      row=r, col=c)
    fig.update_xaxes(tickvals=list(range(len(controls))), ticktext=controls, row=r, col=c)
    fig.update_layout(barmode="overlay", height=320 * rows, title="codeplay eval: generated vs real")
    fig.update_layout({f"yaxis{len(names) + 1}": {"range": [0, 1]}})
    table = html.escape(format_report(report))
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>codeplay eval</title></head><body>"
        f"<h1>codeplay eval</h1><pre>{table}</pre>"
        f"{fig.to_html(full_html=False, include_plotlyjs=True)}</body></html>"
    )


def write_report(report: dict, out_dir: str | os.PathLike, *, clips: bool = True) -> dict[str, Path]:
    """Write ``report.json``, ``report.html`` and (``clips=True``) the generated clips as
    ``clips/clip_NNN.mid`` into ``out_dir`` (created). Returns the paths written."""
    from .io import write_midi

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "report.json", "html": out / "report.html"}
    paths["json"].write_text(json.dumps(report_json(report), indent=2, default=_jsonable))
    paths["html"].write_text(report_html(report), encoding="utf-8")
    if clips:
        folder = out / "clips"
        folder.mkdir(exist_ok=True)
        for i, c in enumerate(report["clips"], 1):
            write_midi(c["piece"], folder / f"clip_{i:03d}.mid")
        paths["clips"] = folder
    return paths


def _jsonable(obj):
    if isinstance(obj, (tuple, set)):
        return list(obj)
    if hasattr(obj, "item"):  # numpy scalars
        return obj.item()
    return str(obj)
