"""Instrument families users can type, mapped to General MIDI programs, plus exact GM names and numbers."""

from __future__ import annotations

import re

from .errors import UnknownInstrumentError

# family -> (default program, programs that belong to it); "drums" is the drum channel.
FAMILIES: dict[str, tuple[int, range | tuple[int, ...]]] = {
    "piano": (0, (*tuple(range(0, 16)), 108)),
    "organ": (19, tuple(range(16, 24))),
    "guitar": (25, (*tuple(range(24, 32)), 104, 105, 106, 107)),
    "bass": (33, tuple(range(32, 40))),
    "strings": (48, (*tuple(range(40, 52)), 110)),
    "choir": (52, tuple(range(52, 56))),
    "brass": (61, tuple(range(56, 64))),
    "woodwinds": (73, (*tuple(range(64, 80)), 109, 111)),
    "synth": (81, tuple(range(80, 104)) + tuple(range(112, 128))),
    "drums": (0, ()),
}
FAMILY_NAMES: tuple[str, ...] = tuple(FAMILIES)
DRUMS = "drums"

GM_PROGRAM_NAMES: tuple[str, ...] = (
    "Acoustic Grand Piano", "Bright Acoustic Piano", "Electric Grand Piano", "Honky-tonk Piano",
    "Electric Piano 1", "Electric Piano 2", "Harpsichord", "Clavinet", "Celesta", "Glockenspiel",
    "Music Box", "Vibraphone", "Marimba", "Xylophone", "Tubular Bells", "Dulcimer", "Drawbar Organ",
    "Percussive Organ", "Rock Organ", "Church Organ", "Reed Organ", "Accordion", "Harmonica",
    "Tango Accordion", "Acoustic Guitar (nylon)", "Acoustic Guitar (steel)", "Electric Guitar (jazz)",
    "Electric Guitar (clean)", "Electric Guitar (muted)", "Overdriven Guitar", "Distortion Guitar",
    "Guitar Harmonics", "Acoustic Bass", "Electric Bass (finger)", "Electric Bass (pick)",
    "Fretless Bass", "Slap Bass 1", "Slap Bass 2", "Synth Bass 1", "Synth Bass 2", "Violin", "Viola",
    "Cello", "Contrabass", "Tremolo Strings", "Pizzicato Strings", "Orchestral Harp", "Timpani",
    "String Ensemble 1", "String Ensemble 2", "Synth Strings 1", "Synth Strings 2", "Choir Aahs",
    "Voice Oohs", "Synth Choir", "Orchestra Hit", "Trumpet", "Trombone", "Tuba", "Muted Trumpet",
    "French Horn", "Brass Section", "Synth Brass 1", "Synth Brass 2", "Soprano Sax", "Alto Sax",
    "Tenor Sax", "Baritone Sax", "Oboe", "English Horn", "Bassoon", "Clarinet", "Piccolo", "Flute",
    "Recorder", "Pan Flute", "Blown Bottle", "Shakuhachi", "Whistle", "Ocarina", "Lead 1 (square)",
    "Lead 2 (sawtooth)", "Lead 3 (calliope)", "Lead 4 (chiff)", "Lead 5 (charang)", "Lead 6 (voice)",
    "Lead 7 (fifths)", "Lead 8 (bass + lead)", "Pad 1 (new age)", "Pad 2 (warm)", "Pad 3 (polysynth)",
    "Pad 4 (choir)", "Pad 5 (bowed)", "Pad 6 (metallic)", "Pad 7 (halo)", "Pad 8 (sweep)",
    "FX 1 (rain)", "FX 2 (soundtrack)", "FX 3 (crystal)", "FX 4 (atmosphere)", "FX 5 (brightness)",
    "FX 6 (goblin)", "FX 7 (echoes)", "FX 8 (sci-fi)", "Sitar", "Banjo", "Shamisen", "Koto", "Kalimba",
    "Bagpipe", "Fiddle", "Shanai", "Tinkle Bell", "Agogo", "Steel Drums", "Woodblock", "Taiko Drum",
    "Melodic Tom", "Synth Drum", "Reverse Cymbal", "Guitar Fret Noise", "Breath Noise", "Seashore",
    "Bird Tweet", "Telephone Ring", "Helicopter", "Applause", "Gunshot",
)

# words people type for a family (nicknames); the text classifier has its own, larger lexicon
ALIASES: dict[str, str] = {
    "keys": "piano", "keyboard": "piano", "rhodes": "piano", "epiano": "piano", "grand": "piano",
    "harpsichord": "piano", "vibes": "piano", "marimba": "piano", "bells": "piano", "celesta": "piano",
    "hammond": "organ", "accordion": "organ", "harmonica": "organ",
    "guitars": "guitar", "acoustic guitar": "guitar", "electric guitar": "guitar", "banjo": "guitar",
    "ukulele": "guitar", "sitar": "guitar", "mandolin": "guitar", "harp": "strings",
    "bassline": "bass", "double bass": "bass", "upright bass": "bass", "808": "bass",
    "violin": "strings", "violins": "strings", "viola": "strings", "cello": "strings", "fiddle": "strings",
    "orchestra": "strings", "string": "strings", "voice": "choir", "voices": "choir", "vocals": "choir",
    "trumpet": "brass", "trombone": "brass", "horn": "brass", "horns": "brass", "tuba": "brass",
    "sax": "woodwinds", "saxophone": "woodwinds", "flute": "woodwinds", "clarinet": "woodwinds",
    "oboe": "woodwinds", "bassoon": "woodwinds", "woodwind": "woodwinds", "recorder": "woodwinds",
    "synthesizer": "synth", "synths": "synth", "pad": "synth", "pads": "synth", "lead": "synth",
    "drum": "drums", "percussion": "drums", "beat": "drums", "beats": "drums", "kit": "drums",
}

_SPECIFIC: dict[str, int] = {
    "violin": 40, "viola": 41, "cello": 42, "contrabass": 43, "double bass": 32, "upright bass": 32,
    "harp": 46, "trumpet": 56, "trombone": 57, "tuba": 58, "horn": 60, "french horn": 60, "sax": 65,
    "saxophone": 65, "flute": 73, "clarinet": 71, "oboe": 68, "bassoon": 70, "recorder": 74,
    "electric guitar": 27, "acoustic guitar": 25, "banjo": 105, "sitar": 104, "rhodes": 4,
    "epiano": 4, "harpsichord": 6, "accordion": 21, "harmonica": 22, "marimba": 12, "vibes": 11,
    "fiddle": 110, "voice": 53, "vocals": 52, "pad": 89, "lead": 81, "synth bass": 38,
}


def _norm(s: str) -> str:
    return re.sub(r"[^a-z0-9+# ]", "", s.lower().replace("_", " ").replace("-", " ")).strip()


def family_of_program(program: int, is_drum: bool = False) -> str:
    """The family of a GM program (0-127) or ``"drums"``."""
    if is_drum:
        return DRUMS
    for fam, (_, progs) in FAMILIES.items():
        if program in progs:
            return fam
    return "synth"


def program_name(program: int) -> str:
    return GM_PROGRAM_NAMES[program] if 0 <= program < 128 else f"Program {program}"


def parse_instrument(text: str | int) -> tuple[int, bool]:
    """Resolve what a user typed to ``(program, is_drum)``.

    Accepts a family (``bass``), a nickname (``rhodes``), a GM program number (``0``-``127``) or a GM
    program name (``"Electric Bass (finger)"``, case-insensitive, prefix allowed).
    """
    if isinstance(text, int):
        if not 0 <= text <= 127:
            raise UnknownInstrumentError(f"GM program numbers go from 0 to 127, not {text}")
        return text, False
    s = _norm(str(text))
    if not s:
        raise UnknownInstrumentError("empty instrument name")
    if s.isdigit():
        return parse_instrument(int(s))
    if s in _SPECIFIC:
        return _SPECIFIC[s], False
    fam = s if s in FAMILIES else ALIASES.get(s) or ALIASES.get(s.rstrip("s"))
    if fam is None and s.rstrip("s") in FAMILIES:
        fam = s.rstrip("s")
    if fam is not None:
        return (0, True) if fam == DRUMS else (FAMILIES[fam][0], False)
    for i, name in enumerate(GM_PROGRAM_NAMES):
        if _norm(name) == s:
            return i, False
    matches = [i for i, name in enumerate(GM_PROGRAM_NAMES) if _norm(name).startswith(s)]
    if len(matches) >= 1:
        return matches[0], False
    raise UnknownInstrumentError(
        f"unknown instrument {text!r}: use a family ({', '.join(FAMILY_NAMES)}), "
        "a GM program number 0-127 or a GM program name such as 'Violin'"
    )


def parse_instrument_list(items, *, repeats: bool = False) -> list[tuple[int, bool]]:
    """``(program, is_drum)`` for each instrument of a list (or comma-separated string), order kept;
    duplicates dropped unless ``repeats`` and the same word is written twice (``"piano, piano"`` then asks
    for two piano tracks; ``"flute, woodwinds"`` is one flute either way)."""
    if isinstance(items, str):
        items = [x for x in items.split(",") if x.strip()]
    out: list[tuple[int, bool]] = []
    named: dict[tuple[int, bool], set[str]] = {}
    for it in items:
        spec, text = parse_instrument(it), str(it).strip().lower()
        # a repeat counts only when the same word is written again ("flute, woodwinds" is one flute)
        if spec in named and not (repeats and text in named[spec]):
            continue
        named.setdefault(spec, set()).add(text)
        out.append(spec)
    return out


def parse_instruments(items) -> tuple[str, ...]:
    """Normalise a list (or comma-separated string) of instruments to family names, order kept."""
    return tuple(dict.fromkeys(family_of_program(p, d) for p, d in parse_instrument_list(items)))
