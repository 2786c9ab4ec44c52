"""Time from kernel start until the compose app is shown and a first 4-bar composition is done.

Executes notebooks/05_compose.ipynb with nbclient (a real IPython kernel, widget state not stored), using
the shipped music model when present, else the tiny random model (``--model`` overrides), then clicks
Compose in the same kernel. Prints the phases and the total (goal: <= 10 s on the 2-core CPU).

    python benchmarks/bench_app_startup.py [--model tiny|DIR] [--classifier rules] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "05_compose.ipynb"
GOAL_SECONDS = 10.0
COMPOSE_CELL = """
import time as _t
_t0 = _t.perf_counter()
app.prompt.value = PROMPT
app.bar_count.value = "4"
app.compose_button.click()
assert app.song is not None, app.message.value
print(f"COMPOSE_SECONDS {_t.perf_counter() - _t0:.3f} NOTES {app.song.piece.n_notes} BARS {app.song.piece.n_bars}")
"""


def default_model() -> str:
    from codeplay_nb.model.checkpoint import DEFAULT_WEIGHTS

    return "" if (Path(DEFAULT_WEIGHTS) / "config.json").exists() else "tiny"


def run_once(model: str, classifier: str) -> dict[str, float]:
    import nbformat
    from nbclient import NotebookClient

    os.environ["CODEPLAY_MODEL"] = model
    os.environ["CODEPLAY_CLASSIFIER"] = classifier
    os.environ.pop("CODEPLAY_COMPOSE_ON_START", None)
    os.environ["CODEPLAY_SONGS_DIR"] = tempfile.mkdtemp(prefix="codeplay-songs-")  # autosave off the checkout
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(COMPOSE_CELL))
    client = NotebookClient(nb, timeout=600, kernel_name="python3", store_widget_state=False,
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    phases: dict[str, float] = {}
    t0 = time.perf_counter()
    with client.setup_kernel():
        phases["kernel_ready"] = time.perf_counter() - t0
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            client.execute_cell(cell, i)
            if "ComposerApp(" in cell.source:
                phases["app_shown"] = time.perf_counter() - t0
        phases["composed"] = time.perf_counter() - t0
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    phases["compose_click"] = float(text.split("COMPOSE_SECONDS")[1].split()[0])
    return phases


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="tiny, a model folder, or empty for the shipped weights")
    ap.add_argument("--classifier", default="", help="empty: the shipped classifier; rules: prompt rules only")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    model = default_model() if args.model is None else args.model
    print(f"model: {model or 'shipped weights'}; classifier: {args.classifier or 'shipped'}; cpus: {os.cpu_count()}")
    runs = []
    for r in range(args.repeat):
        phases = run_once(model, args.classifier)
        runs.append(phases)
        print(f"run {r + 1}: kernel ready {phases['kernel_ready']:.2f} s, app shown {phases['app_shown']:.2f} s, "
              f"first 4-bar composition done {phases['composed']:.2f} s (Compose click {phases['compose_click']:.2f} s)")
    total = statistics.median(p["composed"] for p in runs)
    print(f"median kernel start -> composed: {total:.2f} s (goal <= {GOAL_SECONDS:.0f} s: "
          f"{'met' if total <= GOAL_SECONDS else 'NOT met'})")


if __name__ == "__main__":
    main()
