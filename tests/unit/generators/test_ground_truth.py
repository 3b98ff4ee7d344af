from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from support.pseudonym_keys import TEST_PSEUDONYMS

from winter_days.generators.customers import build_customer_pool
from winter_days.generators.ground_truth import churn_probabilities, ground_truth_table
from winter_days.generators.sales import draw_sales_day

START = date(2026, 1, 1)


def empirical_no_purchase(pool, as_of, horizon, runs, count=None):
    """Monte-Carlo of the sales model itself: the share of runs without a completed purchase."""
    bought = np.zeros((runs, pool.size), dtype=bool)
    for run in range(runs):
        for d in range(1, horizon + 1):
            rng = np.random.default_rng([99, run, d])
            draw = draw_sales_day(pool, as_of + timedelta(days=d), rng, count)
            bought[run, draw.buyer[draw.status == 0]] = True
    return 1.0 - bought.mean(axis=0)


def check_close(pool, as_of, horizon, runs, count=None):
    stated = churn_probabilities(pool, as_of, horizon, count)
    seen = empirical_no_purchase(pool, as_of, horizon, runs, count)
    tolerance = 4.5 * np.sqrt(stated * (1 - stated) / runs) + 0.004
    assert np.all(np.abs(seen - stated) <= tolerance), np.c_[stated, seen]
    # Wide spread: a constant or shuffled guess cannot be this close.
    assert stated.max() - stated.min() > 0.5
    assert np.abs(seen - stated).mean() < 0.2 * np.abs(seen - seen.mean()).mean()


def test_stated_churn_probability_matches_simulated_sales():
    pool = build_customer_pool(7, 30, START, TEST_PSEUDONYMS)
    check_close(pool, date(2026, 2, 10), horizon=20, runs=600)


def test_stated_churn_probability_matches_for_a_fixed_daily_count():
    pool = build_customer_pool(11, 25, START, TEST_PSEUDONYMS)
    check_close(pool, date(2026, 3, 1), horizon=10, runs=600, count=3)


def test_ground_truth_table_is_one_row_per_customer_and_certain_for_the_churned(pool):
    as_of = date(2026, 4, 1)
    table = ground_truth_table(pool, as_of)
    assert table.num_rows == pool.size
    assert table.column("customer_id").to_pylist() == list(pool.customer_id)
    p = table.column("churn_probability").to_numpy()
    assert np.all((p >= 0) & (p <= 1))
    t = pool.day_offset(as_of)
    stopped = pool.churn_onset_day + pool.fade_days <= t + 1
    assert np.allclose(p[stopped], 1.0)
    heavy = ~stopped & pool.signed_up_by(as_of) & (pool.base_rate > np.quantile(pool.base_rate, 0.9))
    assert p[heavy].mean() < p[~heavy].mean() - 0.05
    active = table.column("is_active_before").to_numpy(zero_copy_only=False)
    assert np.array_equal(active, pool.signup_day <= t)
