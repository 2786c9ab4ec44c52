"""NNN: our compact multi-track token scheme in the MMM family (Ens & Pasquier 2020).

Layout (one piece or one training window)::

    BOS GENRE_x EMOTION_x TBIN_x TEMPO_C_k TEMPO_F_f TS_NUM_n TS_DEN_d KEY_x BARS_n FAM_a FAM_b ... [CHORD_c ...] HEADER_END
    (the optional chord lane: one CHORD token per bar, root + quality, N = no chord, unknown allowed)
    [TRACK PROG_CONDUCTOR BAR [TS_NUM TS_DEN] [SHIFT_k TEMPO_C TEMPO_F] ... TRACK_END]   (only with changes)
    TRACK PROG_p DENS_d  BAR ev ev ... BAR ev ... REST_k ... TRACK_END
    TRACK ...
    [FILL_START ev ... FILL_END] ...                                   (bar infill: one per FILL placeholder)
    EOS

Inside a bar, events on a 12-steps-per-quarter grid:

* ``SHIFT_k`` moves the current position ``k`` steps forward (one shift per chord, from the bar start) and
  sets the track's current *step* to ``k``;
* ``NEXT_p`` moves the position forward by the current step and emits pitch ``p`` there: a repeated rhythm
  (running eighths, a drum pattern, an arpeggio) costs one token per onset, not two (``NEXT`` covers the
  piano range 21-108; other pitches use ``SHIFT`` + ``PITCH``);
* ``VEL_v`` (8 bins) and ``DUR_d`` (102 classes: whole steps up to 12, then 2-step classes, so every
  duration comes back within one grid step, up to 16 quarters) set the track's current velocity and
  duration; they are emitted only when they change (velocity and duration are *shared*); when both
  change at once and the duration is short, one fused ``VD_v_d`` token sets both;
* ``PITCH_p`` emits a note at the current position with the current velocity and duration.

A note thus costs one token plus the occasional VEL/DUR/SHIFT, against NOTE_ON + NOTE_OFF + time deltas
in MMM. Bars are delimited by a single ``BAR`` token (MMM uses BAR_START and BAR_END); a run of ``k`` empty
bars (2 <= k <= 16) is one ``REST_k`` token (a silent part, or the conductor track between changes). A bar whose content
is to be infilled holds one ``FILL`` token; its content follows at the end between ``FILL_START`` and
``FILL_END``. Tempo is stored to 0.1 BPM (``TEMPO_C`` tens, ``TEMPO_F`` tenths within them).
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ..attributes import EMOTIONS, GENRES, KEYS, TEMPO_BINS, Attributes, tempo_bin
from ..chords import CHORD_LABELS
from ..instruments import FAMILY_NAMES, family_of_program
from ..music import Note, Piece, Tempo, TimeSignature, Track
from .base import STEPS_PER_QUARTER, Tokenizer

NNN_VERSION = "2.1"
OUT_TPQ = 480  # decoded pieces use 480 ticks per quarter (40 ticks per grid step)
MAX_SHIFT_STEPS = 48
N_VEL_BINS = 8
VEL_BIN_WIDTH = 16
DUR_EXACT_STEPS = 12
DUR_MAX_STEPS = 192
N_DUR_CLASSES = DUR_EXACT_STEPS + int((DUR_MAX_STEPS - DUR_EXACT_STEPS - 0.5) // 2) + 1
MAX_BARS_TOKEN = 32
N_FUSED_DUR = 24  # VD_v_d: velocity bin and duration class in one token, for the 24 shortest classes
TS_NUMERATORS = tuple(range(1, 33))
TS_DENOMINATORS = (1, 2, 4, 8, 16, 32)
DENSITY_EDGES = (1, 2, 4, 6, 8, 12, 16, 24)  # notes per bar: DENS_0 < 1 <= DENS_1 < 2 ...
MIN_BPM, MAX_BPM = 0.1, 399.9
NEXT_PITCHES = range(21, 109)  # NEXT_p exists for the piano range
MAX_REST = 16  # REST_2 .. REST_16
CONDUCTOR = "CONDUCTOR"
CHORD_LANE_DROPOUT = 0.3  # training: the chord lane is left out of this share of examples
CHORD_BAR_DROPOUT = 0.15  # ... and a bar's chord is written as unknown this often

SPECIAL = ("PAD", "BOS", "EOS", "HEADER_END", "TRACK", "TRACK_END", "BAR", "FILL", "FILL_START", "FILL_END")


def dur_class(steps: float) -> int:
    """Duration class of a duration given in (fractional) grid steps: rounded to whole steps up to 12,
    then 2-step classes, so every duration comes back within one grid step (clamped at 16 quarters)."""
    if steps < DUR_EXACT_STEPS + 0.5:
        return max(1, int(steps + 0.5)) - 1
    return min(DUR_EXACT_STEPS + int((steps - DUR_EXACT_STEPS - 0.5) // 2), N_DUR_CLASSES - 1)


def dur_ticks(cls: int, step_ticks: int) -> int:
    """Representative duration of a class in ticks (the centre of its span; ``step_ticks`` even)."""
    if cls < DUR_EXACT_STEPS:
        return (cls + 1) * step_ticks
    lo2 = 2 * DUR_EXACT_STEPS + 1 + 4 * (cls - DUR_EXACT_STEPS)  # span start, in half steps
    return (lo2 + 2) * step_ticks // 2


def vel_bin(velocity: int) -> int:
    return min(max(velocity - 1, 0) // VEL_BIN_WIDTH, N_VEL_BINS - 1)


def vel_value(b: int) -> int:
    return min(b * VEL_BIN_WIDTH + VEL_BIN_WIDTH // 2, 127)


_VEL_VALUE = [vel_value(b) for b in range(N_VEL_BINS)]
_DUR_STEPS = [dur_ticks(c, 2) / 2 for c in range(N_DUR_CLASSES)]  # representative duration, in steps


def density_bin(notes_per_bar: float) -> int:
    return bisect.bisect_right(DENSITY_EDGES, notes_per_bar)


def tempo_tokens(bpm: float) -> tuple[str, str]:
    bpm = min(max(float(bpm), MIN_BPM), MAX_BPM)
    tenths = round(bpm * 10)
    return f"TEMPO_C_{tenths // 100}", f"TEMPO_F_{tenths % 100}"


def _meter_of_length(steps: int) -> tuple[int, int] | None:
    """A time signature whose bar lasts ``steps`` grid steps (n/4, n/8 or n/16), or None."""
    for den in (4, 8, 16):
        unit = STEPS_PER_QUARTER * 4 // den
        if steps % unit == 0 and 1 <= steps // unit <= 32:
            return steps // unit, den
    return None


def key_token(key: str | None) -> str:
    return "KEY_unknown" if not key else "KEY_" + key.replace(" ", "_")


def build_vocab() -> list[str]:
    v: list[str] = list(SPECIAL)
    v += [f"GENRE_{g}" for g in (*GENRES, "unknown")]
    v += [f"EMOTION_{e}" for e in (*EMOTIONS, "unknown")]
    v += [f"TBIN_{b}" for b in TEMPO_BINS]
    v += [f"TEMPO_C_{k}" for k in range(40)]
    v += [f"TEMPO_F_{f}" for f in range(100)]
    v += [f"TS_NUM_{n}" for n in TS_NUMERATORS]
    v += [f"TS_DEN_{d}" for d in TS_DENOMINATORS]
    v += [key_token(k) for k in KEYS] + ["KEY_unknown"]
    v += [f"BARS_{n}" for n in range(1, MAX_BARS_TOKEN + 1)]
    v += [f"FAM_{f}" for f in FAMILY_NAMES]
    v += [f"PROG_{p}" for p in range(128)] + ["PROG_DRUMS", f"PROG_{CONDUCTOR}"]
    v += [f"DENS_{d}" for d in range(len(DENSITY_EDGES) + 1)]
    v += [f"SHIFT_{k}" for k in range(1, MAX_SHIFT_STEPS + 1)]
    v += [f"VEL_{b}" for b in range(N_VEL_BINS)]
    v += [f"DUR_{c}" for c in range(N_DUR_CLASSES)]
    v += [f"VD_{b}_{c}" for b in range(N_VEL_BINS) for c in range(N_FUSED_DUR)]
    v += [f"PITCH_{p}" for p in range(128)]
    v += [f"NEXT_{p}" for p in NEXT_PITCHES]
    v += [f"REST_{k}" for k in range(2, MAX_REST + 1)]
    v += [f"CHORD_{c}" for c in CHORD_LABELS]  # 2.1: the optional chord lane (one per bar, in the header)
    return v


def join_bars(contents: Iterable[list[str]]) -> list[str]:
    """One ``BAR`` + content per bar, except that a run of silent bars (empty content) becomes ``REST_k``
    tokens (a single silent bar stays a plain ``BAR``)."""
    out: list[str] = []
    silent = 0
    for content in [*contents, None]:  # None flushes the last run
        if content == []:
            silent += 1
            continue
        while silent > 0:
            k = min(silent, MAX_REST)
            out.append("BAR" if k == 1 else f"REST_{k}")
            silent -= k
        if content is not None:
            out += ["BAR", *content]
    return out


@dataclass
class _BarEvents:
    """Quantised content of one track in one bar: (position, vel bin, dur class, pitch, velocity,
    duration in fractional steps)."""

    notes: list[tuple[int, int, int, int]] = field(default_factory=list)


def high_first_within_family(tracks: Sequence[Track], order: Sequence[int]) -> list[int]:
    """``order`` (a permutation of ``tracks``' indices) with the tracks of each family re-dealt over the
    places that family holds, highest mean pitch first: families keep their (random) places, and a family's
    first track is its top voice (a melody before its accompaniment, a lead guitar before the rhythm part).
    Training data in this order gives each repeated family a role at compose time, where tracks are written
    in the order asked (the model cannot otherwise know whether a first piano part is the tune or the chords).
    Ties keep their order in ``order``; drum tracks are ordered the same way (by mean note number)."""
    def mean_pitch(i: int) -> float:
        notes = tracks[i].notes
        return sum(n.pitch for n in notes) / len(notes) if notes else 0.0

    fam = [family_of_program(t.program, t.is_drum) for t in tracks]
    out = list(order)
    for f in dict.fromkeys(fam[i] for i in order):
        places = [k for k, i in enumerate(order) if fam[i] == f]
        if len(places) < 2:
            continue
        ranked = sorted((order[k] for k in places), key=mean_pitch, reverse=True)
        for k, i in zip(places, ranked, strict=True):
            out[k] = i
    return out


class NNNTokenizer(Tokenizer):
    name = "nnn"
    version = NNN_VERSION

    def __init__(self, *, vel_tolerance: float = 15, dur_tolerance: float = 0.95) -> None:
        """``vel_tolerance`` (velocity units) and ``dur_tolerance`` (grid steps): a note whose velocity
        or duration the track's current state already represents within these margins re-uses the state
        instead of emitting a VEL/DUR token (a dead band; 0 and 0 give plain nearest-bin coding). Both
        stay inside the round-trip tolerance (one velocity bin = 16, one grid step)."""
        super().__init__(build_vocab())
        self.vel_tolerance = vel_tolerance
        self.dur_tolerance = dur_tolerance
        t = self.token_to_id
        self.pad_id, self.bos_id, self.eos_id = t["PAD"], t["BOS"], t["EOS"]
        self.kind: list[str] = [tok.rsplit("_", 1)[0] if "_" in tok and tok not in SPECIAL else tok
                                for tok in self.vocab]
        self.value: list[str] = [tok.rsplit("_", 1)[1] if "_" in tok and tok not in SPECIAL else ""
                                 for tok in self.vocab]

    # ------------------------------------------------------------------ grid helpers
    @staticmethod
    def _steps(tick: int, tpq: int) -> int:
        return round(tick * STEPS_PER_QUARTER / tpq)

    def _bar_grid(self, piece: Piece, n_bars: int) -> list[int]:
        starts = piece.bar_starts(until=piece.bar_span(0, max(n_bars - 1, 0))[1])[: n_bars + 1]
        return [self._steps(s, piece.tpq) for s in starts]

    # ------------------------------------------------------------------ header
    def header_tokens(
        self, attributes: Attributes, n_bars: int, families: Iterable[str], bpm: float, ts: tuple[int, int]
    ) -> list[str]:
        fams = [f for f in FAMILY_NAMES if f in set(families)]
        return [
            "BOS",
            f"GENRE_{attributes.genre or 'unknown'}",
            f"EMOTION_{attributes.emotion or 'unknown'}",
            f"TBIN_{tempo_bin(bpm)}",
            *tempo_tokens(bpm),
            f"TS_NUM_{min(ts[0], 32)}",
            f"TS_DEN_{ts[1] if ts[1] in TS_DENOMINATORS else 4}",
            key_token(attributes.key),
            f"BARS_{min(max(n_bars, 1), MAX_BARS_TOKEN)}",
            *[f"FAM_{f}" for f in fams],
            *self.chord_lane(attributes.chords, n_bars),
            "HEADER_END",
        ]

    @staticmethod
    def chord_lane(chords: Sequence[str] | None, n_bars: int) -> list[str]:
        """``CHORD_x`` per bar (unknown past the given ones), or nothing when no chords are known."""
        if not chords:
            return []
        return [f"CHORD_{chords[b] if b < len(chords) else 'unknown'}" for b in range(n_bars)]

    # ------------------------------------------------------------------ encode
    def quantise(self, piece: Piece, n_bars: int | None = None, *, keep_empty: bool = False
                 ) -> tuple[list[int], list[list[_BarEvents]]]:
        """Bar grid (in steps) and each non-empty track's notes per bar on the 12-steps grid."""
        n_bars = piece.n_bars if n_bars is None else n_bars
        grid = self._bar_grid(piece, max(n_bars, 1))
        out: list[list[_BarEvents]] = []
        for tr in piece.tracks:
            if not tr.notes and not keep_empty:
                continue
            bars = [_BarEvents() for _ in range(n_bars)]
            for n in tr.notes:
                s = self._steps(n.start, piece.tpq)
                b = bisect.bisect_right(grid, s) - 1
                if not 0 <= b < n_bars:
                    continue
                pos = s - grid[b]
                steps = n.duration * STEPS_PER_QUARTER / piece.tpq
                bars[b].notes.append((pos, vel_bin(n.velocity), dur_class(steps), n.pitch, n.velocity, steps))
            out.append(bars)
        return grid, out

    def _keeps_vel(self, velocity: int, cur: int | None) -> bool:
        """Whether the current velocity bin still represents ``velocity`` within the tolerance."""
        return cur is not None and abs(velocity - _VEL_VALUE[cur]) <= self.vel_tolerance

    def _keeps_dur(self, steps: float, cur: int | None) -> bool:
        """Whether the current duration class still represents ``steps`` within the tolerance."""
        return cur is not None and abs(steps - _DUR_STEPS[cur]) <= self.dur_tolerance

    def bar_tokens(self, ev: _BarEvents, state: list[int | None]) -> list[str]:
        """Tokens of one bar; ``state`` = [current vel bin, current dur class, current step] carried
        across bars."""
        toks: list[str] = []
        append = toks.append
        keeps_vel, keeps_dur = self._keeps_vel, self._keeps_dur
        pos = 0
        notes = sorted(ev.notes)  # doubled notes (same pitch and onset) are kept, not merged
        i = 0
        n_notes = len(notes)
        while i < n_notes:
            p = notes[i][0]
            j = i + 1
            while j < n_notes and notes[j][0] == p:
                j += 1
            chord = notes[i:j]
            gap = p - pos
            pos = p
            if j - i > 1:  # notes that re-use the current state first
                chord.sort(key=lambda x: (not keeps_vel(x[4], state[0]), x[1], not keeps_dur(x[5], state[1]),
                                          x[2], x[3]))
            carried = gap > 0 and gap == state[2] and chord[0][3] in NEXT_PITCHES
            if gap > 0 and not carried:
                while gap > 0:
                    k = min(gap, MAX_SHIFT_STEPS)
                    append(f"SHIFT_{k}")
                    gap -= k
                    state[2] = k
            first = carried
            for _, v, d, pitch, velocity, steps in chord:
                if keeps_vel(velocity, state[0]):
                    v = state[0]
                if keeps_dur(steps, state[1]):
                    d = state[1]
                if v != state[0]:
                    if d != state[1] and d < N_FUSED_DUR:
                        append(f"VD_{v}_{d}")
                        state[1] = d
                    else:
                        append(f"VEL_{v}")
                    state[0] = v
                if d != state[1]:
                    append(f"DUR_{d}")
                    state[1] = d
                append(f"NEXT_{pitch}" if first else f"PITCH_{pitch}")
                first = False
            i = j
        return toks

    def track_tokens(self, track: Track, bars: list[_BarEvents], fill_bars: set[int] = frozenset()) -> tuple[
            list[str], list[list[str]]]:
        """Tokens of one track (with FILL placeholders) and the fill contents in bar order."""
        prog = "PROG_DRUMS" if track.is_drum else f"PROG_{track.program}"
        n_notes = sum(len(b.notes) for b in bars)
        toks = ["TRACK", prog, f"DENS_{density_bin(n_notes / max(len(bars), 1))}"]
        fills: list[list[str]] = []
        state: list[int | None] = [None, None, None]
        contents: list[list[str]] = []
        for b, ev in enumerate(bars):
            if b in fill_bars:
                contents.append(["FILL"])
                fills.append(self.bar_tokens(ev, [None, None, None]))
            else:
                contents.append(self.bar_tokens(ev, state))
        return [*toks, *join_bars(contents), "TRACK_END"], fills

    def conductor_tokens(self, piece: Piece, grid: list[int]) -> list[str]:
        """Tempo and time-signature changes after the start, or nothing when there are none."""
        n_bars = len(grid) - 1
        per_bar: list[list[str]] = [[] for _ in range(n_bars)]
        has = False
        bar_ts: list[tuple[int, int] | None] = [None] * n_bars
        for ts in piece.time_signatures[1:]:
            s = self._steps(ts.time, piece.tpq)
            b = bisect.bisect_right(grid, s) - 1
            if 0 <= b < n_bars:
                bar_ts[b] = (min(ts.numerator, 32), ts.denominator)
        # a bar cut short by a mid-bar meter change is written with a meter of its real length, and the
        # real meter follows at the next bar line
        cur = (piece.time_signatures[0].numerator, piece.time_signatures[0].denominator)
        for b in range(n_bars):
            if bar_ts[b] is not None:
                cur = bar_ts[b]
            length = grid[b + 1] - grid[b]
            if length != cur[0] * STEPS_PER_QUARTER * 4 // cur[1]:
                short = _meter_of_length(length)
                if short is not None:
                    bar_ts[b] = short
                    if b + 1 < n_bars and bar_ts[b + 1] is None:
                        bar_ts[b + 1] = cur
        for b, ts_b in enumerate(bar_ts):
            if ts_b is not None:
                per_bar[b] += [f"TS_NUM_{ts_b[0]}", f"TS_DEN_{ts_b[1]}"]
                has = True
        last_pos = [0] * n_bars
        for tp in piece.tempos[1:]:
            s = min(self._steps(tp.time, piece.tpq), grid[-1] - 1)  # a change rounded onto the end stays in
            b = bisect.bisect_right(grid, s) - 1
            if not 0 <= b < n_bars:
                continue
            gap = s - grid[b] - last_pos[b]
            while gap > 0:
                k = min(gap, MAX_SHIFT_STEPS)
                per_bar[b].append(f"SHIFT_{k}")
                gap -= k
            last_pos[b] = s - grid[b]
            per_bar[b] += list(tempo_tokens(tp.qpm))
            has = True
        if not has:
            return []
        return ["TRACK", f"PROG_{CONDUCTOR}", *join_bars(per_bar), "TRACK_END"]

    def encode_tokens(
        self,
        piece: Piece,
        attributes: Attributes | None = None,
        *,
        track_order: Sequence[int] | None = None,
        fill: dict[int, set[int]] | None = None,
        n_bars: int | None = None,
        end: bool = True,
        keep_empty: bool = False,
    ) -> list[str]:
        """String tokens. ``track_order`` permutes the tracks; ``fill`` maps a track position (in the
        output order) to the bars whose content goes to the end between FILL_START/FILL_END. With
        ``end=False`` the fill blocks and EOS are left out (a prompt for infilling). Empty tracks are
        dropped unless ``keep_empty`` (editing keeps them so track positions stay aligned)."""
        attributes = attributes or Attributes()
        n_bars = piece.n_bars if n_bars is None else n_bars
        grid, bars = self.quantise(piece, n_bars, keep_empty=keep_empty)
        tracks = [t for t in piece.tracks if t.notes or keep_empty]
        order = list(range(len(tracks))) if track_order is None else list(track_order)
        fams = {family_of_program(tracks[i].program, tracks[i].is_drum) for i in order}
        ts0 = piece.time_signatures[0]
        toks = self.header_tokens(attributes, n_bars, fams, piece.tempos[0].qpm, (ts0.numerator, ts0.denominator))
        toks += self.conductor_tokens(piece, grid)
        fills: list[list[str]] = []
        for pos, i in enumerate(order):
            t_toks, t_fills = self.track_tokens(tracks[i], bars[i], (fill or {}).get(pos, set()))
            toks += t_toks
            fills += t_fills
        if end:
            for f in fills:
                toks += ["FILL_START", *f, "FILL_END"]
            toks.append("EOS")
        return toks

    def encode(self, piece: Piece, attributes: Attributes | None = None) -> list[int]:
        return self.ids(self.encode_tokens(piece, attributes))

    def encode_training_example(self, window: Piece, attributes: Attributes, rng: random.Random) -> list[int]:
        """One training sequence mixing the three objectives: plain generation, bar infill (MMM BarFill)
        and track infill (families in random order, so any family can come last given the others; tracks of
        one family highest first, :func:`high_first_within_family`, so a request naming a family twice gets
        a melody and then its accompaniment, and a family's last track is its lowest).
        Genre, emotion and key are dropped to ``unknown`` at random so the model handles missing ones."""
        from dataclasses import replace

        chords = attributes.chords
        if chords is not None and rng.random() < CHORD_LANE_DROPOUT:
            chords = None  # no lane: the model also learns to compose without chords asked
        elif chords is not None:
            chords = tuple("unknown" if rng.random() < CHORD_BAR_DROPOUT else c for c in chords)
        attrs = replace(
            attributes,
            genre=None if rng.random() < 0.25 else attributes.genre,
            emotion=None if rng.random() < 0.25 else attributes.emotion,
            key=None if rng.random() < 0.25 else attributes.key,
            chords=chords,
        )
        played = [t for t in window.tracks if t.notes]
        n_tracks = len(played)
        order = list(range(n_tracks))
        rng.shuffle(order)
        order = high_first_within_family(played, order)
        n_bars = window.n_bars
        fill: dict[int, set[int]] = {}
        if n_tracks and n_bars >= 2 and rng.random() < 0.4:
            span = rng.randint(1, max(1, n_bars // 2))
            first = n_bars - span if rng.random() < 0.4 else rng.randint(0, n_bars - span)
            bars = set(range(first, first + span))
            targets = range(n_tracks) if rng.random() < 0.5 else [rng.randrange(n_tracks)]
            fill = {t: bars for t in targets}
        return self.ids(self.encode_tokens(window, attrs, track_order=order, fill=fill, n_bars=n_bars))

    # ------------------------------------------------------------------ decode
    def decode(self, ids: Sequence[int]) -> Piece:
        return self.decode_tokens(self.tokens([i for i in ids if 0 <= i < self.vocab_size]))

    def decode_tokens(self, toks: Sequence[str]) -> Piece:
        """Tolerant decoder: unexpected tokens are skipped. FILL placeholders are filled from the
        FILL_START/FILL_END blocks in order."""
        ts = (4, 4)
        bpm = 120.0
        n_bars = 0
        i = 0
        # header
        while i < len(toks) and toks[i] != "HEADER_END":
            t = toks[i]
            if t.startswith("TEMPO_C_") and i + 1 < len(toks) and toks[i + 1].startswith("TEMPO_F_"):
                bpm = (int(t[8:]) * 100 + int(toks[i + 1][8:])) / 10
                i += 1
            elif t.startswith("TS_NUM_") and i + 1 < len(toks) and toks[i + 1].startswith("TS_DEN_"):
                ts = (int(t[7:]), int(toks[i + 1][7:]))
                i += 1
            elif t.startswith("BARS_"):
                n_bars = int(t[5:])
            i += 1
        key = None
        for t in toks[:i]:
            if t.startswith("KEY_") and t != "KEY_unknown":
                key = t[4:].replace("_", " ")
        body = list(toks[i + 1:])
        # split off fill blocks
        fills: list[list[str]] = []
        main: list[str] = []
        j = 0
        while j < len(body):
            if body[j] == "FILL_START":
                k = j + 1
                block = []
                while k < len(body) and body[k] not in ("FILL_END", "FILL_START", "EOS"):
                    block.append(body[k])
                    k += 1
                fills.append(block)
                j = k + 1 if k < len(body) and body[k] == "FILL_END" else k
                continue
            if body[j] == "EOS":
                break
            main.append(body[j])
            j += 1
        fill_iter = iter(fills)
        # tracks: list of (prog token, [bar token lists])
        tracks: list[tuple[str, list[list[str]]]] = []
        cur: tuple[str, list[list[str]]] | None = None
        for t in main:
            if t == "TRACK":
                cur = ("", [])
                tracks.append(cur)
            elif cur is None:
                continue
            elif t.startswith("PROG_") and not cur[0] and not cur[1]:
                cur = (t, cur[1])
                tracks[-1] = cur
            elif t == "BAR":
                cur[1].append([])
            elif t.startswith("REST_"):
                cur[1].extend([] for _ in range(int(t[5:])))
            elif t == "FILL" and cur[1]:
                # a fill block starts with a fresh vel/dur state; the track's state resumes after it
                cur[1][-1].extend(["|SAVE", *next(fill_iter, []), "|RESET"])
            elif t == "TRACK_END":
                cur = None
            elif cur[1]:
                cur[1][-1].append(t)
        # conductor
        tempos = [Tempo(0, bpm)]
        sigs = [TimeSignature(0, *ts)]
        bar_ts: dict[int, tuple[int, int]] = {}
        tempo_events: list[tuple[int, int, float]] = []
        for prog, bars in tracks:
            if prog != f"PROG_{CONDUCTOR}":
                continue
            for b, evs in enumerate(bars):
                pos = 0
                k = 0
                while k < len(evs):
                    e = evs[k]
                    if e.startswith("TS_NUM_") and k + 1 < len(evs) and evs[k + 1].startswith("TS_DEN_"):
                        bar_ts[b] = (int(e[7:]), int(evs[k + 1][7:]))
                        k += 1
                    elif e.startswith("SHIFT_"):
                        pos += int(e[6:])
                    elif e.startswith("TEMPO_C_") and k + 1 < len(evs) and evs[k + 1].startswith("TEMPO_F_"):
                        tempo_events.append((b, pos, (int(e[8:]) * 100 + int(evs[k + 1][8:])) / 10))
                        k += 1
                    k += 1
        n_bars = max([n_bars] + [len(b) for _, b in tracks])
        step = OUT_TPQ // STEPS_PER_QUARTER
        grid = [0]
        cur_ts = ts
        for b in range(n_bars):
            if b in bar_ts and bar_ts[b] != cur_ts:
                cur_ts = bar_ts[b]
                sigs.append(TimeSignature(grid[-1] * step, *cur_ts))
            grid.append(grid[-1] + cur_ts[0] * STEPS_PER_QUARTER * 4 // cur_ts[1])
        for b, pos, q in tempo_events:
            tick = (grid[b] + pos) * step
            if tick == 0:
                tempos[0] = Tempo(0, q)
            else:
                tempos.append(Tempo(tick, q))
        out_tracks = []
        for prog, bars in tracks:
            if prog == f"PROG_{CONDUCTOR}":
                continue
            is_drum = prog == "PROG_DRUMS"
            program = 0 if is_drum or not prog else int(prog[5:])
            notes = self._decode_bars(bars, grid, step)
            out_tracks.append(Track(program=program, is_drum=is_drum, notes=tuple(notes)))
        from ..music import KeySignature

        keys = (KeySignature(0, key),) if key else ()
        return Piece(tuple(out_tracks), OUT_TPQ, tuple(tempos), tuple(sigs), keys, length=grid[-1] * step)

    @staticmethod
    def _decode_bars(bars: list[list[str]], grid: list[int], step: int) -> list[Note]:
        notes: list[Note] = []
        vel, dur, stride = 4, 11, STEPS_PER_QUARTER
        end = grid[-1]  # a note never sounds past the last bar (the piece keeps its bar count)
        for b, evs in enumerate(bars):
            if b + 1 >= len(grid):
                break
            pos = 0
            bar_len = grid[b + 1] - grid[b]
            saved = None
            for e in evs:
                if e == "|SAVE":
                    saved = (vel, dur, stride)
                    continue
                if e == "|RESET":
                    if saved is not None:
                        vel, dur, stride = saved
                    continue
                kind, _, val = e.rpartition("_")
                if kind.startswith("VD_"):
                    vel, dur = int(kind[3:]), int(val)
                elif kind == "SHIFT":
                    stride = int(val)
                    pos = min(pos + stride, bar_len - 1)
                elif kind == "VEL":
                    vel = int(val)
                elif kind == "DUR":
                    dur = int(val)
                elif kind in ("PITCH", "NEXT"):
                    if kind == "NEXT":
                        pos = min(pos + stride, bar_len - 1)
                    notes.append(Note(int(val), vel_value(vel), (grid[b] + pos) * step,
                                      min(dur_ticks(dur, step), (end - grid[b] - pos) * step)))
        notes.sort(key=lambda n: (n.start, n.pitch))
        return notes

    # ------------------------------------------------------------------ grammar check
    def check(self, ids: Sequence[int]) -> list[str]:
        problems = super().check(ids)
        if problems:
            return problems
        toks = self.tokens(ids)
        if not toks or toks[0] != "BOS":
            problems.append("sequence must start with BOS")
        if "HEADER_END" not in toks:
            return [*problems, "no HEADER_END: the attribute header is incomplete"]
        body = toks[toks.index("HEADER_END") + 1:]
        n_bars = next((int(t[5:]) for t in toks if t.startswith("BARS_")), None)
        if n_bars == MAX_BARS_TOKEN:  # BARS_32 stands for "32 or more" (whole-song encodings)
            n_bars = None
        in_track = False
        bars = 0
        n_fill = body.count("FILL")
        n_fill_blocks = body.count("FILL_START")
        for k, t in enumerate(body):
            if t == "TRACK":
                if in_track:
                    problems.append(f"token {k}: TRACK inside a track")
                in_track, bars = True, 0
                if k + 1 >= len(body) or not body[k + 1].startswith("PROG_"):
                    problems.append(f"token {k}: TRACK must be followed by PROG_")
            elif t == "TRACK_END":
                if not in_track:
                    problems.append(f"token {k}: TRACK_END outside a track")
                if n_bars is not None and bars != n_bars:
                    problems.append(f"token {k}: track has {bars} bars, header says {n_bars}")
                in_track = False
            elif t == "BAR" or t.startswith("REST_"):
                if not in_track:
                    problems.append(f"token {k}: {t} outside a track")
                bars += 1 if t == "BAR" else int(t[5:])
            elif t in ("BOS", "HEADER_END"):
                problems.append(f"token {k}: {t} inside the body")
        if in_track:
            problems.append("last track is not closed with TRACK_END")
        if n_fill != n_fill_blocks:
            problems.append(f"{n_fill} FILL placeholders but {n_fill_blocks} FILL_START blocks")
        if toks[-1] != "EOS":
            problems.append("sequence does not end with EOS")
        return problems
