"""Generation on bar windows: the one mechanism behind compose, extend, infill and track regeneration.

A *window* is a short piece (a few bars, the tracks that fit the model's context). Three tasks:

* ``new_tracks``: generate whole tracks with given instruments after a header (and after context tracks);
* ``fill``: regenerate chosen (track, bar) cells, with everything else in the window as context (the
  MMM "BarFill" objective the model is trained with; extension is infilling empty bars at the end).

Every task runs under the NNN grammar constraint, so the result always has the requested bars and
instruments.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from .attributes import Attributes, pitch_class
from .instruments import family_of_program
from .model.checkpoint import MusicModel
from .model.config import SamplingConfig
from .model.degrees import DegreeBalance
from .model.grammar import MAX_CHORD_NOTES, PHRASE_LAG, NNNConstraint
from .model.key_feedback import KeyFeedback, pitch_class_counts
from .model.sample import sample
from .model.shaping import LineShaping
from .music import Piece, Track
from .tokenizers.base import STEPS_PER_QUARTER

MAJOR_STEPS = (0, 2, 4, 5, 7, 9, 11)
MINOR_STEPS = (0, 2, 3, 5, 7, 8, 10)
# The decoding strengths (key bias, groove bias, chord-tone bonus, register pull, guidance) are settings of
# SamplingConfig, with defaults in codeplay_nb.model.config.DECODING_DEFAULTS


@dataclass(frozen=True)
class InstrumentSpec:
    program: int
    is_drum: bool = False

    @property
    def family(self) -> str:
        return family_of_program(self.program, self.is_drum)


def key_pitch_bias(key: str | None, *, on_beat: bool = False, sampling: SamplingConfig | None = None):
    """Additive logits over the 128 pitches that favour the scale of ``key`` (None: no bias), with the
    strengths of ``sampling`` (default: :class:`SamplingConfig`'s)."""
    if not key:
        return None
    import torch

    cfg = sampling or SamplingConfig()
    tonic, mode = key.split()
    root = pitch_class(tonic)
    steps = MINOR_STEPS if mode == "minor" else MAJOR_STEPS
    in_scale = {(root + s) % 12 for s in steps}
    bias = torch.full((128,), -cfg.out_of_key_penalty)
    for p in range(128):
        if p % 12 in in_scale:
            bias[p] = 0.0
    if mode == "minor":  # the raised leading tone of harmonic minor is idiomatic
        lead = (root + 11) % 12
        for p in range(lead, 128, 12):
            bias[p] = -min(0.5, cfg.out_of_key_penalty)
    third = 3 if mode == "minor" else 4
    tonic_bonus = cfg.tonic_bonus_on_beat if on_beat else cfg.tonic_bonus
    for interval, bonus in ((0, tonic_bonus), (third, cfg.third_bonus), (7, cfg.fifth_bonus)):
        for p in range((root + interval) % 12, 128, 12):
            bias[p] += bonus
    return bias


DENSITY_LEVELS = ("low", "medium", "high")
# DENS bin (notes per bar per track, see tokenizers.nnn.DENSITY_EDGES) for each level: pitched / drums
_DENSITY_BINS = {"low": (2, 4), "medium": (4, 6), "high": (6, 7)}
MONO_FAMILIES = ("bass",)  # one note per onset unless the person asks otherwise


def density_bin_for(level: str | None, is_drum: bool) -> int | None:
    """The DENS token value a density level asks for (None: the model chooses)."""
    if level is None or level == "auto":
        return None
    if level not in _DENSITY_BINS:
        from .errors import CodeplayError

        raise CodeplayError(f"density {level!r}: use auto, {', '.join(DENSITY_LEVELS)}")
    return _DENSITY_BINS[level][1 if is_drum else 0]


def part_roles(families: Sequence[str]) -> list[tuple[int, int]]:
    """Each track's ``(rank, count)`` within its family, in track order: a piece's tracks of one family come
    highest first (compose writes them in the order asked, and training examples deal them so), so the
    second of two pianos is the lower part."""
    seen: dict[str, int] = {}
    out = []
    for f in families:
        out.append((seen.get(f, 0), families.count(f)))
        seen[f] = seen.get(f, 0) + 1
    return out


def track_limits(mm: MusicModel, targets: Sequence[tuple[int, bool]],
                 roles: Sequence[tuple[int, int]] | None = None, role_penalty: float = 0.0) -> tuple[list, list]:
    """Per target track: its family's register from the training data (``family_ranges.json`` beside the
    checkpoint; None for drums or when the checkpoint has none) and the most notes one onset may hold. With
    ``role_penalty`` and a target's ``roles`` entry ``(rank, count)`` for a family the checkpoint knows parts
    of (``"roles"``: :func:`~codeplay_nb.model.ranges.role_ranges`), that part's band and the strength come
    as a fourth and fifth element."""
    ranges = mm.info.get("family_ranges", {}) if isinstance(mm.info, dict) else {}
    pitch_ranges, max_chord = [], []
    for i, (program, is_drum) in enumerate(targets):
        fam = family_of_program(program, is_drum)
        r = ranges.get(fam) if not is_drum else None
        parts = (r or {}).get("roles", {}).get(str(roles[i][1])) if role_penalty and roles else None
        if parts and roles[i][0] < len(parts):
            part = parts[roles[i][0]]
            pitch_ranges.append((int(r["lo"]), int(r["hi"]), int(part["p10"]), int(part["p90"]), float(role_penalty)))
        elif r and "p10" in r:
            pitch_ranges.append((int(r["lo"]), int(r["hi"]), int(r["p10"]), int(r["p90"])))
        else:
            pitch_ranges.append((int(r["lo"]), int(r["hi"])) if r else None)
        max_chord.append(1 if fam in MONO_FAMILIES else MAX_CHORD_NOTES)
    return pitch_ranges, max_chord


def _bar_labels(chords, n: int) -> list[str | None]:
    return [chords[b] if chords and b < len(chords) else None for b in range(n)]


def chord_tone_sets(chords, n: int) -> list[frozenset | None]:
    """Pitch classes of each of ``n`` bars' chords (None for no chord / unknown / no lane)."""
    from .chords import chord_pitch_classes

    return [chord_pitch_classes(c) or None if c else None for c in _bar_labels(chords, n)]


def chord_roots(chords, n: int) -> list[int | None]:
    """Root pitch class of each of ``n`` bars' chords (None for no chord / unknown / no lane)."""
    from .chords import chord_root

    return [chord_root(c) if c else None for c in _bar_labels(chords, n)]


def bare_scale_bias(key: str, sampling: SamplingConfig):
    """The key's scale bias (out-of-key penalty) without its tonic/third/fifth emphasis."""
    return key_pitch_bias(key, sampling=replace(sampling, tonic_bonus=0.0, tonic_bonus_on_beat=0.0, third_bonus=0.0,
                                                fifth_bonus=0.0))


def harmony_settings(key: str | None, chords, n_bars: int, sampling: SamplingConfig, bars=None) -> dict:
    """The constraint's chord settings: chord tones per bar and, with ``sampling.harmony_bias`` and a key,
    the key's bare scale and the chord roots that take the place of the key's tonic emphasis in chord bars.
    ``bars`` picks which bars (fills); default all ``n_bars``."""
    tones, roots = chord_tone_sets(chords, n_bars), chord_roots(chords, n_bars)
    if bars is not None:
        tones, roots = [tones[b] for b in bars], [roots[b] for b in bars]
    out = {"chord_tones": tones, "chord_tone_bonus": sampling.chord_tone_bonus}
    if key and sampling.harmony_bias and any(r is not None for r in roots):
        out.update(scale_bias=bare_scale_bias(key, sampling), chord_roots=roots,
                   chord_root_bonus=sampling.chord_root_bonus)
    return out


def key_settings(key: str | None, sampling: SamplingConfig, heard: Sequence[int] = (),
                 degrees: dict | None = None) -> dict:
    """The constraint's key biases: the full bias off and on the beat; with ``sampling.key_feedback``, the
    key's bare scale and a :class:`KeyFeedback`; with ``sampling.degree_balance`` and the training songs'
    degree rates (``degrees``: ``key_degrees.json``), a :class:`DegreeBalance`; both seeded with ``heard`` (the
    context's pitched notes)."""
    out = {"pitch_bias": key_pitch_bias(key, sampling=sampling),
           "beat_bias": key_pitch_bias(key, on_beat=True, sampling=sampling)}
    if key and sampling.degree_balance > 0 and degrees and key.split()[1] in degrees:
        tonic, mode = key.split()
        out["degree_balance"] = DegreeBalance(pitch_class(tonic), mode, degrees[mode], sampling.degree_balance,
                                              pitch_class_counts(heard))
    if key and sampling.key_feedback > 0:
        tonic, mode = key.split()
        out.update(plain_bias=bare_scale_bias(key, sampling),
                   key_feedback=KeyFeedback(pitch_class(tonic), mode, sampling.key_feedback,
                                            pitch_class_counts(heard)))
    return out


def bar_hits(piece: Piece, track: Track, bar: int) -> frozenset:
    """``(grid step in the bar, pitch)`` of a track's notes in ``bar`` (12 steps per quarter)."""
    start, end = piece.bar_span(bar, bar)
    return frozenset((round((n.start - start) * STEPS_PER_QUARTER / piece.tpq), n.pitch)
                     for n in track.notes if start <= n.start < end)


def bar_steps_of(window: Piece, n_bars: int) -> list[int]:
    starts = window.bar_starts(until=window.bar_span(0, n_bars - 1)[1])[: n_bars + 1]
    return [round((b - a) * STEPS_PER_QUARTER / window.tpq) for a, b in itertools.pairwise(starts)]


# Header tokens classifier-free guidance contrasts with unknown: the genre only. The emotion stays a plain
# condition in both rows: only VGMIDI (piano game music without drums, 3% of the tokens) carries emotion labels,
# and guiding on it pulled every emotional prompt towards that data -- 7 of 30 clips of "a happy pop song with
# piano, bass and drums"-like prompts got at most 2 drum hits per bar (mean 7.4), against 0 of 30 (mean 12.7)
# with the genre alone guided (MODEL_CARD "Decoding settings").
GUIDED_PREFIXES = ("GENRE_",)


def unconditional_prompt(prompt: Sequence[str]) -> list[str] | None:
    """``prompt`` with its genre set to unknown (the training's attribute dropout taught the model that), or
    None when it names none. The same length, so both run in one batch."""
    end = prompt.index("HEADER_END") if "HEADER_END" in prompt else len(prompt)
    out = list(prompt)
    for i in range(end):
        for prefix in GUIDED_PREFIXES:
            if out[i].startswith(prefix):
                out[i] = prefix + "unknown"
    return out if out != list(prompt) else None


def _run(mm: MusicModel, prompt: list[str], constraint: NNNConstraint, sampling: SamplingConfig, seed: int,
         on_token: Callable[[int], None] | None) -> list[str]:
    tok = mm.tokenizer
    ids = tok.ids(prompt)
    guided = sampling.guidance != 1.0 or sampling.drum_guidance != 1.0
    uncond = unconditional_prompt(prompt) if guided else None
    out = sample(mm.model, ids, constraint, temperature=sampling.temperature, top_k=sampling.top_k,
                 top_p=sampling.top_p, seed=seed, on_token=on_token,
                 uncond_prompt=tok.ids(uncond) if uncond else None, guidance=sampling.guidance,
                 drum_guidance=sampling.drum_guidance)
    return prompt + tok.tokens(out)


def generate_new_tracks(
    mm: MusicModel,
    *,
    n_bars: int,
    specs: Sequence[InstrumentSpec],
    attributes: Attributes,
    bpm: float,
    time_signature: tuple[int, int],
    context: Piece | None = None,
    seed: int = 0,
    sampling: SamplingConfig | None = None,
    on_token: Callable[[int], None] | None = None,
    density: str | None = None,
    rests: bool = False,
) -> Piece:
    """Generate ``specs`` tracks over ``n_bars`` bars (each holding notes in every bar unless ``rests``;
    ``density`` low/medium/high sets every new track's density token). With ``context`` (a window of the same bars), its
    tracks come first in the prompt and the new tracks are generated to fit them; the result holds the
    context tracks followed by the new ones."""
    tok = mm.tokenizer
    sampling = sampling or SamplingConfig()
    if context is None:
        context = Piece(tracks=(), tpq=480).replace(
            tempos=(_tempo(bpm),), time_signatures=(_ts(time_signature),),
            length=_bars_ticks(time_signature, 480, n_bars))
    fams = {family_of_program(t.program, t.is_drum) for t in context.tracks} | {s.family for s in specs}
    prompt = tok.encode_tokens(context, attributes, n_bars=n_bars, end=False, keep_empty=True)
    # rebuild the header with every family that will be present
    head_end = prompt.index("HEADER_END")
    header = tok.header_tokens(attributes, n_bars, fams, context.tempos[0].qpm,
                               (context.time_signatures[0].numerator, context.time_signatures[0].denominator))
    prompt = header + prompt[head_end + 1:]
    programs = [(s.program, s.is_drum) for s in specs]
    everyone = [family_of_program(t.program, t.is_drum) for t in context.tracks] + [s.family for s in specs]
    pitch_ranges, max_chord = track_limits(mm, programs, part_roles(everyone)[len(context.tracks):],
                                           sampling.role_register_penalty)
    constraint = NNNConstraint(
        tok, programs=programs, bar_steps=bar_steps_of(context, n_bars),
        max_tokens_per_bar=sampling.max_tokens_per_bar, every_bar=not rests,
        **key_settings(attributes.key, sampling, [n.pitch for t in context.tracks if not t.is_drum for n in t.notes],
                      _degrees(mm)),
        densities=[density_bin_for(density, d) for _, d in programs], pitch_ranges=pitch_ranges,
        max_chord_notes=max_chord, groove_bias=sampling.groove_bias, shaping=LineShaping.from_sampling(sampling),
        repeat_free=[m == 1 for m in max_chord], phrase_bias=sampling.phrase_bias, centres=[sum(n.pitch for n in t.notes) / len(t.notes)
                                                 for t in context.tracks if t.notes and not t.is_drum],
        **harmony_settings(attributes.key, attributes.chords, n_bars, sampling),
        register_penalty=sampling.register_penalty,
        layers=_layers(context, {}) if sampling.cross_penalty else None, first_key=len(context.tracks),
        grid_penalty=sampling.grid_penalty,
    )
    toks = _run(mm, prompt, constraint, sampling, seed, on_token)
    return _with_source_timing(tok.decode_tokens(toks), context)


def generate_fill(
    mm: MusicModel,
    window: Piece,
    cells: dict[int, set[int]],
    *,
    attributes: Attributes,
    seed: int = 0,
    sampling: SamplingConfig | None = None,
    on_token: Callable[[int], None] | None = None,
    rests: bool = False,
) -> Piece:
    """Regenerate the bars ``cells[track_index]`` (0-based, window-relative) of ``window``. Returns the
    window with those cells replaced (all tracks kept, in order, at the window's tpq)."""
    tok = mm.tokenizer
    sampling = sampling or SamplingConfig()
    n_bars = window.n_bars
    prompt = tok.encode_tokens(window, attributes, n_bars=n_bars, fill=cells, end=False, keep_empty=True)
    steps = bar_steps_of(window, n_bars)
    fill_steps: list[int] = []
    fill_drum: list[bool] = []
    fill_targets: list[tuple[int, bool]] = []
    prev_hits: list[frozenset] = []
    fill_bars: list[int] = []
    fill_tracks: list[int] = []
    lag_hits: list[frozenset | None] = []
    spans: dict[int, tuple[int, int] | None] = {}
    for ti in sorted(cells):
        for b in sorted(cells[ti]):
            fill_bars.append(b)
            fill_steps.append(steps[b])
            fill_drum.append(window.tracks[ti].is_drum)
            fill_targets.append((window.tracks[ti].program, window.tracks[ti].is_drum))
            known = window.tracks[ti].is_drum and b > 0 and b - 1 not in cells[ti]
            prev_hits.append(bar_hits(window, window.tracks[ti], b - 1) if known else frozenset())
            lag = b - PHRASE_LAG
            pitched_lag = not window.tracks[ti].is_drum and lag >= 0 and lag not in cells[ti]
            lag_hits.append(bar_hits(window, window.tracks[ti], lag) if pitched_lag else None)
            fill_tracks.append(ti)
        spans[ti] = _kept_span(window, ti, cells[ti])
    if not fill_steps:
        return window
    has_context = window.n_notes > 0
    roles = part_roles([family_of_program(t.program, t.is_drum) for t in window.tracks])
    pitch_ranges, max_chord = track_limits(mm, fill_targets, [roles[ti] for ti in fill_tracks],
                                           sampling.role_register_penalty)
    constraint = NNNConstraint(
        tok, fill_steps=fill_steps, fill_drum=fill_drum, require_notes=has_context,
        max_tokens_per_bar=sampling.max_tokens_per_bar, every_bar=not rests,
        **key_settings(attributes.key, sampling, _kept_pitches(window, cells), _degrees(mm)), pitch_ranges=pitch_ranges, max_chord_notes=max_chord, groove_bias=sampling.groove_bias,
        shaping=LineShaping.from_sampling(sampling), repeat_free=[m == 1 for m in max_chord],
        fill_prev_hits=prev_hits,
        fill_spans=[spans[ti] for ti in fill_tracks], fill_tracks=fill_tracks, phrase_bias=sampling.phrase_bias,
        fill_lag_hits=lag_hits, fill_bars=fill_bars,
        **harmony_settings(attributes.key, attributes.chords, n_bars, sampling, bars=fill_bars),
        register_penalty=sampling.register_penalty,
        layers=_layers(window, cells) if sampling.cross_penalty else None, grid_penalty=sampling.grid_penalty,
    )
    toks = _run(mm, prompt, constraint, sampling, seed, on_token)
    return _with_source_timing(tok.decode_tokens(toks), window)


def _layers(window: Piece, cells: dict[int, set[int]]) -> dict[int, dict[int, frozenset]]:
    """Per pitched track of ``window`` (by index): its hits in each bar it keeps (not in ``cells``)."""
    out = {}
    for ti, track in enumerate(window.tracks):
        if track.is_drum or not track.notes:
            continue
        out[ti] = {b: bar_hits(window, track, b) for b in range(window.n_bars) if b not in cells.get(ti, ())}
    return out


def _kept_span(window: Piece, ti: int, bars: set[int]) -> tuple[int, int] | None:
    """Lowest and highest pitch of track ``ti`` outside ``bars`` of ``window`` (None: drums or no notes)."""
    track = window.tracks[ti]
    if track.is_drum:
        return None
    kept = [n.pitch for n in track.notes if window.bar_of(n.start) not in bars]
    return (min(kept), max(kept)) if kept else None


def _degrees(mm: MusicModel) -> dict | None:
    return mm.info.get("key_degrees") if isinstance(mm.info, dict) else None


def _kept_pitches(window: Piece, cells: dict[int, set[int]]) -> list[int]:
    """Pitches of the window's pitched notes outside the regenerated cells."""
    return [n.pitch for ti, t in enumerate(window.tracks) if not t.is_drum for n in t.notes
            if window.bar_of(n.start) not in cells.get(ti, ())]


def _with_source_timing(decoded: Piece, source: Piece) -> Piece:
    """Put a decoded window (480 tpq) back on the source window's tpq, tempo map and meters."""
    scale = None if decoded.tpq == source.tpq else source.tpq / decoded.tpq
    tracks = []
    for t in decoded.tracks:
        if scale is None:
            tracks.append(t)
            continue
        from .music import Note

        notes = tuple(Note(n.pitch, n.velocity, round(n.start * scale), max(1, round(n.duration * scale)))
                      for n in t.notes)
        tracks.append(Track(t.program, t.is_drum, t.name, notes))
    for i, t in enumerate(tracks):
        if i < len(source.tracks):
            src = source.tracks[i]
            tracks[i] = Track(src.program, src.is_drum, src.name, t.notes, src.controls, src.pitch_bends)
    return source.replace(tracks=tuple(tracks), length=max(source.length, 0))


def _tempo(bpm: float):
    from .music import Tempo

    return Tempo(0, float(bpm))


def _ts(ts: tuple[int, int]):
    from .music import TimeSignature

    return TimeSignature(0, ts[0], ts[1])


def _bars_ticks(ts: tuple[int, int], tpq: int, n_bars: int) -> int:
    return n_bars * ts[0] * tpq * 4 // ts[1]


def new_seed(seed: int | None) -> int:
    """The seed to use: the given one, or a fresh random one (recorded so results can be reproduced)."""
    return int(seed) if seed is not None else random.SystemRandom().randrange(2**31)


__all__ = ["InstrumentSpec", "generate_fill", "generate_new_tracks", "key_pitch_bias", "new_seed"]
