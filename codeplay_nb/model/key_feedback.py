"""Key emphasis only while the music does not yet say its key (closed-loop key control).

The key biases favour the tonic, third and fifth so a listener (and a key estimator) hears the requested key.
Applied on every beat they make clips sit on the tonic: on POP909 tuning windows the generated tonic held 36% of
the sounding time against real music's 19%, and pitch-class entropy was the two-sample test's strongest tell.
:class:`KeyFeedback` keeps a pitch-class histogram of the notes so far (the context's, then each generated
pitched note) and reports the key *established* once the requested key leads every other key by ``margin`` in
correlation with the Temperley-Kostka-Payne key profiles (a third profile, so the evaluation's two estimators,
music21's default and Krumhansl-Schmuckler, are not the ones steered on). While it is established, the
constraint applies the key's scale alone (out-of-key penalty) without the tonic/third/fifth emphasis.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

# Temperley, Kostka & Payne profiles, as in music21.analysis.discrete.TemperleyKostkaPayne (tonic first)
TKP_MAJOR = (0.748, 0.060, 0.488, 0.082, 0.670, 0.460, 0.096, 0.715, 0.104, 0.366, 0.057, 0.400)
TKP_MINOR = (0.712, 0.084, 0.474, 0.618, 0.049, 0.460, 0.105, 0.747, 0.404, 0.067, 0.133, 0.330)


def _standardise(rows: np.ndarray) -> np.ndarray:
    rows = rows - rows.mean(axis=-1, keepdims=True)
    return rows / np.linalg.norm(rows, axis=-1, keepdims=True)


# the 24 keys' profiles: rows 0-11 major on C..B, 12-23 minor on C..B
_PROFILES = _standardise(np.array([np.roll(TKP_MAJOR, t) for t in range(12)]
                                  + [np.roll(TKP_MINOR, t) for t in range(12)], dtype=float))


def key_correlations(histogram: Iterable[float]) -> np.ndarray:
    """Pearson correlation of a 12-bin pitch-class histogram with each of the 24 key profiles."""
    h = np.asarray(list(histogram), dtype=float)
    if h.std() == 0:
        return np.zeros(24)
    return _PROFILES @ _standardise(h)


class KeyFeedback:
    """Whether the notes so far establish key ``tonic`` (pitch class) ``mode`` ("major"/"minor")."""

    def __init__(self, tonic: int, mode: str, margin: float, heard: Iterable[float] = (), min_notes: int = 8):
        self.row = tonic % 12 + (12 if mode == "minor" else 0)
        self.margin = float(margin)
        self.min_notes = min_notes
        counts = list(heard)
        self.counts = np.array(counts if len(counts) == 12 else [0.0] * 12, dtype=float)
        self.established = False
        self._update()

    def add(self, pitch: int) -> None:
        self.counts[pitch % 12] += 1.0
        self._update()

    def _update(self) -> None:
        if self.counts.sum() < self.min_notes:
            self.established = False
            return
        corr = key_correlations(self.counts)
        rivals = np.delete(corr, self.row)
        self.established = bool(corr[self.row] - rivals.max() >= self.margin)


def pitch_class_counts(notes_pitches: Iterable[int]) -> list[float]:
    """A 12-bin histogram of pitches (the context a fill or a new track is written against)."""
    out = [0.0] * 12
    for p in notes_pitches:
        out[p % 12] += 1.0
    return out


__all__ = ["KeyFeedback", "key_correlations", "pitch_class_counts"]
