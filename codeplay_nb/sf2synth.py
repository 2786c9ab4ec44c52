"""A small SoundFont 2 renderer in numpy: no C build, no system library, nothing beyond the core install.

It reads the sample-based part of a ``.sf2`` (presets -> instruments -> zones -> 16-bit samples with loop
points) and renders each note by resampling its sample (linear interpolation) under a volume envelope
(delay, attack, hold, decay to sustain, release), with the zone's root key, tuning, attenuation and
velocity. Modulators, filters, LFOs, chorus and reverb are not modelled: the sound is that of the
SoundFont's raw samples, which for the General MIDI TimGM6mb.sf2 that pretty_midi ships is close to what
a full synthesizer plays.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

# generator operators used (SoundFont 2.04, section 8.1.2)
START, END, START_LOOP, END_LOOP, START_COARSE = 0, 1, 2, 3, 4
END_COARSE, START_LOOP_COARSE, END_LOOP_COARSE = 12, 45, 50
DELAY, ATTACK, HOLD, DECAY, SUSTAIN, RELEASE = 33, 34, 35, 36, 37, 38
INSTRUMENT, KEY_RANGE, VEL_RANGE, ATTENUATION = 41, 43, 44, 48
COARSE_TUNE, FINE_TUNE, SAMPLE_ID, SAMPLE_MODES, SCALE_TUNING, ROOT_KEY = 51, 52, 53, 54, 56, 58
_ADDITIVE = (DELAY, ATTACK, HOLD, DECAY, SUSTAIN, RELEASE, ATTENUATION, COARSE_TUNE, FINE_TUNE)
_DEFAULTS = {DELAY: -12000, ATTACK: -12000, HOLD: -12000, DECAY: -12000, SUSTAIN: 0, RELEASE: -12000,
             SCALE_TUNING: 100, ROOT_KEY: -1}
MAX_NOTE_SECONDS = 30.0  # a held note longer than this is cut (bounded work per note)
DRUM_SECONDS = 2.0


class SoundFontError(ValueError):
    """The file is not a SoundFont 2 this renderer can read."""


@dataclass(frozen=True)
class Sample:
    start: int
    end: int
    loop_start: int
    loop_end: int
    rate: int
    root: int
    correction: int
    kind: int


@dataclass
class Zone:
    gens: dict[int, int] = field(default_factory=dict)

    def range(self, op: int) -> tuple[int, int]:
        v = self.gens.get(op)
        return (0, 127) if v is None else (v & 0xFF, (v >> 8) & 0xFF)

    def covers(self, key: int, vel: int) -> bool:
        k, v = self.range(KEY_RANGE), self.range(VEL_RANGE)
        return k[0] <= key <= k[1] and v[0] <= vel <= v[1]


@dataclass
class SoundFont:
    data: np.ndarray  # all samples, float32 in [-1, 1]
    samples: list[Sample]
    instruments: list[list[Zone]]  # local zones with the global zone merged in
    presets: dict[tuple[int, int], list[Zone]]  # (bank, program) -> zones (global merged)

    def zones(self, bank: int, program: int, key: int, vel: int) -> list[tuple[dict[int, int], Sample]]:
        """(generators, sample) of every instrument zone sounding for this key and velocity."""
        pz = self.presets.get((bank, program)) or self.presets.get((bank, 0)) or self.presets.get((0, program))
        if pz is None:
            pz = next(iter(self.presets.values()), [])
        out = []
        for p in pz:
            inst = p.gens.get(INSTRUMENT)
            if inst is None or inst >= len(self.instruments) or not p.covers(key, vel):
                continue
            for z in self.instruments[inst]:
                sid = z.gens.get(SAMPLE_ID)
                if sid is None or sid >= len(self.samples) or not z.covers(key, vel):
                    continue
                gens = {**_DEFAULTS, **z.gens}
                for op in _ADDITIVE:
                    if op in p.gens:
                        gens[op] = gens.get(op, 0) + _signed(p.gens[op])
                out.append((gens, self.samples[sid]))
        return out


def _signed(v: int) -> int:
    return v - 0x10000 if v >= 0x8000 else v


def _chunks(buf: bytes, start: int, end: int):
    pos = start
    while pos + 8 <= end:
        cid, size = buf[pos:pos + 4], struct.unpack_from("<I", buf, pos + 4)[0]
        yield cid, pos + 8, min(pos + 8 + size, end)
        pos += 8 + size + (size & 1)


def _zones(bags: list[tuple[int, int]], gens: list[tuple[int, int]], first: int, last: int,
           terminal: int) -> list[Zone]:
    """Zones ``first..last-1`` (bag indices); a first zone without the terminal generator is global."""
    zones = []
    for b in range(first, min(last, len(bags) - 1)):
        z = Zone({op: amt for op, amt in gens[bags[b][0]:bags[b + 1][0]]})
        zones.append(z)
    if zones and terminal not in zones[0].gens:
        glob = zones.pop(0).gens
        zones = [Zone({**glob, **z.gens}) for z in zones]
    return [z for z in zones if terminal in z.gens]


@lru_cache(maxsize=2)
def load_soundfont(path: str) -> SoundFont:
    """Parse a ``.sf2`` file (cached per path)."""
    buf = Path(path).read_bytes()
    if buf[:4] != b"RIFF" or buf[8:12] != b"sfbk":
        raise SoundFontError(f"{path} is not a SoundFont 2 file")
    parts: dict[bytes, tuple[int, int]] = {}
    for cid, s, e in _chunks(buf, 12, len(buf)):
        if cid == b"LIST":
            for sub, ss, se in _chunks(buf, s + 4, e):
                parts[sub] = (ss, se)
    need = (b"smpl", b"phdr", b"pbag", b"pgen", b"inst", b"ibag", b"igen", b"shdr")
    if any(n not in parts for n in need):
        raise SoundFontError(f"{path} lacks SoundFont chunks: {[n.decode() for n in need if n not in parts]}")

    def records(name: bytes, fmt: str) -> list[tuple]:
        s, e = parts[name]
        return list(struct.iter_unpack(fmt, buf[s:s + (e - s) // struct.calcsize(fmt) * struct.calcsize(fmt)]))

    s, e = parts[b"smpl"]
    data = np.frombuffer(buf[s:s + (e - s) // 2 * 2], dtype="<i2").astype(np.float32) / 32768.0
    shdr = records(b"shdr", "<20sIIIIIBbHH")[:-1]
    samples = [Sample(r[1], r[2], r[3], r[4], max(r[5], 1), r[6], r[7], r[9]) for r in shdr]
    ibag = [(r[0], r[1]) for r in records(b"ibag", "<HH")]
    igen = [(r[0], r[1]) for r in records(b"igen", "<HH")]
    inst = records(b"inst", "<20sH")
    instruments = [_zones(ibag, igen, inst[i][1], inst[i + 1][1], SAMPLE_ID) for i in range(len(inst) - 1)]
    pbag = [(r[0], r[1]) for r in records(b"pbag", "<HH")]
    pgen = [(r[0], r[1]) for r in records(b"pgen", "<HH")]
    phdr = records(b"phdr", "<20sHHHIII")
    presets = {}
    for i in range(len(phdr) - 1):
        presets.setdefault((phdr[i][2], phdr[i][1]), _zones(pbag, pgen, phdr[i][3], phdr[i + 1][3], INSTRUMENT))
    return SoundFont(data, samples, instruments, presets)


def _seconds(timecents: int) -> float:
    return float(2.0 ** (_signed(timecents) / 1200.0)) if _signed(timecents) > -12000 else 0.0


def render_note(sf: SoundFont, gens: dict[int, int], smp: Sample, key: int, vel: int, duration: float,
                sample_rate: int, is_drum: bool) -> np.ndarray:
    """One zone of one note: ``duration`` seconds held, then the release."""
    g = {k: _signed(v) if k not in (KEY_RANGE, VEL_RANGE) else v for k, v in gens.items()}
    start = smp.start + g.get(START, 0) + 32768 * g.get(START_COARSE, 0)
    end = smp.end + g.get(END, 0) + 32768 * g.get(END_COARSE, 0)
    loop_s = smp.loop_start + g.get(START_LOOP, 0) + 32768 * g.get(START_LOOP_COARSE, 0) - start
    loop_e = smp.loop_end + g.get(END_LOOP, 0) + 32768 * g.get(END_LOOP_COARSE, 0) - start
    start, end = max(0, start), min(len(sf.data), end)
    if end - start < 2:
        return np.zeros(0, dtype=np.float32)
    wave = sf.data[start:end]
    looping = g.get(SAMPLE_MODES, 0) & 1 and 0 <= loop_s < loop_e <= len(wave) and loop_e - loop_s > 1
    root = g[ROOT_KEY] if 0 <= g.get(ROOT_KEY, -1) <= 127 else smp.root
    cents = (key - root) * g.get(SCALE_TUNING, 100) + 100 * g.get(COARSE_TUNE, 0) + g.get(FINE_TUNE, 0) + smp.correction
    step = 2.0 ** (cents / 1200.0) * smp.rate / sample_rate
    release = min(_seconds(g.get(RELEASE, -12000)), 3.0)
    held = DRUM_SECONDS if is_drum else min(duration, MAX_NOTE_SECONDS)
    n = int((held + release) * sample_rate)
    if not looping:
        n = min(n, int((len(wave) - 1) / step))
    if n <= 0:
        return np.zeros(0, dtype=np.float32)
    pos = np.arange(n, dtype=np.float64) * step
    if looping:
        over = pos >= loop_e
        pos[over] = loop_s + np.mod(pos[over] - loop_s, loop_e - loop_s)
    i = np.minimum(pos.astype(np.int64), len(wave) - 2)
    frac = (pos - i).astype(np.float32)
    out = wave[i] * (1 - frac) + wave[i + 1] * frac
    # volume envelope in dB: delay, linear attack, hold, decay to the sustain level, release after note-off
    t = np.arange(n, dtype=np.float32) / sample_rate
    delay, attack, hold = _seconds(g[DELAY]), _seconds(g[ATTACK]), _seconds(g[HOLD])
    decay, sustain_db = max(_seconds(g[DECAY]), 1e-3), min(max(g.get(SUSTAIN, 0), 0), 1440) / 10.0
    td = t - delay - attack - hold
    db = np.where(td > 0, -np.minimum(td / decay * 100.0, sustain_db), 0.0)
    if not is_drum:
        rel = t - held
        db = np.where(rel > 0, db - rel / max(release, 1e-3) * 100.0, db)
    env = np.power(10.0, db / 20.0, dtype=np.float32)
    env *= np.clip((t - delay) / max(attack, 1e-3), 0, 1)
    gain = 10.0 ** (-0.4 * max(g.get(ATTENUATION, 0), 0) / 200.0) * (vel / 127.0) ** 2
    if smp.kind & 6:  # one side of a stereo pair: both sides sound, so each is half
        gain *= 0.5
    return (out * env * gain).astype(np.float32)


def render(notes, length: int, sf_path: str, sample_rate: int) -> np.ndarray:
    """Mono audio of ``length`` samples for ``notes``: (start s, duration s, pitch, velocity, program,
    is_drum) tuples."""
    sf = load_soundfont(sf_path)
    out = np.zeros(length, dtype=np.float32)
    for start, duration, pitch, vel, program, is_drum in notes:
        s = int(start * sample_rate)
        if s >= length:
            continue
        bank, prog = (128, program) if is_drum else (0, program)
        for gens, smp in sf.zones(bank, prog, pitch, vel):
            seg = render_note(sf, gens, smp, pitch, vel, duration, sample_rate, is_drum)[:length - s]
            out[s:s + len(seg)] += seg
    return out
