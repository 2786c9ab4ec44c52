"""Evaluate the music model: generated N-bar clips against real N-bar windows, and control accuracy.

:func:`evaluate_model` composes clips for attribute sets (given, or drawn at random from the vocabulary),
measures them with :mod:`codeplay_nb.metrics`, samples real windows of the same length from a folder of
MIDI files, and returns a JSON-able report: mean ± std per metric for both, whether each generated mean lies
within one real standard deviation, and the control accuracies (tempo bin, key, instruments, bar count)
next to published figures. :func:`write_report` writes ``report.json``, a Plotly HTML page and the clips.
"""

from __future__ import annotations

import logging
import os
import random
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from .attributes import EMOTIONS, GENRES, KEYS, TEMPO_BIN_DEFAULT_BPM, TEMPO_BINS, Attributes
from .errors import CodeplayError, MidiReadError
from .evaluation_report import format_report, report_html, report_json, write_report
from .instruments import FAMILY_NAMES, family_of_program
from .metrics import (
    QUALITY_METRICS,
    bar_count,
    bar_count_match,
    compute_metrics,
    crop_bars,
    estimate_key,
    instrument_match,
    key_match,
    summarize,
    tempo_bin_match,
)
from .music import Piece

log = logging.getLogger(__name__)

# Control accuracy reported by text2midi (Bhandari et al., AAAI 2025) on the MidiCaps test set, for
# text2midi itself and for MuseCoco. MidiCaps has its own tempo bins; ours are attributes.TEMPO_BINS.
PUBLISHED: dict[str, dict[str, float]] = {
    "text2midi (MidiCaps)": {"tempo_bin": 0.397, "key": 0.336},
    "MuseCoco (MidiCaps)": {"tempo_bin": 0.217, "key": 0.137},
}
CONTROLS: tuple[str, ...] = ("tempo_bin", "key", "instruments", "bar_count")
REPORT_KEYS: tuple[str, ...] = (
    "config", "timing", "metrics", "control_accuracy", "published", "attribute_sets", "clips",
    "real_windows", "skipped_files",
)
MIDI_SUFFIXES = (".mid", ".midi", ".smf")

ComposeFn = Callable[..., object]


# ------------------------------------------------------------------ attribute sets
_FIELD_ALIASES = {
    "genre": "genre", "emotion": "emotion", "mood": "emotion", "tempo": "tempo", "bpm": "tempo",
    "key": "key", "instruments": "instruments", "instrument": "instruments",
    "time_signature": "time_signature", "timesig": "time_signature", "meter": "time_signature",
}


def parse_attribute_set(text: str) -> dict:
    """Parse ``"genre=pop,emotion=sad,tempo=fast,key=A minor,instruments=piano+bass+drums"`` into
    keyword arguments for ``compose``. ``tempo`` is a BPM number or a tempo bin (then the bin's default
    BPM is requested); instruments are separated by ``+``, ``;`` or commas; ``time_signature`` is ``3/4``.
    Values are checked against the attribute vocabulary."""
    fields: dict[str, str] = {}
    last = None
    for part in text.split(","):
        if "=" in part:
            name, value = part.split("=", 1)
            key = _FIELD_ALIASES.get(name.strip().lower().replace("-", "_"))
            if key is None:
                raise CodeplayError(
                    f"unknown attribute {name.strip()!r} in {text!r}; use genre, emotion, tempo, key, "
                    "instruments or time_signature"
                )
            fields[key] = value.strip()
            last = key
        elif part.strip():
            if last is None:
                raise CodeplayError(f"cannot read {text!r}: write attributes like 'genre=pop,emotion=sad'")
            fields[last] += "," + part.strip()
    request: dict = {}
    if fields.get("tempo"):
        t = fields["tempo"].strip().lower().replace(" ", "_").replace("-", "_")
        try:
            request["tempo"] = float(t.removesuffix("bpm").strip("_"))
        except ValueError:
            if t not in TEMPO_BINS:
                raise CodeplayError(
                    f"unknown tempo {fields['tempo']!r}: give a BPM number or one of {', '.join(TEMPO_BINS)}"
                ) from None
            request["tempo"] = TEMPO_BIN_DEFAULT_BPM[t]
    time_sig = None
    if fields.get("time_signature"):
        try:
            num, den = (int(x) for x in fields["time_signature"].split("/"))
        except ValueError:
            raise CodeplayError(f"time signature {fields['time_signature']!r}: write it like 3/4") from None
        time_sig = (num, den)
    instruments = [x for x in fields.get("instruments", "").replace("+", ",").replace(";", ",").split(",") if x.strip()]
    attrs = Attributes(
        genre=fields.get("genre") or None,
        emotion=fields.get("emotion") or None,
        bpm=request.get("tempo"),
        key=fields.get("key") or None,
        time_signature=time_sig,
        instruments=tuple(instruments),
    )
    for name in ("genre", "emotion", "key", "time_signature"):
        if getattr(attrs, name) is not None:
            request[name] = getattr(attrs, name)
    if attrs.instruments:
        request["instruments"] = list(attrs.instruments)
    return request


def random_attribute_sets(n: int, seed: int = 0) -> list[dict]:
    """``n`` requests drawn (seeded) from the vocabulary: a genre, an emotion, a tempo bin (its default
    BPM), a key and 1-3 instrument families."""
    rng = random.Random(seed)
    sets = []
    for _ in range(n):
        sets.append({
            "genre": rng.choice(GENRES),
            "emotion": rng.choice(EMOTIONS),
            "tempo": TEMPO_BIN_DEFAULT_BPM[rng.choice(TEMPO_BINS)],
            "key": rng.choice(KEYS),
            "instruments": rng.sample(FAMILY_NAMES, rng.choice((1, 2, 3))),
        })
    return sets


MAX_TRACKS = 8  # compose's limit


def window_request(window: Piece, *, per_track: bool = True) -> dict:
    """The compose request a real window answers: its tempo, meter, estimated key and instruments (genre and
    emotion left to the model). Used by the *paired* evaluation, which composes one clip per real window so
    the generated and real sets ask for the same things.

    ``per_track``: one instrument per real track that plays (a POP909 window's melody, bridge and piano
    accompaniment ask for three piano tracks), at most :data:`MAX_TRACKS`, every family kept first; else
    each family once."""
    played = [family_of_program(t.program, t.is_drum) for t in window.tracks if t.notes]
    if per_track:
        first = {f: played.index(f) for f in dict.fromkeys(played)}
        extra = [i for i, f in enumerate(played) if first[f] != i]
        keep = sorted([*first.values(), *extra][:MAX_TRACKS])
        instruments = [played[i] for i in keep]
    else:
        instruments = [f for f in FAMILY_NAMES if f in set(played)]
    ts = window.time_signatures[0]
    request = {
        "tempo": round(float(window.tempos[0].qpm), 1),
        "time_signature": (ts.numerator, ts.denominator),
        "instruments": instruments,
    }
    key = estimate_key(window)
    if key:
        request["key"] = key
    return request


def control_checks(piece: Piece, request: dict, bars: int) -> dict[str, bool | None]:
    """Whether the piece honours each requested control (``None``: not requested)."""
    return {
        "tempo_bin": tempo_bin_match(piece, request["tempo"]) if request.get("tempo") is not None else None,
        "key": key_match(piece, request["key"]) if request.get("key") else None,
        "instruments": instrument_match(piece, request["instruments"]) if request.get("instruments") else None,
        "bar_count": bar_count_match(piece, bars),
    }


def control_accuracy(checks: Iterable[dict[str, bool | None]]) -> dict[str, dict]:
    """``{control: {"correct", "total", "accuracy"}}`` over the checks that were requested."""
    checks = list(checks)
    out = {}
    for name in CONTROLS:
        vals = [c[name] for c in checks if c.get(name) is not None]
        correct = sum(bool(v) for v in vals)
        out[name] = {"correct": correct, "total": len(vals), "accuracy": correct / len(vals) if vals else None}
    return out


# ------------------------------------------------------------------ real windows
def find_midi_files(root: str | os.PathLike) -> list[Path]:
    """MIDI files (``.mid``, ``.midi``, any case) anywhere under ``root``, sorted."""
    root = Path(root)
    if not root.is_dir():
        raise CodeplayError(f"{root} is not a folder of MIDI files")
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in MIDI_SUFFIXES and p.is_file())


def sample_real_windows(
    root: str | os.PathLike, n: int, *, bars: int = 4, seed: int = 0, per_file: int = 4
) -> tuple[list[dict], list[dict]]:
    """Up to ``n`` random ``bars``-bar windows holding at least one note, at most ``per_file`` from each
    file, files visited in a seeded random order. Returns ``(windows, skipped)``: each window is
    ``{"file", "first_bar" (1-based), "piece"}``; each skipped file ``{"file", "reason"}`` (also logged)."""
    files = find_midi_files(root)
    if not files:
        raise CodeplayError(f"no MIDI files (*.mid, *.midi) under {root}")
    rng = random.Random(seed)
    rng.shuffle(files)
    found: list[dict] = []
    skipped: list[dict] = []

    def skip(path: Path, reason: str) -> None:
        log.warning("skipping %s: %s", path, reason)
        skipped.append({"file": str(path), "reason": reason})

    for path in files:
        if len(found) >= n:
            break
        try:
            piece = read_piece(path)
            starts = list(range(0, bar_count(piece) - bars + 1, bars))
            rng.shuffle(starts)
            taken = 0
            for first in starts:
                if taken >= per_file or len(found) >= n:
                    break
                window = crop_bars(piece, first, first + bars - 1)
                if window.n_notes:
                    found.append({"file": str(path.relative_to(root)), "first_bar": first + 1, "piece": window})
                    taken += 1
        except MidiReadError as exc:
            skip(path, str(exc))
            continue
        except Exception as exc:  # a file the reader accepted but the bar arithmetic cannot use
            skip(path, f"{type(exc).__name__}: {exc}")
            continue
        if not taken:
            skip(path, f"no {bars}-bar window with notes")
    return found, skipped


def read_piece(path: Path) -> Piece:
    from .io import read_midi

    return read_midi(path)


# ------------------------------------------------------------------ generation
def _default_compose() -> ComposeFn:
    import codeplay_nb

    fn = codeplay_nb.compose
    return fn if callable(fn) else fn.compose  # the submodule can shadow the lazy function attribute


def _load_model(path_or_model):
    if path_or_model is not None and not isinstance(path_or_model, (str, os.PathLike)):
        return path_or_model  # already a model
    try:
        from .model import load_model
    except ImportError:  # the package may not re-export it
        from .model.checkpoint import load_model
    return load_model(path_or_model)


def generate_clips(
    requests: Sequence[dict],
    per_request: int,
    *,
    compose_fn: ComposeFn,
    model=None,
    bars: int = 4,
    seed: int = 0,
    temperature: float = 1.0,
    progress: Callable[[int, int, float], None] | None = None,
) -> list[dict]:
    """Compose ``per_request`` clips for each request (seeds ``seed``, ``seed + 1``, ...). Each clip record
    holds the request, the seed, the composed piece, the song's attributes (a key or chords the model chose
    are there), its metrics (on its first ``bars`` bars, cut like a real window), the control checks and the
    seconds it took."""
    clips = []
    total = len(requests) * per_request
    for set_index, request in enumerate(requests):
        for _ in range(per_request):
            clip_seed = seed + len(clips)
            t0 = time.perf_counter()
            song = compose_fn(bars=bars, seed=clip_seed, temperature=temperature, model=model, **request)
            secs = time.perf_counter() - t0
            piece = song.piece
            clips.append({
                "set": set_index,
                "request": request,
                "seed": clip_seed,
                "seconds": secs,
                "piece": piece,
                "attributes": song.attributes,
                "metrics": compute_metrics(crop_bars(piece, 0, bars - 1)),
                "controls": control_checks(piece, request, bars),
            })
            if progress is not None:
                progress(len(clips), total, secs)
    return clips


# ------------------------------------------------------------------ the evaluation
def histogram_overlap(a: Sequence[float], b: Sequence[float], bins: int = 20) -> float | None:
    """Overlapping area of two distributions: the intersection of their normalised histograms on
    ``bins`` equal bins spanning both (1.0 = same histogram, 0.0 = disjoint; Yang & Lerch 2020 use the
    same idea with kernel density estimates)."""
    import numpy as np

    a = np.asarray([x for x in a if x is not None], dtype=float)
    b = np.asarray([x for x in b if x is not None], dtype=float)
    if not len(a) or not len(b):
        return None
    lo, hi = float(min(a.min(), b.min())), float(max(a.max(), b.max()))
    if hi <= lo:
        return 1.0
    ha, _ = np.histogram(a, bins=bins, range=(lo, hi))
    hb, _ = np.histogram(b, bins=bins, range=(lo, hi))
    return float(np.minimum(ha / len(a), hb / len(b)).sum())


def compare_metrics(generated: Sequence[dict], real: Sequence[dict]) -> dict[str, dict]:
    """Per quality metric: mean ± std of generated and real values; ``within_real_std``: whether the
    generated mean lies within one real standard deviation of the real mean (a lenient test: real corpora
    as different as Nottingham and POP909 pass it on every metric); ``overlap``: :func:`histogram_overlap`
    of the two distributions (the stricter figure)."""
    out = {}
    for name in QUALITY_METRICS:
        gv, rv = [m[name] for m in generated], [m[name] for m in real]
        g, r = summarize(gv), summarize(rv)
        within = None
        if g["mean"] is not None and r["mean"] is not None:
            within = abs(g["mean"] - r["mean"]) <= r["std"] + 1e-12
        out[name] = {"generated": g, "real": r, "within_real_std": within, "overlap": histogram_overlap(gv, rv)}
    return out


def evaluate_model(
    real_dir: str | os.PathLike,
    *,
    n: int = 50,
    attribute_sets: Sequence[dict | str] | None = None,
    model=None,
    compose_fn: ComposeFn | None = None,
    bars: int = 4,
    seed: int = 0,
    n_real: int = 200,
    per_file: int = 4,
    temperature: float = 1.0,
    paired: bool = False,
    progress: Callable[[int, int, float], None] | None = None,
) -> dict:
    """The whole evaluation as a JSON-able report (keys :data:`REPORT_KEYS`; clip and window records also
    carry their ``piece`` for :func:`write_report`, which drops them from the JSON).

    With ``attribute_sets`` (dicts of compose arguments, or strings for :func:`parse_attribute_set`),
    ``n`` clips are composed for each set; without, ``n`` sets are drawn with :func:`random_attribute_sets`
    and one clip is composed for each. With ``paired``, one clip is composed for each of the first ``n``
    real windows, with that window's request (:func:`window_request`). ``compose_fn`` defaults to :func:`codeplay_nb.compose` with the
    model ``codeplay_nb.model.load_model(model)``; any function with the same signature that returns an
    object with a ``piece`` works (tests use one).
    """
    if n < 1 or bars < 1 or n_real < 1:
        raise CodeplayError("--n, --bars and --n-real must be at least 1")
    t_start = time.perf_counter()
    if paired and attribute_sets:
        raise CodeplayError("give either attribute sets or --paired, not both")
    if attribute_sets:
        requests = [parse_attribute_set(a) if isinstance(a, str) else dict(a) for a in attribute_sets]
        per_request, drawn = n, "given"
    else:
        requests, per_request, drawn = random_attribute_sets(n, seed), 1, "random"
    model_name = None if model is None or not isinstance(model, (str, os.PathLike)) else str(model)
    if compose_fn is None:
        compose_fn = _default_compose()
        model = _load_model(model)
    real, skipped = sample_real_windows(real_dir, n_real, bars=bars, seed=seed, per_file=per_file)
    if not real:
        raise CodeplayError(f"no {bars}-bar windows with notes in the MIDI files under {real_dir}")
    for w in real:
        w["metrics"] = compute_metrics(w["piece"])
    if paired:
        requests, per_request, drawn = [window_request(w["piece"]) for w in real[:n]], 1, "paired with real windows"
    t_gen = time.perf_counter()
    clips = generate_clips(
        requests, per_request, compose_fn=compose_fn, model=model, bars=bars, seed=seed,
        temperature=temperature, progress=progress,
    )
    compose_secs = [c["seconds"] for c in clips]
    return {
        "config": {
            "real_dir": str(real_dir), "n": n, "bars": bars, "seed": seed, "n_real": n_real,
            "per_file": per_file, "temperature": temperature, "model": model_name,
            "attribute_sets": drawn, "n_generated": len(clips), "n_real_windows": len(real),
        },
        "timing": {
            "total_seconds": time.perf_counter() - t_start,
            "generation_seconds": time.perf_counter() - t_gen,
            "compose_seconds_median": statistics.median(compose_secs),
            "compose_seconds_max": max(compose_secs),
        },
        "metrics": compare_metrics([c["metrics"] for c in clips], [w["metrics"] for w in real]),
        "control_accuracy": control_accuracy(c["controls"] for c in clips),
        "published": PUBLISHED,
        "attribute_sets": requests,
        "clips": clips,
        "real_windows": real,
        "skipped_files": skipped,
    }


def evaluate_prompts_file(path: str | os.PathLike):
    """Accuracy of the text classifier on a labelled prompt file (delegates to
    :func:`codeplay_nb.text.evaluate_prompts`)."""
    if not Path(path).is_file():
        raise CodeplayError(f"prompt file not found: {path} (columns: prompt, genre, emotion, tempo, instruments)")
    from .text import evaluate_prompts

    result = evaluate_prompts(path)
    if isinstance(result, dict):  # NaN (no labels for a head) -> None, so the JSON stays valid
        result = {k: None if isinstance(v, float) and v != v else v for k, v in result.items()}
    return result


__all__ = [
    "CONTROLS", "PUBLISHED", "REPORT_KEYS", "compare_metrics", "control_accuracy", "control_checks",
    "evaluate_model", "evaluate_prompts_file", "find_midi_files", "format_report", "generate_clips",
    "histogram_overlap", "parse_attribute_set", "random_attribute_sets", "report_html", "report_json",
    "sample_real_windows", "write_report",
]
