"""The learned part of a model: one calibrated binary head per flag and one tone head.

Calibration is fitted on out-of-fold scores of the project's own annotated turns (grouped by
conversation), so the probabilities match the text users send, not the public tweets that
help the abuse heads; thresholds are chosen on the same out-of-fold scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import precision_recall_curve
from sklearn.model_selection import GroupKFold

from tonewatch.errors import NotFittedError
from tonewatch.schema import LABELS, TONES


@dataclass
class PlattCalibrator:
    """p = sigmoid(a * s + b) on a head's decision value ``s``."""

    a: float = 1.0
    b: float = 0.0

    @classmethod
    def fit(cls, scores: np.ndarray, y: np.ndarray) -> PlattCalibrator:
        if len(set(y.tolist())) < 2:
            return cls()
        lr = LogisticRegression(C=100.0).fit(scores.reshape(-1, 1), y)
        return cls(float(lr.coef_[0, 0]), float(lr.intercept_[0]))

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(self.a * scores + self.b)))


def _best_threshold(y: np.ndarray, p: np.ndarray, floor: float) -> float:
    """Threshold maximising F1 on out-of-fold probabilities, never below ``floor``
    (false alarms are what makes users switch a tool off)."""
    if y.sum() == 0:
        return 0.5
    precision, recall, thresholds = precision_recall_curve(y, p)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-9)
    best = int(np.argmax(f1[:-1])) if len(thresholds) else 0
    return float(max(floor, thresholds[best] if len(thresholds) else 0.5))


class FlagHeads:
    def __init__(
        self, C: float = 4.0, folds: int = 5, threshold_floor: float = 0.35, seed: int = 13
    ) -> None:
        self.C = C
        self.folds = folds
        self.threshold_floor = threshold_floor
        self.seed = seed

    def _head(self) -> LogisticRegression:
        return LogisticRegression(
            C=self.C,
            class_weight="balanced",
            max_iter=3000,
            solver="liblinear",
            random_state=self.seed,
        )

    def fit(
        self,
        X: sparse.csr_matrix,
        Y: np.ndarray,
        known: np.ndarray,
        weights: np.ndarray,
        calib_mask: np.ndarray,
        groups: Sequence[str],
        tones: Sequence[str | None],
    ) -> FlagHeads:
        """``Y``/``known``: (n, 12) booleans; ``calib_mask`` marks the project's own turns,
        on which calibration and thresholds are fitted out of fold."""
        self.heads_: list[LogisticRegression | None] = []
        self.calibrators_: list[PlattCalibrator] = []
        self.thresholds_: dict[str, float] = {}
        self.oof_: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        groups = np.asarray(groups)
        calib_idx = np.flatnonzero(calib_mask)
        splitter = GroupKFold(n_splits=self.folds)
        fold_of = np.full(len(groups), -1)
        for k, (_, held) in enumerate(splitter.split(calib_idx, groups=groups[calib_idx])):
            fold_of[calib_idx[held]] = k
        # Rows derived from a calibration turn (its evidence spans) share its conversation's
        # fold: trained on only when that conversation is not the one held out.
        fold_by_group = dict(zip(groups[calib_idx], fold_of[calib_idx], strict=True))
        derived = np.flatnonzero(~np.asarray(calib_mask, bool))
        fold_of[derived] = [fold_by_group.get(g, -1) for g in groups[derived]]
        for j, label in enumerate(LABELS):
            rows = np.flatnonzero(known[:, j])
            y = Y[rows, j].astype(int)
            if y.sum() < 2:
                self.heads_.append(None)
                self.calibrators_.append(PlattCalibrator(0.0, -6.0))
                self.thresholds_[label] = 1.0
                continue
            oof = np.zeros(len(groups))
            for k in range(self.folds):
                train_rows = rows[fold_of[rows] != k]
                held_rows = np.flatnonzero((fold_of == k) & known[:, j])
                if len(held_rows) == 0 or Y[train_rows, j].sum() == 0:
                    continue
                head = self._head().fit(X[train_rows], Y[train_rows, j], weights[train_rows])
                oof[held_rows] = head.decision_function(X[held_rows])
            cal_rows = calib_idx[known[calib_idx, j]]
            calibrator = PlattCalibrator.fit(oof[cal_rows], Y[cal_rows, j].astype(int))
            p_oof = calibrator(oof[cal_rows])
            self.oof_[label] = (Y[cal_rows, j].astype(int), p_oof)
            self.thresholds_[label] = _best_threshold(Y[cal_rows, j], p_oof, self.threshold_floor)
            self.heads_.append(self._head().fit(X[rows], y, weights[rows]))
            self.calibrators_.append(calibrator)
        tone_rows = np.array([i for i, t in enumerate(tones) if t is not None], dtype=int)
        self.tone_ = LogisticRegression(
            C=self.C, max_iter=3000, class_weight="balanced", random_state=self.seed
        )
        self.tone_.fit(X[tone_rows], [TONES.index(tones[i]) for i in tone_rows], weights[tone_rows])
        return self

    def predict_proba(self, X: sparse.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
        """Calibrated flag probabilities (n, 12) and tone probabilities (n, 4)."""
        if not hasattr(self, "heads_"):
            raise NotFittedError("FlagHeads used before fit() or load()")
        flags = np.zeros((X.shape[0], len(LABELS)))
        for j, (head, calibrator) in enumerate(zip(self.heads_, self.calibrators_, strict=True)):
            if head is not None:
                flags[:, j] = calibrator(head.decision_function(X))
        tone = np.zeros((X.shape[0], len(TONES)))
        tone[:, self.tone_.classes_] = self.tone_.predict_proba(X)
        return flags, tone
