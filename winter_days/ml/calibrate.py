"""Calibration: the model's scores turned into churn probabilities that match observed rates.

A gradient-boosted model ranks customers well, but its raw scores drift away from the real
churn rate as the customer pool ages, and risk tiers with fixed cut-offs then move for no
reason. The calibrator is fitted on rows no training label reaches (the latest window with
complete labels, customers other than the evaluation's), with two methods: Platt scaling (a
logistic curve on the score's log-odds: smooth, needs few rows) and isotonic regression
(any monotone curve: needs more rows). The method with the lower Brier score out of fold
(five folds by customer) is refitted on all the rows and kept with the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss

from winter_days.ml.train import TrainingDataError, customer_buckets

METHODS = ("platt", "isotonic")
FOLDS = 5
_EDGE = 1e-6


class CalibrationError(TrainingDataError):
    """Rows a calibrator cannot be fitted on; the message says what is wrong."""


def _log_odds(scores: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(scores, dtype=np.float64), _EDGE, 1 - _EDGE)
    return np.log(p / (1 - p)).reshape(-1, 1)


def fit_method(method: str, scores: np.ndarray, labels: np.ndarray) -> Any:
    """A fitted calibrator (a plain scikit-learn estimator, so the registry saves it with skops)."""
    y = np.asarray(labels, dtype=np.int64)
    if method == "platt":
        return LogisticRegression(C=1e6, max_iter=1000).fit(_log_odds(scores), y)
    if method == "isotonic":
        return IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(np.asarray(scores, np.float64), y)
    raise CalibrationError(f"unknown calibration method {method!r}; choose one of {', '.join(METHODS)}")


def apply_calibrator(calibrator: Any | None, scores: np.ndarray) -> np.ndarray:
    """Calibrated probabilities; the scores themselves when there is no calibrator (a model
    registered before calibration existed)."""
    raw = np.asarray(scores, dtype=np.float64)
    if calibrator is None:
        return raw
    if isinstance(calibrator, IsotonicRegression):
        return np.clip(calibrator.predict(raw), 0.0, 1.0)
    if isinstance(calibrator, LogisticRegression):
        return calibrator.predict_proba(_log_odds(raw))[:, 1]
    raise CalibrationError(f"unknown calibrator type {type(calibrator).__name__}")


@dataclass
class Calibration:
    """The chosen calibrator and the evidence for the choice."""

    method: str
    calibrator: Any
    brier_out_of_fold: dict[str, float]
    brier_uncalibrated: float
    rows: int

    def summary(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "brier_out_of_fold": self.brier_out_of_fold,
            "brier_uncalibrated": self.brier_uncalibrated,
            "rows": self.rows,
            "chosen_by": f"lowest Brier score out of fold ({FOLDS} folds by customer)",
        }


def choose_calibration(scores: np.ndarray, labels: np.ndarray, customer_ids: np.ndarray, seed: int = 0) -> Calibration:
    """Fit Platt and isotonic calibration, keep the one with the lower out-of-fold Brier score."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    if len(s) != len(y) or len(y) == 0:
        raise CalibrationError(
            f"calibration needs scores and labels of equal, non-zero length; got {len(s)} and {len(y)}"
        )
    if len(np.unique(y)) != 2:
        raise CalibrationError(f"churn calibration rows hold a single class ({len(y)} rows): a calibrator needs both")
    fold = _folds(customer_ids, seed)
    brier = {}
    for method in METHODS:
        predicted = np.empty_like(s)
        for k in range(FOLDS):
            inside, outside = fold != k, fold == k
            if not outside.any():
                continue
            if len(np.unique(y[inside])) < 2:
                raise CalibrationError("a calibration fold holds a single class: too few churned or retained customers")
            predicted[outside] = apply_calibrator(fit_method(method, s[inside], y[inside]), s[outside])
        brier[method] = float(brier_score_loss(y, predicted))
    best = min(METHODS, key=lambda m: (brier[m], METHODS.index(m)))
    return Calibration(best, fit_method(best, s, y), brier, float(brier_score_loss(y, np.clip(s, 0, 1))), len(y))


def _folds(customer_ids: np.ndarray, seed: int) -> np.ndarray:
    """Fold 0..FOLDS-1 per row, stable per customer."""
    return customer_buckets(np.asarray(customer_ids, dtype=object), seed + 1) % FOLDS
