"""The metrics public benchmarks are published with, each as its task defines it, plus a
bootstrap interval so a figure on a sampled test set says how far it can be trusted."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

Metric = Callable[[np.ndarray, np.ndarray], float]


def macro_f1(y: np.ndarray, pred: np.ndarray) -> float:
    """Unweighted mean of the per-class F1 (scikit-learn's ``average="macro"``)."""
    return float(f1_score(y, pred, average="macro", zero_division=0))


def germeval_macro_f1(y: np.ndarray, pred: np.ndarray) -> float:
    """GermEval 2018's official score: F1 of the macro-averaged precision and recall (not the
    mean of per-class F1), as ``evaluationScriptGermeval2018.pl`` computes it."""
    precisions, recalls = [], []
    for label in np.union1d(np.unique(y), np.unique(pred)):
        tp = np.sum((pred == label) & (y == label))
        precisions.append(tp / max(np.sum(pred == label), 1))
        recalls.append(tp / max(np.sum(y == label), 1))
    p, r = float(np.mean(precisions)), float(np.mean(recalls))
    return 2 * p * r / (p + r) if p + r else 0.0


def weighted_f1(y: np.ndarray, pred: np.ndarray) -> float:
    """Per-class F1 weighted by support (Davidson et al. 2017 report this)."""
    return float(f1_score(y, pred, average="weighted", zero_division=0))


def positive_f1(y: np.ndarray, pred: np.ndarray) -> float:
    """F1 of the positive class (1) only."""
    return float(f1_score(y, pred, average="binary", zero_division=0))


def accuracy(y: np.ndarray, pred: np.ndarray) -> float:
    return float(accuracy_score(y, pred))


def flag_rate(y: np.ndarray, pred: np.ndarray) -> float:
    """Share of turns with a reported flag; ``y`` is unused (unlabelled, presumed clean text),
    so on clean traffic this is an upper bound of the false-flag rate."""
    return float(np.mean(pred)) if len(pred) else 0.0


def roc_auc(y: np.ndarray, scores: np.ndarray) -> float | None:
    return float(roc_auc_score(y, scores)) if 0 < np.sum(y) < len(y) else None
