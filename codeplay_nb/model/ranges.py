"""Each instrument family's register as the training data plays it: pitch percentiles per family, read
from a built dataset's token stream and saved beside the checkpoint (``family_ranges.json``). The sampler
keeps generated parts inside them, so a bass stays a bass because the data says where basses play."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

FILE = "family_ranges.json"
LOW_PCT, HIGH_PCT = 2.0, 98.0


def family_ranges(data_dir: str | Path, *, split: str = "train", max_tokens: int = 20_000_000) -> dict[str, dict]:
    """``{family: {"lo", "hi", "mean", "notes_per_onset", "n"}}`` from a dataset folder (track bodies only;
    fill blocks are skipped)."""
    from ..instruments import family_of_program
    from ..tokenizers.nnn import NEXT_PITCHES, NNNTokenizer

    tok = NNNTokenizer()
    t = tok.token_to_id
    ids = np.fromfile(Path(data_dir) / f"{split}.bin", dtype=np.uint16)[:max_tokens].astype(np.int64)
    n = len(ids)
    prog_of = np.full(tok.vocab_size, -1, dtype=np.int64)
    for p in range(128):
        prog_of[t[f"PROG_{p}"]] = p
    prog_of[t["PROG_DRUMS"]] = 128
    is_prog = prog_of[ids] >= 0
    last = np.where(is_prog, np.arange(n), -1)
    np.maximum.accumulate(last, out=last)
    prog = np.where(last >= 0, prog_of[ids[np.maximum(last, 0)]], -1)
    # inside a fill block (FILL_START..FILL_END) the track is not the last PROG's: skip
    depth = np.cumsum((ids == t["FILL_START"]).astype(np.int64) - (ids == t["FILL_END"]).astype(np.int64))
    pitch = np.full(tok.vocab_size, -1, dtype=np.int64)
    for p in range(128):
        pitch[t[f"PITCH_{p}"]] = p
    for p in NEXT_PITCHES:
        pitch[t[f"NEXT_{p}"]] = p
    pv = pitch[ids]
    sel = (pv >= 0) & (depth == 0) & (prog >= 0) & (prog < 128)
    onset_start = (ids >= t["NEXT_21"]) & (ids <= t[f"NEXT_{NEXT_PITCHES[-1]}"])  # a NEXT starts an onset
    fams: dict[str, list[int]] = {}
    onsets: dict[str, int] = {}
    programs = prog[sel]
    pitches = pv[sel]
    for p in np.unique(programs):
        fam = family_of_program(int(p), False)
        fams.setdefault(fam, []).extend(pitches[programs == p].tolist())
    # notes per onset: notes / (NEXT tokens + SHIFTs followed by a pitch) per family, approximately
    shift_lo, shift_hi = t["SHIFT_1"], t["SHIFT_48"]
    is_shift = (ids >= shift_lo) & (ids <= shift_hi)
    for p in np.unique(programs):
        fam = family_of_program(int(p), False)
        in_p = (prog == p) & (depth == 0)
        onsets[fam] = onsets.get(fam, 0) + int((in_p & (onset_start | is_shift)).sum())
    out = {}
    for fam, vals in fams.items():
        a = np.asarray(vals)
        if len(a) < 200:
            continue
        out[fam] = {"lo": int(np.percentile(a, LOW_PCT)), "hi": int(np.percentile(a, HIGH_PCT)),
                    "p10": int(np.percentile(a, 10)), "p90": int(np.percentile(a, 90)),
                    "mean": round(float(a.mean()), 2), "n": len(a),
                    "notes_per_onset": round(len(a) / max(onsets.get(fam, 1), 1), 3)}
    return out


def save_ranges(ranges: dict, path: str | Path) -> None:
    from ..files import atomic_write_bytes

    atomic_write_bytes(Path(path) / FILE, json.dumps(ranges, indent=1).encode())


def load_ranges(path: str | Path) -> dict:
    f = Path(path) / FILE
    return json.loads(f.read_text()) if f.exists() else {}
