"""``codeplay eval --two-sample``: an evaluation that can tell (issue 13, part 1).

1. Real windows from *validation* songs only (``codeplay_nb.dataset.split_of`` with the dataset's default
   ``val_fraction``, so the model never trained on them), spread evenly over the songs
   (:func:`validation_windows`).
2. For each model, one clip per real window asking for that window's tempo, meter, instrument families and
   key (the ``--paired`` protocol, :func:`codeplay_nb.evaluation.window_request`; the key is the window's
   annotation where the corpus has one: POP909 ``key_audio.txt``, the files' key signatures).
3. Real windows and clips are quantised to the same grid (:func:`~codeplay_nb.evaluation_structure.quantise_piece`)
   and measured (:func:`~codeplay_nb.evaluation_structure.clip_statistics`); a classifier grouped by song
   tries to tell them apart (:func:`~codeplay_nb.evaluation_classify.two_sample_test`).
4. Clips asking for each of the model's genres (same instruments, tempo and key across genres) measure how
   predictable the requested genre is from the music.

:func:`evaluate_structure` returns a JSON-able report; :func:`format_structure_table` prints it as one table
(real | model | compared model).
"""

from __future__ import annotations

import inspect
import math
import os
import random
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from .attributes import GENRES, KEYS, TEMPO_BIN_DEFAULT_BPM, normalize_key
from .errors import CodeplayError, MidiReadError
from .evaluation import (
    _default_compose,
    _load_model,
    find_midi_files,
    generate_clips,
    read_piece,
    window_request,
)
from .evaluation_classify import genre_predictability, two_sample_test
from .evaluation_structure import (
    FEATURE_NAMES,
    GROUPS,
    clip_features,
    clip_statistics,
    comparable_features,
    quantise_piece,
)
from .metrics import bar_count, crop_bars
from .music import Piece

ComposeFn = Callable[..., object]
SplitFn = Callable[[str, float], str]
GENRE_INSTRUMENTS = ("piano", "bass", "drums")


# ------------------------------------------------------------------ validation songs
def song_key(root: str | os.PathLike, path: str | os.PathLike) -> str:
    """The dataset's split key of a real file, as the corpus loaders name pieces and groups: ``pop909/001``
    for POP909's ``001/001.mid``, ``groove/drummer1/session1`` for a Groove MIDI file (a session is one
    group), else ``<folder name>/<path without suffix>`` (``nottingham/ashover1``)."""
    root, path = Path(root), Path(path)
    rel = path.relative_to(root)
    if len(rel.parts) == 2 and rel.parent.name == path.stem:  # POP909 layout: NNN/NNN.mid
        return f"{root.name}/{rel.parent.as_posix()}"
    if len(rel.parts) == 3 and rel.parts[0].startswith("drummer"):  # Groove MIDI: drummerN/sessionM/*.mid
        return f"{root.name}/{rel.parts[0]}/{rel.parts[1]}"
    return f"{root.name}/{rel.with_suffix('').as_posix()}"


def default_val_fraction() -> float:
    from .dataset import BuildConfig

    return BuildConfig().val_fraction


def validation_files(root: str | os.PathLike, *, val_fraction: float | None = None,
                     split_fn: SplitFn | None = None) -> list[Path]:
    """The MIDI files under ``root`` whose song the dataset holds back for validation."""
    if split_fn is None:
        from .dataset import split_of as split_fn
    fraction = default_val_fraction() if val_fraction is None else val_fraction
    return [p for p in find_midi_files(root) if split_fn(song_key(root, p), fraction) == "val"]


def tuning_split(key: str, fraction: float) -> str:
    """A split function for choosing decoding settings without touching the reported validation songs:
    ``"val"`` for a stable ``fraction`` of the *training* songs (their own hash), never a validation song."""
    from .corpora import stable_fraction
    from .dataset import split_of

    if split_of(key, fraction) == "val":
        return "train"
    return "val" if stable_fraction(f"tune:{key}") < fraction else "train"


def is_pop909_song(path: Path) -> bool:
    return path.stem == path.parent.name and (path.parent / "beat_midi.txt").exists()


def read_real(path: Path) -> tuple[Piece, list[tuple[int, str]]]:
    """A real file and its chord changes ``(tick, label)``. A POP909 song folder (``NNN/NNN.mid`` beside
    ``beat_midi.txt``) is read as the dataset reads it (:func:`codeplay_nb.corpora.pop909_piece`: on its
    annotated beats, keys from ``key_audio.txt``, chords from ``chord_midi.txt``); any other file as is."""
    if is_pop909_song(path):
        from .corpora import pop909_piece

        piece, reason, changes = pop909_piece(path.parent)
        if piece is None:
            raise CodeplayError(reason)
        return piece, changes
    return read_piece(path), []


def bar_chords(piece: Piece, changes: Sequence[tuple[int, str]], first: int, bars: int) -> list[str | None] | None:
    """One chord symbol per bar of bars ``first..first+bars-1`` (``"Am7"``; ``None`` for no chord): the
    annotated chord (Harte label) sounding longest in the bar, as the dataset labels training windows
    (:func:`codeplay_nb.chords.annotated_bar_chords`); ``None`` without chord annotations."""
    if not changes:
        return None
    from .chords import NO_CHORD, UNKNOWN, annotated_bar_chords, display

    labels = annotated_bar_chords(piece, changes, first + bars)[first:]
    return [None if label in (NO_CHORD, UNKNOWN) else display(label) for label in labels]


def validation_windows(
    root: str | os.PathLike, n: int, *, bars: int = 8, per_song: int = 4, seed: int = 0,
    val_fraction: float | None = None, split_fn: SplitFn | None = None,
) -> tuple[list[dict], list[dict]]:
    """Up to ``n`` non-overlapping ``bars``-bar windows holding notes from validation songs: up to
    ``per_song`` candidates per song (seeded), then taken round-robin over the songs so they spread evenly.
    Each window: ``{"file", "song", "first_bar" (1-based), "piece", "key" (annotated key or None)}``.
    Returns ``(windows, skipped files)``."""
    files = validation_files(root, val_fraction=val_fraction, split_fn=split_fn)
    if not files:
        raise CodeplayError(f"no validation songs among the MIDI files under {root}")
    rng = random.Random(seed)
    rng.shuffle(files)
    candidates: list[list[dict]] = []
    skipped: list[dict] = []
    for path in files:
        if sum(map(len, candidates)) >= 4 * n:
            break
        try:
            piece, changes = read_real(path)
            starts = list(range(0, bar_count(piece) - bars + 1, bars))
        except (MidiReadError, CodeplayError, ValueError) as exc:
            skipped.append({"file": str(path), "reason": str(exc)})
            continue
        rng.shuffle(starts)
        found = []
        for first in starts:
            if len(found) >= per_song:
                break
            window = crop_bars(piece, first, first + bars - 1)
            if window.n_notes:
                found.append({"file": str(Path(path).relative_to(root)), "song": song_key(root, path),
                              "first_bar": first + 1, "piece": window,
                              "key": normalize_key(window.key_at(0)) if window.key_signatures else None,
                              "chords": bar_chords(piece, changes, first, bars)})
        if found:
            candidates.append(found)
        else:
            skipped.append({"file": str(path), "reason": f"no {bars}-bar window with notes"})
    windows: list[dict] = []
    for i in range(per_song):
        windows += [c[i] for c in candidates if i < len(c)][: n - len(windows)]
    return windows, skipped


PAIRINGS = ("tracks", "families")


def paired_request(window: dict, *, chords: bool = False, pairing: str = "tracks") -> dict:
    """What the clip paired with a real window asks for: :func:`window_request` (one instrument per real track,
    or each family once with ``pairing="families"``), with the annotated key, and (``chords=True``, for a
    compose function that takes ``chords``) the window's annotated bar chords."""
    request = window_request(window["piece"], per_track=pairing == "tracks")
    if window.get("key"):
        request["key"] = window["key"]
    if chords and window.get("chords") and any(window["chords"]):
        request["chords"] = [c or "N" for c in window["chords"]]
    return request


def accepts_chords(compose_fn: ComposeFn) -> bool:
    try:
        return "chords" in inspect.signature(compose_fn).parameters
    except (TypeError, ValueError):
        return False


def measure(piece: Piece, bars: int, request: dict, *, written: Piece | None = None) -> dict:
    """``{"stats", "features"}`` of one clip on the shared grid (first ``bars`` bars)."""
    q = quantise_piece(crop_bars(piece, 0, bars - 1))
    stats = clip_statistics(q, bars, request, written=written)
    return {"stats": stats, "features": clip_features(q, bars, stats)}


def genre_requests(genres: Sequence[str], per_genre: int, seed: int = 0) -> list[dict]:
    """``per_genre`` requests per genre: piano, bass and drums in 4/4; request ``j`` of every genre shares
    one seeded tempo and key, so only the genre differs."""
    rng = random.Random(seed)
    draws = [(rng.choice(list(TEMPO_BIN_DEFAULT_BPM.values())), rng.choice(KEYS)) for _ in range(per_genre)]
    return [{"genre": g, "instruments": list(GENRE_INSTRUMENTS), "tempo": bpm, "key": key,
             "time_signature": (4, 4)} for g in genres for bpm, key in draws]


# ------------------------------------------------------------------ aggregation
def _mean(values) -> float | None:
    vals = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    return sum(vals) / len(vals) if vals else None


def aggregate(records: Sequence[dict], keys: Sequence[str | None]) -> dict:
    """Table values over clip records (``{"stats": ...}``): means over the clips where a statistic exists;
    key agreement of each estimator with ``keys[i]`` (the requested or annotated key; ``None`` skips, as does a
    clip without pitched notes)."""
    stats = [r["stats"] for r in records]
    out: dict = {"n": len(stats)}
    for name in ("silent_bars", "off8", "drum_similarity", "backbeat", "bass_pitch", "bass_notes_per_onset",
                 "repetition", "scale_fit", "chord_tone_fit", "chord_adherence", "file_length_ok", "file_short"):
        out[name] = _mean(s[name] for s in stats)
    for g in GROUPS:
        out[f"empty_bars_{g}"] = _mean(s["empty_bars"].get(g) for s in stats)
        out[f"pitch_range_{g}"] = _mean(s["pitch_range"].get(g) for s in stats) if g != "drums" else None
    for est in ("key_default", "key_krumhansl"):
        # a clip with no pitched notes (drums only) has no key to hear: it is left out, not counted as a miss
        pairs = [(s[est], k) for s, k in zip(stats, keys, strict=True) if k and s[est] is not None]
        out[f"{est}_agreement"] = sum(e == k for e, k in pairs) / len(pairs) if pairs else None
    return out


# ------------------------------------------------------------------ the evaluation
def _generate(requests, *, compose_fn, model, bars, seed, temperature, progress) -> list[dict]:
    clips = generate_clips(requests, 1, compose_fn=compose_fn, model=model, bars=bars, seed=seed,
                           temperature=temperature, progress=progress)
    for c in clips:
        c.update(measure(c["piece"], bars, c["request"], written=c["piece"]))
    return clips


def _two_sample(real: list[dict], clips: list[dict]) -> dict:
    """The two-sample test on the features both sets can be compared on (:func:`comparable_features`)."""
    keep = comparable_features([w["features"] for w in real])
    rows = lambda items: [[x["features"][i] for i in keep] for x in items]  # noqa: E731
    out = two_sample_test(rows(real), rows(clips), [w["song"] for w in real], [w["song"] for w in real],
                          feature_names=[FEATURE_NAMES[i] for i in keep])
    out["left_out"] = [name for i, name in enumerate(FEATURE_NAMES) if i not in keep]
    return out


def evaluate_one_model(real: list[dict], *, compose_fn: ComposeFn, model, bars: int, seed: int,
                       temperature: float, genres: Sequence[str], genre_n: int, progress=None,
                       pairing: str = "tracks") -> dict:
    """Paired clips, their table values, the two-sample test and genre predictability for one model."""
    t0 = time.perf_counter()
    requests = [paired_request(w, chords=accepts_chords(compose_fn), pairing=pairing) for w in real]
    clips = _generate(requests, compose_fn=compose_fn, model=model, bars=bars, seed=seed,
                      temperature=temperature, progress=progress)
    out = {
        "values": aggregate(clips, [r.get("key") for r in requests]),
        "two_sample": _two_sample(real, clips),
        "instruments_exact": _mean(c["controls"]["instruments"] for c in clips),
        "compose_seconds_median": statistics.median(c["seconds"] for c in clips),
        "clips": clips,
    }
    if genre_n > 0 and len(genres) > 1:
        g_requests = genre_requests(genres, genre_n, seed)
        g_clips = _generate(g_requests, compose_fn=compose_fn, model=model, bars=bars, seed=seed + 100_000,
                            temperature=temperature, progress=progress)
        out["genre"] = genre_predictability([c["features"] for c in g_clips], [r["genre"] for r in g_requests],
                                            seed=seed)
        out["genre"]["values"] = aggregate(g_clips, [r["key"] for r in g_requests])
    out["seconds"] = time.perf_counter() - t0
    return out


def evaluate_structure(
    real_dir: str | os.PathLike, *, n: int = 100, bars: int = 8, models: Sequence | None = None,
    compose_fn: ComposeFn | None = None, genres: Sequence[str] | None = None, genre_n: int = 10,
    seed: int = 0, temperature: float = 1.0, per_song: int = 4, val_fraction: float | None = None,
    split_fn: SplitFn | None = None, progress: Callable[[int, int, float], None] | None = None,
    pairing: str = "tracks",
) -> dict:
    """The whole evaluation for each of ``models`` (checkpoint folders, loaded models, or ``None`` for the
    shipped weights; default: the shipped weights) against the same real validation windows. Report keys:
    ``config``, ``real`` (table values of the real windows), ``models`` (label -> values, two-sample test,
    genre predictability, timing), ``windows`` (which real windows), ``skipped_files``. ``pairing``: the paired
    clip asks for one instrument per real track (``"tracks"``) or each family once (``"families"``, the
    protocol of reports before per-track pairing)."""
    if n < 2 or bars < 1:
        raise CodeplayError("--n must be at least 2 and --bars at least 1")
    if pairing not in PAIRINGS:
        raise CodeplayError(f"pairing {pairing!r}: use {' or '.join(PAIRINGS)}")
    t0 = time.perf_counter()
    real, skipped = validation_windows(real_dir, n, bars=bars, per_song=per_song, seed=seed,
                                       val_fraction=val_fraction, split_fn=split_fn)
    if len({w["song"] for w in real}) < 2:
        raise CodeplayError(f"need windows from at least two validation songs under {real_dir}")
    for w in real:
        w.update(measure(w["piece"], bars, paired_request(w, chords=True, pairing=pairing)))
    report: dict = {
        "config": {"real_dir": str(real_dir), "n": n, "bars": bars, "seed": seed, "temperature": temperature,
                   "genre_n": genre_n, "pairing": pairing, "n_real_windows": len(real), "n_songs": len({w["song"] for w in real}),
                   "val_fraction": default_val_fraction() if val_fraction is None else val_fraction},
        "real": aggregate(real, [w["key"] for w in real]),
        "models": {},
        "windows": [{"file": w["file"], "song": w["song"], "first_bar": w["first_bar"], "key": w["key"],
                     "features": _json_features(w["features"])} for w in real],
        "skipped_files": skipped,
    }
    for spec in models or [None]:
        label = "shipped" if spec is None else str(spec) if isinstance(spec, (str, os.PathLike)) else type(spec).__name__
        fn, model = compose_fn, spec
        if fn is None:
            fn, model = _default_compose(), _load_model(spec)
        model_genres = genres or sorted(getattr(model, "known_genres", None) or GENRES)
        result = evaluate_one_model(real, compose_fn=fn, model=model, bars=bars, seed=seed,
                                    temperature=temperature, genres=model_genres, genre_n=genre_n,
                                    progress=progress, pairing=pairing)
        report["models"][label] = result
    report["config"]["total_seconds"] = time.perf_counter() - t0
    return report


# ------------------------------------------------------------------ the table
ROWS: tuple[tuple[str, str, str], ...] = (
    # (label, value key, format: pct / num / acc)
    ("bars silent in every track", "silent_bars", "pct"),
    ("empty bars: piano", "empty_bars_piano", "pct"),
    ("empty bars: bass", "empty_bars_bass", "pct"),
    ("empty bars: drums", "empty_bars_drums", "pct"),
    ("empty bars: other families", "empty_bars_other", "pct"),
    ("written file = requested length", "file_length_ok", "pct"),
    ("written file ends early", "file_short", "pct"),
    ("onsets off the 8th grid", "off8", "num"),
    ("drums: consecutive-bar similarity", "drum_similarity", "num"),
    ("drums: snare on beats 2/4 (4/4)", "backbeat", "num"),
    ("bass: mean pitch", "bass_pitch", "num1"),
    ("bass: notes per onset", "bass_notes_per_onset", "num"),
    ("pitch range per track: piano", "pitch_range_piano", "num1"),
    ("pitch range per track: bass", "pitch_range_bass", "num1"),
    ("pitch range per track: other", "pitch_range_other", "num1"),
    ("bar vs 4 bars later similarity", "repetition", "num"),
    ("scale fit (requested key)", "scale_fit", "num"),
    ("chord-tone fit (best triad per bar)", "chord_tone_fit", "num"),
    ("chord tones of the requested bar chords", "chord_adherence", "num"),
    ("key = requested: music21 default", "key_default_agreement", "pct"),
    ("key = requested: Krumhansl", "key_krumhansl_agreement", "pct"),
)


def _cell(value, fmt: str) -> str:
    if value is None:
        return "-"
    if fmt == "pct":
        return f"{100 * value:.1f}%"
    return f"{value:.1f}" if fmt == "num1" else f"{value:.3f}"


def table_rows(report: dict) -> list[list[str]]:
    """The table as rows of cells: measure | real | one column per model."""
    models = report["models"]
    rows = [["measure", f"real ({report['config'].get('songs', 'validation')})", *models]]
    acc = [f"{100 * m['two_sample']['accuracy']:.1f}% ± {100 * m['two_sample']['std']:.1f}" for m in models.values()]
    rows.append(["two-sample classifier accuracy (50% = indistinguishable)", "50% goal", *acc])
    for label, key, fmt in ROWS:
        rows.append([label, _cell(report["real"][key], fmt), *(_cell(m["values"][key], fmt) for m in models.values())])
    genre = []
    for m in models.values():
        g = m.get("genre")
        genre.append("-" if g is None else f"{100 * g['accuracy']:.1f}% ± {100 * g['std']:.1f} "
                                           f"(chance {100 * g['chance']:.0f}%)")
    n_genres = max((len(m["genre"]["genres"]) for m in models.values() if m.get("genre")), default=0)
    rows.append([f"genre predictable from the music ({n_genres} genres)" if n_genres else
                 "genre predictable from the music (not run)", "-", *genre])
    rows.append(["instruments exactly as requested", "-", *(_cell(m["instruments_exact"], "pct") for m in models.values())])
    rows.append(["median seconds per clip", "-", *(f"{m['compose_seconds_median']:.2f}" for m in models.values())])
    return rows


def format_structure_table(report: dict, *, markdown: bool = False) -> str:
    """One table, generated vs real (plain text, or Markdown for README/MODEL_CARD)."""
    rows = table_rows(report)
    cfg = report["config"]
    head = (f"{cfg['n_real_windows']} real {cfg['bars']}-bar windows from {cfg['n_songs']} {cfg.get('songs', 'validation')} songs "
            f"({cfg['real_dir']}); one paired clip per window per model")
    if markdown:
        lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
        lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
        return head + "\n\n" + "\n".join(lines)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [head, ""]
    for j, r in enumerate(rows):
        lines.append("  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(r)))
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    for label, m in report["models"].items():
        telling = ", ".join(f"{name} ({w:+.2f})" for name, w in m["two_sample"].get("telling", []))
        lines.append(f"\n{label}: features that tell most (standardised weight, + = higher when generated): {telling}")
    lines.append(f"\ntime: {cfg.get('total_seconds', 0):.1f} s in all")
    return "\n".join(lines)


def _json_features(values) -> list:
    """A feature row for JSON (NaN, a statistic without a value, is not JSON: ``None``)."""
    return [None if isinstance(v, float) and not math.isfinite(v) else v for v in values]


def structure_report_json(report: dict) -> dict:
    """The report without pieces (clips keep request, seed, seconds, controls, stats and features)."""
    out = {k: v for k, v in report.items() if k != "models"}
    out["models"] = {}
    for label, m in report["models"].items():
        mm = {k: v for k, v in m.items() if k != "clips"}
        mm["clips"] = [{k: v for k, v in c.items() if k not in ("piece", "metrics", "attributes")} for c in m["clips"]]
        for c in mm["clips"]:
            c["features"] = _json_features(c["features"])
        out["models"][label] = mm
    return out


def merge_reports(report: dict, earlier: dict, name: str) -> list[str]:
    """Add the model columns of an earlier report (``two_sample_report.json``, e.g. written by the previous
    package version for the previous checkpoint, which the current tokenizer cannot load) to ``report``;
    a label already present becomes ``"label (name)"``. Returns warnings: the comparison is only fair
    on the same real windows."""
    warnings = []
    if [(w["file"], w["first_bar"]) for w in earlier.get("windows", [])] != [
            (w["file"], w["first_bar"]) for w in report["windows"]]:
        warnings.append(f"{name}: its real windows differ from this run's (other --n, --bars, --seed or data)")
    for label, m in earlier["models"].items():
        key = label if label not in report["models"] else f"{label} ({name})"
        report["models"][key] = m
    return warnings


__all__ = [
    "aggregate", "evaluate_one_model", "evaluate_structure", "format_structure_table", "genre_requests",
    "measure", "merge_reports", "paired_request", "read_real", "song_key", "structure_report_json", "table_rows",
    "validation_files", "validation_windows",
]
