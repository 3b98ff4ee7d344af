"""DeLong's comparison of two models' ROC AUC on the same rows."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from winter_days.ml.compare import compare_auc
from winter_days.ml.evaluate import EvaluationError


def paired_scores(n: int, seed: int, shift: float = 0.0):
    """Labels and two correlated scorings: `a` sees the signal a little better by `shift`."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.35).astype(float)
    common = rng.normal(size=n)
    a = y * (1.0 + shift) + common + 0.8 * rng.normal(size=n)
    b = y * 1.0 + common + 0.8 * rng.normal(size=n)
    return y, a, b


def test_the_aucs_are_sklearns_and_ties_count_half():
    y = np.array([0, 0, 1, 1, 0, 1])
    a = np.array([0.1, 0.5, 0.5, 0.9, 0.2, 0.3])
    b = np.array([0.2, 0.2, 0.2, 0.8, 0.1, 0.7])
    c = compare_auc(y, a, b, "v1", 0.95)
    assert c.candidate_auc == pytest.approx(roc_auc_score(y, a))
    assert c.reference_auc == pytest.approx(roc_auc_score(y, b))
    assert c.difference == pytest.approx(c.candidate_auc - c.reference_auc)


def test_the_standard_error_agrees_with_a_paired_bootstrap():
    y, a, b = paired_scores(1500, seed=4, shift=0.15)
    c = compare_auc(y, a, b, "v1", 0.95)
    rng = np.random.default_rng(9)
    diffs = []
    for _ in range(400):
        i = rng.integers(0, len(y), len(y))
        diffs.append(roc_auc_score(y[i], a[i]) - roc_auc_score(y[i], b[i]))
    assert c.standard_error == pytest.approx(float(np.std(diffs)), rel=0.15)
    low, high = c.interval
    assert low < c.difference < high
    assert high - low == pytest.approx(2 * 1.959964 * c.standard_error, rel=1e-4)


def test_a_model_compared_with_itself_differs_by_exactly_nothing():
    y, a, _ = paired_scores(300, seed=1)
    c = compare_auc(y, a, a.copy(), "v1", 0.95)
    assert (c.difference, c.standard_error, c.interval) == (0.0, 0.0, (0.0, 0.0))


def test_a_higher_confidence_widens_the_interval():
    y, a, b = paired_scores(800, seed=2, shift=0.1)
    narrow, wide = compare_auc(y, a, b, "v1", 0.8), compare_auc(y, a, b, "v1", 0.99)
    assert wide.interval[0] < narrow.interval[0] and wide.interval[1] > narrow.interval[1]


def test_what_cannot_be_compared_is_named():
    with pytest.raises(EvaluationError, match="at least two of each"):
        compare_auc(np.array([1, 0, 0]), np.zeros(3), np.zeros(3), "v1", 0.95)
    with pytest.raises(EvaluationError, match="equal length"):
        compare_auc(np.array([1, 0, 1, 0]), np.zeros(4), np.zeros(3), "v1", 0.95)
    with pytest.raises(EvaluationError, match="NaN"):
        compare_auc(np.array([1, 0, 1, 0]), np.array([np.nan, 0, 0, 0]), np.zeros(4), "v1", 0.95)
