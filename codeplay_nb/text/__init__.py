"""Text -> attributes: the prompt classifier (genre, emotion, tempo, instruments, named key).

``classify(prompt)`` uses the shipped heads on the offline all-MiniLM-L6-v2 encoder; torch and
transformers load on the first call, not at import.
"""

from __future__ import annotations

from .classifier import EmptyPromptError, PromptClassifier, classify, default_classifier, load_classifier
from .evaluate import evaluate_prompts
from .genres import closest_known_genre
from .rules import find_rules

__all__ = [
    "EmptyPromptError", "PromptClassifier", "classify", "closest_known_genre", "default_classifier",
    "evaluate_prompts", "find_rules", "load_classifier",
]
