"""Dataset builder: windows, transposition, split by piece, memmap round trip, the dataset CLI."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

import numpy as np
import pytest

from codeplay_nb.attributes import Attributes
from codeplay_nb.corpora import CorpusItem, describe_piece
from codeplay_nb.dataset import (
    BuildConfig,
    TokenDataset,
    build_dataset,
    item_examples,
    split_of,
    window_spans,
)
from codeplay_nb.errors import CodeplayError
from codeplay_nb.music import KeySignature, make_piece

EOS = 1
BAR_TOKEN = 2
VOCAB = 300


def fake_encode(window, attributes: Attributes, rng: random.Random) -> list[int]:
    """Bars, then pitches + 100 of every note in order; a key id (3..26) first. Deterministic given rng."""
    from codeplay_nb.attributes import KEYS

    out = [3 + KEYS.index(attributes.key)] if attributes.key else [27]
    out += [BAR_TOKEN] * window.n_bars
    out += [100 + n.pitch for t in window.tracks for n in t.notes]
    out.append(28 + rng.randrange(3))  # the encoder's own randomness must come from rng
    return out


def _item(pid: str, bars: int = 20, key: str = "C major", group: str = "", **kw) -> CorpusItem:
    notes = [(60 + (i % 12), 80, i * 480, 480) for i in range(bars * 4)]
    piece = make_piece([(0, False, notes), (0, True, [(36, 90, i * 960, 10) for i in range(bars * 2)])], **kw)
    piece = piece.replace(key_signatures=(KeySignature(0, key),))
    attrs = describe_piece(piece, genre="pop", key=key)
    return CorpusItem(piece, attrs, pid.split("/")[0], pid, group=group, key_from_piece=True)


def test_windows_have_four_to_eight_bars():
    rng = random.Random(0)
    spans = window_spans(37, rng, BuildConfig())
    assert spans[0][0] == 0 and all(4 <= last - first + 1 <= 8 for first, last in spans)
    assert all(b[0] == a[1] + 1 for a, b in itertools.pairwise(spans))  # contiguous, no overlap
    assert 37 - (spans[-1][1] + 1) < 4
    assert window_spans(3, rng, BuildConfig()) == []
    hop = window_spans(20, random.Random(0), BuildConfig(min_bars=4, max_bars=4, hop_bars=2))
    assert hop[:3] == [(0, 3), (2, 5), (4, 7)]


def test_examples_windows_and_transposition():
    windows = []

    def spy(window, attrs, rng):
        windows.append((window, attrs))
        return fake_encode(window, attrs, rng)

    cfg = BuildConfig(transpositions=2, val_fraction=0.0, eos_id=EOS, vocab_size=VOCAB, seed=3)
    split, examples = item_examples(_item("pop909/x", bars=24, qpm=97), spy, cfg)
    assert split == "train" and len(examples) == len(windows) and all(e[-1] == EOS for e in examples)
    assert all(4 <= w.n_bars <= 8 for w, _ in windows)
    # each window comes once as is, then twice transposed: pitches and key shift together
    base_w, base_a = windows[0]
    for w, a in windows[1:3]:
        shift = w.tracks[0].notes[0].pitch - base_w.tracks[0].notes[0].pitch
        assert shift != 0 and -5 <= shift <= 6
        assert [n.pitch - shift for n in w.tracks[0].notes] == [n.pitch for n in base_w.tracks[0].notes]
        assert w.tracks[1].notes == base_w.tracks[1].notes  # drums are not transposed
        from codeplay_nb.attributes import transpose_key

        assert a.key == transpose_key("C major", shift)
    assert base_a.key == "C major" and base_a.bpm == pytest.approx(97) and base_a.genre == "pop"
    assert base_a.time_signature == (4, 4) and base_a.instruments == ("piano", "drums")
    # deterministic: the same seed gives the same examples
    assert item_examples(_item("pop909/x", bars=24, qpm=97), fake_encode, cfg)[1] == examples


def test_window_key_follows_annotated_key_changes():
    item = _item("pop909/y", bars=16)
    piece = item.piece.replace(key_signatures=(KeySignature(0, "C major"), KeySignature(8 * 1920, "A minor")))
    item = CorpusItem(piece, item.attributes, "pop909", "pop909/y", key_from_piece=True)
    seen = []
    cfg = BuildConfig(min_bars=4, max_bars=4, transpositions=0, eos_id=EOS, vocab_size=VOCAB)
    item_examples(item, lambda w, a, r: seen.append(a.key) or [5], cfg)
    assert seen == ["C major", "C major", "A minor", "A minor"]


def test_split_is_by_piece_and_stable():
    keys = [f"pop909/{i:03d}" for i in range(2000)]
    val = [k for k in keys if split_of(k, 0.05) == "val"]
    assert 60 <= len(val) <= 140
    assert val == [k for k in keys if split_of(k, 0.05) == "val"]
    assert split_of("anything", 0.0) == "train"


def test_build_and_memmap_round_trip(tmp_path: Path):
    items = [_item(f"pop909/{i:03d}", bars=12 + i % 5) for i in range(40)]
    # derived pieces of one song (same group) must share its split
    items += [_item(f"mma/pop909/{i:03d}/swing", bars=12, group=f"pop909/{i:03d}") for i in range(40)]
    cfg = BuildConfig(val_fraction=0.2, eos_id=EOS, vocab_size=VOCAB, seed=7, transpositions=1)
    skipped = [("pop909", "bad.mid", "no notes")]
    m = build_dataset(items, tmp_path / "ds", fake_encode, cfg, skipped=skipped, sources=["pop909", "mma"])
    expected = {"train": [], "val": []}
    for it in items:
        split, ex = item_examples(it, fake_encode, cfg)
        expected[split] += ex
    assert m["splits"]["val"]["examples"] == len(expected["val"]) > 0
    assert m["splits"]["train"]["examples"] == len(expected["train"])
    assert m["skipped"] == [{"source": "pop909", "what": "bad.mid", "reason": "no notes"}]
    assert m["vocab_size"] == VOCAB and m["seed"] == 7 and m["sources"] == ["mma", "pop909"]
    assert json.loads((tmp_path / "ds" / "manifest.json").read_text())["splits"] == m["splits"]
    val_groups = {it.split_key for it in items if split_of(it.split_key, 0.2) == "val"}
    train_groups = {it.split_key for it in items if split_of(it.split_key, 0.2) == "train"}
    assert val_groups and not val_groups & train_groups
    for split in ("train", "val"):
        ds = TokenDataset(tmp_path / "ds", split, block_size=64)
        assert len(ds) == len(expected[split])
        for i in (0, len(ds) - 1):
            assert ds.ids(i).tolist() == expected[split][i]
    raw = np.fromfile(tmp_path / "ds" / "train.bin", dtype=np.uint16)
    assert raw.size == m["splits"]["train"]["tokens"] and (raw == EOS).sum() >= len(expected["train"])


def test_token_dataset_padding_and_truncation(tmp_path: Path):
    cfg = BuildConfig(val_fraction=0.0, eos_id=EOS, vocab_size=VOCAB, transpositions=0)
    build_dataset([_item("pop909/a", bars=8)], tmp_path, fake_encode, cfg)
    ids = TokenDataset(tmp_path, "train", block_size=4).ids(0)
    n = len(ids)
    long = TokenDataset(tmp_path, "train", block_size=n + 5, pad_id=0)[0]
    assert long["input_ids"][:n].tolist() == ids.tolist() and long["input_ids"][n:].tolist() == [0] * 5
    assert long["attention_mask"].tolist() == [1] * n + [0] * 5
    assert long["labels"][:n].tolist() == ids.tolist() and long["labels"][n:].tolist() == [-100] * 5
    short = TokenDataset(tmp_path, "train", block_size=4)[0]
    assert short["input_ids"].tolist() == ids[:4].tolist() and short["labels"].tolist() == ids[:4].tolist()
    assert str(short["input_ids"].dtype) == "torch.int64"
    empty_val = TokenDataset(tmp_path, "val", block_size=4)
    assert len(empty_val) == 0


def test_multiprocess_build_matches_single_process(tmp_path: Path):
    items = [_item(f"nottingham/t{i}", bars=10 + i) for i in range(8)]
    cfg = BuildConfig(val_fraction=0.3, eos_id=EOS, vocab_size=VOCAB, seed=1)
    build_dataset(items, tmp_path / "one", fake_encode, cfg, workers=1)
    build_dataset(items, tmp_path / "two", fake_encode, cfg, workers=2)
    for name in ("train.bin", "val.bin", "train.idx.npy", "val.idx.npy"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_encoding_failures_are_skipped_with_reason(tmp_path: Path):
    def flaky(window, attrs, rng):
        if window.tracks[0].notes[0].pitch == 60 and attrs.key == "D major":
            raise ValueError("cannot encode this one")
        return fake_encode(window, attrs, rng)

    items = [_item("pop909/ok", bars=8), _item("pop909/bad", bars=8, key="D major")]
    cfg = BuildConfig(val_fraction=0.0, eos_id=EOS, vocab_size=VOCAB, transpositions=0)
    m = build_dataset(items, tmp_path, flaky, cfg)
    assert [s["what"] for s in m["skipped"]] == ["pop909/bad"]
    assert "cannot encode this one" in m["skipped"][0]["reason"]
    assert m["per_source"]["pop909"]["train_pieces"] == 1


def test_config_validation_and_missing_dataset(tmp_path: Path):
    with pytest.raises(CodeplayError):
        BuildConfig(min_bars=8, max_bars=4)
    with pytest.raises(CodeplayError):
        BuildConfig(vocab_size=70000)
    with pytest.raises(CodeplayError, match="dataset build"):
        TokenDataset(tmp_path, "train")
    with pytest.raises(CodeplayError, match="split"):
        TokenDataset(tmp_path, "test")


def test_cli_build_and_stats(tmp_path: Path, capsys, monkeypatch):
    import codeplay_nb.dataset as dataset_mod
    from codeplay_nb.cli import main
    from codeplay_nb.io import write_midi

    data = tmp_path / "data" / "nottingham"
    data.mkdir(parents=True)
    for i in range(3):
        notes = [(62 + i + (k % 5), 80, k * 480, 480) for k in range(40)]
        write_midi(make_piece([(0, False, notes), (0, False, [(50, 60, 0, 1920)])]), data / f"jigs{i}.mid")
    monkeypatch.setattr(dataset_mod, "default_encoder", lambda: (fake_encode, VOCAB, EOS))
    out = tmp_path / "ds"
    rc = main(["dataset", "build", "--sources", "nottingham", "--data", str(tmp_path / "data"), "--out", str(out),
               "--seed", "5"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "nottingham" in text and "train:" in text
    assert TokenDataset(out, "train", 32).manifest["seed"] == 5
    assert main(["dataset", "stats", str(out)]) == 0
    assert "tokens per example" in capsys.readouterr().out
    assert main(["dataset", "build", "--sources", "nope", "--data", str(tmp_path / "data"), "--out", str(out)]) == 2
    assert "unknown corpus source" in capsys.readouterr().err
