from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.pseudonym_keys import TEST_PSEUDONYMS

from winter_days.generators.customers import build_customer_pool
from winter_days.generators.sales import LEGACY_FORMS, generate_sales
from winter_days.records.checks import record_errors

START = date(2026, 1, 1)
# A run of 13-19 digits that is not part of a hex digest.
CARD_NUMBER = re.compile(r"(?<![0-9a-f])[0-9]{13,19}(?![0-9a-f])")

days = st.dates(min_value=date(2025, 6, 1), max_value=date(2027, 6, 1))


def instant_of(value) -> datetime:
    """Reference reading of each sale_timestamp form (date-only: midnight UTC)."""
    if isinstance(value, datetime):
        assert value.tzinfo is not None
        return value.astimezone(UTC)
    if isinstance(value, int):
        return datetime.fromtimestamp(value / 1000 if value > 10**11 else value, tz=UTC)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def form_of(value) -> str:
    if isinstance(value, datetime):
        return "native_datetime"
    if isinstance(value, int):
        return "epoch_milliseconds" if value > 10**11 else "epoch_seconds"
    if value.endswith("+00:00"):
        return "canonical"
    if value.endswith("Z"):
        return "zulu_string"
    return "date_only" if len(value) == 10 else "offset_string"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32), day=days, count=st.one_of(st.none(), st.integers(0, 300)), share=st.floats(0, 1))
def test_every_sales_document_keeps_the_contract(seed, day, count, share):
    pool = build_customer_pool(seed, 300, START, TEST_PSEUDONYMS)
    docs = generate_sales(pool, day, count, legacy_share=share)
    if count is not None and pool.buy_weights(np.array([pool.day_offset(day)])).sum() > 0:
        assert len(docs) == count
    for doc in docs:
        errors = record_errors("sales", doc)
        if form_of(doc["sale_timestamp"]) == "canonical":
            assert errors == [], doc
        else:  # legacy timestamps are the export's to normalise; nothing else may be off
            assert all(e.startswith("sale_timestamp:") for e in errors), (doc, errors)
        assert instant_of(doc["sale_timestamp"]).date() == day
    assert len({d["sale_id"] for d in docs}) == len(docs)


def test_default_run_has_5_to_20_sales_and_mostly_completed(pool):
    sizes = [len(generate_sales(pool, START + timedelta(days=i))) for i in range(60)]
    assert min(sizes) >= 5 and max(sizes) <= 20 and len(set(sizes)) > 5
    statuses = Counter(d["status"] for d in generate_sales(pool, date(2026, 3, 1), count=5000))
    assert set(statuses) == {"completed", "pending", "refunded", "cancelled"}
    assert statuses["completed"] / 5000 > 0.75


def test_same_seed_and_day_give_the_same_documents_and_another_seed_does_not(pool):
    day = date(2026, 3, 1)
    assert generate_sales(pool, day, 50) == generate_sales(
        build_customer_pool(42, 2000, START, TEST_PSEUDONYMS), day, 50
    )
    other = generate_sales(build_customer_pool(43, 2000, START, TEST_PSEUDONYMS), day, 50)
    assert [d["customer_id"] for d in other] != [d["customer_id"] for d in generate_sales(pool, day, 50)]


def test_a_day_alone_equals_that_day_after_others(pool):
    day5 = START + timedelta(days=70)
    alone = generate_sales(pool, day5)
    for i in range(66, 70):
        generate_sales(pool, START + timedelta(days=i))
    assert generate_sales(pool, day5) == alone
    assert generate_sales(pool, day5 + timedelta(days=1)) != alone


def test_legacy_timestamps_come_in_every_form_at_the_configured_share_and_denote_the_instant(pool):
    day = date(2026, 4, 2)
    canonical = generate_sales(pool, day, 6000, legacy_share=0.0)
    mixed = generate_sales(pool, day, 6000, legacy_share=0.2)
    forms = Counter(form_of(d["sale_timestamp"]) for d in mixed)
    assert abs(1 - forms.pop("canonical") / 6000 - 0.2) < 0.02
    assert set(forms) == set(LEGACY_FORMS) and min(forms.values()) >= 120
    assert all(form_of(d["sale_timestamp"]) == "canonical" for d in canonical)
    for plain, legacy in zip(canonical, mixed, strict=False):
        truth = instant_of(plain["sale_timestamp"])
        form = form_of(legacy["sale_timestamp"])
        expected = truth.replace(hour=0, minute=0, second=0) if form == "date_only" else truth
        assert instant_of(legacy["sale_timestamp"]) == expected, (plain, legacy)
        assert {k: v for k, v in plain.items() if k != "sale_timestamp"} == {
            k: v for k, v in legacy.items() if k != "sale_timestamp"
        }


def test_cards_and_e_mails_only_as_last4_and_hashes(pool):
    docs = generate_sales(pool, date(2026, 3, 3), 3000)
    for doc in docs:
        text = " ".join(str(v) for k, v in doc.items() if k != "sale_timestamp")
        assert "@" not in text and not CARD_NUMBER.search(text), doc
        assert (doc["credit_card_last4"] is None) == (doc["payment_method"] not in ("credit_card", "debit_card"))
    # A customer's hash and card last-4 are theirs on every day.
    again = {
        d["customer_id"]: (d["contact_email_hashed"], d["customer_name"])
        for d in generate_sales(pool, date(2026, 5, 1), 3000)
    }
    for doc in docs:
        if doc["customer_id"] in again:
            assert again[doc["customer_id"]] == (doc["contact_email_hashed"], doc["customer_name"])
