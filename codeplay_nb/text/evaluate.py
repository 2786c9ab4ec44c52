"""Accuracy of the classifier on labelled prompts (a hand-made TSV or generated validation prompts)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..attributes import EMOTIONS, GENRES, TEMPO_BINS, Attributes
from ..errors import CodeplayError
from .prompts import PromptExample

UNLABELLED = "-"


@dataclass(frozen=True)
class LabelledPrompt:
    """One row of a labelled prompt file; ``None`` = not labelled (``-`` in the file)."""

    prompt: str
    genre: str | None
    emotion: str | None
    tempo_bin: str | None
    instruments: tuple[str, ...] | None


def read_labelled_tsv(path: str | Path) -> list[LabelledPrompt]:
    """Read ``prompt<TAB>genre<TAB>emotion<TAB>tempo<TAB>instruments`` (header row, ``-`` = unlabelled)."""
    p = Path(path)
    if not p.is_file():
        raise CodeplayError(f"no labelled prompt file at {p}")
    rows = []
    with p.open(encoding="utf-8", newline="") as f:
        for i, row in enumerate(csv.DictReader(f, delimiter="\t"), start=2):
            try:
                vals = {k: (row[k] or UNLABELLED).strip() for k in ("genre", "emotion", "tempo", "instruments")}
                prompt = row["prompt"]
            except KeyError as exc:
                raise CodeplayError(f"{p}:{i}: expected columns prompt, genre, emotion, tempo, instruments") from exc
            label = {k: None if v == UNLABELLED else v for k, v in vals.items()}
            for key, allowed in (("genre", GENRES), ("emotion", EMOTIONS), ("tempo", TEMPO_BINS)):
                if label[key] is not None and label[key] not in allowed:
                    raise CodeplayError(f"{p}:{i}: unknown {key} {label[key]!r}")
            inst = None if label["instruments"] is None else tuple(x.strip() for x in label["instruments"].split(","))
            rows.append(LabelledPrompt(prompt, label["genre"], label["emotion"], label["tempo"], inst))
    return rows


def score(labels: Sequence[LabelledPrompt], predictions: Sequence[Attributes]) -> dict:
    """Per-head accuracy where labelled, instrument recall/precision where instruments are named."""
    hits = {"genre": [0, 0], "emotion": [0, 0], "tempo_bin": [0, 0]}
    inst_found = inst_named = inst_predicted = inst_correct = 0
    for lab, pred in zip(labels, predictions, strict=True):
        for head, true, got in (
            ("genre", lab.genre, pred.genre), ("emotion", lab.emotion, pred.emotion),
            ("tempo_bin", lab.tempo_bin, pred.tempo_bin),
        ):
            if true is not None:
                hits[head][0] += int(true == got)
                hits[head][1] += 1
        if lab.instruments:
            inst_named += len(lab.instruments)
            inst_found += len(set(lab.instruments) & set(pred.instruments))
            inst_predicted += len(pred.instruments)
            inst_correct += len(set(lab.instruments) & set(pred.instruments))
    out: dict = {}
    for head, (ok, n) in hits.items():
        out[head] = ok / n if n else float("nan")
        out[f"n_{head}"] = n
    out["instrument_recall"] = inst_found / inst_named if inst_named else float("nan")
    out["instrument_precision"] = inst_correct / inst_predicted if inst_predicted else float("nan")
    out["n_instruments"] = inst_named
    out["n_prompts"] = len(labels)
    return out


def evaluate_prompts(path: str | Path, *, model=None) -> dict:
    """Accuracies on a labelled TSV (see :func:`read_labelled_tsv`) with the shipped or given model."""
    from .classifier import default_classifier

    rows = read_labelled_tsv(path)
    clf = model or default_classifier()
    return score(rows, clf.classify_many([r.prompt for r in rows]))


def read_languages(path: str | Path) -> list[str]:
    """The ``lang`` column of a labelled TSV (``"en"`` where the file has none)."""
    with Path(path).open(encoding="utf-8", newline="") as f:
        return [(row.get("lang") or "en").strip() for row in csv.DictReader(f, delimiter="\t")]


def evaluate_by_language(path: str | Path, *, model=None) -> dict[str, dict]:
    """:func:`score` on a labelled TSV, for all rows and per value of its ``lang`` column (en, ko)."""
    from .classifier import default_classifier

    rows = read_labelled_tsv(path)
    langs = read_languages(path)
    preds = (model or default_classifier()).classify_many([r.prompt for r in rows])
    out = {"all": score(rows, preds)}
    for lang in sorted(set(langs)):
        idx = [i for i, x in enumerate(langs) if x == lang]
        out[lang] = score([rows[i] for i in idx], [preds[i] for i in idx])
    return out


def examples_as_labels(examples: Sequence[PromptExample]) -> list[LabelledPrompt]:
    """Generated examples as labelled rows (instruments ``None`` when none are named)."""
    return [LabelledPrompt(e.text, e.genre, e.emotion, e.tempo_bin, e.instruments or None) for e in examples]


def evaluate_examples(examples: Sequence[PromptExample], *, model) -> dict:
    """Accuracies on generated prompts; genre accuracy counts "no genre" (``None``) as a label here."""
    preds = []
    for i in range(0, len(examples), 256):
        preds.extend(model.classify_many([e.text for e in examples[i:i + 256]]))
    out = score(examples_as_labels(examples), preds)
    with_genre = [(e, p) for e, p in zip(examples, preds, strict=True) if e.genre is not None]
    out["genre_incl_none"] = sum(e.genre == p.genre for e, p in zip(examples, preds, strict=True)) / max(1, len(examples))
    out["genre"] = sum(e.genre == p.genre for e, p in with_genre) / max(1, len(with_genre))
    return out


def confusion_matrix(true: Sequence[str | None], pred: Sequence[str | None], labels: Sequence[str]) -> list[list[int]]:
    """Rows = true label, columns = predicted label (``None`` counted as the label ``"none"``)."""
    index = {lab: i for i, lab in enumerate(labels)}
    m = [[0] * len(labels) for _ in labels]
    for t, p in zip(true, pred, strict=True):
        t, p = t or "none", p or "none"
        if t in index and p in index:
            m[index[t]][index[p]] += 1
    return m


def confusion_figures(examples: Sequence[PromptExample], *, model) -> dict:
    """Plotly confusion matrices (genre incl. "none", emotion, tempo bin) on generated prompts."""
    preds = model.classify_many([e.text for e in examples])
    figs = {}
    for head, labels, true, got in (
        ("genre", (*GENRES, "none"), [e.genre for e in examples], [p.genre for p in preds]),
        ("emotion", EMOTIONS, [e.emotion for e in examples], [p.emotion for p in preds]),
        ("tempo_bin", TEMPO_BINS, [e.tempo_bin for e in examples], [p.tempo_bin for p in preds]),
    ):
        figs[head] = plot_confusion(confusion_matrix(true, got, labels), labels, f"{head} (held-out prompts)")
    return figs


def plot_confusion(matrix: list[list[int]], labels: Sequence[str], title: str):
    """A Plotly heat map of a confusion matrix (Plotly is imported only here)."""
    from ..errors import require

    go = require("plotly.graph_objects", "notebook", "confusion-matrix plots")
    fig = go.Figure(go.Heatmap(z=matrix, x=list(labels), y=list(labels), colorscale="Blues", text=matrix,
                               texttemplate="%{text}"))
    fig.update_layout(title=title, xaxis_title="predicted", yaxis_title="true", yaxis_autorange="reversed",
                      width=520, height=480)
    return fig


def natural_report(paths: Sequence[str | Path], *, model=None) -> list[dict]:
    """One row per file and language (en, ko, all): accuracy per head, instrument recall and precision."""
    rows = []
    for path in paths:
        for lang, m in evaluate_by_language(path, model=model).items():
            rows.append({"set": Path(path).stem, "lang": lang, "n": m["n_prompts"],
                         **{k: round(m[k], 3) for k in ("genre", "emotion", "tempo_bin", "instrument_recall",
                                                        "instrument_precision")}})
    return rows


def natural_confusion_figures(path: str | Path, *, model=None) -> dict:
    """Plotly confusion matrices (genre incl. "none", emotion, tempo bin) on a labelled TSV, where labelled."""
    from .classifier import default_classifier

    rows = read_labelled_tsv(path)
    preds = (model or default_classifier()).classify_many([r.prompt for r in rows])
    figs = {}
    for head, labels, attr in (("genre", (*GENRES, "none"), "genre"), ("emotion", EMOTIONS, "emotion"),
                               ("tempo_bin", TEMPO_BINS, "tempo_bin")):
        pairs = [(getattr(r, attr), getattr(p, attr)) for r, p in zip(rows, preds, strict=True)
                 if getattr(r, attr) is not None]
        m = confusion_matrix([t for t, _ in pairs], [g for _, g in pairs], labels)
        figs[head] = plot_confusion(m, labels, f"{head} ({Path(path).stem})")
    return figs
