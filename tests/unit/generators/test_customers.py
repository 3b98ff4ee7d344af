from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import numpy as np
from support.pseudonym_keys import TEST_PSEUDONYMS

from winter_days.generators.clickstream import generate_clickstream
from winter_days.generators.customers import build_customer_pool
from winter_days.generators.sales import generate_sales

START = date(2026, 1, 1)


def test_a_customer_is_the_same_whatever_the_pool_size():
    small, large = (
        build_customer_pool(5, 100, START, TEST_PSEUDONYMS),
        build_customer_pool(5, 700, START, TEST_PSEUDONYMS),
    )
    for name in ("customer_id", "customer_name", "email_hash", "signup_day", "base_rate", "churn_onset_day"):
        assert np.array_equal(getattr(small, name), getattr(large, name)[:100]), name
    assert not np.array_equal(build_customer_pool(6, 100, START, TEST_PSEUDONYMS).base_rate, small.base_rate)


def test_customers_come_back_on_later_days(pool):
    first = Counter(d["customer_id"] for d in generate_sales(pool, date(2026, 3, 1), 2000))
    later = Counter(d["customer_id"] for d in generate_sales(pool, date(2026, 3, 20), 2000))
    assert len(set(first) & set(later)) > 0.5 * len(set(first))
    # Heavy buyers stay heavy: purchase counts agree across days.
    ids = sorted(set(first) | set(later))
    assert np.corrcoef([first[i] for i in ids], [later[i] for i in ids])[0, 1] > 0.5


def test_browsing_fades_before_buying_and_both_stop(pool):
    onset = pool.churn_onset_day
    churner = np.flatnonzero((onset > 40) & (onset < 60) & (pool.signup_day < 0))
    assert len(churner) >= 5
    for c in churner[:20]:
        t_onset = int(np.ceil(onset[c]))
        buy = pool.buy_weights(np.array([t_onset]))[0, c] / (pool.base_rate[c] * 1.8)
        browse = pool.browse_weights(np.array([t_onset]))[0, c] / (pool.browse_rate[c] * 1.8)
        assert browse < buy  # browsing has been fading for days, buying just starts
        gone = np.array([int(onset[c] + pool.fade_days[c]) + 1])
        assert pool.buy_weights(gone)[0, c] == 0 and pool.browse_weights(gone)[0, c] == 0


def test_churners_activity_in_the_clickstream_declines(pool):
    onset = pool.churn_onset_day
    cohort = set(pool.customer_id[(onset > 35) & (onset < 55) & (pool.signup_day < 0)])
    others = set(pool.customer_id[(onset > 400) & (pool.signup_day < 0)])

    def events(days):
        users = Counter()
        for d in days:
            table = generate_clickstream(pool, START + timedelta(days=d), 20_000)
            users.update(u for u in table.column("user_id").to_pylist() if u is not None)
        return sum(users[c] for c in cohort) / len(cohort), sum(users[c] for c in others) / len(others)

    cohort_before, others_before = events(range(0, 28, 4))
    cohort_after, others_after = events(range(120, 148, 4))
    assert cohort_before > 0 and cohort_after == 0
    assert others_after > 0.4 * others_before
