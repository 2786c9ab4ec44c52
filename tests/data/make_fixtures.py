"""Regenerate the MIDI fixtures in tests/data/ (deterministic: same bytes every run).

    python tests/data/make_fixtures.py            # synthetic edge cases + real excerpts (if corpora exist)
    python tests/data/make_fixtures.py --synthetic-only

Synthetic files are written with codeplay_nb.io (symusic) or, where the MIDI layout itself is the point
(type 0, controllers, 10080 ticks per quarter, truncation), with mido. Real excerpts are the first 8 bars of
files in ../shared/data and Debian's openttd-openmsx (see README.md for provenance and licences).
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import mido

from codeplay_nb.io import read_midi, write_midi
from codeplay_nb.music import Note, Piece, Tempo, TimeSignature, Track, slice_bars

HERE = Path(__file__).resolve().parent
TPQ = 480
Q = TPQ  # one quarter note in ticks
REAL_SOURCES = {
    "real_pop909_001_8bars.mid": Path("/work/shared/data/pop909/001/001.mid"),
    "real_pop909_003_8bars.mid": Path("/work/shared/data/pop909/003/003.mid"),
    "real_nottingham_ashover1_8bars.mid": Path("/work/shared/data/nottingham/ashover1.mid"),
    "real_openmsx_tttheme2_8bars.mid": Path("/usr/share/games/openttd/baseset/openmsx/tttheme2.mid"),
}


def piece(tracks, *, tempos=((0, 120.0),), sigs=((0, 4, 4),), tpq=TPQ, length=0) -> Piece:
    """``tracks``: [(program, is_drum, name, [(pitch, velocity, start, duration), ...])]."""
    built = tuple(
        Track(p, d, name, tuple(sorted((Note(*n) for n in notes), key=lambda n: (n.start, n.pitch))))
        for p, d, name, notes in tracks
    )
    return Piece(built, tpq, tuple(Tempo(t, q) for t, q in tempos),
                 tuple(TimeSignature(t, n, d) for t, n, d in sigs), (), length=length)


def melody(bars: int, bar_ticks: int, step: int, seed: int, base: int = 60) -> list[tuple[int, int, int, int]]:
    rng = random.Random(seed)
    out = []
    for t in range(0, bars * bar_ticks, step):
        out.append((base + rng.choice([0, 2, 4, 5, 7, 9, 11, 12]), rng.randrange(40, 120), t, step))
    return out


def synthetic() -> dict[str, Piece]:
    bar = 4 * Q
    drums = [(36, 100, t, Q // 4) for t in range(0, 4 * bar, Q)] + [(42, 70, t, Q // 8) for t in range(0, 4 * bar, Q // 2)]
    return {
        "empty.mid": piece([(0, False, "empty", [])]),
        "drums_only.mid": piece([(0, True, "drums", drums)]),
        # 125 BPM must come back at 125 (not a coarse bin); a second change falls mid-bar
        "tempo_change.mid": piece([(0, False, "piano", melody(6, bar, Q, 1))],
                                  tempos=((0, 125.0), (2 * bar, 90.0), (4 * bar + Q, 142.5))),
        "ts_3_4.mid": piece([(0, False, "piano", melody(6, 3 * Q, Q, 2))], sigs=((0, 3, 4),)),
        "ts_6_8.mid": piece([(24, False, "guitar", melody(6, 3 * Q, Q // 2, 3))], sigs=((0, 6, 8),)),
        "ts_7_8.mid": piece([(0, False, "piano", melody(6, 7 * Q // 2, Q // 2, 4))], sigs=((0, 7, 8),)),
        # 2 bars 4/4, 2 bars 3/4, 2 bars 5/4, back to 4/4
        "ts_change.mid": piece(
            [(0, False, "piano", melody(2, bar, Q, 5) + [(n[0], n[1], n[2] + 2 * bar, n[3]) for n in melody(2, 3 * Q, Q, 6)]
              + [(n[0], n[1], n[2] + 2 * bar + 6 * Q, n[3]) for n in melody(2, 5 * Q, Q, 7)]
              + [(60, 80, 2 * bar + 16 * Q, bar)])],
            sigs=((0, 4, 4), (2 * bar, 3, 4), (2 * bar + 6 * Q, 5, 4), (2 * bar + 16 * Q, 4, 4))),
        # a 3/4 change 3 quarters into a 4/4 bar (Nottingham's reelsr-t67.mid does this): the cut bar is short
        "ts_change_mid_bar.mid": piece(
            [(0, False, "piano", melody(2, bar, Q, 8) + [(n[0], n[1], n[2] + 2 * bar, n[3]) for n in melody(4, Q, Q, 9)]
              + [(n[0], n[1], n[2] + 2 * bar + 3 * Q, n[3]) for n in melody(3, 3 * Q, Q, 10)])],
            sigs=((0, 4, 4), (2 * bar + 3 * Q, 3, 4))),
        # same pitch overlapping (MIDI's ambiguous case), plus a repeated note with no gap
        "overlap_same_pitch.mid": piece([(0, False, "piano", [
            (60, 90, 0, 2 * Q), (60, 70, Q, 2 * Q), (64, 80, 4 * Q, Q), (64, 80, 5 * Q, Q), (67, 80, 6 * Q, 4 * Q),
            (67, 60, 7 * Q, Q)])]),
        "cross_bar.mid": piece([(0, False, "piano", [
            (60, 80, 3 * Q, 2 * Q), (64, 80, 3 * Q + Q // 2, 3 * Q), (67, 80, bar + 3 * Q, 6 * Q), (72, 80, 3 * bar, Q)])]),
        "triplets.mid": piece([(73, False, "flute", [(60 + i % 5, 80, i * Q // 3, Q // 3) for i in range(24)]
                                + [(48, 70, i * 2 * Q // 3, 2 * Q // 3) for i in range(12)])]),
        "long_note.mid": piece([(48, False, "strings", [(48, 80, 0, 20 * Q), (55, 80, Q, 7 * Q), (60, 90, 2 * Q, Q)])]),
        "sixteen_tracks.mid": piece(
            [(0, True, "drums", drums)]
            + [(p, False, f"track {i}", melody(2, bar, Q, 10 + i, base=40 + 3 * i))
               for i, p in enumerate([0, 4, 24, 25, 32, 33, 40, 41, 42, 48, 56, 61, 65, 73, 80])]),
    }


def write_mido(path: Path, mid: mido.MidiFile) -> None:
    mid.save(str(path))


def type0_and_type1() -> tuple[mido.MidiFile, mido.MidiFile]:
    """The same two-channel music as a type-0 file (one track) and a type-1 file (conductor + 2 tracks)."""
    events = [(0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(100)))]
    events.append((0, mido.MetaMessage("time_signature", numerator=4, denominator=4)))
    events += [(0, mido.Message("program_change", channel=0, program=0)),
               (0, mido.Message("program_change", channel=1, program=33))]
    notes = []
    for i in range(8):
        notes.append((0, 60 + i, i * Q, Q))
        if i % 2 == 0:
            notes.append((1, 36 + i, i * Q, 2 * Q))
    for ch, p, s, d in notes:
        events.append((s, mido.Message("note_on", channel=ch, note=p, velocity=90)))
        events.append((s + d, mido.Message("note_off", channel=ch, note=p, velocity=0)))

    def track(evs) -> mido.MidiTrack:
        tr = mido.MidiTrack()
        now = 0
        for t, msg in sorted(evs, key=lambda e: (e[0], e[1].type != "note_off")):
            tr.append(msg.copy(time=t - now))
            now = t
        tr.append(mido.MetaMessage("end_of_track", time=0))
        return tr

    t0 = mido.MidiFile(type=0, ticks_per_beat=TPQ)
    t0.tracks.append(track(events))
    t1 = mido.MidiFile(type=1, ticks_per_beat=TPQ)
    t1.tracks.append(track([e for e in events if e[1].is_meta]))
    for ch in (0, 1):
        t1.tracks.append(track([e for e in events if not e[1].is_meta and e[1].channel == ch]))
    return t0, t1


def controllers() -> mido.MidiFile:
    """Notes with sustain pedal, modulation and pitch bends."""
    mid = mido.MidiFile(type=1, ticks_per_beat=TPQ)
    tr = mido.MidiTrack()
    tr.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(96), time=0))
    tr.append(mido.Message("program_change", program=0, time=0))
    tr.append(mido.Message("control_change", control=64, value=127, time=0))
    for i in range(4):
        tr.append(mido.Message("note_on", note=60 + 2 * i, velocity=80, time=0 if i == 0 else Q // 2))
        tr.append(mido.Message("control_change", control=1, value=10 * i, time=Q // 4))
        tr.append(mido.Message("pitchwheel", pitch=1000 * i - 2000, time=Q // 4))
        tr.append(mido.Message("note_off", note=60 + 2 * i, velocity=0, time=0))
    tr.append(mido.Message("control_change", control=64, value=0, time=Q))
    tr.append(mido.MetaMessage("end_of_track", time=0))
    mid.tracks.append(tr)
    return mid


def high_tpq() -> mido.MidiFile:
    """music21 writes 10080 ticks per quarter; notes on eighths, a sixteenth triplet and a dotted quarter."""
    tpq = 10080
    mid = mido.MidiFile(type=1, ticks_per_beat=tpq)
    tr = mido.MidiTrack()
    tr.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(72), time=0))
    tr.append(mido.MetaMessage("time_signature", numerator=3, denominator=4, time=0))
    durs = [tpq // 2, tpq // 2, tpq // 6, tpq // 6, tpq // 6, tpq * 3 // 2, tpq // 2] * 3
    for i, d in enumerate(durs):
        tr.append(mido.Message("note_on", note=62 + i % 7, velocity=64 + i, time=0))
        tr.append(mido.Message("note_off", note=62 + i % 7, velocity=0, time=d))
    tr.append(mido.MetaMessage("end_of_track", time=0))
    mid.tracks.append(tr)
    return mid


def real_excerpts(out: Path) -> None:
    for name, src in REAL_SOURCES.items():
        if not src.exists():
            print(f"skip {name}: {src} not found")
            continue
        p = read_midi(src)
        write_midi(slice_bars(p, 0, min(8, p.n_bars) - 1), out / name)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--synthetic-only", action="store_true")
    ap.add_argument("--out", type=Path, default=HERE)
    args = ap.parse_args(argv)
    out = args.out
    for name, p in synthetic().items():
        write_midi(p, out / name)
    t0, t1 = type0_and_type1()
    write_mido(out / "type0.mid", t0)
    write_mido(out / "type1.mid", t1)
    write_mido(out / "controllers.mid", controllers())
    write_mido(out / "high_tpq_10080.mid", high_tpq())
    good = (out / "ts_3_4.mid").read_bytes()
    (out / "broken_truncated.mid").write_bytes(good[: len(good) // 2])  # header promises more than is there
    if not args.synthetic_only:
        real_excerpts(out)
    for f in sorted(out.glob("*.mid")):
        print(f"{f.name:40s} {f.stat().st_size:6d} bytes")


if __name__ == "__main__":
    main()
