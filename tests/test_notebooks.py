"""Every notebook executes headless with its committed (small) parameters, and is committed without outputs.

Notebook 04 (training) has its own, more specific test in test_train.py.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

NB_DIR = Path(__file__).resolve().parent.parent / "notebooks"
DATA = NB_DIR / os.environ.get("CODEPLAY_DATA", "../../shared/data")
NOTEBOOKS = sorted(NB_DIR.glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs_and_with_parameters(path):
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), "clear the outputs"
    assert any("parameters" in c.get("metadata", {}).get("tags", []) for c in code), "tag a parameters cell"
    assert nb["metadata"].get("kernelspec", {}).get("name") == "python3"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["01_dataset_exploration", "02_tokenizer_comparison",
                                  "03_train_text_classifier", "05_compose"])
def test_notebook_executes(name, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    if name in ("01_dataset_exploration", "02_tokenizer_comparison") and not DATA.is_dir():
        pytest.skip(f"needs the corpora at {DATA} (set CODEPLAY_DATA)")
    path = NB_DIR / f"{name}.ipynb"
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=900, kernel_name="python3", store_widget_state=False,
                                     resources={"metadata": {"path": str(NB_DIR)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.get("output_type") == "error"]
    assert not errors
    produced = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert produced, "the notebook should show something"
