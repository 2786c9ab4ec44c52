"""Per-part registers of a family asked for more than once (model/ranges.py ``role_ranges``; the sampler's
``role_register_penalty``): the data says where a tune and its accompaniment each sit."""

from __future__ import annotations

import numpy as np
import pytest

from codeplay_nb import compose
from codeplay_nb.attributes import Attributes
from codeplay_nb.editing import regenerate_track
from codeplay_nb.generation import part_roles
from codeplay_nb.model.config import decoding_overrides
from codeplay_nb.model.ranges import add_roles, load_ranges, role_ranges, save_ranges
from codeplay_nb.music import make_piece
from codeplay_nb.tokenizers.nnn import NNNTokenizer


def _piece(parts):
    """One 2-bar piece; ``parts``: (program, [pitches]) per track, a note per beat."""
    return make_piece([(prog, False, [(p, 80, 480 * i, 480) for i, p in enumerate(pitches)])
                       for prog, pitches in parts], tpq=480, qpm=100)


def _write(folder, pieces):
    tok = NNNTokenizer()
    ids, offsets = [], [0]
    for piece in pieces:
        ids += tok.ids(tok.encode_tokens(piece, Attributes(), n_bars=2))
        offsets.append(len(ids))
    np.asarray(ids, dtype=np.uint16).tofile(folder / "train.bin")
    np.save(folder / "train.idx.npy", np.asarray(offsets, dtype=np.int64))


def test_parts_of_a_family_are_ranked_by_mean_pitch_whatever_their_order(tmp_path):
    # two pianos per example, the low part written first in one of them; a lone piano and a bass alongside
    _write(tmp_path, [
        _piece([(0, [72, 74, 76, 77] * 2), (0, [48, 52, 55, 48] * 2), (33, [36] * 8)]),
        _piece([(0, [45, 50, 53, 45] * 2), (0, [76, 79, 81, 79] * 2)]),
        _piece([(0, [60, 62, 64, 65] * 2)]),
    ])
    roles = role_ranges(tmp_path, min_notes=1)
    top, low = roles["piano"]["2"]
    assert 72 <= top["p10"] <= top["p90"] <= 81 and 45 <= low["p10"] <= low["p90"] <= 55
    assert top["n"] == low["n"] == 16
    assert set(roles) == {"piano"}  # one bass per example: no parts
    assert role_ranges(tmp_path, min_notes=17) == {}  # too few notes: left out


def test_add_roles_keeps_the_family_bands(tmp_path):
    _write(tmp_path, [_piece([(0, [72] * 8), (0, [48] * 8)])])
    save_ranges({"piano": {"lo": 40, "hi": 90, "p10": 50, "p90": 80}}, tmp_path)
    add_roles(tmp_path, tmp_path, min_notes=1)
    saved = load_ranges(tmp_path)["piano"]
    assert saved["lo"] == 40 and saved["p90"] == 80
    assert [(p["p10"], p["p90"]) for p in saved["roles"]["2"]] == [(72, 72), (48, 48)]


def test_part_roles_count_each_family_in_track_order():
    assert part_roles(["piano", "bass", "piano", "drums", "piano"]) == [(0, 3), (0, 1), (1, 3), (0, 1), (2, 3)]


ROLES = {"piano": {"lo": 30, "hi": 96, "p10": 40, "p90": 90,
                   "roles": {"2": [{"p10": 70, "p90": 80}, {"p10": 40, "p90": 50}]}}}


@pytest.fixture
def role_model(tiny_model_with):
    return tiny_model_with(family_ranges=ROLES)


def _share_in(track, lo, hi):
    return np.mean([lo <= n.pitch <= hi for n in track.notes])


def test_role_register_penalty_puts_each_part_in_its_band(role_model):
    with decoding_overrides(role_register_penalty=0):
        free = compose(instruments="piano,piano", bars=2, seed=0, model=role_model, tempo=100).piece
    with decoding_overrides(role_register_penalty=40):
        song = compose(instruments="piano,piano", bars=2, seed=0, model=role_model, tempo=100)
        top, low = song.piece.tracks
        assert _share_in(top, 70, 80) == 1.0 and _share_in(low, 40, 50) == 1.0
        # regenerating the lower part keeps it the lower part (its place among the pianos, not "last")
        again = regenerate_track(song.piece, 1, model=role_model, seed=3)
        assert _share_in(again.tracks[1], 40, 50) == 1.0
    assert _share_in(free.tracks[1], 40, 50) < 1.0  # the random tiny model alone does not


def test_a_folder_without_the_index_splits_examples_at_eos(tmp_path):
    pieces = [_piece([(0, [72, 74] * 4), (0, [48, 50] * 4)]), _piece([(0, [45] * 8), (0, [76] * 8)])]
    _write(tmp_path, pieces)
    with_index = role_ranges(tmp_path, min_notes=1)
    (tmp_path / "train.idx.npy").unlink()
    assert role_ranges(tmp_path, min_notes=1) == with_index and with_index["piano"]["2"][1]["n"] == 16
