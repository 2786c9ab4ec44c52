"""The compose form's own fields (bars, chords, density, sampling settings) and reading them: a value the
app cannot use is a clear message, never a silent change."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from codeplay_nb.errors import CodeplayError

MAX_BARS = 64
DENSITIES = ("auto", "low", "medium", "high")


def parse_bars(text: Any) -> int:
    """``"8"`` -> 8; anything but a whole number from 1 to 64 is an error that says what was typed."""
    s = str(text).strip()
    if not re.fullmatch(r"\d+", s) or not 1 <= int(s) <= MAX_BARS:
        shown = s if s else "nothing"
        raise CodeplayError(f"Bars must be a whole number from 1 to {MAX_BARS}; you typed {shown!r}"
                            if s else f"Bars must be a whole number from 1 to {MAX_BARS}; the field is empty")
    return int(s)


def parse_chords(text: str) -> list[str] | None:
    """``"Am F C G"`` (spaces, commas or bars between chords) -> ``["Am", "F", "C", "G"]``; empty -> ``None``.
    Each chord is checked with the core chord parser when it is there."""
    chords = [c for c in re.split(r"[\s,|]+", text or "") if c]
    if not chords:
        return None
    try:
        from codeplay_nb.chords import parse_chord
    except ImportError:
        return chords
    for c in chords:
        try:
            parse_chord(c)
        except (CodeplayError, ValueError):
            raise CodeplayError(f"{c!r} is not a chord this app can read; write chords like Am F C G7 Bbmaj7"
                                ) from None
    return chords


def accepted(fn: Callable, name: str) -> bool:
    """Whether ``fn`` takes a keyword ``name`` (the chords and density options arrive with a newer model)."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


@dataclass
class ComposeForm:
    """The fields next to the prompt, and the sampling settings kept under "More settings"."""

    bar_count: Any
    bars_hint: Any
    chords: Any
    density: Any
    seed: Any
    random_seed: Any
    temperature: Any
    top_p: Any
    backend: Any
    amt_model: Any

    def bars(self) -> int:
        return parse_bars(self.bar_count.value)

    def extras(self, compose: Callable) -> tuple[dict[str, Any], list[str]]:
        """Keyword arguments for ``compose`` (chords, density: only those it accepts) and notes about what
        was set but cannot be used by this model."""
        wanted = {"chords": parse_chords(self.chords.value),
                  "density": None if self.density.value == "auto" else self.density.value}
        kwargs, skipped = {}, []
        for name, value in wanted.items():
            if value is None:
                continue
            if accepted(compose, name):
                kwargs[name] = value
            else:
                skipped.append(name)
        notes = [f"This music model does not take {' or '.join(skipped)} yet, so it composed without them."
                 ] if skipped else []
        return kwargs, notes


def build_form(bars: int) -> ComposeForm:
    import ipywidgets as w

    style = {"description_width": "64px"}
    bar_count = w.Text(value=str(bars), description="Bars", placeholder="1-64", style=style,
                       layout={"width": "150px"})
    bars_hint = w.HTML("")
    chords = w.Text(value="", description="Chords", placeholder="optional, e.g. Am F C G", style=style,
                    layout={"width": "300px"})
    density = w.Dropdown(options=list(DENSITIES), value="auto", description="Density", style=style,
                         layout={"width": "220px"})
    wide = {"description_width": "110px"}
    seed = w.IntText(value=0, description="Seed", style=wide, layout={"width": "260px"})
    random_seed = w.Checkbox(value=True, description="new seed each time", indent=False, layout={"width": "200px"})
    temperature = w.FloatSlider(value=1.0, min=0.5, max=1.5, step=0.05, description="Temperature", style=wide,
                                layout={"width": "360px"})
    top_p = w.FloatSlider(value=0.95, min=0.5, max=1.0, step=0.01, description="Top-p", style=wide,
                          layout={"width": "360px"})
    backend = w.Dropdown(options=[("this app's model", "nnn"), ("Anticipatory Music Transformer", "amt")],
                         value="nnn", description="Edit with", style=wide, layout={"width": "420px"})
    amt_model = w.Text(value="stanford-crfm/music-small-800k", description="AMT weights", style=wide,
                       layout={"width": "420px", "display": "none"})
    backend.observe(lambda ch: setattr(amt_model.layout, "display", "" if ch["new"] == "amt" else "none"),
                    names="value")

    def check_bars(_=None) -> None:
        try:
            parse_bars(bar_count.value)
            bars_hint.value = ""
        except CodeplayError:
            bars_hint.value = f'<span class="codeplay-hint">1 to {MAX_BARS}</span>'

    bar_count.observe(check_bars, names="value")
    return ComposeForm(bar_count, bars_hint, chords, density, seed, random_seed, temperature, top_p, backend,
                       amt_model)
