"""When a run trains: the history a time split needs, the cadence, and the three modes."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from winter_days.ml.cadence import plan_training
from winter_days.ml.features import FeatureError

FIRST = date(2026, 1, 1)


def plan(mode, day, last_trained=None, every=7):
    return plan_training(mode, FIRST, FIRST + timedelta(days=day), 30, 14, last_trained, every)


def test_a_young_installation_skips_training_and_says_how_far_it_is():
    first = plan("auto", 0)
    assert not first.train and first.reason == "skipped: not enough history (0 of 74 days)"
    assert plan("auto", 73).reason == "skipped: not enough history (73 of 74 days)"
    with pytest.raises(FeatureError, match="spans 73 days.*needs at least 74 days"):
        plan("train", 73)


def test_the_daily_run_trains_when_due_and_scoring_never_trains():
    assert plan("auto", 74).train and plan("auto", 74).reason == "trained: no model was trained yet"
    trained_on = FIRST + timedelta(days=74)
    assert not plan("auto", 80, trained_on).train
    assert "not due (last trained as of 2026-03-16; every 7 days)" in plan("auto", 80, trained_on).reason
    assert plan("auto", 81, trained_on).train
    assert plan("auto", 75, trained_on, every=1).train
    assert plan("train", 75, trained_on).train
    assert not plan("score", 200).train and plan("score", 200).reason == "skipped: scoring only (mode score)"
    with pytest.raises(ValueError, match="unknown churn pipeline mode 'weekly'"):
        plan("weekly", 80)
