"""Each instrument family's register as the training data plays it: pitch percentiles per family, read
from a built dataset's token stream and saved beside the checkpoint (``family_ranges.json``). The sampler
keeps generated parts inside them, so a bass stays a bass because the data says where basses play."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

FILE = "family_ranges.json"
# the hard limits ("lo"/"hi"; the soft band is the 10th-90th percentile). Until session 13 they were the 2nd and
# 98th percentiles: piano 40-83 cut the low chords of a folk tune's accompaniment (real Nottingham windows' lowest
# note averages 37.5), and the model answered by voicing its chords higher -- second part at 51.5 against the
# data's 45.2 with genre folk, 47.8 at 0.5 / 99.5. On tuning windows the two-sample accuracy went 90.8% -> 85.8%
# (Nottingham), 82.5% -> 76.7% (POP909), 68.8% -> 59.4% (Freedoom): MODEL_CARD "Registers".
LOW_PCT, HIGH_PCT = 0.5, 99.5


def _stream(data_dir: str | Path, split: str, max_tokens: int):
    """A split's token ids (at most ``max_tokens``) with the per-token lookups both statistics read: the
    tokenizer, each token's program (``PROG_p`` -> p, drums 128, else -1), each token's pitch (``PITCH_p`` /
    ``NEXT_p`` -> p, else -1) and the fill-block depth (inside FILL_START..FILL_END the track is not the last
    PROG's)."""
    from ..tokenizers.nnn import NEXT_PITCHES, NNNTokenizer

    tok = NNNTokenizer()
    t = tok.token_to_id
    ids = np.fromfile(Path(data_dir) / f"{split}.bin", dtype=np.uint16)[:max_tokens].astype(np.int64)
    prog_of = np.full(tok.vocab_size, -1, dtype=np.int64)
    pitch = np.full(tok.vocab_size, -1, dtype=np.int64)
    for p in range(128):
        prog_of[t[f"PROG_{p}"]] = p
        pitch[t[f"PITCH_{p}"]] = p
    prog_of[t["PROG_DRUMS"]] = 128
    for p in NEXT_PITCHES:
        pitch[t[f"NEXT_{p}"]] = p
    depth = np.cumsum((ids == t["FILL_START"]).astype(np.int64) - (ids == t["FILL_END"]).astype(np.int64))
    return tok, ids, prog_of, pitch, depth


def family_ranges(data_dir: str | Path, *, split: str = "train", max_tokens: int = 20_000_000) -> dict[str, dict]:
    """``{family: {"lo", "hi", "mean", "notes_per_onset", "n"}}`` from a dataset folder (track bodies only;
    fill blocks are skipped)."""
    from ..instruments import family_of_program
    from ..tokenizers.nnn import NEXT_PITCHES

    tok, ids, prog_of, pitch, depth = _stream(data_dir, split, max_tokens)
    t = tok.token_to_id
    n = len(ids)
    is_prog = prog_of[ids] >= 0
    last = np.where(is_prog, np.arange(n), -1)
    np.maximum.accumulate(last, out=last)
    prog = np.where(last >= 0, prog_of[ids[np.maximum(last, 0)]], -1)
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


def with_roles(ranges: dict, data_dir: str | Path, **kw) -> dict:
    """``ranges`` (:func:`family_ranges`) with each family's per-part bands (:func:`role_ranges`) as ``"roles"``."""
    roles = role_ranges(data_dir, **kw)
    return {fam: {**r, "roles": roles[fam]} if fam in roles else dict(r) for fam, r in ranges.items()}


def add_roles(checkpoint: str | Path, data_dir: str | Path, **kw) -> dict:
    """Add per-part bands from the built dataset ``data_dir`` to the ``family_ranges.json`` of ``checkpoint``
    (a model trained before they existed); returns the new ranges."""
    ranges = with_roles(load_ranges(checkpoint), data_dir, **kw)
    save_ranges(ranges, checkpoint)
    return ranges


def save_ranges(ranges: dict, path: str | Path) -> None:
    from ..files import atomic_write_bytes

    atomic_write_bytes(Path(path) / FILE, json.dumps(ranges, indent=1).encode())


def load_ranges(path: str | Path) -> dict:
    f = Path(path) / FILE
    return json.loads(f.read_text()) if f.exists() else {}


def example_offsets(data_dir: str | Path, split: str, ids: np.ndarray, eos_id: int) -> np.ndarray:
    """Where each example of ``ids`` (a split's token stream, maybe cut short) starts and ends: the split's
    ``.idx.npy``, or -- a folder holding only the ``.bin`` -- the positions after each EOS (every example
    ends with one)."""
    f = Path(data_dir) / f"{split}.idx.npy"
    if f.exists():
        offsets = np.load(f)
        return np.append(offsets[offsets < len(ids)], len(ids))
    return np.concatenate([[0], np.flatnonzero(ids == eos_id) + 1])


ROLE_COUNTS = (2, 3, 4)  # a family asked this many times gets a register per part (rank by mean pitch)


def role_ranges(data_dir: str | Path, *, split: str = "train", max_tokens: int = 20_000_000,
                min_notes: int = 500) -> dict[str, dict[str, list[dict]]]:
    """Each family's register *per part* where an example holds ``n`` tracks of it (``n`` in
    :data:`ROLE_COUNTS`): the tracks ranked by mean pitch, highest first (the order training examples deal
    them, :func:`~codeplay_nb.tokenizers.nnn.high_first_within_family`), and the pitches of each rank pooled.
    ``{family: {str(n): [{"lo", "hi", "p10", "p90", "mean", "n"} for rank 1..n]}}`` (``lo``/``hi``: the
    :data:`LOW_PCT` and :data:`HIGH_PCT` percentiles, as :func:`family_ranges`); a family/count with fewer than
    ``min_notes`` notes in any rank is left out. Nottingham's tune and chords, a POP909 melody, bridge and
    accompaniment: the lower parts of a family sit where the data puts them, not in the family's one band."""
    from ..instruments import family_of_program

    tok, ids, prog_of, pitch, depth = _stream(data_dir, split, max_tokens)
    offsets = example_offsets(data_dir, split, ids, tok.eos_id)
    is_prog = prog_of[ids] >= 0
    track = np.cumsum(is_prog) - 1  # index of the track each token belongs to (-1 before the first)
    starts = np.flatnonzero(is_prog)
    track_prog = prog_of[ids[starts]]
    track_example = np.searchsorted(offsets, starts, side="right") - 1
    pv = pitch[ids]
    sel = (pv >= 0) & (depth == 0) & (track >= 0)
    sel[sel] &= (track_prog[track[sel]] >= 0) & (track_prog[track[sel]] < 128)
    note_track, note_pitch = track[sel], pv[sel]
    counts = np.bincount(note_track, minlength=len(starts))
    sums = np.bincount(note_track, weights=note_pitch, minlength=len(starts))
    mean = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    family = np.array([family_of_program(int(p), False) if 0 <= p < 128 else "" for p in track_prog])
    rank = np.zeros(len(starts), dtype=np.int64)
    size = np.zeros(len(starts), dtype=np.int64)
    groups: dict[tuple[int, str], list[int]] = {}
    for i in np.flatnonzero(counts > 0):
        groups.setdefault((int(track_example[i]), str(family[i])), []).append(int(i))
    for members in groups.values():
        ranked = sorted(members, key=lambda i: -mean[i])
        for r, i in enumerate(ranked):
            rank[i], size[i] = r, len(members)
    out: dict[str, dict[str, list[dict]]] = {}
    note_size, note_rank, note_family = size[note_track], rank[note_track], family[note_track]
    for fam in sorted(set(family[counts > 0]) - {""}):
        for k in ROLE_COUNTS:
            parts = []
            for r in range(k):
                a = note_pitch[(note_family == fam) & (note_size == k) & (note_rank == r)]
                if len(a) < min_notes:
                    break
                parts.append({"lo": int(np.percentile(a, LOW_PCT)), "hi": int(np.percentile(a, HIGH_PCT)),
                              "p10": int(np.percentile(a, 10)), "p90": int(np.percentile(a, 90)),
                              "mean": round(float(a.mean()), 2), "n": len(a)})
            if len(parts) == k:
                out.setdefault(fam, {})[str(k)] = parts
    return out
