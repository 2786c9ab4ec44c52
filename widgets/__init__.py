"""ipywidgets UI layer: installed as ``codeplay_nb.widgets`` (see pyproject package-dir).

``from codeplay_nb.widgets import ComposerApp``; the core package never imports this layer.
"""

from __future__ import annotations

from .app import ComposerApp, resolve_model
from .controls import rules_classify
from .roll import PianoRollView

__all__ = ["ComposerApp", "PianoRollView", "resolve_model", "rules_classify"]
