"""Two models compared on the same evaluation rows: the difference of their ROC AUC and its
confidence interval (DeLong's test for correlated ROC curves).

An AUC measured on a few thousand rows moves by a few hundredths from one sample to the
next, so a challenger that scores 0.003 above the champion may well be the worse model.
Both models score the same rows, and DeLong's method gives the variance of the difference
from those paired scores (DeLong, DeLong & Clarke-Pearson 1988; the fast form of Sun & Xu
2014): exact, deterministic and cheap, where a paired bootstrap would need thousands of
resamples and a seed.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from statistics import NormalDist

import numpy as np
from scipy.stats import rankdata

from winter_days.ml.evaluate import EvaluationError


@dataclass(frozen=True)
class AucComparison:
    """The candidate's AUC minus the reference's on the same rows, with a two-sided interval."""

    reference_version: str
    candidate_auc: float
    reference_auc: float
    difference: float
    standard_error: float
    confidence: float
    interval: tuple[float, float]
    rows: int

    def as_dict(self) -> dict:
        return {**asdict(self), "interval": list(self.interval), "method": "DeLong"}

    def describe(self) -> str:
        """'AUC +0.0123 (95% interval -0.0031 .. +0.0277) against champion V'."""
        low, high = self.interval
        return (
            f"AUC {self.difference:+.4f} ({self.confidence:.0%} interval {low:+.4f} .. {high:+.4f}, "
            f"{self.rows} rows) against champion {self.reference_version}"
        )


def _structural_components(y: np.ndarray, scores: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """AUC and DeLong's placement values: for each positive, the share of negatives it
    outranks (ties count half); for each negative, the share of positives that outrank it."""
    positives, negatives = scores[y == 1], scores[y == 0]
    m, n = len(positives), len(negatives)
    overall = rankdata(np.concatenate([positives, negatives]))
    among_pos, among_neg = rankdata(positives), rankdata(negatives)
    v10 = (overall[:m] - among_pos) / n
    v01 = 1.0 - (overall[m:] - among_neg) / m
    return float(v10.mean()), v10, v01


def compare_auc(
    y_true: np.ndarray, candidate: np.ndarray, reference: np.ndarray, reference_version: str, confidence: float
) -> AucComparison:
    """DeLong's comparison of two scorings of the same rows (labels 0/1)."""
    y = np.asarray(y_true, dtype=np.float64)
    a, b = np.asarray(candidate, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    if not (y.shape == a.shape == b.shape) or y.ndim != 1:
        raise EvaluationError(
            f"labels {y.shape} and the two scorings {a.shape}, {b.shape} must be 1-D and of equal length"
        )
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise EvaluationError("a scoring to compare holds NaN or infinite values")
    if not 0.5 <= confidence < 1.0:
        raise EvaluationError(f"confidence {confidence} must be in [0.5, 1)")
    m, n = int((y == 1).sum()), int((y == 0).sum())
    if m < 2 or n < 2 or m + n != len(y):
        raise EvaluationError(
            f"comparing AUCs needs labels 0/1 with at least two of each; got {m} churned, {n} retained"
        )
    auc_a, v10_a, v01_a = _structural_components(y, a)
    auc_b, v10_b, v01_b = _structural_components(y, b)
    s10 = np.cov(np.vstack([v10_a, v10_b]))
    s01 = np.cov(np.vstack([v01_a, v01_b]))
    variance = (s10[0, 0] + s10[1, 1] - 2 * s10[0, 1]) / m + (s01[0, 0] + s01[1, 1] - 2 * s01[0, 1]) / n
    se = math.sqrt(max(float(variance), 0.0))
    z = NormalDist().inv_cdf((1 + confidence) / 2)
    difference = auc_a - auc_b
    return AucComparison(
        reference_version, auc_a, auc_b, difference, se, confidence, (difference - z * se, difference + z * se), len(y)
    )
