from __future__ import annotations

from winter_days.demo.run import is_ml_day


def test_the_model_trains_weekly_once_history_allows_and_on_the_last_day():
    days = [i for i in range(120) if is_ml_day(i, 119, 7, 74)]
    assert days == [74, 81, 88, 95, 102, 109, 116, 119]
    assert [i for i in range(10) if is_ml_day(i, 9, 7, 74)] == []  # too short a demo never trains
    assert [i for i in range(3) if is_ml_day(i, 2, 1, 0)] == [0, 1, 2]
