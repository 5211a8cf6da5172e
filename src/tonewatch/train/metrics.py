"""Metrics for flags, tone, calibration and evidence, per label and per language."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_fscore_support


def prf(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    p, r, f, _ = precision_recall_fscore_support(y, pred, average="binary", zero_division=0)
    return {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(np.sum(y))}


def pr_auc(y: np.ndarray, scores: np.ndarray) -> float | None:
    return float(average_precision_score(y, scores)) if 0 < y.sum() < len(y) else None


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """ECE over all (turn, label) probabilities, equal-width bins."""
    y, p = np.asarray(y, dtype=float).ravel(), np.asarray(p, dtype=float).ravel()
    if len(p) == 0:
        return 0.0
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        mask = idx == b
        if mask.any():
            ece += mask.mean() * abs(p[mask].mean() - y[mask].mean())
    return float(ece)


def reliability(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict[str, float]]:
    y, p = np.asarray(y, dtype=float).ravel(), np.asarray(p, dtype=float).ravel()
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    return [
        {
            "bin_low": float(edges[b]),
            "bin_high": float(edges[b + 1]),
            "mean_score": float(p[idx == b].mean()),
            "fraction_positive": float(y[idx == b].mean()),
            "count": int((idx == b).sum()),
        }
        for b in range(bins)
        if (idx == b).any()
    ]


def char_f1(gold: Sequence[tuple[int, int]], pred: Sequence[tuple[int, int]]) -> float:
    """Character-level F1 between two sets of spans."""
    g = {i for s, e in gold for i in range(s, e)}
    q = {i for s, e in pred for i in range(s, e)}
    if not g and not q:
        return 1.0
    overlap = len(g & q)
    if overlap == 0:
        return 0.0
    precision, recall = overlap / len(q), overlap / len(g)
    return 2 * precision * recall / (precision + recall)


def macro_f1(Y: np.ndarray, F: np.ndarray) -> float | None:
    """Mean F1 over the labels with gold support (labels nobody carries are not averaged)."""
    # Counted with numpy rather than per-label sklearn calls: the bootstrap calls it
    # thousands of times.
    Y, F = np.asarray(Y, bool), np.asarray(F, bool)
    support = Y.sum(axis=0)
    if not support.any():
        return None
    tp = (Y & F).sum(axis=0)
    with np.errstate(invalid="ignore"):  # 0/0 only for labels without support, dropped
        f1 = 2 * tp / (support + F.sum(axis=0))
    return float(f1[support > 0].mean())


def bootstrap_interval(
    metric: Callable[[np.ndarray, np.ndarray], float | None],
    y: np.ndarray,
    pred: np.ndarray,
    *,
    groups: Sequence[str] | None = None,
    rounds: int = 1000,
    seed: int = 13,
    level: float = 0.95,
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of ``metric(y, pred)``: how far a figure on a sample can
    be trusted. With ``groups`` (conversation ids) whole groups are drawn, since turns of a
    conversation are not independent; without, single rows. None when there is too little
    to resample or the metric is undefined on every draw."""
    y, pred = np.asarray(y), np.asarray(pred)
    members = None
    if groups is not None:
        _, inverse = np.unique(np.asarray(groups), return_inverse=True)
        members = [np.flatnonzero(inverse == g) for g in range(inverse.max(initial=-1) + 1)]
    n = len(y) if members is None else len(members)
    if n < 2:
        return None
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(rounds):
        drawn = rng.integers(0, n, n)
        rows = drawn if members is None else np.concatenate([members[g] for g in drawn])
        value = metric(y[rows], pred[rows])
        if value is not None:
            values.append(value)
    if not values:
        return None
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)
