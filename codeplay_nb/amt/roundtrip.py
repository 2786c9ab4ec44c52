"""What a piece looks like after a trip through the arrival-time encoding: the reference way (events to a
MIDI file at 120 BPM, 50 ticks per quarter, velocity 72, no time signature) versus ours (the original
tempo map, tpq, time signatures, tracks and context velocities), with a small loss report."""

from __future__ import annotations

import bisect
import statistics

from ..music import Note, Piece, Tempo, TimeSignature
from . import config as C
from .events import events_to_piece, piece_events


def amt_roundtrip(piece: Piece) -> Piece:
    """Encode then decode as the reference does (``midi_to_events`` / ``events_to_midi``): times kept only
    in seconds, written at 120 BPM with 50 ticks per quarter, every velocity 72, one track per instrument
    (tracks sharing a program merge), no tempo, time signature, key, controls or names."""
    base = Piece(tpq=C.REFERENCE_TICKS_PER_QUARTER, tempos=(Tempo(0, C.REFERENCE_QPM),),
                 time_signatures=(TimeSignature(0, 4, 4),))
    return events_to_piece([s.event for s in piece_events(piece)], base, velocity=C.REFERENCE_VELOCITY)


def our_roundtrip(piece: Piece) -> Piece:
    """Encode then decode our way: each event goes back to the track it came from, through the original
    tempo map and tpq (so only the 10 ms rounding remains; ends are kept inside the piece), with the velocity of the nearest original
    note of its track (the encoding itself has no velocity)."""
    by_track: dict[int, list[Note]] = {}
    for s in piece_events(piece):
        ev = s.event
        start = piece.tick_at_seconds(ev.time / C.STEPS_PER_SECOND)
        end = min(piece.tick_at_seconds((ev.time + ev.duration) / C.STEPS_PER_SECOND), max(piece.length, start + 1))
        notes = piece.tracks[s.track].notes
        starts = [n.start for n in notes]
        k = min(bisect.bisect_left(starts, start), len(notes) - 1)
        near = min((notes[j] for j in (k - 1, k) if 0 <= j < len(notes)), key=lambda n: abs(n.start - start))
        by_track.setdefault(s.track, []).append(Note(ev.pitch, near.velocity, start, max(end - start, 1)))
    tracks = tuple(t.with_notes(by_track.get(i, [])) for i, t in enumerate(piece.tracks))
    return piece.replace(tracks=tracks)


def roundtrip_loss(original: Piece, result: Piece) -> dict:
    """Onset error (seconds, and quarter notes as each piece counts them), velocity error, tempo, bars and
    tracks kept; notes are paired pitch by pitch in time order."""

    def rows(p: Piece):
        out = [(n.pitch, p.seconds(n.start), n.velocity, n.start / p.tpq) for t in p.tracks for n in t.notes]
        return [(s, pitch, v, q) for pitch, s, v, q in sorted(out)]

    a, b = rows(original), rows(result)
    pairs = list(zip(a, b, strict=False))
    on_err = [abs(x[0] - y[0]) for x, y in pairs]
    beat_err = [abs(x[3] - y[3]) for x, y in pairs]
    return {
        "notes": (len(a), len(b)),
        "pitches_equal": [x[1] for x in a] == [y[1] for y in b],
        "max_onset_error_s": round(max(on_err, default=0.0), 4),
        "mean_onset_error_quarters": round(statistics.fmean(beat_err) if beat_err else 0.0, 4),
        "mean_velocity_error": round(statistics.fmean(abs(x[2] - y[2]) for x, y in pairs) if pairs else 0.0, 3),
        "tempo_kept": [t.qpm for t in original.tempos] == [t.qpm for t in result.tempos],
        "bars": (original.n_bars, result.n_bars),
        "tracks": (len(original.tracks), len(result.tracks)),
    }
