"""The NNN grammar as a sampling constraint: at every step, which tokens are legal.

Used while sampling (a mask over the logits, anticipation's ``safe_logits`` idea) so every output decodes to
a valid piece with exactly the requested bars and instruments, every requested instrument holding notes.
Two tasks: ``tracks`` (generate whole tracks with forced programs after a prompt) and ``fills`` (generate
the FILL_START..FILL_END blocks for the FILL placeholders in the prompt).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from ..tokenizers.nnn import (
    MAX_REST,
    MAX_SHIFT_STEPS,
    N_DUR_CLASSES,
    N_FUSED_DUR,
    N_VEL_BINS,
    NEXT_PITCHES,
    NNNTokenizer,
)
from .config import DECODING_DEFAULTS
from .degrees import DegreeBalance
from .key_feedback import KeyFeedback
from .pitch_bias import PitchPlacement
from .shaping import LineShaper, LineShaping
from .tilts import StepTilt

DRUM_PITCHES = range(27, 88)
PHRASE_LAG = 4  # the phrase bias echoes the bar this many bars before (real songs repeat in 4-bar phrases)
MAX_CHORD_NOTES = 10  # notes starting together in one track; a pitch never repeats within one onset


_SHARED_MASKS: dict[tuple, tuple[dict, dict]] = {}
_MAX_SHARED = 64


def _prog_token(program: int, is_drum: bool) -> str:
    return "PROG_DRUMS" if is_drum else f"PROG_{program}"


@dataclass
class GrammarState:
    """Mutable state while generating."""

    phase: str = "expect_track"  # expect_track, expect_prog, expect_dens, expect_bar, in_bar, expect_fill, done
    track_idx: int = 0
    fill_idx: int = 0
    bars_done: int = 0
    pos: int = 0
    vel_set: bool = False
    dur_set: bool = False
    notes_in_track: int = 0
    notes_in_fills: int = 0
    tokens_in_bar: int = 0
    chord: set[int] = field(default_factory=set)  # pitches already played at the current position
    step: int | None = None  # the track's current step (set by SHIFT, used by NEXT)
    resting: bool = False  # after REST_k: the bars it opened are empty, only a bar boundary may follow
    notes_in_bar: int = 0  # notes in the current bar (or fill block)
    hits: set = field(default_factory=set)  # (position, pitch) of the current drum bar
    prev_hits: frozenset = frozenset()  # ... and of the bar before it (the groove to keep)
    lo: int | None = None  # lowest and highest pitch of the current pitched track (fill block) so far
    hi: int | None = None
    pitch_sum: int = 0  # sum and count of the current pitched track's pitches
    pitch_n: int = 0
    centres: list[float] = field(default_factory=list)  # mean pitch of each earlier pitched track
    bar_log: dict[int, frozenset] = field(default_factory=dict)  # hits of each finished bar of this track
    lag_hits: frozenset = frozenset()  # hits of the bar PHRASE_LAG bars before this one (the phrase to echo)
    history: list[int] = field(default_factory=list)


def can_play_now(key: tuple) -> bool:
    """Whether an in-bar mask key allows pitches (its fifth field)."""
    return bool(key[4])


class NNNConstraint:
    """Grammar constraint for one generation task.

    ``programs``: ``[(program, is_drum), ...]`` for the tracks to generate (``tracks`` task), each forced in
    order; ``bar_steps``: length of every bar in grid steps; ``fill_steps``: bar length of each FILL
    placeholder in prompt order (``fills`` task); ``pitch_bias``: optional additive logits over the 128
    pitches of pitched tracks (key control).
    """

    def __init__(
        self,
        tokenizer: NNNTokenizer,
        *,
        programs: Sequence[tuple[int, bool]] = (),
        bar_steps: Sequence[int] = (),
        fill_steps: Sequence[int] = (),
        fill_drum: Sequence[bool] = (),
        require_notes: bool = True,
        max_tokens_per_bar: int = 160,
        pitch_bias: torch.Tensor | None = None,
        beat_bias: torch.Tensor | None = None,
        steps_per_beat: int = 12,
        every_bar: bool = True,
        densities: Sequence[int | None] = (),
        pitch_ranges: Sequence[tuple[int, int] | None] = (),
        max_chord_notes: Sequence[int] = (),
        groove_bias: float = 0.0,
        fill_prev_hits: Sequence[frozenset] = (),
        chord_tones: Sequence[frozenset | None] = (),
        chord_tone_bonus: float = DECODING_DEFAULTS["chord_tone_bonus"],
        register_penalty: float = DECODING_DEFAULTS["register_penalty"],
        chord_roots: Sequence[int | None] = (),
        chord_root_bonus: float = 0.0,
        scale_bias: torch.Tensor | None = None,
        shaping: LineShaping | None = None,
        repeat_free: Sequence[bool] = (),
        fill_spans: Sequence[tuple[int, int] | None] = (),
        fill_tracks: Sequence[int] = (),
        centres: Sequence[float] = (),
        plain_bias: torch.Tensor | None = None,
        key_feedback: KeyFeedback | None = None,
        degree_balance: DegreeBalance | None = None,
        phrase_bias: float = 0.0,
        fill_lag_hits: Sequence[frozenset | None] = (),
        fill_bars: Sequence[int] = (),
        layers: dict | None = None,
        first_key: int = 0,
        grid_penalty: float = 0.0,
    ) -> None:
        self.tok = tokenizer
        self.programs = list(programs)
        self.bar_steps = list(bar_steps)
        self.fill_steps = list(fill_steps)
        self.fill_drum = list(fill_drum) or [False] * len(self.fill_steps)
        self.task = "fills" if self.fill_steps else "tracks"
        self.require_notes = require_notes
        # drums: logits added to the hits (and the steps to them) the previous bar played at this position,
        # so a groove is kept from bar to bar unless the model is sure of a change (0: off)
        self.groove_bias = float(groove_bias)
        self.fill_prev_hits = list(fill_prev_hits)  # per fill block: the drum bar before it, from the context
        # pitched tracks: logits added to the notes (and the steps to them) of the bar PHRASE_LAG bars earlier,
        # so a phrase comes back as real songs' do (0: off); fills take that bar from the context
        # (``fill_lag_hits``) or from a block generated earlier in the call (``fill_bars``: each block's bar)
        self.phrase_bias = float(phrase_bias)
        self.fill_lag_hits = list(fill_lag_hits)
        self.fill_bars = list(fill_bars)
        self._fill_log: dict[tuple[int, int], frozenset] = {}
        # per bar (tracks task) or per fill block: the pitch classes of the chord asked for there (None: none)
        self.chord_tones = [frozenset(c) if c else None for c in chord_tones]
        self.chord_tone_bonus = float(chord_tone_bonus)
        self.register_penalty = float(register_penalty)
        # with ``scale_bias`` (the key's scale without its tonic/third/fifth bonuses), a bar with a chord
        # takes that instead of the key bias, and its chord root (``chord_roots``) gets ``chord_root_bonus``
        # on the beats: the emphasis moves with the harmony instead of holding the tonic through every chord
        self.chord_roots = list(chord_roots)
        self.chord_root_bonus = float(chord_root_bonus)
        # every bar of a generated track (every fill block) holds a note unless the person asks for rests
        self.every_bar = every_bar and require_notes
        n_targets = len(self.fill_steps) if self.task == "fills" else len(self.programs)
        self.densities = list(densities) + [None] * (n_targets - len(densities))
        self.pitch_ranges = list(pitch_ranges) + [None] * (n_targets - len(pitch_ranges))
        self.max_chord_notes = list(max_chord_notes) + [MAX_CHORD_NOTES] * (n_targets - len(max_chord_notes))
        self.max_tokens_per_bar = max_tokens_per_bar
        self.state = GrammarState(phase="expect_fill" if self.task == "fills" else "expect_track",
                                  centres=[float(c) for c in centres])
        if self.task == "tracks" and not self.programs:
            self.state.phase = "expect_eos"
        t = tokenizer.token_to_id
        v = tokenizer.vocab_size
        self.V = v
        self.id = t
        self.shift0 = t["SHIFT_1"]
        self.pitch0 = t["PITCH_0"]
        self.next0 = t[f"NEXT_{NEXT_PITCHES[0]}"]
        self.rest2 = t["REST_2"]
        drum_next = [p for p in DRUM_PITCHES if p in NEXT_PITCHES]
        self._group = {
            "vel": self._mask([t[f"VEL_{b}"] for b in range(N_VEL_BINS)]),
            "dur": self._mask([t[f"DUR_{c}"] for c in range(N_DUR_CLASSES)]),
            "vd": self._mask([t[f"VD_{b}_{c}"] for b in range(N_VEL_BINS) for c in range(N_FUSED_DUR)]),
            "pitch": self._mask([t[f"PITCH_{p}"] for p in range(128)]),
            "drum_pitch": self._mask([t[f"PITCH_{p}"] for p in DRUM_PITCHES]),
            "next": self._mask([t[f"NEXT_{p}"] for p in NEXT_PITCHES]),
            "drum_next": self._mask([t[f"NEXT_{p}"] for p in drum_next]),
            "dens": self._mask([i for i, s in enumerate(tokenizer.vocab) if s.startswith("DENS_")]),
        }
        self.kind = {}
        for i, s in enumerate(tokenizer.vocab):
            head = s.split("_")[0]
            self.kind[i] = head if head in ("SHIFT", "VEL", "DUR", "VD", "PITCH", "NEXT", "REST", "DENS") else s
        self.steps_per_beat = steps_per_beat
        # masks depend only on the vocabulary, the task, the key bias and the grammar situation: they are
        # shared by every constraint of the same kind, so a second composition or edit builds none
        bias_sig = None if pitch_bias is None else (
            tuple(pitch_bias.tolist()), None if beat_bias is None else tuple(beat_bias.tolist()))
        scale_sig = None if scale_bias is None else tuple(scale_bias.tolist())
        if plain_bias is not None:
            scale_sig = (scale_sig, tuple(plain_bias.tolist()))
        shared_key = (tokenizer.version, v, self.task, max_tokens_per_bar, steps_per_beat, bias_sig, self.every_bar,
                      self.chord_tone_bonus, self.register_penalty, scale_sig, self.chord_root_bonus)
        if shared_key not in _SHARED_MASKS and len(_SHARED_MASKS) >= _MAX_SHARED:
            _SHARED_MASKS.clear()  # many different keys in one process: start afresh
        shared = _SHARED_MASKS.setdefault(shared_key, ({}, {}))
        self._cache: dict[tuple, tuple] = shared[0]
        self._singles: dict[str, tuple] = shared[1]
        self._bias: dict[tuple[bool, bool], torch.Tensor] = {}
        self._place = PitchPlacement(self.V, self.pitch0, self.next0)
        # with ``key_feedback``: while the notes so far establish the requested key, ``plain_bias`` (the key's
        # scale without its tonic/third/fifth emphasis) replaces the key bias (see :mod:`.key_feedback`)
        self._keyfb = key_feedback if plain_bias is not None else None
        self._plain = None if plain_bias is None else self._place.place(plain_bias)
        # within-group tilts (see :mod:`.tilts`): the degree balance (towards the scale degrees the clip is short
        # of) and the grid penalty (off shifts that land between the 8th notes)
        self._tilt = StepTilt(self._place, v, t, steps_per_beat=steps_per_beat, degree_balance=degree_balance,
                              grid_penalty=grid_penalty)
        self.tilt_groups = self._tilt.groups
        # repeat, span, chord and spread penalties (see :mod:`.shaping`); it holds each fill block's track
        # (``layers``: the context's pitched tracks, key -> bar -> hits, for the cross penalty; ``first_key``: the
        # key of the first new track)
        self._shaper = LineShaper(shaping, self._place, repeat_free=repeat_free, fill_spans=fill_spans,
                                  fill_tracks=fill_tracks, task=self.task, fill_bars=self.fill_bars, layers=layers,
                                  first_key=first_key)
        self.fill_tracks = self._shaper.fill_tracks  # per fill block: the window track it belongs to (shared)
        if pitch_bias is not None:
            beat_bias = pitch_bias if beat_bias is None else beat_bias
            for now_on in (False, True):
                for next_on in (False, True):
                    self._bias[now_on, next_on] = self._place.split(beat_bias if now_on else pitch_bias,
                                                                    beat_bias if next_on else pitch_bias)
        self._scale = None if scale_bias is None else self._place.place(scale_bias)

    def _mask(self, ids: Sequence[int]) -> torch.Tensor:
        m = torch.zeros(self.V, dtype=torch.bool)
        m[list(ids)] = True
        return m

    def _one(self, name: str) -> torch.Tensor:
        m = torch.zeros(self.V, dtype=torch.bool)
        m[self.id[name]] = True
        return m

    # ------------------------------------------------------------------ queries
    @property
    def done(self) -> bool:
        return self.state.phase == "done"

    def _target(self) -> int:
        s = self.state
        if self.task == "fills":
            return min(s.fill_idx, max(len(self.fill_steps) - 1, 0))
        return min(s.track_idx, max(len(self.programs) - 1, 0))

    def _current_range(self) -> tuple[int, int] | None:
        return self.pitch_ranges[self._target()] if self.pitch_ranges else None

    @property
    def in_drum_track(self) -> bool:
        """Whether the token about to be chosen belongs to a drum track (or drum fill)."""
        return self._current_is_drum()

    def _current_is_drum(self) -> bool:
        if self.task == "fills":
            return self.fill_drum[min(self.state.fill_idx, len(self.fill_drum) - 1)] if self.fill_drum else False
        return self.programs[self.state.track_idx][1]

    def _beat_positions(self) -> tuple[bool, bool]:
        """Whether this onset, and the onset a NEXT token moves to, fall on a beat."""
        s = self.state
        return s.pos % self.steps_per_beat == 0, (s.pos + (s.step or 0)) % self.steps_per_beat == 0

    def _bias_key(self) -> tuple[bool, bool] | None:
        """Which key bias applies now (never for drums, whose pitches are instruments): PITCH tokens get
        the bias of the current position (on or off the beat), NEXT tokens that of the position they move
        to. None without key control."""
        s = self.state
        if not self._bias or s.phase != "in_bar" or self._current_is_drum():
            return None
        return self._beat_positions()

    def _bar_len(self) -> int:
        s = self.state
        if self.task == "fills":
            return self.fill_steps[s.fill_idx]
        return self.bar_steps[min(s.bars_done - 1, len(self.bar_steps) - 1)]

    def allowed(self) -> torch.Tensor:
        """Boolean mask of legal next tokens (shared with a cache: do not modify it)."""
        mask, _, _, add = self.allowed_info()
        return torch.isfinite(add) if mask is None else mask

    def allowed_info(self) -> tuple[torch.Tensor, int, int, torch.Tensor | None]:
        """``(mask, number of legal tokens, the legal id when there is only one else -1, additive mask)``;
        the additive mask is -inf for illegal tokens and 0 (plus the key bias, see :meth:`_bias_key`) for
        legal ones (None when only one is legal). The mask is None when only the additive mask was built
        (:meth:`allowed` derives it). Entries
        are cached per grammar situation, so a sampling step costs a dictionary lookup."""
        s = self.state
        ph = s.phase
        if ph == "expect_track":
            return self._single("TRACK")
        if ph == "expect_prog":
            return self._single(_prog_token(*self.programs[s.track_idx]))
        if ph == "expect_dens":
            d = self.densities[s.track_idx] if s.track_idx < len(self.densities) else None
            if d is not None:
                return self._single(f"DENS_{d}")
            return self._cached(("dens",), lambda: self._group["dens"].clone())[:4]
        if ph == "expect_bar":
            return self._cached(("bar", self._rest_cap()), self._bar_mask)[:4]
        if ph == "expect_fill":
            return self._single("FILL_START")
        if ph in ("expect_eos", "done"):
            return self._single("EOS")
        # in_bar (or in a fill block): the mask depends on a few facts only, so it is built once per
        # combination and reused (the sampler never modifies it)
        bar_len = self._bar_len()
        runaway = s.tokens_in_bar >= self.max_tokens_per_bar
        need_notes = self.require_notes and (
            (self.task == "tracks" and s.notes_in_track == 0)
            or (self.task == "fills" and s.notes_in_fills == 0)
        )
        if self.task == "tracks":
            last = s.bars_done >= len(self.bar_steps)
        else:
            last = s.fill_idx == len(self.fill_steps) - 1
        room = min(max(bar_len - 1 - s.pos, 0), MAX_SHIFT_STEPS)
        next_ok = s.step is not None and s.pos + s.step <= bar_len - 1
        bar_empty = self.every_bar and s.notes_in_bar == 0 and not s.resting
        key = (last, (last and need_notes) or bar_empty, runaway, room, s.vel_set and s.dur_set,
               self._current_is_drum(), next_ok, self._rest_cap() if self.task == "tracks" else 0, s.resting,
               self._current_range())
        entry = self._cached(key, lambda: self._in_bar_mask(*key), self._register_penalty(key[9]))
        bias_key = self._bias_key()
        chord = self._current(self.chord_tones) if not key[5] else None
        root = self._current(self.chord_roots) if chord is not None and self._scale is not None else None
        if root is not None:  # a chord and a key: the scale, the chord tones, the root on the beats
            beats = self._beat_positions()
            entry = self._cached((key, beats, chord, root), lambda: entry[0],
                                 lambda a, e=entry: e[3] + self._scale
                                 + self._place.classes(chord, self.chord_tone_bonus)
                                 + self._place.classes((root,), self.chord_root_bonus, on_pitch=beats[0],
                                                       on_next=beats[1]))
        else:
            if bias_key is not None and self._keyfb is not None and self._keyfb.established:
                bias_key = "plain"  # the key is already heard: its scale, without the emphasis
            if bias_key is not None:  # key control: the bias for this onset's beat position, folded in
                vec = self._plain if bias_key == "plain" else self._bias[bias_key]
                entry = self._cached((key, bias_key), lambda: entry[0], lambda a, e=entry: e[3] + vec)
            if chord is not None:  # chords asked for: the bar's chord tones are favoured (pitched tracks)
                entry = self._cached((key, bias_key, chord), lambda: entry[0],
                                     lambda a, e=entry: e[3] + self._place.classes(chord, self.chord_tone_bonus))
        if self.groove_bias and s.prev_hits and key[5] and not s.resting:
            entry = self._with_groove(entry, s.prev_hits, self.groove_bias)
        elif self.phrase_bias and s.lag_hits and not key[5] and not s.resting:
            entry = self._with_groove(entry, s.lag_hits, self.phrase_bias)
        if not key[5] and not s.resting and self._shaper.active:
            entry = self._with_line_shaping(entry)
        # the degree balance tilts the choice among pitches without moving probability between playing a note
        # and moving on (the sampler renormalises each pitch group; see :meth:`tilt`)
        self._tilt.degrees_now = bias_key is not None and not s.resting
        if not s.chord or not can_play_now(key):
            return entry[:4]
        # a pitch already sounding at this onset (or a full chord) is not allowed again
        playable = entry[4]
        max_chord = self.max_chord_notes[self._target()] if self.max_chord_notes else MAX_CHORD_NOTES
        blocked = playable if len(s.chord) >= max_chord else s.chord & playable
        if not blocked:
            return entry[:4]
        add = entry[3].clone()
        add[[self.pitch0 + p for p in blocked]] = float("-inf")
        n = entry[1] - len(blocked)
        return None, n, (int(torch.isfinite(add).nonzero()[0]) if n == 1 else -1), add

    def _current(self, per_bar: list):
        """This bar's (fill block's) entry of a per-bar list, None past its end."""
        s = self.state
        i = s.fill_idx if self.task == "fills" else s.bars_done - 1
        return per_bar[i] if 0 <= i < len(per_bar) else None

    def _register_penalty(self, pitch_range):
        """Soft register: logits subtracted per semitone outside the family's central band (10th-90th
        percentile of the training data), when the range carries one; a range with a fifth element is one
        part's band of a family asked for several times, with its own strength (``role_register_penalty``)."""
        if pitch_range is None or len(pitch_range) < 4:
            return None  # (called at every step: the vector is built only when the cache misses)
        strength = pitch_range[4] if len(pitch_range) > 4 else self.register_penalty  # a part's own band
        return lambda add: add + self._place.register(pitch_range, strength)

    def _with_groove(self, entry: tuple, prev: frozenset, b: float) -> tuple:
        """``entry`` with ``b`` added towards an earlier bar's hits ``prev`` (the previous drum bar: the groove
        bias; the bar PHRASE_LAG earlier in a pitched track: the phrase bias): its hits at this position
        (PITCH), one current step later (NEXT), the shift to its next onset (SHIFT), or the bar line when it
        had nothing more (BAR/TRACK_END/FILL_END)."""
        s = self.state
        add = entry[3].clone()
        for pos, p in prev:
            if pos == s.pos and (pos, p) not in s.hits and p not in s.chord:
                add[self.pitch0 + p] += b
            if s.step and pos == s.pos + s.step and p in NEXT_PITCHES:
                add[self.next0 + p - NEXT_PITCHES[0]] += b
        later = [pos for pos, _ in prev if pos > s.pos]
        if later:
            k = min(later) - s.pos
            if k <= MAX_SHIFT_STEPS:
                add[self.shift0 + k - 1] += b
        else:
            for name in ("BAR", "TRACK_END", "FILL_END"):
                add[self.id[name]] += b
        return entry[0], entry[1], entry[2], add, entry[4]

    def tilt(self) -> torch.Tensor | None:
        """Logits to add *within* each token group (:attr:`tilt_groups`: PITCH tokens, NEXT tokens, the moves) at
        the step :meth:`allowed_info` just described, the sampler keeping each group's total probability
        (:mod:`.tilts`). None: nothing to tilt."""
        s = self.state
        if s.phase != "in_bar" or s.resting:
            return None
        return self._tilt.vector(s.pos)

    def _with_line_shaping(self, entry: tuple) -> tuple:
        """``entry`` with the line-shaping penalties (:mod:`.shaping`) added."""
        extra = self._shaper.extra(self.state, self._target())
        if extra is None:
            return entry
        return entry[0], entry[1], entry[2], entry[3] + extra, entry[4]

    def _single(self, name: str) -> tuple[torch.Tensor, int, int, None]:
        entry = self._singles.get(name)
        if entry is None:
            entry = self._singles[name] = (self._one(name), 1, self.id[name], None)
        return entry[:4]

    def _cached(self, key: tuple, build, extra=None) -> tuple[torch.Tensor, int, int, torch.Tensor | None]:
        entry = self._cache.get(key)
        if entry is None:
            m = build()
            n = int(m.sum())
            add = torch.zeros(self.V).masked_fill(~m, float("-inf"))
            if extra is not None:
                add = extra(add)
            playable = frozenset((m[self.pitch0: self.pitch0 + 128].nonzero().flatten()).tolist())
            entry = self._cache[key] = (m, n, int(m.nonzero()[0]) if n == 1 else -1, add, playable)
        return entry

    def _bar_mask(self) -> torch.Tensor:
        return self._allow_bar(torch.zeros(self.V, dtype=torch.bool), self._rest_cap())

    def _allow_bar(self, m: torch.Tensor, rest_cap: int) -> torch.Tensor:
        """Allow the next bar: BAR, or REST_k for 2 <= k <= ``rest_cap``."""
        m[self.id["BAR"]] = True
        if rest_cap >= 2:
            m[self.rest2: self.rest2 + rest_cap - 1] = True
        return m

    def _rest_cap(self) -> int:
        """The longest REST_k legal now (k bars after the current one, all empty): never past the last
        bar, and never through it when the track still needs its first note; never when every bar must
        hold notes."""
        s = self.state
        if self.task != "tracks" or self.every_bar:
            return 0
        remaining = len(self.bar_steps) - s.bars_done
        if self.require_notes and s.notes_in_track == 0:
            remaining -= 1
        return min(remaining, MAX_REST)

    def _in_bar_mask(self, last: bool, blocked: bool, runaway: bool, room: int, can_play: bool,
                     drum: bool, next_ok: bool, rest_cap: int, resting: bool,
                     pitch_range: tuple[int, int] | None = None) -> torch.Tensor:
        m = torch.zeros(self.V, dtype=torch.bool)
        if self.task == "tracks":
            if not blocked:
                if not last:
                    self._allow_bar(m, rest_cap)
                else:
                    m[self.id["TRACK_END"]] = True
        elif not blocked:
            m[self.id["FILL_END"]] = True
        if resting:
            return m
        pitches = self._group["drum_pitch"] if drum else self._group["pitch"]
        nexts = self._group["drum_next"] if drum else self._group["next"]
        if pitch_range is not None and not drum:  # the family's register (from the training data)
            lo, hi = pitch_range[:2]
            pitches = pitches.clone()
            pitches[self.pitch0: self.pitch0 + lo] = False
            pitches[self.pitch0 + hi + 1: self.pitch0 + 128] = False
            nexts = nexts.clone()
            for p in NEXT_PITCHES:
                if not lo <= p <= hi:
                    nexts[self.next0 + p - NEXT_PITCHES[0]] = False
        if runaway and not blocked:
            return m
        if runaway:  # over budget but a note is still required: only the shortest way to that note
            # (without this a low-temperature sampler can repeat VEL/VD until the context runs out)
            return m | pitches if can_play else m | self._group["vd"]
        if room > 0 and not runaway:
            m[self.shift0: self.shift0 + room] = True
        m |= self._group["vel"]
        m |= self._group["dur"]
        m |= self._group["vd"]
        if can_play:
            m |= pitches
            if next_ok:
                m |= nexts
        return m

    # ------------------------------------------------------------------ transitions
    def advance(self, token: int) -> None:
        s = self.state
        s.history.append(token)
        k = self.kind[token]
        ph = s.phase
        if ph == "expect_track":
            s.phase = "expect_prog"
        elif ph == "expect_prog":
            s.phase = "expect_dens"
        elif ph == "expect_dens":
            s.phase = "expect_bar"
            s.bars_done = 0
            s.notes_in_track = 0
            s.hits, s.prev_hits = set(), frozenset()
            s.bar_log, s.lag_hits = {}, frozenset()
            self._shaper.start_track(s)
            s.vel_set = s.dur_set = False
            s.step = None
        elif ph == "expect_bar" or (ph == "in_bar" and k in ("BAR", "REST")):
            s.phase = "in_bar"
            if ph == "in_bar" and self.phrase_bias:
                s.bar_log[s.bars_done - 1] = frozenset(s.hits)
            s.bars_done += 1 if k == "BAR" else token - self.rest2 + 2
            s.lag_hits = s.bar_log.get(s.bars_done - 1 - PHRASE_LAG, frozenset())
            s.resting = k == "REST"
            if s.hits or k == "REST":
                s.prev_hits = frozenset(s.hits)
            s.hits = set()
            s.pos = 0
            s.tokens_in_bar = 0
            s.notes_in_bar = 0
            s.chord = set()
        elif ph == "expect_fill":
            s.phase = "in_bar"
            given = self.fill_prev_hits[s.fill_idx] if s.fill_idx < len(self.fill_prev_hits) else None
            s.prev_hits = given if given else frozenset(s.hits)
            s.hits = set()
            s.lag_hits = self._fill_lag() if self.phrase_bias else frozenset()
            self._shaper.start_fill(s)
            s.pos = 0
            s.tokens_in_bar = 0
            s.notes_in_bar = 0
            s.chord = set()
            s.vel_set = s.dur_set = False
            s.step = None
            s.resting = False
        elif ph in ("expect_eos", "done"):
            s.phase = "done"
        elif ph == "in_bar":
            s.tokens_in_bar += 1
            if k == "TRACK_END":
                self._shaper.end_track(s)
                s.track_idx += 1
                s.phase = "expect_track" if s.track_idx < len(self.programs) else "expect_eos"
            elif k == "FILL_END":
                if self.phrase_bias and s.fill_idx < min(len(self.fill_tracks), len(self.fill_bars)):
                    self._fill_log[self.fill_tracks[s.fill_idx], self.fill_bars[s.fill_idx]] = frozenset(s.hits)
                s.fill_idx += 1
                s.phase = "expect_fill" if s.fill_idx < len(self.fill_steps) else "expect_eos"
            elif k == "SHIFT":
                s.step = token - self.shift0 + 1
                s.pos += s.step
                s.chord = set()
            elif k == "NEXT":
                s.pos += s.step or 0
                s.chord = {token - self.next0 + NEXT_PITCHES[0]}
                s.hits.add((s.pos, token - self.next0 + NEXT_PITCHES[0]))
                self._widen(token - self.next0 + NEXT_PITCHES[0])
                s.notes_in_bar += 1
                s.notes_in_track += 1
                s.notes_in_fills += 1
            elif k == "VEL":
                s.vel_set = True
            elif k == "DUR":
                s.dur_set = True
            elif k == "VD":
                s.vel_set = s.dur_set = True
            elif k == "PITCH":
                s.chord.add(token - self.pitch0)
                s.hits.add((s.pos, token - self.pitch0))
                self._widen(token - self.pitch0)
                s.notes_in_bar += 1
                s.notes_in_track += 1
                s.notes_in_fills += 1

    def _fill_lag(self) -> frozenset:
        """The hits of the bar PHRASE_LAG before this fill block's: from the context, else from a block of the
        same track generated earlier in this call."""
        i = self.state.fill_idx
        given = self.fill_lag_hits[i] if i < len(self.fill_lag_hits) else None
        if given:
            return given
        if i < min(len(self.fill_tracks), len(self.fill_bars)):
            return self._fill_log.get((self.fill_tracks[i], self.fill_bars[i] - PHRASE_LAG), frozenset())
        return frozenset()

    def _widen(self, pitch: int) -> None:
        if not self._current_is_drum():
            self._shaper.widen(self.state, pitch)
            if self._keyfb is not None:
                self._keyfb.add(pitch)
            self._tilt.played(pitch)

    def closing_tokens(self) -> list[int]:
        """A shortest legal completion (used only if the context length runs out)."""
        out: list[int] = []
        guard = 0
        while not self.done and guard < 100000:
            guard += 1
            m = self.allowed()
            if self.state.phase == "in_bar":
                # prefer structure; add one note when the grammar demands notes
                for name in ("TRACK_END", "FILL_END", "BAR"):
                    if m[self.id[name]]:
                        tid = self.id[name]
                        break
                else:
                    if not self.state.vel_set:
                        tid = self.id["VEL_4"]
                    elif not self.state.dur_set:
                        tid = self.id["DUR_11"]
                    else:
                        legal = m[self.pitch0: self.pitch0 + 128].nonzero().flatten().tolist()
                        s = self.state  # a pitched track's note goes in the middle of its span so far
                        band = self._current_range()  # (or of its register band before its first note)
                        mid = (s.lo + s.hi) // 2 if s.lo is not None else (
                            (band[2] + band[3]) // 2 if band is not None and len(band) >= 4 else 60)
                        want = 36 if self._current_is_drum() else mid
                        p = min(legal, key=lambda x: abs(x - want)) if legal else want
                        tid = self.pitch0 + p
            else:
                tid = int(m.nonzero()[0])
            out.append(tid)
            self.advance(tid)
        return out
