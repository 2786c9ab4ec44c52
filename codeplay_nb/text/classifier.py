"""Prompt -> :class:`~codeplay_nb.attributes.Attributes`: a frozen encoder, trained heads, zero-shot
similarities, the style table and rules (how they are combined: :mod:`codeplay_nb.text.combine`).

Korean (and mixed Korean/English) prompts are first glossed into English words with the Korean tables
(:func:`~codeplay_nb.text.styles.gloss_korean`), then read like English prompts. Besides the four attribute
heads, ``Attributes.probabilities`` carries two extra entries for the UI:

- ``"instrument_source"``: ``{family: "named" | "implied"}`` for every returned instrument ("implied" ones
  come from a style, ensemble or scene the prompt names, or from the heads, and have probability < 1);
- ``"reading"``: ``{"language": ..., "method": ..., "styles": [...], "gloss": ...}``: which path read the
  prompt (``"minilm+zeroshot+styles"``, ``"korean-tables+minilm+zeroshot+styles"``, or
  ``"rules+minilm (english-only)"`` for other languages), the styles it recognised and, for Korean, the gloss.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from ..attributes import TEMPO_BIN_DEFAULT_BPM, Attributes
from ..errors import CodeplayError
from .backbones import TransformerBackbone, load_backbone
from .combine import WEIGHTS, Weights, combine, style_evidence
from .lexicon import is_held_out
from .rules import RuleFindings, find_instruments, find_rules
from .styles import find_styles, gloss_korean, has_hangul

if TYPE_CHECKING:
    from .heads import PromptHeads
    from .zeroshot import ZeroShotBank

DEFAULT_WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights" / "classifier"
MAX_PROMPT_CHARS = 1000
METHOD_ENGLISH = "minilm+zeroshot+styles"
METHOD_KOREAN = "korean-tables+minilm+zeroshot+styles"
METHOD_FOREIGN = "rules+minilm (english-only)"


class EmptyPromptError(CodeplayError):
    """The prompt is empty or only whitespace."""


class PromptClassifier:
    """A backbone plus trained heads and zero-shot descriptions; call :meth:`classify` or :meth:`classify_many`."""

    def __init__(self, backbone: TransformerBackbone, heads: PromptHeads, *, vocabulary: str = "all",
                 bank: ZeroShotBank | None = None, weights_dir: str | Path | None = None,
                 weights: Weights = WEIGHTS) -> None:
        if backbone.feature_dim(heads.config.features) != heads.config.input_dim:
            raise CodeplayError(
                f"the heads expect {heads.config.input_dim} features but backbone {backbone.name!r} gives "
                f"{backbone.feature_dim(heads.config.features)}: train heads for this backbone first"
            )
        from .zeroshot import load_bank

        self.backbone = backbone
        self.heads = heads.eval()
        self.vocabulary = vocabulary  # "train" scores held-out prompts without their held-out words
        self.bank = bank or load_bank(backbone, weights_dir)
        self.weights = weights

    def _features(self, texts: list[str]):
        return self.backbone.features(texts, self.heads.config.features)

    def head_probabilities(self, prompts: Sequence[str], features=None) -> list[dict[str, dict[str, float]]]:
        """The heads' own probabilities (no rules), one dict per prompt."""
        feats = self._features(list(prompts)) if features is None else features
        probs = self.heads.probabilities(feats)
        cfg = self.heads.config
        out = []
        for i in range(len(prompts)):
            out.append({h: dict(zip(cfg.labels(h), map(float, p[i].tolist()), strict=True)) for h, p in probs.items()})
        return out

    def classify(self, prompt: str) -> Attributes:
        return self.classify_many([prompt])[0]

    def read(self, prompts: Sequence[str]) -> list[dict]:
        """Everything the classifier reads per prompt: glossed text, language, rules, head probabilities,
        similarities (used by :meth:`classify_many` and by the weight tuning)."""
        prepared = [_prepare(p, self.backbone) for p in prompts]
        texts = [text for text, _, _ in prepared]
        feats = self._features(texts)
        hps = self.head_probabilities(texts, feats)
        sims = self.bank.similarities(feats[:, : self.backbone.dim])
        out = []
        for i, (text, notes, language) in enumerate(prepared):
            rules = find_rules(text, self.vocabulary)
            matches = tuple(m for m in find_styles(text) if self.vocabulary == "all" or not is_held_out(m.style.name))
            out.append({"text": text, "notes": notes, "language": language, "rules": rules, "matches": matches,
                        "in_styles": self._in_style_names(matches),
                        "head": hps[i], "sims": {k: v[i] for k, v in sims.items()}})
        return out

    def _in_style_names(self, matches) -> dict[str, frozenset[str]]:
        """Per named style, the instrument families whose word modifies the style's name ("synth" in "synth pop";
        not "choir" in "gospel choir", whose last word names what is asked for): not separate requests."""
        out: dict[str, frozenset[str]] = {}
        for m in matches:
            inside = (set(find_instruments(m.phrase, self.vocabulary)[0])
                      - set(find_instruments(re.split(r"[\s-]+", m.phrase.strip())[-1], self.vocabulary)[0]))
            out[m.style.name] = out.get(m.style.name, frozenset()) | inside
        return out

    def classify_many(self, prompts: Sequence[str]) -> list[Attributes]:
        return [self.attributes(r) for r in self.read(prompts)]

    def attributes(self, r: dict, weights: Weights | None = None) -> Attributes:
        w = weights or self.weights
        rules: RuleFindings = r["rules"]
        language = r["language"]
        foreign = language not in ("English", "Korean")
        evidence = style_evidence(r["matches"], r["sims"].get("styles"), self.bank.styles, w)
        res = combine(r["head"], r["sims"], rules, evidence, foreign, w, in_style_names=r["in_styles"])
        notes = list(r["notes"])
        if rules.excluded_instruments:
            notes.append(f"asked for no {', '.join(rules.excluded_instruments)}")
        if language == "Korean":
            method = METHOD_KOREAN
        elif foreign:
            method = METHOD_FOREIGN
            if self.backbone.english_only:
                notes.append(
                    f"the prompt looks {language}; the text model ({self.backbone.name}) is English-only and only a "
                    "few basic words of this language are known, so these attributes are rough guesses. Writing "
                    "the prompt in English (or Korean) works best."
                )
        else:
            method = METHOD_ENGLISH
        probabilities = dict(res["probabilities"])
        probabilities["instrument_source"] = res["source"]
        probabilities["reading"] = {
            "language": language, "method": method,
            "styles": [ev.style.name for ev in evidence if ev.source == "named"],
            "similar_styles": [ev.style.name for ev in evidence if ev.source == "similar"],
            **({"gloss": r["text"]} if language == "Korean" else {}),
        }
        bpm = rules.bpm if rules.bpm is not None else TEMPO_BIN_DEFAULT_BPM[res["tempo_bin"]]
        return Attributes(
            genre=res["genre"], emotion=res["emotion"], bpm=bpm, key=rules.key, instruments=res["instruments"],
            probabilities=probabilities, notes=tuple(notes),
        )


def _prepare(prompt: str, backbone: TransformerBackbone | None) -> tuple[str, list[str], str]:
    """(text to read, notes, language); a Korean prompt becomes its English gloss."""
    from .rules import detect_language

    if not isinstance(prompt, str) or not prompt.strip():
        raise EmptyPromptError("the prompt is empty: describe the music you want, e.g. 'a calm piano piece for studying'")
    text = " ".join(prompt.split())
    notes: list[str] = []
    if len(text) > MAX_PROMPT_CHARS:
        text = text[:MAX_PROMPT_CHARS]
        notes.append(f"the prompt is long; only its first {MAX_PROMPT_CHARS} characters were read")
    elif backbone is not None and backbone.count_tokens(text) > backbone.max_tokens:
        notes.append(f"the prompt is long; the text model read only its first {backbone.max_tokens} tokens")
    language = "Korean" if has_hangul(text) else detect_language(text)
    if language == "Korean":
        text = gloss_korean(text) or text
    return text, notes, language


def load_classifier(path: str | Path | None = None, *, backbone: TransformerBackbone | None = None) -> PromptClassifier:
    """Heads from ``path`` (default: the shipped weights) on their backbone (loaded by name if not given)."""
    from .heads import load_heads

    folder = path or DEFAULT_WEIGHTS_DIR
    heads = load_heads(folder)
    return PromptClassifier(backbone or load_backbone(heads.config.backbone), heads, weights_dir=folder)


@lru_cache(maxsize=1)
def default_classifier() -> PromptClassifier:
    """The shipped classifier, loaded once per process."""
    return load_classifier()


def classify(prompt: str, *, model: PromptClassifier | str | Path | None = None) -> Attributes:
    """Read genre, emotion, tempo, instruments (and a named key) from a prompt, with probabilities.

    ``model``: ``None`` for the shipped classifier, a :class:`PromptClassifier`, or a folder of trained heads.
    ``Attributes.notes`` carries messages for the user (long prompt truncated, non-English prompt, ...).
    """
    if not isinstance(prompt, str) or not prompt.strip():
        _prepare(prompt, None)  # raises EmptyPromptError before any model is loaded
    if model is None:
        clf = default_classifier()
    elif isinstance(model, PromptClassifier):
        clf = model
    else:
        clf = _load_cached(str(model))
    return clf.classify(prompt)


@lru_cache(maxsize=4)
def _load_cached(path: str) -> PromptClassifier:
    return load_classifier(path)
