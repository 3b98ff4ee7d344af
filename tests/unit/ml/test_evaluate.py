from __future__ import annotations

import numpy as np
import pytest

from winter_days.ml.evaluate import (
    EvaluationError,
    calibration_table,
    classification_metrics,
    curve_pngs,
    expected_calibration_error,
    top_decile_lift,
)

# Ranked by score: 0.8 (churned), 0.4 (stayed), 0.35 (churned), 0.1 (stayed).
Y = np.array([0, 0, 1, 1])
S = np.array([0.1, 0.4, 0.35, 0.8])


def test_metrics_match_hand_computed_values():
    m = classification_metrics(Y, S)
    assert m["roc_auc"] == pytest.approx(0.75)  # 3 of the 4 churned/stayed pairs ordered right
    assert m["pr_auc"] == pytest.approx(0.5 * 1.0 + 0.5 * (2 / 3))  # precision 1 at recall .5, 2/3 at 1
    assert m["brier"] == pytest.approx((0.1**2 + 0.4**2 + 0.65**2 + 0.2**2) / 4)
    assert m["top_decile_lift"] == pytest.approx(2.0)  # top ceil(4/10)=1 row churned; base rate 0.5
    assert (m["rows"], m["positive_rate"]) == (4, 0.5)
    # Bins [0.1, 0.2): 0.1 vs 0; [0.3, 0.4): 0.35 vs 1; [0.4, 0.5): 0.4 vs 0; [0.8, 0.9): 0.8 vs 1.
    assert m["ece"] == pytest.approx((0.1 + 0.65 + 0.4 + 0.2) / 4)


def test_calibration_error_is_zero_when_each_bin_matches_its_rate():
    y = np.array([1, 0, 0, 0, 1, 1, 0, 1, 1, 1])
    s = np.array([0.25] * 4 + [0.75] * 4 + [1.0] * 2)  # 1 in 4, 3 in 4, 2 in 2
    assert expected_calibration_error(y, s) == pytest.approx(0.0)


def test_top_decile_lift_uses_the_top_tenth():
    y = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0] * 2)
    s = np.linspace(1, 0, 20)  # the two highest scores are churners 0 and 1
    assert top_decile_lift(y, s) == pytest.approx(1.0 / 0.2)


def test_calibration_table_bins_by_predicted_probability():
    rows = calibration_table(np.array([0, 1, 1, 0, 1]), np.array([0.05, 0.15, 0.12, 0.95, 1.0]))
    assert [(r["bin_lower"], r["count"]) for r in rows] == [(0.0, 1), (0.1, 2), (0.9, 2)]
    assert rows[1]["mean_predicted"] == pytest.approx(0.135) and rows[1]["observed_rate"] == 1.0
    assert rows[2]["observed_rate"] == 0.5  # p = 1.0 falls in the last, closed bin


def test_unevaluable_input_is_refused():
    with pytest.raises(EvaluationError, match="both classes"):
        classification_metrics(np.array([1, 1, 1]), np.array([0.2, 0.3, 0.4]))
    with pytest.raises(EvaluationError, match="NaN or infinite"):
        classification_metrics(Y, np.array([0.1, np.nan, 0.3, 0.4]))
    with pytest.raises(EvaluationError, match="equal length"):
        classification_metrics(Y, S[:3])


def test_curves_are_png_images():
    pngs = curve_pngs(Y, {"candidate": S, "baseline": S[::-1]})
    assert set(pngs) == {"roc", "pr"}
    for data in pngs.values():
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
