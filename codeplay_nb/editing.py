"""Bar-exact editing: extend, infill, regenerate or re-instrument a track, add a track.

Pure functions on :class:`Piece`: each returns a new piece and never modifies its input. Bars are counted
from 1 (inclusive ranges) as musicians do; tracks are addressed by 1-based index or by name.

What the model sees: a *window* of bars around the edit (up to ``CONTEXT_BARS`` before and after) with as
many tracks as fit the model's context (the edited tracks always; the others by how many notes they
hold), chosen so that prompt + generated tokens stay within ``n_positions``. Only the edited cells are
replaced; every other note, controller, pitch bend, tempo and time signature stays exactly as it was.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import replace

from .attributes import Attributes
from .errors import BarRangeError, CodeplayError, UnknownInstrumentError, UnknownTrackError
from .generation import generate_fill, new_seed
from .instruments import parse_instrument
from .model.checkpoint import MusicModel, load_model
from .model.config import SamplingConfig
from .music import Note, Piece, Track, slice_bars

CONTEXT_BARS = 4
CHUNK_BARS = 4
MAX_EXTEND_BARS = 64  # composer.MAX_BARS: one call adds at most as many bars as a composition may have
MAX_TEMPERATURE = 100.0
MAX_SEED = 2**63 - 1
TOKENS_PER_FILLED_CELL_MIN = 12


# ---------------------------------------------------------------- addressing and validation
def resolve_track(piece: Piece, track: int | str) -> int:
    """0-based index of a track given as a 1-based number or a name (case-insensitive)."""
    n = len(piece.tracks)
    if isinstance(track, str) and track.strip().lstrip("-").isdigit():
        track = int(track)
    if isinstance(track, int):
        if not 1 <= track <= n:
            raise UnknownTrackError(f"track {track} does not exist: this piece has tracks 1-{n}")
        return track - 1
    name = str(track).strip().lower()
    for i, t in enumerate(piece.tracks):
        if t.name.strip().lower() == name or t.label.lower() == name:
            return i
    names = ", ".join(f"{i + 1}={t.label}" for i, t in enumerate(piece.tracks))
    raise UnknownTrackError(f"no track named {track!r}; tracks are: {names}")


def parse_bar_range(bars: str | int | tuple[int, int] | Sequence[int], n_bars: int) -> tuple[int, int]:
    """``"3-4"``, ``3`` or ``(3, 4)`` (1-based inclusive) -> 0-based inclusive, validated against the piece."""
    if isinstance(bars, str):
        m = re.fullmatch(r"\s*(\d+)\s*(?:[-–]\s*(\d+)\s*)?", bars)
        if m is None:
            raise BarRangeError(f"bad bar range {bars!r}; write it like 3-4 or 5 (bars count from 1)")
        bars = tuple(int(g) for g in m.groups() if g is not None)
    if isinstance(bars, int):
        bars = (bars, bars)
    bars = tuple(bars)
    if len(bars) == 1:
        bars = (bars[0], bars[0])
    if len(bars) != 2:
        raise BarRangeError(f"bad bar range {bars!r}; give a first and a last bar")
    first, last = int(bars[0]), int(bars[1])
    if first > last:
        raise BarRangeError(f"bar range {first}-{last} is reversed; write {last}-{first}")
    if first < 1 or last > n_bars:
        raise BarRangeError(f"bars {first}-{last} are outside the piece, which has bars 1-{n_bars}")
    return first - 1, last - 1


def _model(model) -> MusicModel:
    if isinstance(model, MusicModel):
        return model
    return load_model(model)


def _attrs_for(piece: Piece, attributes: Attributes | None, at_tick: int) -> Attributes:
    if attributes is not None:
        return attributes
    key = piece.key_at(at_tick)
    return Attributes(key=key)


def window_attributes(attrs: Attributes, window: Piece, w_first: int, cells: dict[int, set[int]]) -> Attributes:
    """``attrs`` with the window's chord lane: the chords the person asked for (``attrs.chords``, one per bar
    of the whole piece) where given, else the chords the surrounding bars play (estimated), and unknown for
    the bars being written -- so infill and extend keep the harmony around them."""
    from dataclasses import replace

    from .chords import NO_CHORD, UNKNOWN, bar_chords

    n = window.n_bars
    asked = attrs.chords or ()
    edited = set().union(*cells.values()) if cells else set()
    estimated = bar_chords(window, n)
    # in the bars being written, only what the other tracks play there tells the harmony
    others = window.with_tracks([t for i, t in enumerate(window.tracks) if i not in cells])
    around = bar_chords(others, n) if edited and others.tracks else (NO_CHORD,) * n
    lane = []
    for b in range(n):
        g = w_first + b
        if g < len(asked) and asked[g] != UNKNOWN:
            lane.append(asked[g])
        elif b in edited:
            lane.append(around[b] if around[b] != NO_CHORD else UNKNOWN)
        else:
            lane.append(estimated[b])
    return replace(attrs, chords=tuple(lane))


# ---------------------------------------------------------------- windows
def _window(piece: Piece, first: int, last: int, track_ids: Sequence[int]) -> Piece:
    """Bars ``first..last`` (0-based, may run past the end) of the given tracks, starting at tick 0."""
    sub = slice_bars(piece, first, last)
    start, end = piece.bar_span(first, last)
    tracks = tuple(sub.tracks[i] for i in track_ids)
    return sub.replace(tracks=tracks, length=end - start)


def _estimate_tokens(mm: MusicModel, window: Piece, cells: dict[int, set[int]]) -> tuple[int, int]:
    """(prompt tokens, expected generated tokens) for a fill task."""
    tok = mm.tokenizer
    n_bars = window.n_bars
    prompt = tok.encode_tokens(window, Attributes(), n_bars=n_bars, fill=cells, end=False, keep_empty=True)
    full = tok.encode_tokens(window, Attributes(), n_bars=n_bars, end=False, keep_empty=True)
    per_cell = max(TOKENS_PER_FILLED_CELL_MIN, 2 * (len(full) - 20) // max(1, len(window.tracks) * n_bars))
    n_cells = sum(len(v) for v in cells.values())
    return len(prompt), n_cells * (per_cell + 2) + 2


def _plan_window(mm: MusicModel, piece: Piece, first: int, last: int, targets: Sequence[int],
                 context_bars: int) -> tuple[Piece, list[int], int, dict[int, set[int]]]:
    """Choose window bars and tracks that fit the context. Returns (window, track ids, window first bar,
    cells)."""
    budget = mm.n_positions - 8
    n_piece = piece.n_bars
    others = [i for i in range(len(piece.tracks)) if i not in targets]
    others.sort(key=lambda i: -len(piece.tracks[i].notes))
    for ctx in range(context_bars, -1, -1):
        w_first = max(0, first - ctx)
        w_last = max(last, min(n_piece - 1, last + ctx))

        def attempt(n_others: int, w_first=w_first, w_last=w_last):
            ids = sorted([*targets, *others[:n_others]])
            window = _window(piece, w_first, w_last, ids)
            cells = {ids.index(t): set(range(first - w_first, last - w_first + 1)) for t in targets}
            p, g = _estimate_tokens(mm, window, cells)
            return (window, ids, w_first, cells) if p + g <= budget else None

        # the most context tracks that fit: all of them, else a binary search (O(log n) encodings, not n)
        n = _largest_fitting(attempt, 0, len(others))
        if n is not None:
            return n
    raise CodeplayError(
        "this edit is too dense for the model's context even with no surrounding bars; "
        "edit fewer bars or fewer tracks at once"
    )


def _largest_fitting(attempt: Callable[[int], object], lo: int, hi: int):
    """``attempt(k)`` for the largest ``k`` in ``[lo, hi]`` where it returns a result (not ``None``), trying
    ``hi`` first and then bisecting (token counts grow with ``k``); ``None`` when even ``lo`` fails."""
    best = attempt(hi)
    if best is not None or hi == lo:
        return best
    best = attempt(lo)
    if best is None:
        return None
    hi -= 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        result = attempt(mid)
        if result is not None:
            best, lo = result, mid
        else:
            hi = mid - 1
    return best


def _merge(piece: Piece, result: Piece, ids: Sequence[int], w_first: int, cells: dict[int, set[int]],
           *, new_length: int | None = None) -> Piece:
    """Replace the edited cells of ``piece`` by those of ``result`` (a window starting at bar ``w_first``)."""
    offset = piece.bar_span(w_first, w_first)[0]
    tracks = list(piece.tracks)
    for wi, bars in cells.items():
        ti = ids[wi]
        lo, hi = min(bars), max(bars)
        s_tick, e_tick = piece.bar_span(w_first + lo, w_first + hi)
        keep = [n for n in tracks[ti].notes if not s_tick <= n.start < e_tick]
        w_s, w_e = s_tick - offset, e_tick - offset
        new = [
            Note(n.pitch, n.velocity, n.start + offset, max(1, min(n.duration, w_e - n.start)))
            for n in result.tracks[wi].notes
            if w_s <= n.start < w_e
        ]
        tracks[ti] = tracks[ti].with_notes(keep + new)
    length = piece.length if new_length is None else max(piece.length, new_length)
    return piece.replace(tracks=tuple(tracks), length=length)


def _fill_region(piece: Piece, first: int, last: int, targets: Sequence[int], *, mm: MusicModel,
                 attributes: Attributes | None, seed: int, sampling: SamplingConfig,
                 on_token: Callable[[int], None] | None, new_length: int | None = None,
                 rests: bool = False) -> Piece:
    """Regenerate bars ``first..last`` (0-based) of ``targets`` in chunks that fit the model."""
    out = piece
    chunk_seed = seed
    for c_first in range(first, last + 1, CHUNK_BARS):
        c_last = min(last, c_first + CHUNK_BARS - 1)
        remaining = list(targets)
        while remaining:
            # as many target tracks per pass as fit (bisected); the rest go in later passes
            def attempt(k: int, out=out, c_first=c_first, c_last=c_last, remaining=remaining):
                try:
                    return k, _plan_window(mm, out, c_first, c_last, remaining[:k], CONTEXT_BARS)
                except CodeplayError:
                    return None

            found = _largest_fitting(attempt, 1, len(remaining))
            if found is None:
                _plan_window(mm, out, c_first, c_last, remaining[:1], CONTEXT_BARS)  # raises the clear error
            k, (window, ids, w_first, cells) = found
            attrs = window_attributes(_attrs_for(out, attributes, out.bar_span(c_first, c_first)[0]), window,
                                      w_first, cells)
            result = generate_fill(mm, window, cells, attributes=attrs, seed=chunk_seed, sampling=sampling,
                                   on_token=on_token, rests=rests)
            out = _merge(out, result, ids, w_first, cells, new_length=new_length)
            remaining = remaining[k:]
            chunk_seed += 1
    return out


def check_sampling(temperature: float, top_p: float) -> None:
    """Raise a one-line :class:`CodeplayError` for a temperature or top-p the sampler cannot use."""
    if not isinstance(temperature, (int, float)) or not math.isfinite(temperature) or temperature <= 0:
        raise CodeplayError(f"temperature must be a finite number > 0, not {temperature}")
    if temperature > MAX_TEMPERATURE:
        raise CodeplayError(f"temperature must be at most {MAX_TEMPERATURE:g}, not {temperature}")
    if not isinstance(top_p, (int, float)) or not math.isfinite(top_p) or not 0 < top_p <= 1:
        raise CodeplayError(f"top-p must be in (0, 1], not {top_p}")


def check_seed(seed: int | None) -> None:
    """A seed is a whole number from 0 to 2^63 - 1 (what the random generators accept, with room to count)."""
    if seed is None:
        return
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise CodeplayError(f"seed must be a whole number from 0 to {MAX_SEED}, not {seed}")


def check_piece(piece: Piece) -> None:
    """Refuse a piece beyond the limits of :data:`codeplay_nb.io.LIMITS` before doing any work on it."""
    from .errors import PieceTooLargeError
    from .io import LIMITS, _bar_bound

    if len(piece.tracks) > LIMITS["tracks"]:
        raise PieceTooLargeError(f"the piece has {len(piece.tracks):,} tracks; at most {LIMITS['tracks']:,} "
                                 "are supported")
    sigs = [(ts.time, ts.numerator, ts.denominator) for ts in piece.time_signatures]
    if _bar_bound(piece.length, piece.tpq, sigs) > LIMITS["bars"]:
        raise PieceTooLargeError(f"the piece is longer than {LIMITS['bars']:,} bars, the most supported")


def _sampling(temperature: float, top_p: float) -> SamplingConfig:
    check_sampling(temperature, top_p)
    return SamplingConfig(temperature=temperature, top_p=top_p)


def _check_amt(backend: str) -> bool:
    if backend not in ("nnn", "amt"):
        raise CodeplayError(f"unknown backend {backend!r}; use 'nnn' (our model) or 'amt'")
    return backend == "amt"


def _check_all(piece: Piece, temperature: float, top_p: float, seed: int | None) -> None:
    check_piece(piece)
    check_sampling(temperature, top_p)
    check_seed(seed)


# ---------------------------------------------------------------- operations
def extend(piece: Piece, bars: int = 4, *, model=None, seed: int | None = None, temperature: float = 1.0,
           top_p: float = 0.95, attributes: Attributes | None = None, backend: str = "nnn",
           on_token: Callable[[int], None] | None = None, rests: bool = False) -> Piece:
    """Append ``bars`` bars that continue the piece (previous bars as context), in 4-bar units.
    Tempo map, time signatures, instruments and every existing note are kept."""
    if isinstance(bars, bool) or not isinstance(bars, int) or not 1 <= bars <= MAX_EXTEND_BARS:
        raise BarRangeError(f"extend by a whole number of bars from 1 to {MAX_EXTEND_BARS}, not {bars}")
    _check_all(piece, temperature, top_p, seed)
    if piece.n_notes == 0:
        raise CodeplayError("the piece has no notes to continue; compose something first")
    from .io import LIMITS

    if piece.n_bars + bars > LIMITS["bars"]:
        raise BarRangeError(f"the piece would be longer than {LIMITS['bars']:,} bars, the most supported")
    seed = new_seed(seed)
    if _check_amt(backend):
        from .amt.editing import amt_extend

        return amt_extend(piece, bars, model=model, seed=seed, top_p=top_p, temperature=temperature)
    mm = _model(model)
    n = piece.n_bars
    new_end = piece.bar_span(n + bars - 1, n + bars - 1)[1]
    extended = piece.replace(length=new_end)
    targets = [i for i, t in enumerate(piece.tracks) if t.notes]
    return _fill_region(extended, n, n + bars - 1, targets, mm=mm, attributes=attributes, seed=seed,
                        sampling=_sampling(temperature, top_p), on_token=on_token, new_length=new_end,
                        rests=rests)


def infill(piece: Piece, bars: str | int | tuple[int, int] = (1, 1), tracks: Sequence[int | str] | None = None, *,
           model=None, seed: int | None = None, temperature: float = 1.0, top_p: float = 0.95,
           attributes: Attributes | None = None, backend: str = "nnn",
           on_token: Callable[[int], None] | None = None, rests: bool = False) -> Piece:
    """Regenerate bars (1-based, inclusive) in all tracks or in ``tracks``, with the music before and
    after as context."""
    _check_all(piece, temperature, top_p, seed)
    if piece.n_notes == 0:
        raise CodeplayError("the piece has no notes: there is no context to infill from; compose first")
    first, last = parse_bar_range(bars, piece.n_bars)
    if tracks is None:
        targets = [i for i, t in enumerate(piece.tracks) if t.notes]
    else:
        targets = sorted({resolve_track(piece, t) for t in tracks})
    seed = new_seed(seed)
    if _check_amt(backend):
        from .amt.editing import amt_infill

        return amt_infill(piece, first, last, tracks=targets, model=model, seed=seed, top_p=top_p,
                          temperature=temperature)
    mm = _model(model)
    return _fill_region(piece, first, last, targets, mm=mm, attributes=attributes, seed=seed,
                        sampling=_sampling(temperature, top_p), on_token=on_token, rests=rests)


def _parse_instrument(instrument: str | int) -> tuple[int, bool]:
    """:func:`parse_instrument`, refusing a negative number written as text (``"-1"`` is not program 1)."""
    if isinstance(instrument, str) and re.fullmatch(r"\s*[-+]\s*\d+\s*", instrument):
        raise UnknownInstrumentError(f"GM program numbers go from 0 to 127, not {instrument.strip()}")
    return parse_instrument(instrument)


def instrument_track_name(instrument: str | int, program: int, is_drum: bool) -> str:
    """The name a track gets for what the person asked: a family they typed ("strings" -> "Strings"),
    else the GM program name ("violin" -> "Violin")."""
    from .instruments import FAMILIES, program_name

    if is_drum:
        return "Drums"
    typed = str(instrument).strip().lower()
    return typed.capitalize() if typed in FAMILIES else program_name(program)


def _auto_named(t: Track) -> bool:
    """Whether a track's name only says its instrument (empty, its family, its GM name, "Drums"): such a
    name follows an instrument change; a name the person gave is kept."""
    from .instruments import family_of_program, program_name

    name = t.name.strip().lower()
    return name in ("", "drums", family_of_program(t.program, t.is_drum), program_name(t.program).lower())


def _retarget(piece: Piece, ti: int, instrument: str | int) -> Piece:
    program, is_drum = _parse_instrument(instrument)
    t = piece.tracks[ti]
    name = instrument_track_name(instrument, program, is_drum) if _auto_named(t) else t.name
    tracks = list(piece.tracks)
    tracks[ti] = replace(t, program=program, is_drum=is_drum, name=name)
    return piece.replace(tracks=tuple(tracks))


def set_instrument(piece: Piece, track: int | str, instrument: str | int) -> Piece:
    """Change a track's instrument (GM program) without touching its notes; a track named after its
    instrument is renamed. Drums <-> pitched is refused for a track with notes (drum hits are no melody):
    regenerate the track as the new instrument instead."""
    ti = resolve_track(piece, track)
    program, is_drum = _parse_instrument(instrument)
    t = piece.tracks[ti]
    if t.notes and is_drum != t.is_drum:
        new = "drums" if is_drum else instrument_track_name(instrument, program, is_drum)
        raise CodeplayError(
            f"track {ti + 1} ({t.label}) is a {'drum' if t.is_drum else 'pitched'} part and cannot simply be "
            f"played by {new}; regenerate the track as {new} instead, or add a new {new} track")
    return _retarget(piece, ti, instrument)


def regenerate_track(piece: Piece, track: int | str, instrument: str | int | None = None, *, model=None,
                     seed: int | None = None, temperature: float = 1.0, top_p: float = 0.95,
                     attributes: Attributes | None = None, backend: str = "nnn",
                     on_token: Callable[[int], None] | None = None) -> Piece:
    """Regenerate one track given all the others (optionally as another instrument)."""
    _check_all(piece, temperature, top_p, seed)
    ti = resolve_track(piece, track)
    if piece.n_bars == 0:
        raise CodeplayError("the piece is empty; compose something first")
    seed = new_seed(seed)
    if instrument is not None:
        piece = _retarget(piece, ti, instrument)  # the part is written anew: drums <-> pitched is fine
    if _check_amt(backend):
        from .amt.editing import amt_regenerate_track

        t = piece.tracks[ti]
        return amt_regenerate_track(piece, ti, program=t.program, is_drum=t.is_drum, model=model, seed=seed,
                                    top_p=top_p, temperature=temperature)
    mm = _model(model)
    tracks = list(piece.tracks)
    tracks[ti] = replace(tracks[ti], notes=())
    cleared = piece.replace(tracks=tuple(tracks))
    return _fill_region(cleared, 0, piece.n_bars - 1, [ti], mm=mm, attributes=attributes, seed=seed,
                        sampling=_sampling(temperature, top_p), on_token=on_token)


def add_track(piece: Piece, instrument: str | int, *, model=None, seed: int | None = None,
              temperature: float = 1.0, top_p: float = 0.95, attributes: Attributes | None = None,
              backend: str = "nnn", on_token: Callable[[int], None] | None = None) -> Piece:
    """Generate a new track for ``instrument`` that fits the existing ones."""
    _check_all(piece, temperature, top_p, seed)
    program, is_drum = _parse_instrument(instrument)
    if piece.n_bars == 0:
        raise CodeplayError("the piece is empty; compose something first")
    new = Track(program=program, is_drum=is_drum, name="")
    grown = piece.replace(tracks=(*piece.tracks, new))
    return regenerate_track(grown, len(grown.tracks), None, model=model, seed=seed, temperature=temperature,
                            top_p=top_p, attributes=attributes, backend=backend, on_token=on_token)
