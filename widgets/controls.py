"""The prompt's attribute controls (genre, emotion, tempo, instruments, key) with the classifier's confidence,
and the classifier the app uses (the shipped one, falling back to the prompt rules when it cannot load)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from codeplay_nb.attributes import EMOTIONS, GENRES, KEYS, TEMPO_BIN_DEFAULT_BPM, Attributes
from codeplay_nb.errors import CodeplayError
from codeplay_nb.instruments import FAMILY_NAMES

log = logging.getLogger(__name__)

AUTO = "auto"
ClassifyFn = Callable[[str], Attributes]
FIELDS = ("genre", "emotion", "tempo", "instruments", "key")


# ---------------------------------------------------------------- classifier
def rules_classify(prompt: str) -> Attributes:
    """Attributes from what the prompt states explicitly (no model): the fallback classifier."""
    from codeplay_nb.text.rules import find_rules

    if not prompt or not prompt.strip():
        raise CodeplayError("the prompt is empty; describe the music, e.g. 'a sad piano ballad'")
    r = find_rules(prompt)
    bpm = r.bpm if r.bpm is not None else (TEMPO_BIN_DEFAULT_BPM[r.tempo_bin] if r.tempo_bin else None)
    instruments = tuple(f for f in r.instruments if f not in r.excluded_instruments)
    probabilities: dict[str, dict[str, float]] = {}
    if r.genres:
        probabilities["genre"] = {r.genres[0]: 1.0}
    if r.emotions:
        probabilities["emotion"] = {r.emotions[0]: 1.0}
    if r.tempo_bin:
        probabilities["tempo_bin"] = {r.tempo_bin: 1.0}
    if instruments:
        probabilities["instruments"] = dict.fromkeys(instruments, 1.0)
    return Attributes(genre=r.genres[0] if r.genres else None, emotion=r.emotions[0] if r.emotions else None,
                      bpm=bpm, key=r.key, instruments=instruments, probabilities=probabilities)


def default_classify(prompt: str) -> Attributes:
    """The shipped classifier; when it cannot load (weights missing), the prompt rules with a note."""
    from codeplay_nb.text import EmptyPromptError, classify

    try:
        return classify(prompt)
    except EmptyPromptError:
        raise
    except (CodeplayError, ImportError, OSError) as exc:
        log.warning("prompt classifier unavailable (%s); using the prompt rules only", exc)
        attrs = rules_classify(prompt)
        note = "the prompt classifier is not available here, so only attributes the prompt states were read"
        from dataclasses import replace

        return replace(attrs, notes=(*attrs.notes, note))


def make_classifier(classify_fn: ClassifyFn | str | None) -> ClassifyFn:
    """``None``: :func:`default_classify`; ``"rules"``: :func:`rules_classify`; or the callable itself."""
    if classify_fn is None:
        return default_classify
    if classify_fn == "rules":
        return rules_classify
    if callable(classify_fn):
        return classify_fn
    raise CodeplayError(f"classify_fn must be None, 'rules' or a function, not {classify_fn!r}")


# ---------------------------------------------------------------- controls
def confidence_text(attrs: Attributes, name: str) -> str:
    """"82%"-style confidence of the classifier's choice for one attribute ("" when unknown)."""
    probs = attrs.probabilities or {}
    if name == "tempo":
        head, value = probs.get("tempo_bin", {}), attrs.tempo_bin
    elif name == "instruments":
        head = probs.get("instruments", {})
        return ", ".join(f"{f} {head[f]:.0%}" for f in attrs.instruments if f in head)
    else:
        head, value = probs.get(name, {}), getattr(attrs, name)
    return f"{head[value]:.0%}" if value in head else ""


@dataclass
class AttributeControls:
    """Editable attribute controls; ``"auto"`` (0 BPM, no instruments) leaves a value to the prompt."""

    genre: Any
    emotion: Any
    tempo: Any
    instruments: Any
    key: Any
    confidence: dict[str, Any]
    box: Any
    auto_filled: dict[str, Any] = field(default_factory=dict)

    def overrides(self) -> dict[str, Any]:
        """Keyword arguments for ``compose``: only the values that are set."""
        inst = self.instruments.value
        inst = [x for x in inst.split(",") if x.strip()] if isinstance(inst, str) else list(inst)
        return {
            "genre": None if self.genre.value == AUTO else self.genre.value,
            "emotion": None if self.emotion.value == AUTO else self.emotion.value,
            "tempo": self.tempo.value or None,
            "instruments": inst or None,
            "key": None if self.key.value == AUTO else self.key.value,
        }

    def fill(self, used: Attributes, inferred: Attributes | None) -> None:
        """Show ``used`` in the controls that are on auto (remembered, so that a new prompt resets them)
        and the classifier's confidence for ``inferred``."""
        values = {"genre": used.genre or AUTO, "emotion": used.emotion or AUTO, "tempo": round(used.bpm or 0),
                  "instruments": self._instrument_value(used.instruments), "key": used.key or AUTO}
        current = self.overrides()
        for name in FIELDS:
            control = getattr(self, name)
            if current[name] is None or self.auto_filled.get(name) == control.value:
                control.value = values[name]
                self.auto_filled[name] = control.value
        for name in FIELDS:
            text = confidence_text(inferred, name) if inferred is not None else ""
            self.confidence[name].value = (f'<span class="codeplay-conf" title="how sure the prompt reader is">'
                                           f"{text} sure</span>") if text else ""

    def reset_auto(self) -> None:
        """Put back on auto every control still showing the value the last prompt filled in."""
        for name, value in self.auto_filled.items():
            control = getattr(self, name)
            if control.value == value:
                control.value = self._auto_value(name)
            self.confidence[name].value = ""
        self.auto_filled.clear()

    def _auto_value(self, name: str) -> Any:
        if name == "tempo":
            return 0
        if name == "instruments":
            return self._instrument_value(())
        return AUTO

    def _instrument_value(self, families) -> Any:
        return list(families) if isinstance(self.instruments.value, (list, tuple)) else ", ".join(families)


def build_attribute_controls() -> AttributeControls:
    """One row per attribute: the control (fixed width, full label) and the prompt reader's confidence."""
    import ipywidgets as w

    style = {"description_width": "96px"}
    size = {"width": "270px"}
    genre = w.Dropdown(options=[AUTO, *GENRES], value=AUTO, description="Genre", style=style, layout=size)
    emotion = w.Dropdown(options=[AUTO, *EMOTIONS], value=AUTO, description="Emotion", style=style, layout=size)
    tempo = w.BoundedIntText(value=0, min=0, max=300, description="Tempo (BPM)", style=style, layout=size,
                             tooltip="0 = from the prompt")
    key = w.Dropdown(options=[AUTO, *KEYS], value=AUTO, description="Key", style=style, layout=size)
    if hasattr(w, "TagsInput"):
        instruments = w.TagsInput(value=[], allowed_tags=list(FAMILY_NAMES), allow_duplicates=False,
                                  layout={"width": "270px", "min_width": "170px"})
    else:  # ipywidgets 7 (older Colab)
        instruments = w.Text(value="", placeholder="e.g. piano, bass, drums", layout={"width": "270px"})
    confidence = {name: w.HTML("", layout={"width": "auto", "min_width": "150px"}) for name in FIELDS}
    rows = [
        w.HBox([genre, confidence["genre"]]),
        w.HBox([emotion, confidence["emotion"]]),
        w.HBox([tempo, confidence["tempo"]]),
        w.HBox([key, confidence["key"]]),
        w.HBox([w.HTML('<span class="codeplay-label">Instruments</span>', layout={"width": "100px",
                                                                                  "min_width": "100px"}),
                instruments, confidence["instruments"]]),
        w.HTML('<span class="codeplay-hint">auto (or tempo 0, no instruments) = read from the prompt</span>'),
    ]
    for row in rows[:-1]:
        row.add_class("codeplay-attr-row")
    return AttributeControls(genre, emotion, tempo, instruments, key, confidence, w.VBox(rows))
