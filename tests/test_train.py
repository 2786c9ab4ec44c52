"""Training end to end on a handful of pieces: dataset -> tiny GPT-2 -> checkpoint -> compose; seeded
reproducibility; loss curves and model-card summary; the ``codeplay train`` command."""

from __future__ import annotations

import ast
import json
import os
from pathlib import Path

import pytest

from codeplay_nb.cli import main as cli_main
from codeplay_nb.corpora import load_folder
from codeplay_nb.dataset import BuildConfig, build_dataset, default_encoder, default_mask_fn
from codeplay_nb.errors import CodeplayError
from codeplay_nb.io import write_midi
from codeplay_nb.model import ModelConfig, TrainConfig, load_model
from codeplay_nb.model.report import format_model_card, loss_curves, loss_figure, model_card_summary
from codeplay_nb.model.train import train
from codeplay_nb.music import Piece, make_piece

CHECKPOINT_FILES = ("model.safetensors", "config.json", "nnn_vocab.json", "attribute_vocabulary.json",
                    "training_config.json", "data_manifest.json", "training_metrics.json")
SCALE = (0, 2, 4, 5, 7, 9, 11, 12)
MODEL = ModelConfig(n_layer=1, n_embd=32, n_head=2, n_positions=256)
TRAIN = TrainConfig(max_steps=5, batch_size=2, block_size=64, learning_rate=3e-3, warmup_steps=1, bf16=False,
                    eval_steps=5, logging_steps=1, save_steps=1000, seed=7)


def _song(i: int, bars: int = 8) -> Piece:
    """A two-track tune (piano melody on a scale, bass on the root) that differs per ``i``."""
    tpq = 480
    melody = [(60 + SCALE[(i + k * (i % 3 + 1)) % 8], 70 + k % 20, k * tpq, tpq) for k in range(bars * 4)]
    bass = [(36 + (i * 5 + b) % 12, 80, b * 4 * tpq, 2 * tpq) for b in range(bars)]
    return make_piece([(0, False, melody), (33, False, bass)], qpm=90 + 10 * i)


@pytest.fixture(scope="module")
def token_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("train")
    midi = root / "midi"
    midi.mkdir()
    for i in range(8):
        write_midi(_song(i), midi / f"song{i}.mid")
    encode, vocab_size, eos = default_encoder()
    cfg = BuildConfig(min_bars=4, max_bars=4, val_fraction=0.3, seed=0, eos_id=eos, vocab_size=vocab_size)
    manifest = build_dataset(load_folder(midi, genre="pop"), root / "data", encode, cfg, sources=["folder"],
                             mask_fn=default_mask_fn())
    assert manifest["splits"]["train"]["tokens"] > 4 * TRAIN.block_size
    assert manifest["splits"]["val"]["tokens"] > TRAIN.block_size
    return root / "data"


@pytest.fixture(scope="module")
def run(token_dir, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("run") / "ckpt"
    return out, train(token_dir, out, model_config=MODEL, train_config=TRAIN)


def test_checkpoint_folder_is_complete_and_loads(run):
    out, metrics = run
    for name in CHECKPOINT_FILES:
        assert (out / name).is_file(), name
    assert json.loads((out / "training_config.json").read_text())["max_steps"] == 5
    assert json.loads((out / "data_manifest.json").read_text())["sources"] == ["folder"]
    assert metrics["steps"] == 5
    assert metrics["val_loss_final"] is not None and metrics["train_loss_final"] is not None
    mm = load_model(out)
    assert mm.model.config.n_layer == 1 and mm.n_positions == 256
    assert mm.info["metrics"]["steps"] == 5


def test_trained_checkpoint_composes(run):
    from codeplay_nb import compose

    song = compose(bars=2, model=load_model(run[0]), prompt=None, classify_fn=None, instruments=["piano", "bass"],
                   seed=3)
    summary = song.summary()
    assert summary["bars"] == 2
    assert sorted(t["program"] for t in summary["tracks"]) == [0, 33]
    assert all(t["notes"] > 0 for t in summary["tracks"])


def test_same_seed_gives_identical_weights(run, token_dir, tmp_path):
    again = tmp_path / "again"
    train(token_dir, again, model_config=MODEL, train_config=TRAIN)
    assert (again / "model.safetensors").read_bytes() == (run[0] / "model.safetensors").read_bytes()


def test_trains_without_validation_tokens(token_dir, tmp_path):
    """A small build may put no piece in validation (val.bin empty): training still runs, train curve only."""
    data = tmp_path / "data"
    data.mkdir()
    for name in ("train.bin", "manifest.json"):
        (data / name).write_bytes((token_dir / name).read_bytes())
    (data / "val.bin").write_bytes(b"")
    metrics = train(data, tmp_path / "ckpt", model_config=MODEL,
                    train_config=TrainConfig.from_dict({**TRAIN.to_dict(), "max_steps": 2}))
    assert metrics["steps"] == 2 and "val_loss_final" not in metrics
    assert [t.name for t in loss_figure(tmp_path / "ckpt").data] == ["train"]


def test_loss_figure_has_train_and_validation_traces(run):
    out, metrics = run
    curves = loss_curves(out)
    assert [s for s, _ in curves["train"]] == [1, 2, 3, 4, 5]
    assert [s for s, _ in curves["val"]] == [5]  # the closing evaluation repeats step 5: shown once
    assert curves["val"][0][1] == pytest.approx(metrics["val_loss_final"])
    assert loss_curves(metrics) == curves  # the returned metrics carry the same history
    fig = loss_figure(out)
    assert [t.name for t in fig.data] == ["train", "validation"]
    assert list(fig.data[0].y) == [v for _, v in curves["train"]]


def test_model_card_summary(run):
    out, metrics = run
    s = model_card_summary(out)
    assert s["data"]["sources"] == ["folder"] and s["data"]["splits"]["val"]["examples"] > 0
    assert s["model"]["n_layer"] == 1 and s["model"]["parameters"] == metrics["parameters"]
    assert s["model"]["weights_dtype"] == "F16"
    assert s["training"]["steps"] == 5 and s["training"]["seed"] == 7
    assert s["loss"]["val_final"] == pytest.approx(metrics["val_loss_final"], abs=1e-4)
    card = format_model_card(s)
    assert "| final validation loss |" in card and "folder" in card


def test_report_errors_say_what_to_do(tmp_path):
    with pytest.raises(CodeplayError, match="not found"):
        loss_curves(tmp_path / "missing")
    with pytest.raises(CodeplayError, match="codeplay train"):
        loss_curves(tmp_path)
    with pytest.raises(CodeplayError, match="no loss"):
        loss_figure([{"step": 1, "learning_rate": 0.1}])
    with pytest.raises(CodeplayError, match="not a model checkpoint"):
        model_card_summary(tmp_path)


# ------------------------------------------------------------------ CLI
def _cli_args(token_dir: Path, out: Path) -> list[str]:
    return ["train", "--data", str(token_dir), "--out", str(out), "--layers", "1", "--width", "32", "--heads", "2",
            "--positions", "256", "--max-steps", "5", "--batch-size", "2", "--block-size", "64", "--lr", "3e-3",
            "--warmup", "1", "--no-bf16", "--eval-steps", "5", "--logging-steps", "1", "--save-steps", "1000",
            "--seed", "7", "--json"]


def test_cli_trains_the_same_model_as_the_api(run, token_dir, tmp_path, capsys):
    out = tmp_path / "cli"
    assert cli_main(_cli_args(token_dir, out)) == 0
    stdout = capsys.readouterr().out
    printed = json.loads(stdout[stdout.rindex("\n{"):])  # --json: the metrics after the Trainer's log lines
    assert printed["steps"] == 5 and "log_history" not in printed
    assert (out / "model.safetensors").read_bytes() == (run[0] / "model.safetensors").read_bytes()
    assert cli_main(_cli_args(token_dir, out)) == 2  # refuses to overwrite a checkpoint without --overwrite
    assert "--overwrite" in capsys.readouterr().err


@pytest.mark.parametrize("extra, message", [
    (["--max-steps", "0"], "max_steps"),
    (["--heads", "3"], "divisible"),
    (["--lr", "2"], "learning_rate"),
    (["--dropout", "1.5"], "--dropout"),
    (["--eval-steps", "0"], "--eval-steps"),
    (["--block-size", "100000", "--positions", "100000"], "smaller --block-size"),
])
def test_cli_bad_values_exit_2(token_dir, tmp_path, capsys, extra, message):
    assert cli_main(["train", "--data", str(token_dir), "--out", str(tmp_path / "o"), "--tiny", *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("codeplay train: error:") and message in err
    assert not (tmp_path / "o").exists()


def test_cli_missing_dataset_exits_2(tmp_path, capsys):
    assert cli_main(["train", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    assert "codeplay dataset build" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["train"], ["train", "--data", "d"], ["train", "--data", "d", "--out", "o",
                                                                        "--max-steps", "many"]])
def test_cli_argument_errors_exit_2(argv, capsys):
    assert cli_main(argv) == 2
    err = capsys.readouterr().err
    assert "codeplay train" in err and len(err.strip().splitlines()) == 1  # one line, no usage block


def test_cli_help_documents_multi_gpu(capsys):
    with pytest.raises(SystemExit):
        cli_main(["train", "--help"])
    out = capsys.readouterr().out
    assert "accelerate launch -m codeplay_nb.model.train" in out and "torchrun" in out


NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "04_train_music_model.ipynb"


@pytest.mark.slow
@pytest.mark.skipif(not (NOTEBOOK.parent / os.environ.get("CODEPLAY_DATA", "../../shared/data") / "nottingham").is_dir(),
                    reason="needs the Nottingham corpus (set CODEPLAY_DATA)")
def test_notebook_executes_with_small_parameters():
    """The committed notebook runs headless with its parameters cell as is (about 1.5 min on 2 busy cores)."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert nb.cells[1].metadata.get("tags") == ["parameters"]
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "commit the notebook without outputs"
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}},
                   store_widget_state=False).execute()
    outputs = {c.source.splitlines()[-1]: c.outputs for c in nb.cells if c.cell_type == "code"}
    assert "application/vnd.plotly.v1+json" in outputs['loss_figure(out / "model")'][-1]["data"]
    summary = ast.literal_eval(outputs["song.summary()"][-1]["data"]["text/plain"])
    assert summary["bars"] == 4 and {t["name"] for t in summary["tracks"]} == {"Piano", "Bass"}


class _Kill(Exception):
    pass


def _killer(at_step: int):
    from transformers import TrainerCallback

    class _K(TrainerCallback):
        def on_step_begin(self, args, state, control, **kw):
            if state.global_step == at_step:
                raise _Kill(f"killed before step {at_step + 1}")

    return _K()


def test_killed_run_resumes_with_no_lost_steps(token_dir, tmp_path):
    """Killed after step 9 with checkpoints every 4 steps: --resume continues from step 8 (optimizer,
    scheduler, RNG and data position restored) and ends with the weights of an uninterrupted run."""
    cfg = TrainConfig.from_dict({**TRAIN.to_dict(), "max_steps": 12, "save_steps": 4, "eval_steps": 100})
    whole = train(token_dir, tmp_path / "whole", model_config=MODEL, train_config=cfg)
    with pytest.raises(_Kill):
        train(token_dir, tmp_path / "cut", model_config=MODEL, train_config=cfg, callbacks=[_killer(9)])
    assert not (tmp_path / "cut" / "model.safetensors").exists()
    resumed = train(token_dir, tmp_path / "cut", model_config=MODEL, train_config=cfg, resume=True)
    assert resumed["resumed_from"] == "checkpoint-8" and resumed["steps"] == whole["steps"] == 12
    steps = [h["step"] for h in resumed["log_history"] if "loss" in h]
    assert steps == list(range(1, 13))  # every step logged once: none lost, none repeated
    import torch
    from safetensors.torch import load_file

    a = load_file(tmp_path / "whole" / "model.safetensors")
    b = load_file(tmp_path / "cut" / "model.safetensors")
    assert a.keys() == b.keys()
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-3) for k in a)


def test_resume_without_checkpoint_is_a_clear_error(token_dir, tmp_path):
    with pytest.raises(CodeplayError, match="nothing to resume"):
        train(token_dir, tmp_path / "none", model_config=MODEL, train_config=TRAIN, resume=True)


def test_epochs_see_new_transpositions(token_dir):
    """Training chunks are transposed in token space by a shift drawn per (seed, epoch, chunk)."""
    import numpy as np

    from codeplay_nb.model.train import PackedTokens
    from codeplay_nb.tokenizers.augment import TokenTransposer
    from codeplay_nb.tokenizers.nnn import NNNTokenizer

    ds = PackedTokens(token_dir / "train.bin", 64, augment=TokenTransposer(NNNTokenizer()), seed=1)
    first = [ds[i]["input_ids"].numpy() for i in range(len(ds))]
    ds.epoch = 1
    second = [ds[i]["input_ids"].numpy() for i in range(len(ds))]
    assert any(not np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    ds.epoch = 0
    assert all(np.array_equal(a, ds[i]["input_ids"].numpy()) for i, a in enumerate(first))  # reproducible
    plain = PackedTokens(token_dir / "train.bin", 64)
    assert all(len(plain[i]["input_ids"]) == len(first[i]) for i in range(len(ds)))


def test_init_from_continues_a_checkpoint(run, token_dir, tmp_path):
    """--init-from starts from the saved weights (not a fresh init): before any step they are the checkpoint's,
    and training on changes them; the shape comes from the checkpoint."""
    import torch

    from codeplay_nb.model.train import _init_model
    from codeplay_nb.tokenizers.nnn import NNNTokenizer

    start = _init_model(run[0], NNNTokenizer())
    saved = load_model(run[0]).model.state_dict()
    assert all(torch.equal(v.float(), saved[k].float()) for k, v in start.state_dict().items())
    out = tmp_path / "cont"
    bigger = ModelConfig.from_dict({**MODEL.to_dict(), "n_layer": 3})  # ignored: the checkpoint's shape wins
    metrics = train(token_dir, out, model_config=bigger, init_from=run[0],
                    train_config=TrainConfig.from_dict({**TRAIN.to_dict(), "max_steps": 2}))
    assert metrics["init_from"] == str(run[0]) and metrics["model_config"]["n_layer"] == 1
    cont = load_model(out).model.state_dict()
    assert any(not torch.equal(cont[k].float(), saved[k].float()) for k in saved)
