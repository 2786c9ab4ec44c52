"""How the heads, the zero-shot similarities, the style table and the rules become one set of probabilities.

Each single-label head (genre incl. "none", emotion, tempo bin) gets a score per label that adds up evidence,
then a softmax:

    score = HEAD * log p_head + ZS * log softmax(similarity to the label descriptions / ZS_TEMP)
          + evidence from the prompt's words: named genres, stated emotion words, a stated tempo or BPM,
            and the styles it names (style table: genre, usual emotion, usual tempo), weighted by kind
            (a genre/style/ensemble counts more than a scene or mood, an ambiguous word like "house" half)
          + the same from the styles most similar to the prompt (zero-shot over the style descriptions)

Instruments: a family named in the prompt has probability 1 (source "named"); a family a named style implies
(``orchestral`` -> strings, brass, woodwinds) gets the style's weight, below 1 (source "implied"); the heads'
own probability is capped below the named ones; an excluded family ("no drums") is 0. Families at or above
``INSTRUMENT_MIN_PROB`` are returned, named ones first.

The weights are :class:`Weights`; their values were chosen on tuning prompts only (the tuning halves of the
natural prompt sets and two development sets; never a test half).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..attributes import EMOTIONS, GENRES, INSTRUMENTS, TEMPO_BINS
from .lexicon import EMOTION_DEFAULT_TEMPO
from .rules import RuleFindings
from .styles import Style, StyleMatch

NO_GENRE = "none"
KIND_WEIGHT = {"genre": 1.0, "style": 1.0, "ensemble": 1.0, "scene": 0.6, "use": 0.6, "mood": 0.5}
# a broad genre ("jazz", "rock") spans many tempos and moods: its row's usual tempo and emotion count less
BROAD = {"genre": 0.4}
# an ensemble or solo instrument says what plays, hardly how fast ("a string quartet" plays adagios and prestos):
# its row's usual tempo counts as little as a broad genre's
TEMPO_BROAD = {"genre": 0.4, "ensemble": 0.4}
IMPLIED_INSTRUMENT = {"ensemble": 0.9, "style": 0.8, "genre": 0.7, "scene": 0.45, "use": 0.45, "mood": 0.4}


@dataclass(frozen=True)
class Weights:
    """Evidence weights, chosen by a coordinate search over a small grid on tuning prompts only
    (``benchmarks/tune_prompt_weights.py``: the tuning halves of sets a and c, the dev set and set b; zs_genre,
    zs_emotion and style_genre were moved there from 0.25 / 0 / 4 on set a's tuning half alone)."""

    head: float = 0.5
    zs_genre: float = 0.33
    zs_emotion: float = 0.25
    zs_tempo: float = 0.3
    zs_temp: float = 0.05
    named_genre: float = 2.0
    style_genre: float = 5.3
    emotion_words: float = 1.5
    emotion_words_foreign: float = 5.0
    style_emotion: float = 1.2
    tempo_stated: float = 6.0
    style_tempo: float = 2.5
    emotion_tempo: float = 0.4
    stated_tempo_damp: float = 0.25  # a tempo stated in words: the styles' and emotion's usual tempo count this much
    similar_style: float = 1.0  # zero-shot style evidence at similarity 1 (scaled down to 0 at SIMILAR_MIN)
    similar_min: float = 0.55
    similar_top: int = 2
    genre_min_prob: float = 0.4
    instrument_min_prob: float = 0.7
    head_instrument_cap: float = 0.85


WEIGHTS = Weights()


@dataclass(frozen=True)
class Evidence:
    style: Style
    weight: float
    source: str  # "named" or "similar"


def style_evidence(matches: tuple[StyleMatch, ...], style_sims, styles: tuple[Style, ...], w: Weights) -> list[Evidence]:
    """Named styles (weighted by kind, ambiguous words half), then the most similar unnamed ones."""
    out = [Evidence(m.style, KIND_WEIGHT[m.style.kind] * (0.5 if m.ambiguous else 1.0), "named") for m in matches]
    named = {m.style.name for m in matches}
    if style_sims is not None and w.similar_style > 0:
        order = sorted(range(len(styles)), key=lambda i: -float(style_sims[i]))[: w.similar_top]
        for i in order:
            sim = float(style_sims[i])
            if sim >= w.similar_min and styles[i].name not in named:
                scale = (sim - w.similar_min) / (1 - w.similar_min)
                out.append(Evidence(styles[i], w.similar_style * scale * KIND_WEIGHT[styles[i].kind], "similar"))
    return out


def _log_softmax(values: list[float], temp: float) -> list[float]:
    m = max(values) / temp
    z = math.log(sum(math.exp(v / temp - m) for v in values))
    return [v / temp - m - z for v in values]


def _softmax(scores: dict[str, float]) -> dict[str, float]:
    m = max(scores.values())
    e = {k: math.exp(v - m) for k, v in scores.items()}
    s = sum(e.values())
    return {k: v / s for k, v in e.items()}


def _base(head: dict[str, float], labels, sims, w_zs: float, w: Weights) -> dict[str, float]:
    scores = {k: w.head * math.log(max(head.get(k, 0.0), 1e-6)) for k in labels}
    if sims is not None and w_zs:
        real = [lab for lab in labels if lab != NO_GENRE]
        zs = dict(zip(real, _log_softmax([float(x) for x in sims], w.zs_temp), strict=True))
        mean = sum(zs.values()) / len(zs)
        for k in labels:
            scores[k] += w_zs * zs.get(k, mean)
    return scores


def combine(hp: dict[str, dict[str, float]], sims: dict | None, rules: RuleFindings, evidence: list[Evidence],
            foreign: bool, w: Weights = WEIGHTS, *, in_style_names: dict[str, frozenset[str]] | None = None) -> dict:
    """Probabilities per head, the chosen labels, and the instruments with their source. ``in_style_names``:
    style -> the named families whose word is part of that style's name in the prompt ("synth" in "synth pop"):
    they are still returned as named, but do not make that style's other instruments less likely, as a
    separately named instrument does (another style's instruments still are: "piano sonata ... classical")."""
    in_style_names = in_style_names or {}
    sims = sims or {}
    # genre
    g = _base(hp["genre"], (*GENRES, NO_GENRE), sims.get("genre"), w.zs_genre, w)
    for i, genre in enumerate(rules.genres):
        g[genre] += w.named_genre * (1.0 if i == 0 else 0.5)
    for ev in evidence:
        if ev.style.genre:
            g[ev.style.genre] += w.style_genre * ev.weight
    genre_p = _softmax(g)
    best = max(genre_p, key=genre_p.get)
    genre = best if best != NO_GENRE and genre_p[best] >= w.genre_min_prob else None
    # emotion
    e = _base(hp["emotion"], EMOTIONS, sims.get("emotion"), w.zs_emotion, w)
    stated = w.emotion_words_foreign if foreign else w.emotion_words
    for emo in rules.emotions:
        e[emo] += stated / len(rules.emotions)
    for ev in evidence:
        if ev.style.emotion:
            e[ev.style.emotion] += (w.style_emotion * ev.weight * (0.5 if rules.emotions else 1.0)
                                    * BROAD.get(ev.style.kind, 1.0))
    emotion_p = _softmax(e)
    emotion = max(emotion_p, key=emotion_p.get)
    # tempo
    t = _base(hp["tempo_bin"], TEMPO_BINS, sims.get("tempo_bin"), w.zs_tempo, w)
    # the prompt's own tempo words win over what its styles and mood usually imply ("a slow punk song")
    implied = w.stated_tempo_damp if rules.tempo_bin else 1.0
    if rules.tempo_bin:
        t[rules.tempo_bin] += w.tempo_stated
    if rules.genre_tempo:
        sharpen = rules.tempo_bin == "fast" and rules.genre_tempo == "very_fast"
        t[rules.genre_tempo] += w.style_tempo * (1.0 if sharpen else implied)
    for ev in evidence:
        if ev.style.tempo:
            # ... except that a very fast style sharpens a plain "fast" ("fast punk rock" is very fast)
            sharpen = rules.tempo_bin == "fast" and ev.style.tempo == "very_fast"
            t[ev.style.tempo] += (w.style_tempo * ev.weight * TEMPO_BROAD.get(ev.style.kind, 1.0)
                                  * (1.0 if sharpen else implied))
    t[EMOTION_DEFAULT_TEMPO[emotion]] += w.emotion_tempo * implied
    tempo_p = _softmax(t)
    # instruments
    inst_p = {f: min(hp["instruments"].get(f, 0.0), w.head_instrument_cap) for f in INSTRUMENTS}
    for ev in evidence:
        kind_w = IMPLIED_INSTRUMENT[ev.style.kind]
        if set(rules.instruments) - in_style_names.get(ev.style.name, frozenset()) and ev.style.kind != "ensemble":
            kind_w *= 0.75
        scale = kind_w * (min(1.0, ev.weight) if ev.source == "similar" else (0.8 if ev.weight < 0.5 else 1.0))
        for f in ev.style.instruments:
            inst_p[f] = max(inst_p[f], scale)
    inst_p.update({f: 1.0 for f in rules.instruments})
    inst_p.update({f: 0.0 for f in rules.excluded_instruments})
    implied = [f for f, p in sorted(inst_p.items(), key=lambda kv: -kv[1])
               if p >= w.instrument_min_prob and f not in rules.instruments]
    return {
        "genre": genre, "emotion": emotion, "tempo_bin": max(tempo_p, key=tempo_p.get),
        "instruments": (*rules.instruments, *implied),
        "source": {**{f: "named" for f in rules.instruments}, **{f: "implied" for f in implied}},
        "probabilities": {
            "genre": {k: round(genre_p[k], 4) for k in GENRES},
            "emotion": {k: round(v, 4) for k, v in emotion_p.items()},
            "tempo_bin": {k: round(v, 4) for k, v in tempo_p.items()},
            "instruments": {k: round(v, 4) for k, v in inst_p.items()},
        },
    }
