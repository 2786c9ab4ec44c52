"""Training reports: loss curves of a run and the facts a model card needs, read from a checkpoint folder.

A run folder holds ``log_history.json`` (written while training, so a running job can be watched) and, once
finished, ``training_metrics.json`` (final figures plus the same history). Plotly is imported only when a
figure is drawn.
"""

from __future__ import annotations

import json
import math
import os
import struct
from pathlib import Path
from typing import Any

from ..errors import CodeplayError
from .checkpoint import MANIFEST_FILE, METRICS_FILE, TRAIN_CONFIG_FILE

LOG_FILE = "log_history.json"
WEIGHTS_FILE = "model.safetensors"

History = list[dict[str, Any]]


def read_log_history(source: str | os.PathLike | dict | list) -> History:
    """The Trainer log entries of a run: from a run/checkpoint folder (``log_history.json``, else
    ``training_metrics.json``), from the metrics dict :func:`codeplay_nb.model.train.train` returns, or a
    list of entries as is."""
    if isinstance(source, list):
        return source
    if isinstance(source, dict):
        return list(source.get("log_history", []))
    folder = Path(source)
    if not folder.is_dir():
        raise CodeplayError(f"training run folder {folder} not found; pass the --out folder of `codeplay train`")
    for name in (LOG_FILE, METRICS_FILE):
        f = folder / name
        if f.exists():
            data = json.loads(f.read_text())
            return data if isinstance(data, list) else list(data.get("log_history", []))
    raise CodeplayError(f"{folder} holds no {LOG_FILE} or {METRICS_FILE}; is it a `codeplay train` output folder?")


def loss_curves(source: str | os.PathLike | dict | list) -> dict[str, list[tuple[int, float]]]:
    """``{"train": [(step, loss), ...], "val": [(step, eval_loss), ...]}`` sorted by step; a step evaluated
    twice (the closing evaluation repeats the last periodic one) appears once, with its latest value."""
    curves: dict[str, dict[int, float]] = {"train": {}, "val": {}}
    for entry in read_log_history(source):
        for key, name in (("loss", "train"), ("eval_loss", "val")):
            value = entry.get(key)
            if value is not None and math.isfinite(float(value)):
                curves[name][int(entry["step"])] = float(value)
    return {name: sorted(points.items()) for name, points in curves.items()}


def loss_figure(source: str | os.PathLike | dict | list, *, title: str | None = None):
    """A Plotly figure of the training loss (and validation loss when the run had a validation split)
    against the optimizer step."""
    import plotly.graph_objects as go

    curves = loss_curves(source)
    if not curves["train"] and not curves["val"]:
        raise CodeplayError("this run has logged no loss yet; wait for the first logging step (--logging-steps)")
    fig = go.Figure()
    for name, label, mode in (("train", "train", "lines"), ("val", "validation", "lines+markers")):
        if curves[name]:
            steps, values = zip(*curves[name], strict=True)
            fig.add_trace(go.Scatter(x=list(steps), y=list(values), mode=mode, name=label,
                                     hovertemplate="step %{x}<br>loss %{y:.3f}<extra>" + label + "</extra>"))
    fig.update_layout(title=title or "Music model loss (cross-entropy, nats per token)",
                      xaxis_title="optimizer step", yaxis_title="loss", template="plotly_white",
                      legend={"orientation": "h", "y": 1.02, "yanchor": "bottom"})
    return fig


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def _safetensors_parameters(path: Path) -> tuple[int, str]:
    """Parameter count and dtype from a safetensors header (no torch needed)."""
    with path.open("rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    total, dtypes = 0, set()
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        total += math.prod(spec["shape"])
        dtypes.add(spec["dtype"])
    return total, ",".join(sorted(dtypes))


def _round(x: Any, digits: int = 4) -> Any:
    return round(float(x), digits) if isinstance(x, (int, float)) else x


def model_card_summary(checkpoint: str | os.PathLike) -> dict:
    """What a model card states about a checkpoint: training data (from its data manifest), sizes, the
    training run (steps, tokens, time, settings) and the final train/validation loss."""
    p = Path(checkpoint)
    if not (p / "config.json").exists():
        raise CodeplayError(f"{p} is not a model checkpoint (no config.json); pass a `codeplay train --out` folder")
    cfg = _read_json(p / "config.json")
    manifest = _read_json(p / MANIFEST_FILE)
    train_cfg = _read_json(p / TRAIN_CONFIG_FILE)
    metrics = _read_json(p / METRICS_FILE)
    weights = p / WEIGHTS_FILE
    n_params, dtype = _safetensors_parameters(weights) if weights.exists() else (metrics.get("parameters"), None)
    curves = loss_curves(metrics) if metrics.get("log_history") else {"train": [], "val": []}
    val = metrics.get("val_loss_final", curves["val"][-1][1] if curves["val"] else None)
    return {
        "path": str(p),
        "data": {
            "sources": manifest.get("sources", []),
            "genres": manifest.get("genres"),  # recorded only by builds that write it
            "splits": manifest.get("splits", {}),
            "per_source": manifest.get("per_source", {}),
            "example_tokens": manifest.get("example_tokens", {}),
            "window_bars": [manifest.get("config", {}).get("min_bars"), manifest.get("config", {}).get("max_bars")],
            "transpositions": manifest.get("config", {}).get("transpositions"),
            "seed": manifest.get("seed"),
            "skipped_files": len(manifest.get("skipped", [])),
        },
        "model": {
            "architecture": "GPT-2 (transformers.GPT2LMHeadModel)",
            "n_layer": cfg.get("n_layer"), "n_embd": cfg.get("n_embd"), "n_head": cfg.get("n_head"),
            "context_tokens": cfg.get("n_positions"), "vocab_size": cfg.get("vocab_size"),
            "parameters": n_params, "weights_dtype": dtype,
            "weights_mb": round(weights.stat().st_size / 1e6, 2) if weights.exists() else None,
        },
        "training": {
            "steps": metrics.get("steps"),
            "tokens_seen": metrics.get("tokens_seen"),
            "seconds": metrics.get("seconds"),
            "tokens_per_second": metrics.get("tokens_per_second"),
            "batch_size": train_cfg.get("batch_size"), "block_size": train_cfg.get("block_size"),
            "learning_rate": train_cfg.get("learning_rate"), "seed": train_cfg.get("seed"),
            "bf16": train_cfg.get("bf16"),
        },
        "loss": {
            "train_final": _round(metrics.get("train_loss_final")),
            "train_mean": _round(metrics.get("train_loss_mean")),
            "val_final": _round(val),
            "val_perplexity": round(math.exp(val), 2) if val is not None else None,
        },
    }


def format_model_card(summary: dict) -> str:
    """The summary as Markdown (tables for a README section or MODEL_CARD.md)."""
    d, m, t, loss = summary["data"], summary["model"], summary["training"], summary["loss"]
    lines = ["## Music model", "", "| | |", "|---|---|",
             f"| architecture | {m['architecture']}: {m['n_layer']} layers x {m['n_embd']} wide, "
             f"{m['n_head']} heads, {m['context_tokens']}-token context |",
             f"| parameters | {m['parameters']:,} ({m['weights_dtype']}, {m['weights_mb']} MB) |"
             if m["parameters"] else "| parameters | unknown |",
             f"| training data | {', '.join(d['sources']) or 'unknown'} |"]
    if d["genres"]:
        lines.append(f"| genres seen | {', '.join(sorted(d['genres']))} |")
    for split, s in d["splits"].items():
        lines.append(f"| {split} split | {s['examples']:,} windows, {s['tokens']:,} tokens |")
    lines += [f"| steps | {t['steps']} (batch {t['batch_size']} x {t['block_size']} tokens, "
              f"lr {t['learning_rate']}, seed {t['seed']}) |",
              f"| tokens seen | {t['tokens_seen']:,} in {t['seconds']} s ({t['tokens_per_second']} tokens/s) |"
              if t["tokens_seen"] else "| tokens seen | unknown |",
              f"| final train loss | {loss['train_final']} |",
              f"| final validation loss | {loss['val_final']} (perplexity {loss['val_perplexity']}) |"
              if loss["val_final"] is not None else "| final validation loss | no validation split |"]
    if d["per_source"]:
        lines += ["", "| source | bars | train windows | val windows |", "|---|---:|---:|---:|"]
        for src, s in d["per_source"].items():
            lines.append(f"| {src} | {s.get('bars', 0):,} | {s.get('train_examples', 0):,} | "
                         f"{s.get('val_examples', 0):,} |")
    return "\n".join(lines) + "\n"
