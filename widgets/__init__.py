"""ipywidgets UI layer: installed as ``codeplay_nb.widgets`` (see pyproject package-dir)."""
