"""MMM baseline (Ens & Pasquier 2020, "MMM: Exploring Conditional Multi-Track Music Generation with the
Transformer") in Tristan Behrens' open variant (github.com/AI-Guru/MMM-JSB), on NNN's time grid.

Layout::

    PIECE_START
    TRACK_START INST=<program|DRUMS> BAR_START ev ev ... BAR_END BAR_START ... BAR_END TRACK_END
    TRACK_START ...

with events ``NOTE_ON=<pitch>``, ``TIME_DELTA=<steps>`` and ``NOTE_OFF=<pitch>`` on the shared grid of
:data:`~codeplay_nb.tokenizers.STEPS_PER_QUARTER` (12) steps per quarter note. Every track spans every bar
of the piece (an empty bar costs ``BAR_START BAR_END``), as in MMM.

Choices (documented, measured in the tokenizer notebook):

* **Time deltas** move forward inside a bar; one token covers 1..48 steps (a 4/4 bar); longer gaps repeat
  the token. The time left to the bar end is implicit in ``BAR_END``.
* **Notes crossing a bar line** are *carried* by default: the ``NOTE_OFF`` is emitted in the bar where the
  note really ends, so durations survive. ``close_at_bar_end=True`` gives MMM's original behaviour (the
  note is cut at the bar end). Token counts are almost the same either way: a note costs NOTE_ON + NOTE_OFF
  plus its share of TIME_DELTAs.
* **No velocity** (MMM has none): decoded notes get :data:`DEFAULT_VELOCITY`; the round-trip fidelity check
  ignores velocity for this scheme. No density token (Behrens' ``DENSITY=``) and no track names.
* **Tempo and time signature**: MMM and Behrens' variant have none (fixed 4/4 at one tempo). So that round
  trips keep them, this implementation adds tokens in the *first track only* (no per-bar cost):
  ``TIME_SIG=n/d`` after ``BAR_START`` in bars where the signature changes (and bar 0), and ``TEMPO=q`` at
  its time position among the events (a 1 % geometric grid from 5 to 500 BPM: within 0.5 %; VGMIDI
  files hold 7 BPM fermatas).
  A bar cut short by a mid-bar time-signature change is written with a signature of its real length that
  differs from the next bar's (3 quarters before a 3/4 change become 6/8), so the decoded piece has one
  extra time signature there but every original one at its place.
* Same-pitch overlapping notes in a track are ambiguous in NOTE_ON/NOTE_OFF form (as in MIDI): a NOTE_OFF
  closes the oldest open note of that pitch (first in, first out).
* ``FILL_IN``, ``FILL_START`` and ``FILL_END`` (Behrens' bar infilling) are in the vocabulary, unused by
  :meth:`MMMTokenizer.encode`.
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict, deque
from collections.abc import Sequence

from ..attributes import Attributes
from ..music import Note, Piece, Tempo, TimeSignature, Track
from .base import STEPS_PER_QUARTER, Tokenizer

OUT_TPQ = 480  # decoded pieces: 480 ticks per quarter (40 ticks per grid step)
DEFAULT_VELOCITY = 80
MAX_DELTA_STEPS = 4 * STEPS_PER_QUARTER  # one 4/4 bar
TS_NUMERATORS = tuple(range(1, 25))
TS_DENOMINATORS = (1, 2, 4, 8, 16, 32)
TEMPO_MIN_BPM, TEMPO_MAX_BPM, TEMPO_RATIO, TEMPO_ANCHOR_BPM = 5.0, 500.0, 1.01, 120.0
_K_MIN = math.ceil(math.log(TEMPO_MIN_BPM / TEMPO_ANCHOR_BPM) / math.log(TEMPO_RATIO))
_K_MAX = math.floor(math.log(TEMPO_MAX_BPM / TEMPO_ANCHOR_BPM) / math.log(TEMPO_RATIO))
# 1 % geometric steps through 120 BPM (exact there); about 463 values
TEMPO_VALUES = tuple(round(TEMPO_ANCHOR_BPM * TEMPO_RATIO**k, 2) for k in range(_K_MIN, _K_MAX + 1))
N_TEMPOS = len(TEMPO_VALUES)
SPECIAL = ("PIECE_START", "TRACK_START", "TRACK_END", "BAR_START", "BAR_END", "FILL_IN", "FILL_START", "FILL_END")


def tempo_index(qpm: float) -> int:
    """Nearest tempo on the geometric grid (clamped to 5..500 BPM)."""
    q = min(max(qpm, TEMPO_MIN_BPM), TEMPO_MAX_BPM)
    i = round(math.log(q / TEMPO_ANCHOR_BPM) / math.log(TEMPO_RATIO)) - _K_MIN
    return min(max(i, 0), N_TEMPOS - 1)


def _ts_for_steps(steps: int, avoid: set[tuple[int, int]]) -> tuple[int, int] | None:
    """A time signature whose bar is ``steps`` long and is not in ``avoid`` (for bars cut short by a
    signature change)."""
    for den in TS_DENOMINATORS:
        num, rest = divmod(steps * den, 4 * STEPS_PER_QUARTER)
        if rest == 0 and 1 <= num <= TS_NUMERATORS[-1] and (num, den) not in avoid:
            return num, den
    return None


def _ts_steps(num: int, den: int) -> int:
    return max(1, round(num * 4 * STEPS_PER_QUARTER / den))


class MMMTokenizer(Tokenizer):
    """MMM (NOTE_ON / TIME_DELTA / NOTE_OFF per bar and track) on the 12-steps-per-quarter grid."""

    name = "mmm"
    version = "1"
    keeps_velocity = False

    def __init__(self, close_at_bar_end: bool = False) -> None:
        self.close_at_bar_end = close_at_bar_end
        vocab = [
            *SPECIAL,
            *(f"INST={p}" for p in range(128)),
            "INST=DRUMS",
            *(f"NOTE_ON={p}" for p in range(128)),
            *(f"NOTE_OFF={p}" for p in range(128)),
            *(f"TIME_DELTA={d}" for d in range(1, MAX_DELTA_STEPS + 1)),
            *(f"TIME_SIG={n}/{d}" for d in TS_DENOMINATORS for n in TS_NUMERATORS),
            *(f"TEMPO={q:.2f}" for q in TEMPO_VALUES),
        ]
        super().__init__(vocab)

    def to_dict(self) -> dict:
        return {**super().to_dict(), "close_at_bar_end": self.close_at_bar_end, "steps_per_quarter": STEPS_PER_QUARTER}

    # ------------------------------------------------------------------ encode
    def _bars(self, piece: Piece) -> list[tuple[int, int, tuple[int, int]]]:
        """``(start_step, end_step, (num, den))`` for every bar; the signature is the one whose bar length
        equals the bar's real length (differs only for bars cut by a mid-bar change)."""
        q = piece.tpq
        ticks = piece.bar_starts()
        steps = [round(t * STEPS_PER_QUARTER / q) for t in ticks]
        bars = []
        for a, b, t in zip(steps, steps[1:], ticks, strict=False):
            if b <= a:
                continue
            ts = piece.time_signature_at(t)
            sig = (ts.numerator, ts.denominator)
            if _ts_steps(*sig) != b - a and b != steps[-1]:  # cut short by the next signature
                nxt = piece.time_signature_at(ticks[steps.index(b)])
                sig = _ts_for_steps(b - a, {sig, (nxt.numerator, nxt.denominator)}) or sig
            bars.append((a, b, sig))
        return bars

    def encode_tokens(self, piece: Piece, attributes: Attributes | None = None) -> list[str]:
        """Token strings for ``piece`` (``attributes`` are ignored: MMM has no attribute tokens)."""
        q = piece.tpq
        bars = self._bars(piece)
        # notes in steps: (start, end, pitch); a note that rounds to zero length keeps one step
        tracks = []
        last_end = bars[-1][1] if bars else 0
        for tr in piece.tracks:
            notes = []
            for n in tr.notes:
                s = round(n.start * STEPS_PER_QUARTER / q)
                e = max(round(n.end * STEPS_PER_QUARTER / q), s + 1)
                notes.append((s, e, n.pitch))
                last_end = max(last_end, e)
            tracks.append((tr, sorted(notes)))
        while bars and last_end > bars[-1][1]:  # notes rounded past the last bar: add bars
            a, b, sig = bars[-1]
            bars.append((b, b + _ts_steps(*sig), sig))
        starts = [b[0] for b in bars]

        meta: dict[int, list[tuple[int, str]]] = defaultdict(list)  # bar -> [(step, token)]
        prev_sig = None
        for i, (_a, _b, sig) in enumerate(bars):
            if sig != prev_sig:
                meta[i].append((-1, f"TIME_SIG={sig[0]}/{sig[1]}"))
                prev_sig = sig
        for tp in piece.tempos:
            s = round(tp.time * STEPS_PER_QUARTER / q)
            if bars and tp.time < piece.length:
                s = min(s, bars[-1][1] - 1)  # a change just before the end must not round past it
                bi = bisect.bisect_right(starts, s) - 1
                meta[bi].append((s, f"TEMPO={TEMPO_VALUES[tempo_index(tp.qpm)]:.2f}"))

        out = ["PIECE_START"]
        for ti, (tr, notes) in enumerate(tracks):
            out += ["TRACK_START", "INST=DRUMS" if tr.is_drum else f"INST={tr.program}"]
            # events per bar: (step, order, token); order: meta 0, NOTE_OFF 1, NOTE_ON 2
            per_bar: list[list[tuple[int, int, int, str]]] = [[] for _ in bars]
            for s, e, p in notes:
                bi = bisect.bisect_right(starts, s) - 1
                per_bar[bi].append((s, 2, p, f"NOTE_ON={p}"))
                if self.close_at_bar_end:
                    e = min(e, bars[bi][1])
                # a NOTE_OFF at a bar line belongs to the bar that ends there
                bo = bisect.bisect_left(starts, e) - 1
                per_bar[max(bo, bi)].append((e, 1, p, f"NOTE_OFF={p}"))
            if ti == 0:
                for bi, evs in meta.items():
                    for s, tok in evs:
                        per_bar[bi].append((s, 0, 0, tok))
            for bi, (a, _b, _sig) in enumerate(bars):
                out.append("BAR_START")
                pos = a
                for s, _o, _p, tok in sorted(per_bar[bi]):
                    if s > pos:
                        gap = s - pos
                        while gap > 0:
                            d = min(gap, MAX_DELTA_STEPS)
                            out.append(f"TIME_DELTA={d}")
                            gap -= d
                        pos = s
                    out.append(tok)
                out.append("BAR_END")
            out.append("TRACK_END")
        return out

    def encode(self, piece: Piece, attributes: Attributes | None = None) -> list[int]:
        return self.ids(self.encode_tokens(piece, attributes))

    # ------------------------------------------------------------------ decode
    def decode(self, ids: Sequence[int]) -> Piece:
        toks = [self.vocab[i] for i in ids if 0 <= i < self.vocab_size]
        return self.decode_tokens(toks)

    def decode_tokens(self, toks: Sequence[str]) -> Piece:
        """A piece from token strings; malformed parts are skipped (see :meth:`check`)."""
        step = OUT_TPQ // STEPS_PER_QUARTER
        tracks: list[Track] = []
        sigs: list[TimeSignature] = []
        tempos: list[Tempo] = []
        bar_starts: list[int] = []  # in steps, from the first track's bars
        bar_lens: list[int] = []
        sig = (4, 4)
        track_no = -1
        in_track = in_bar = False
        inst = (0, False)
        notes: list[Note] = []
        open_notes: dict[int, deque[int]] = defaultdict(deque)
        bar_i = -1
        pos = bar_start = 0
        length = 0

        def bar_geometry(i: int) -> int:
            while len(bar_starts) <= i:  # later tracks may have more bars than the first: extend
                start = bar_starts[-1] + bar_lens[-1] if bar_starts else 0
                bar_starts.append(start)
                bar_lens.append(_ts_steps(*sig))
            return bar_starts[i]

        def finish_track() -> None:
            nonlocal notes, open_notes
            end = bar_starts[bar_i] + bar_lens[bar_i] if bar_i >= 0 and bar_starts else pos
            for p, q in open_notes.items():
                for s in q:  # never closed: end at the end of the track's last bar
                    notes.append(Note(p, DEFAULT_VELOCITY, s * step, max(end - s, 1) * step))
            tracks.append(Track(program=inst[0], is_drum=inst[1], notes=tuple(sorted(
                notes, key=lambda n: (n.start, n.pitch, n.duration)))))
            notes, open_notes = [], defaultdict(deque)

        for tok in toks:
            kind, _, val = tok.partition("=")
            if kind == "TRACK_START":
                if in_track:
                    finish_track()
                in_track, in_bar, bar_i, track_no, inst = True, False, -1, track_no + 1, (0, False)
            elif not in_track:
                continue
            elif kind == "INST":
                inst = (0, True) if val == "DRUMS" else (int(val), False)
            elif kind == "TRACK_END":
                finish_track()
                in_track = in_bar = False
            elif kind == "BAR_START":
                bar_i += 1
                in_bar = True
                if track_no == 0 and len(bar_starts) <= bar_i:
                    bar_starts.append(bar_starts[-1] + bar_lens[-1] if bar_starts else 0)
                    bar_lens.append(_ts_steps(*sig))
                bar_start = pos = bar_geometry(bar_i)
            elif kind == "BAR_END":
                in_bar = False
                if bar_i >= 0:
                    length = max(length, bar_starts[bar_i] + bar_lens[bar_i])
            elif not in_bar:
                continue
            elif kind == "TIME_SIG" and track_no == 0:
                n, d = (int(x) for x in val.split("/"))
                sig = (n, d)
                bar_lens[bar_i] = _ts_steps(n, d)
                if not sigs or (sigs[-1].numerator, sigs[-1].denominator) != sig:
                    sigs.append(TimeSignature(bar_start * step, n, d))
            elif kind == "TEMPO" and track_no == 0:
                tempos.append(Tempo(pos * step, float(val)))
            elif kind == "TIME_DELTA":
                pos += int(val)
            elif kind == "NOTE_ON":
                open_notes[int(val)].append(pos)
            elif kind == "NOTE_OFF":
                q = open_notes.get(int(val))
                if q:
                    s = q.popleft()
                    notes.append(Note(int(val), DEFAULT_VELOCITY, s * step, max(pos - s, 1) * step))
                    length = max(length, pos)
        if in_track:
            finish_track()
        return Piece(tuple(tracks), OUT_TPQ, tuple(tempos), tuple(sigs), (), length=length * step)

    # ------------------------------------------------------------------ grammar
    def check(self, ids: Sequence[int]) -> list[str]:
        problems = super().check(ids)
        if problems:
            return problems
        return self.check_tokens(self.tokens(ids))

    def check_tokens(self, toks: Sequence[str]) -> list[str]:
        """Grammar problems: order of the structural tokens, events outside bars, NOTE_OFF without an open
        note, time past the bar end, unclosed notes, tracks with different bar counts."""
        probs: list[str] = []
        if not toks or toks[0] != "PIECE_START":
            probs.append("sequence must start with PIECE_START")
        state = "piece"  # piece -> track_head -> track -> bar
        bar_counts: list[int] = []
        lens: list[int] = []
        sig_len = _ts_steps(4, 4)
        open_count: dict[int, int] = defaultdict(int)
        pos = bar_len = 0
        for i, tok in enumerate(toks[1:] if toks and toks[0] == "PIECE_START" else toks, start=1):
            kind, _, val = tok.partition("=")
            where = f"token {i} ({tok})"
            if kind == "PIECE_START":
                probs.append(f"{where}: PIECE_START only at the start")
            elif kind == "TRACK_START":
                if state != "piece":
                    probs.append(f"{where}: TRACK_START inside a track")
                state = "track_head"
                bar_counts.append(0)
                open_count = defaultdict(int)
            elif kind == "INST":
                if state != "track_head":
                    probs.append(f"{where}: INST must follow TRACK_START")
                state = "track"
            elif kind == "TRACK_END":
                if state != "track":
                    probs.append(f"{where}: TRACK_END outside a track or inside a bar")
                dangling = sum(open_count.values())
                if dangling:
                    probs.append(f"{where}: {dangling} note(s) never closed with NOTE_OFF")
                state = "piece"
            elif kind == "BAR_START":
                if state != "track":
                    probs.append(f"{where}: BAR_START outside a track (or missing INST/BAR_END)")
                state = "bar"
                pos = 0
                b = bar_counts[-1] if bar_counts else 0
                if len(bar_counts) == 1:
                    lens.append(sig_len)
                bar_len = lens[b] if b < len(lens) else sig_len
                if bar_counts:
                    bar_counts[-1] += 1
            elif kind == "BAR_END":
                if state != "bar":
                    probs.append(f"{where}: BAR_END without BAR_START")
                state = "track"
            elif kind in ("FILL_IN", "FILL_START", "FILL_END"):
                continue
            elif state != "bar":
                probs.append(f"{where}: event outside a bar")
            elif kind == "TIME_SIG":
                if len(bar_counts) != 1 or pos:
                    probs.append(f"{where}: TIME_SIG only in the first track, right after BAR_START")
                else:
                    sig_len = bar_len = lens[-1] = _ts_steps(*(int(x) for x in val.split("/")))
            elif kind == "TEMPO":
                if len(bar_counts) != 1:
                    probs.append(f"{where}: TEMPO only in the first track")
            elif kind == "TIME_DELTA":
                pos += int(val)
                if pos > bar_len:
                    probs.append(f"{where}: time {pos} steps past the bar end ({bar_len})")
            elif kind == "NOTE_ON":
                if pos >= bar_len:
                    probs.append(f"{where}: NOTE_ON at the bar end")
                open_count[int(val)] += 1
            elif kind == "NOTE_OFF":
                if open_count[int(val)] <= 0:
                    probs.append(f"{where}: NOTE_OFF without an open note of that pitch")
                else:
                    open_count[int(val)] -= 1
        if state != "piece":
            probs.append("sequence ends inside a track")
        if len(set(bar_counts)) > 1:
            probs.append(f"tracks have different bar counts: {sorted(set(bar_counts))}")
        return probs
