"""Calibration: Platt or isotonic, whichever has the lower Brier score out of fold."""

from __future__ import annotations

import numpy as np
import pytest

from winter_days.ml.calibrate import CalibrationError, apply_calibrator, choose_calibration
from winter_days.ml.evaluate import expected_calibration_error
from winter_days.ml.registry import dump_model, load_model


def world(n: int, seed: int, distort):
    """True churn probabilities, outcomes drawn from them, and a model's distorted scores."""
    rng = np.random.default_rng(seed)
    truth = rng.beta(2, 3, n)
    y = (rng.random(n) < truth).astype(float)
    ids = np.array([f"C{i:05d}" for i in range(n)], dtype=object)
    return distort(truth), y, ids, truth


def test_calibration_brings_overconfident_scores_back_to_the_observed_rates():
    scores, y, ids, _ = world(4000, 0, lambda p: p**3)  # ranks right, far too low
    chosen = choose_calibration(scores[:2000], y[:2000], ids[:2000])
    before = expected_calibration_error(y[2000:], scores[2000:])
    after = expected_calibration_error(y[2000:], apply_calibrator(chosen.calibrator, scores[2000:]))
    assert before > 0.15 and after < 0.05
    assert chosen.method == min(chosen.brier_out_of_fold, key=chosen.brier_out_of_fold.get)
    assert chosen.summary()["rows"] == 2000


def test_each_method_can_win_and_the_choice_follows_the_brier_score():
    # A logistic distortion is exactly what Platt scaling undoes; a step-shaped one is not.
    logistic, y, ids, _ = world(3000, 1, lambda p: 1 / (1 + np.exp(-(3 * np.log(p / (1 - p)) - 1))))
    assert choose_calibration(logistic, y, ids).method == "platt"
    steps, y2, ids2, _ = world(3000, 2, lambda p: np.where(p < 0.4, 0.05 * p, 0.5 + 0.5 * p))
    assert choose_calibration(steps, y2, ids2).method == "isotonic"


def test_the_calibrator_survives_the_registry_format():
    scores, y, ids, _ = world(1000, 3, lambda p: p**2)
    chosen = choose_calibration(scores, y, ids)
    again = load_model(dump_model(chosen.calibrator), "calibrator.skops")
    np.testing.assert_allclose(apply_calibrator(again, scores), apply_calibrator(chosen.calibrator, scores))
    assert np.all((apply_calibrator(again, scores) >= 0) & (apply_calibrator(again, scores) <= 1))


def test_no_calibrator_leaves_the_scores_and_one_class_is_refused():
    assert apply_calibrator(None, np.array([0.2, 0.7])).tolist() == [0.2, 0.7]
    with pytest.raises(CalibrationError, match="single class"):
        choose_calibration(np.array([0.1, 0.2, 0.3]), np.array([0, 0, 0]), np.array(["a", "b", "c"], dtype=object))
