"""``compose``: a prompt and/or attributes in, a :class:`Song` out.

Attributes passed explicitly override what the text classifier infers from the prompt; anything still
unknown is left to the model (genre, emotion, key) or gets a sensible default (tempo from the tempo bin or
emotion, instruments from the genre, 4/4).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace

from .attributes import TEMPO_BIN_DEFAULT_BPM, TEMPO_BINS, Attributes
from .errors import CodeplayError
from .generation import InstrumentSpec, density_bin_for, generate_new_tracks, new_seed
from .instruments import family_of_program, parse_instrument_list
from .model.checkpoint import MusicModel, load_model
from .model.config import SamplingConfig, decoding_overrides, plan_strengths
from .music import Note, Piece, Track
from .song import Song

log = logging.getLogger(__name__)

FIRST_WINDOW_BARS = 4
MAX_BARS = 64
GENRE_INSTRUMENTS: dict[str, tuple[str, ...]] = {
    "pop": ("piano", "bass", "drums"), "rock": ("guitar", "bass", "drums"), "jazz": ("piano", "bass", "drums"),
    "classical": ("piano", "strings"), "folk": ("guitar", "woodwinds"), "electronic": ("synth", "bass", "drums"),
    "hiphop": ("piano", "bass", "drums"), "game": ("synth", "bass"), "blues": ("piano", "bass", "drums"),
    "latin": ("guitar", "bass", "drums"), "country": ("guitar", "bass", "drums"),
}
EMOTION_BPM: dict[str, float] = {
    "happy": 120.0, "sad": 72.0, "calm": 76.0, "tense": 132.0, "epic": 110.0, "romantic": 80.0,
    "mysterious": 88.0, "playful": 126.0,
}
DEFAULT_BPM = 110.0


def _parse_tempo(tempo) -> float | None:
    if tempo is None:
        return None
    if isinstance(tempo, str):
        t = tempo.strip().lower().replace(" ", "_").replace("-", "_")
        if t in TEMPO_BINS:
            return TEMPO_BIN_DEFAULT_BPM[t]
        try:
            tempo = float(t.removesuffix("bpm").strip("_"))
        except ValueError:
            raise CodeplayError(f"tempo {tempo!r}: give BPM (e.g. 96) or one of {', '.join(TEMPO_BINS)}") from None
    tempo = float(tempo)
    if not 20 <= tempo <= 300:
        raise CodeplayError(f"tempo {tempo:g} BPM is out of range; use 20-300 BPM")
    return tempo


def _parse_ts(ts) -> tuple[int, int] | None:
    if ts is None:
        return None
    if isinstance(ts, str):
        try:
            a, b = ts.split("/")
            ts = (int(a), int(b))
        except ValueError:
            raise CodeplayError(f"time signature {ts!r}: write it like 3/4 or 6/8") from None
    num, den = int(ts[0]), int(ts[1])
    if not (1 <= num <= 16 and den in (2, 4, 8, 16)):
        raise CodeplayError(f"time signature {num}/{den} is not supported; use n/2, n/4, n/8 or n/16 with n ≤ 16")
    return num, den


def _instrument_specs(instruments) -> list[InstrumentSpec]:
    # an instrument named twice is two tracks (a melody and an accompaniment on the same piano, two guitars)
    specs = [InstrumentSpec(p, d) for p, d in parse_instrument_list(instruments, repeats=True)]
    if len(specs) > 8:
        raise CodeplayError("at most 8 instruments at once")
    return specs


def _classify(prompt: str) -> Attributes:
    from .text import classify

    return classify(prompt)


def resolve_request(
    prompt: str | None, *, genre=None, emotion=None, tempo=None, instruments=None, key=None,
    time_signature=None, known_genres: set[str] | None = None,
    classify_fn: Callable[[str], Attributes] | None = None,
) -> tuple[Attributes, float, tuple[int, int], list[InstrumentSpec]]:
    """Merge classifier output and explicit overrides into the attributes actually used."""
    inferred = Attributes()
    if prompt is not None:
        if not prompt.strip():
            raise CodeplayError("the prompt is empty; describe the music, e.g. 'a sad piano ballad'")
        inferred = (classify_fn or _classify)(prompt)
    bpm = _parse_tempo(tempo)
    ts = _parse_ts(time_signature)
    inst_given = instruments is not None and len(instruments) > 0
    attrs = inferred.merged(genre=genre, emotion=emotion, key=key,
                            instruments=tuple(instruments) if inst_given and not isinstance(instruments, str)
                            else (instruments.split(",") if isinstance(instruments, str) else None))
    notes = list(attrs.notes)
    if known_genres and attrs.genre and attrs.genre not in known_genres:
        mapped, note = _closest_genre(attrs.genre, known_genres)
        notes.append(note)
        attrs = attrs.merged(genre=mapped)
    if bpm is None:
        bpm = attrs.bpm or EMOTION_BPM.get(attrs.emotion or "", DEFAULT_BPM)
    specs = _instrument_specs(instruments) if inst_given else _instrument_specs(
        attrs.instruments or GENRE_INSTRUMENTS.get(attrs.genre or "", ("piano",)))
    ts = ts or attrs.time_signature or (4, 4)
    fams = tuple(dict.fromkeys(s.family for s in specs))
    attrs = replace(attrs, bpm=round(float(bpm), 1), time_signature=ts, instruments=fams, notes=tuple(notes))
    return attrs, float(bpm), ts, specs


def _compose_bars(mm: MusicModel, bars: int, specs, attrs: Attributes, bpm: float, ts, seed: int,
                  temperature: float, top_p: float, on_token, density, rests: bool) -> Piece:
    """The first window, then 4 bars at a time with the previous bars as context, each cut at its bar line."""
    first = min(bars, FIRST_WINDOW_BARS)
    piece = generate_new_tracks(mm, n_bars=first, specs=specs, attributes=attrs, bpm=bpm, time_signature=ts,
                                seed=seed, sampling=SamplingConfig(temperature=temperature, top_p=top_p),
                                on_token=on_token, density=density, rests=rests)
    piece = _clip_to(piece, piece.bar_span(first - 1, first - 1)[1])
    if bars > first:
        from .editing import extend

        piece = extend(piece, bars - first, model=mm, seed=seed + 1, temperature=temperature, top_p=top_p,
                       attributes=attrs, on_token=on_token, rests=rests)
        piece = _clip_to(piece, piece.bar_span(bars - 1, bars - 1)[1])
    return piece


def _resolve_chords(attrs: Attributes, chords, bars: int, mm: MusicModel, sampling: SamplingConfig,
                    seed: int) -> tuple[Attributes, bool]:
    """The chords asked for (one per bar), else -- with a key and ``sampling.auto_chords`` -- a progression
    drawn from the model's learned chord transitions. Returns the attributes and whether chords were chosen."""
    if chords is not None and (not isinstance(chords, str) or chords.strip()):
        from .chords import parse_chords

        return replace(attrs, chords=parse_chords(chords, n_bars=bars)), False
    if attrs.chords is None and attrs.key and sampling.auto_chords and mm.info.get("progressions"):
        from .model.progressions import sample_progression

        chosen = sample_progression(attrs.key, bars, mm.info["progressions"], seed)
        if chosen:
            return replace(attrs, chords=chosen), True
    return attrs, False


# the mode an emotion implies when no key was asked for, and the keys chosen from (the common ones of the
# training data: POP909's annotated keys and the folk tunes' are mostly these)
EMOTION_MODE = {"sad": "minor", "tense": "minor", "mysterious": "minor", "epic": "minor",
                "happy": "major", "calm": "major", "romantic": "major", "playful": "major"}
COMMON_TONICS = {"major": ("C", "G", "D", "F", "A", "Bb", "Eb", "E"), "minor": ("A", "E", "D", "C", "G", "B", "F#", "F")}


def choose_key(attrs: Attributes, seed: int) -> str:
    """A key for a request that names none: the emotion's mode (major without one) on a common tonic
    drawn with ``seed`` (so the same seed gives the same key)."""
    import random

    mode = EMOTION_MODE.get(attrs.emotion or "", "major")
    return f"{random.Random(f'key:{seed}').choice(COMMON_TONICS[mode])} {mode}"


def _choose_genre(attrs: Attributes, specs, mm: MusicModel, sampling: SamplingConfig, seed: int) -> str | None:
    """With no genre asked and ``sampling.auto_genre``, a genre drawn from the training windows' genres given
    the ensemble, meter, tempo bin, asked key's mode and emotion (``genre_stats.json`` beside the weights:
    :mod:`codeplay_nb.model.genre_plan`); None otherwise."""
    stats = mm.info.get("genre_stats") if isinstance(mm.info, dict) else None
    if attrs.genre is not None or not sampling.auto_genre or not stats:
        return None
    from .model.genre_plan import choose_genre, request_features
    from .tokenizers.nnn import tempo_bin

    mode = attrs.key.split()[-1] if attrs.key and attrs.key.split()[-1] in ("major", "minor") else None
    feats = request_features([s.family for s in specs], attrs.time_signature, tempo_bin(attrs.bpm) if attrs.bpm else None,
                             mode, attrs.emotion)
    return choose_genre(stats, feats, seed, known=sorted(mm.known_genres) if mm.known_genres else None)


def _closest_genre(genre: str, known: set[str]) -> tuple[str, str]:
    try:
        from .text import closest_known_genre

        return closest_known_genre(genre, known)
    except ImportError:  # pragma: no cover - the text package ships with the core
        fallback = "pop" if "pop" in known else sorted(known)[0]
        return fallback, f"the music model has not learned {genre}; using {fallback} instead"


def _clip_to(piece: Piece, end: int) -> Piece:
    tracks = [
        Track(t.program, t.is_drum, t.name,
              tuple(Note(n.pitch, n.velocity, n.start, max(1, min(n.duration, end - n.start)))
                    for n in t.notes if n.start < end), t.controls, t.pitch_bends)
        for t in piece.tracks
    ]
    return piece.replace(tracks=tuple(tracks), length=end)


def _name_tracks(piece: Piece) -> Piece:
    tracks = []
    for t in piece.tracks:
        tracks.append(Track(t.program, t.is_drum, t.name or family_of_program(t.program, t.is_drum).capitalize(),
                            t.notes, t.controls, t.pitch_bends))
    return piece.replace(tracks=tuple(tracks))


def compose(
    prompt: str | None = None,
    *,
    bars: int = 4,
    genre: str | None = None,
    emotion: str | None = None,
    tempo: float | str | None = None,
    instruments: Sequence[str | int] | str | None = None,
    key: str | None = None,
    time_signature: str | tuple[int, int] | None = None,
    seed: int | None = None,
    temperature: float = 1.0,
    top_p: float | None = None,
    model: MusicModel | str | None = None,
    on_token: Callable[[int], None] | None = None,
    classify_fn: Callable[[str], Attributes] | None = None,
    chords: str | Sequence[str] | None = None,
    density: str | None = None,
    rests: bool = False,
) -> Song:
    """Compose ``bars`` bars from a prompt and/or attributes with the music model (default: shipped weights).

    ``instruments``: families, GM names or numbers, one track each (one named twice is two tracks);
    ``chords``: one chord per bar ("Am F C G", repeated to fill the bars; "N" for no chord, "?" to leave a
    bar to the model); ``density``: auto / low / medium / high notes per bar for every track; ``rests``:
    allow tracks to rest for whole bars (by default every requested track plays in every bar).
    The same prompt, settings and seed give the same MIDI. Pieces longer than the first window are
    continued 4 bars at a time with the previous bars as context.
    """
    if not isinstance(bars, int) or not 1 <= bars <= MAX_BARS:
        raise CodeplayError(f"bars must be a whole number from 1 to {MAX_BARS}")
    if prompt is None and all(v is None for v in (genre, emotion, tempo, instruments, key)):
        log.info("no prompt and no attributes: composing with model defaults")
    mm = model if isinstance(model, MusicModel) else load_model(model)
    attrs, bpm, ts, specs = resolve_request(
        prompt, genre=genre, emotion=emotion, tempo=tempo, instruments=instruments, key=key,
        time_signature=time_signature, known_genres=mm.known_genres or None, classify_fn=classify_fn)
    seed = new_seed(seed)
    density_bin_for(density, False)  # a bad level fails before any work
    sampling = SamplingConfig(temperature=temperature, **({} if top_p is None else {"top_p": top_p}))
    top_p = sampling.top_p
    genre_chosen = _choose_genre(attrs, specs, mm, sampling, seed)
    if genre_chosen:
        attrs = replace(attrs, genre=genre_chosen)
    key_chosen = attrs.key is None and bool(sampling.auto_key)
    if key_chosen:
        attrs = replace(attrs, key=choose_key(attrs, seed))
    attrs, auto_chords = _resolve_chords(attrs, chords, bars, mm, sampling, seed)
    with decoding_overrides(**plan_strengths(sampling, chords_chosen=auto_chords, key_chosen=key_chosen,
                                             genre_chosen=bool(genre_chosen))):
        piece = _compose_bars(mm, bars, specs, attrs, bpm, ts, seed, temperature, top_p, on_token, density, rests)
    piece = _name_tracks(piece)
    if attrs.key:
        from .music import KeySignature

        piece = piece.replace(key_signatures=(KeySignature(0, attrs.key),))
    params = {"prompt": prompt, "bars": bars, "temperature": temperature, "top_p": top_p,
              "chords": list(attrs.chords) if attrs.chords else None, "density": density, "rests": rests}
    if auto_chords:
        params["chords_chosen"] = True  # learned progression, not asked for
    if key_chosen:
        params["key_chosen"] = True  # from the emotion, not asked for
    if genre_chosen:
        params["genre_chosen"] = genre_chosen  # drawn from the data given what was asked
    return Song.new(piece, attrs, operation="compose", params=params, seed=seed)
