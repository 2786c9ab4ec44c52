"""Cross-validated classifiers for the evaluation, in numpy (no scikit-learn needed).

* :func:`two_sample_test` -- can a classifier tell generated clips from real windows? Features of both sets,
  labels real = 0 / generated = 1, folds grouped by song (:func:`group_kfold`, the same assignment as
  scikit-learn's ``GroupKFold``: largest groups first, each into the lightest fold), so a song's windows
  and the clips asking for the same things are never split between training and test. 50% accuracy
  means the two sets cannot be told apart.
* :func:`genre_predictability` -- cross-validated accuracy of predicting the requested genre from the
  music (stratified folds), against chance (``1 / number of genres``).

The classifier is an L2-regularised logistic regression fitted by Newton's method on features
standardised on the training fold (missing values: the training fold's mean); several classes are fitted
one-vs-rest and the most probable class wins. Deterministic.
"""

from __future__ import annotations

import random
from collections.abc import Hashable, Sequence

import numpy as np

from .errors import CodeplayError


# ------------------------------------------------------------------ folds
def group_kfold(groups: Sequence[Hashable], k: int) -> list[np.ndarray]:
    """Test-index arrays of ``k`` folds (fewer when there are fewer groups) that never split a group."""
    names, sizes = np.unique(np.asarray([str(g) for g in groups]), return_counts=True)
    k = min(k, len(names))
    if k < 2:
        raise CodeplayError("cross-validation needs at least two groups (songs)")
    order = np.argsort(-sizes, kind="stable")
    load = np.zeros(k, dtype=np.int64)
    fold_of: dict[str, int] = {}
    for i in order:
        f = int(np.argmin(load))
        fold_of[str(names[i])] = f
        load[f] += sizes[i]
    assigned = np.array([fold_of[str(g)] for g in groups])
    return [np.flatnonzero(assigned == f) for f in range(k)]


def stratified_kfold(labels: Sequence[Hashable], k: int, seed: int = 0) -> list[np.ndarray]:
    """Test-index arrays of ``k`` folds with each label spread evenly (seeded shuffle within a label)."""
    rng = random.Random(seed)
    folds: list[list[int]] = [[] for _ in range(k)]
    by_label: dict[str, list[int]] = {}
    for i, y in enumerate(labels):
        by_label.setdefault(str(y), []).append(i)
    offset = 0
    for label in sorted(by_label):
        idx = by_label[label]
        rng.shuffle(idx)
        for j, i in enumerate(idx):
            folds[(j + offset) % k].append(i)
        offset += len(idx)
    return [np.array(sorted(f), dtype=np.int64) for f in folds if f]


# ------------------------------------------------------------------ the classifier
class LogisticRegression:
    """L2-regularised logistic regression (Newton's method); one-vs-rest for more than two classes."""

    def __init__(self, l2: float = 1.0, iterations: int = 30):
        self.l2, self.iterations = l2, iterations

    def _prepare(self, x: np.ndarray, fit: bool) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        if fit:
            ok = np.isfinite(x)
            counts = ok.sum(axis=0)
            self.mean_ = np.where(ok, x, 0.0).sum(axis=0) / np.maximum(counts, 1)  # 0 for an all-missing column
        x = np.where(np.isfinite(x), x, self.mean_)
        if fit:
            std = x.std(axis=0)
            self.std_ = np.where(std > 1e-12, std, 1.0)
        return np.hstack([(x - self.mean_) / self.std_, np.ones((len(x), 1))])

    def _fit_binary(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        w = np.zeros(x.shape[1])
        reg = np.full(x.shape[1], self.l2)
        reg[-1] = 0.0  # no penalty on the intercept
        for _ in range(self.iterations):
            p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -30, 30)))
            grad = x.T @ (p - y) + reg * w
            hess = (x * (p * (1 - p))[:, None]).T @ x + np.diag(reg) + 1e-9 * np.eye(len(w))
            step = np.linalg.solve(hess, grad)
            w -= step
            if np.abs(step).max() < 1e-8:
                break
        return w

    def fit(self, x, y) -> LogisticRegression:
        xs = self._prepare(x, fit=True)
        y = np.asarray(y)
        self.classes_ = np.unique(y)
        targets = self.classes_[1:] if len(self.classes_) == 2 else self.classes_
        self.weights_ = np.array([self._fit_binary(xs, (y == c).astype(float)) for c in targets])
        return self

    def decision(self, x) -> np.ndarray:
        return self._prepare(x, fit=False) @ self.weights_.T

    def predict(self, x) -> np.ndarray:
        scores = self.decision(x)
        if len(self.classes_) == 1:
            return np.full(len(scores), self.classes_[0])
        if len(self.classes_) == 2:
            return self.classes_[(scores[:, 0] > 0).astype(int)]
        return self.classes_[np.argmax(scores, axis=1)]


def cross_val_accuracy(x, y, folds: Sequence[np.ndarray], *, l2: float = 1.0) -> list[float]:
    """Accuracy on each test fold of a classifier trained on the other folds."""
    x, y = np.asarray(x, dtype=float), np.asarray(y)
    out = []
    for test in folds:
        train = np.setdiff1d(np.arange(len(y)), test)
        model = LogisticRegression(l2=l2).fit(x[train], y[train])
        out.append(float((model.predict(x[test]) == y[test]).mean()))
    return out


def _summary(accs: list[float], **extra) -> dict:
    return {"accuracy": float(np.mean(accs)), "std": float(np.std(accs)), "folds": accs, **extra}


def two_sample_test(real_x, generated_x, real_groups, generated_groups, *, k: int = 5, l2: float = 1.0,
                    feature_names: Sequence[str] | None = None, top: int = 6) -> dict:
    """Cross-validated accuracy (mean and population std over folds) of telling generated feature rows from
    real ones, folds grouped by song. ``{"accuracy", "std", "folds", "n_real", "n_generated", "k"}``; with
    ``feature_names``, ``"telling"``: the ``top`` features with the largest standardised weights of a
    classifier fitted on all rows, ``[(name, weight)]`` (positive: higher in the generated clips)."""
    real_x, generated_x = np.asarray(real_x, dtype=float), np.asarray(generated_x, dtype=float)
    if not len(real_x) or not len(generated_x):
        raise CodeplayError("the two-sample test needs real and generated clips")
    x = np.vstack([real_x, generated_x])
    y = np.array([0] * len(real_x) + [1] * len(generated_x))
    folds = group_kfold([*real_groups, *generated_groups], k)
    out = _summary(cross_val_accuracy(x, y, folds, l2=l2), n_real=len(real_x), n_generated=len(generated_x),
                   k=len(folds))
    if feature_names is not None:
        w = LogisticRegression(l2=l2).fit(x, y).weights_[0][:-1]
        order = np.argsort(-np.abs(w), kind="stable")[:top]
        out["telling"] = [(str(feature_names[i]), round(float(w[i]), 3)) for i in order]
    return out


def genre_predictability(x, genres: Sequence[str], *, k: int = 5, seed: int = 0, l2: float = 1.0) -> dict:
    """Cross-validated accuracy of predicting the requested genre from the clips' features, with chance
    (``1 / number of genres``). ``{"accuracy", "std", "folds", "chance", "n", "genres"}``."""
    labels = sorted(set(genres))
    if len(labels) < 2:
        raise CodeplayError("genre predictability needs clips of at least two genres")
    folds = stratified_kfold(genres, k, seed)
    return _summary(cross_val_accuracy(x, np.asarray(genres), folds, l2=l2), chance=1 / len(labels),
                    n=len(genres), genres=labels)


__all__ = [
    "LogisticRegression", "cross_val_accuracy", "genre_predictability", "group_kfold", "stratified_kfold",
    "two_sample_test",
]
