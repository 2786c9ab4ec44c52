"""Constants of the arrival-time encoding used by the released Anticipatory Music Transformer weights
(``stanford-crfm/music-{small,medium,large}-800k``).

Verified against jthickstun/anticipation: ``anticipation/config.py`` (context, delta, resolution, maxima),
``anticipation/vocab.py`` (block offsets, REST, special tokens), ``anticipation/ops.py`` (REST padding with
density one second, anticipation rule), ``anticipation/sample.py`` (1017-token history window, relative
time, 16-instrument limit), ``anticipation/convert.py`` (drums = instrument 128, velocity 72 and
50 ticks per quarter at 120 BPM on output) and ``train/lakh-small.yaml`` (12 layers x 768, 12 heads).
Units are in the names: ``*_STEPS`` count 10 ms time steps, ``*_TOKENS`` count token ids.
"""

from __future__ import annotations

# ------------------------------------------------------------------ time
STEPS_PER_SECOND = 100  # TIME_RESOLUTION: 10 ms per step
MAX_TIME_IN_SECONDS = 100
MAX_DURATION_IN_SECONDS = 10
MAX_TIME_STEPS = STEPS_PER_SECOND * MAX_TIME_IN_SECONDS  # 10000 onset values (relative to the window)
MAX_DURATION_STEPS = STEPS_PER_SECOND * MAX_DURATION_IN_SECONDS  # 1000 duration values (0..999)
REST_DENSITY_STEPS = STEPS_PER_SECOND  # a REST pads every gap longer than 1 s
ANTICIPATION_INTERVAL_SECONDS = 5  # DELTA
ANTICIPATION_INTERVAL_STEPS = ANTICIPATION_INTERVAL_SECONDS * STEPS_PER_SECOND

# ------------------------------------------------------------------ notes
MAX_PITCH = 128
MAX_INSTRUMENT = 129  # GM programs 0-127 plus drums
DRUM_INSTRUMENT = 128
MAX_NOTE = MAX_PITCH * MAX_INSTRUMENT  # 16512; note = 128 * instrument + pitch
REST_NOTE = MAX_NOTE  # the REST "note" value inside the event block
MAX_INSTRUMENTS_PER_SEQUENCE = 16  # the reference sampler never exceeds 16 instruments

# ------------------------------------------------------------------ token blocks
TIME_OFFSET = 0
DURATION_OFFSET = TIME_OFFSET + MAX_TIME_STEPS  # 10000
NOTE_OFFSET = DURATION_OFFSET + MAX_DURATION_STEPS  # 11000
REST = NOTE_OFFSET + MAX_NOTE  # 27512
CONTROL_OFFSET = REST + 1  # 27513: anticipated (control) copies of the three blocks
CONTROL_TIME_OFFSET = CONTROL_OFFSET  # 27513
CONTROL_DURATION_OFFSET = CONTROL_TIME_OFFSET + MAX_TIME_STEPS  # 37513
CONTROL_NOTE_OFFSET = CONTROL_DURATION_OFFSET + MAX_DURATION_STEPS  # 38513
SPECIAL_OFFSET = CONTROL_NOTE_OFFSET + MAX_NOTE  # 55025
SEPARATOR = SPECIAL_OFFSET  # 55025
AUTOREGRESS = SPECIAL_OFFSET + 1  # 55026: flag for sequences without controls
ANTICIPATE = SPECIAL_OFFSET + 2  # 55027: flag for sequences with anticipated controls
VOCAB_SIZE = ANTICIPATE + 1  # 55028

# ------------------------------------------------------------------ model context
CONTEXT_TOKENS = 1024
EVENT_TOKENS = 3
CONTEXT_EVENTS = 341  # 1024 = 1 flag + 3 * 341
HISTORY_TOKENS = 1017  # the reference sampler keeps the last 1017 tokens (339 events) as history
HISTORY_EVENTS = HISTORY_TOKENS // EVENT_TOKENS

# ------------------------------------------------------------------ reference output conventions
REFERENCE_VELOCITY = 72  # events_to_compound writes this velocity everywhere
REFERENCE_QPM = 120.0  # no tempo event is written: MIDI default
REFERENCE_TICKS_PER_QUARTER = STEPS_PER_SECOND // 2  # 50: one tick = one 10 ms step at 120 BPM
UNKNOWN_DURATION_STEPS = STEPS_PER_SECOND // 4  # notes without an offset get 250 ms

# ------------------------------------------------------------------ released models
DEFAULT_MODEL_ID = "stanford-crfm/music-small-800k"
SMALL_MODEL_LAYERS = 12
SMALL_MODEL_WIDTH = 768
SMALL_MODEL_HEADS = 12

assert CONTEXT_TOKENS == 1 + EVENT_TOKENS * CONTEXT_EVENTS
assert (REST, CONTROL_OFFSET, CONTROL_DURATION_OFFSET, CONTROL_NOTE_OFFSET) == (27512, 27513, 37513, 38513)
assert (SEPARATOR, AUTOREGRESS, ANTICIPATE, VOCAB_SIZE) == (55025, 55026, 55027, 55028)
