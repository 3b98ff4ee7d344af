"""Golden tests of the sales models over three daily exports: staging, fct_sales (incremental),
dim_customer, agg_cust_metrics, quarantine and row accounting. Expected rows are worked out
by hand from the fixtures below."""

from __future__ import annotations

import pytest
from support.elt_models import LocalElt, click, sale, sha, utc
from support.pseudonym_keys import TEST_PSEUDONYMS

pytestmark = pytest.mark.slow

DAY1 = "bronze/sales/export_date=2024-05-01/sales-20240501T230000Z-r1.parquet"
DAY2 = "bronze/sales/export_date=2024-05-02/sales-20240502T230000Z-r2.parquet"
DAY3 = "bronze/sales/export_date=2024-05-03/sales-20240503T230000Z-r3.parquet"

RAW_DOCUMENT_S8 = (
    '{"contact_email_hashed": "c5@example.com", "credit_card_last4": "4111111111111111", '
    '"customer_id": "C5", "customer_name": "Name of C5", "quantity": "two", "sale_id": "S8"}'
)


def export_day1(elt: LocalElt) -> None:
    e1 = "2024-05-01 23:00"
    elt.write_sales(
        DAY1,
        [
            sale("S1", "C1", "2024-04-01 10:00", seq=1, exported=e1, total_amount=100.0, unit_price=100.0),
            sale(
                "S2",
                "C1",
                "2024-04-20 10:00",
                seq=2,
                exported=e1,
                status="pending",
                total_amount=50.0,
                unit_price=50.0,
                payment_method="credit_card",
                credit_card_last4="1234",
                region="East",
            ),
            sale(
                "S3",
                "C2",
                "2024-04-25 12:00",
                seq=3,
                exported=e1,
                total_amount=30.0,
                unit_price=30.0,
                payment_method="gift_card",
            ),
            sale(
                "S4",
                "C3",
                "",
                seq=4,
                exported=e1,
                sale_timestamp_raw="the day before yesterday",
                sale_timestamp_form="unparseable",
            ),
            sale("S5", "C3", "2024-04-26 08:00", seq=5, exported=e1, status="lost"),
        ],
    )


def export_day2(elt: LocalElt) -> None:
    e2 = "2024-05-02 23:00"
    elt.write_sales(
        DAY2,
        [
            # S2 was paid: the same sale, a later document version.
            sale(
                "S2",
                "C1",
                "2024-04-20 10:00",
                seq=6,
                exported=e2,
                status="completed",
                total_amount=50.0,
                unit_price=50.0,
                payment_method="credit_card",
                credit_card_last4="1234",
                region="East",
            ),
            # A late sale: exported today, made six weeks ago.
            sale("S6", "C2", "2024-03-15 08:00", seq=7, exported=e2, total_amount=20.0, unit_price=20.0),
            # S3 exported again unchanged (a re-export after a watermark reset).
            sale(
                "S3",
                "C2",
                "2024-04-25 12:00",
                seq=3,
                exported=e2,
                total_amount=30.0,
                unit_price=30.0,
                payment_method="gift_card",
            ),
        ],
    )


def export_day3(elt: LocalElt) -> None:
    e3 = "2024-05-03 23:00"
    elt.write_sales(
        DAY3,
        [
            sale(
                "S1",
                "C1",
                "2024-04-01 10:00",
                seq=8,
                exported=e3,
                status="refunded",
                total_amount=100.0,
                unit_price=100.0,
            ),
            sale(
                "S7",
                "C4",
                "2024-05-03 09:00",
                seq=9,
                exported=e3,
                status="cancelled",
                total_amount=15.0,
                unit_price=15.0,
                payment_method="bank_transfer",
            ),
            sale(
                "S8",
                "C5",
                "2024-05-03 10:00",
                seq=10,
                exported=e3,
                quantity=None,
                invalid_fields="quantity",
                raw_document=RAW_DOCUMENT_S8,
            ),
            # An address the source failed to hash.
            sale("S9", "C6", "2024-05-03 11:00", seq=11, exported=e3, contact_email_hashed="c6@example.com"),
        ],
    )


def write_clicks(elt: LocalElt) -> None:
    elt.write_lines(
        "bronze/clickstream/load_date=2024-04-28/clickstream-2024-04-28.jsonl",
        [
            click("E1", "A", "C1", "page_view", "2024-04-28T10:00:00.000Z"),
            click("E2", "A", "C1", "product_view", "2024-04-28T10:01:00.000Z"),
        ],
    )
    elt.write_lines(
        "bronze/clickstream/load_date=2024-05-02/clickstream-2024-05-02.jsonl",
        [
            click("E3", "B", "C1", "page_view", "2024-05-02T15:00:00.000Z", is_bounce=True),
        ],
    )
    elt.write_lines(
        "bronze/clickstream/load_date=2024-05-04/clickstream-2024-05-04.jsonl",
        [
            click("E4", "C", "C1", "page_view", "2024-05-04T08:00:00.000Z"),
        ],
    )
    elt.write_lines(
        "bronze/clickstream/load_date=2024-03-01/clickstream-2024-03-01.jsonl",
        [
            click("E5", "D", "C2", "page_view", "2024-03-01T12:00:00.000Z"),
        ],
    )


def fct(elt: LocalElt) -> dict[str, dict]:
    return {r["sale_id"]: r for r in elt.rows("SELECT * FROM winter_days_warehouse.fct_sales")}


def test_fct_sales_incremental_over_three_days_updates_changed_and_inserts_late_sales(elt: LocalElt):
    export_day1(elt)
    elt.run_ok("sales")
    day1 = fct(elt)
    assert sorted(day1) == ["S1", "S2", "S3"]
    assert day1["S2"]["status"] == "pending"

    export_day2(elt)
    elt.run_ok("sales")
    day2 = fct(elt)
    assert sorted(day2) == ["S1", "S2", "S3", "S6"]
    assert day2["S2"]["status"] == "completed" and day2["S2"]["document_update_seq"] == 6
    assert day2["S6"]["sale_timestamp"] == utc("2024-03-15 08:00")

    export_day3(elt)
    elt.run_ok("sales")
    day3 = fct(elt)
    assert sorted(day3) == ["S1", "S2", "S3", "S6", "S7"]
    assert day3["S1"]["status"] == "refunded" and day3["S1"]["is_completed"] is False
    assert day3["S7"]["status"] == "cancelled"
    # Incremental, not rebuilt: a sale with no newer version keeps the row of the run that
    # last merged it.
    assert day3["S3"]["loaded_at"] == day2["S3"]["loaded_at"]
    assert day3["S6"]["loaded_at"] == day2["S6"]["loaded_at"]
    assert day3["S1"]["loaded_at"] > day2["S1"]["loaded_at"]
    counts = elt.rows("SELECT COUNT(*) AS n, COUNT(DISTINCT sale_id) AS d FROM winter_days_warehouse.fct_sales")
    assert counts == [{"n": 5, "d": 5}]


def test_full_refresh_rebuilds_fct_sales_to_the_same_rows(elt: LocalElt):
    export_day1(elt)
    export_day2(elt)
    export_day3(elt)
    elt.run_ok("sales")
    before = {k: (v["status"], v["document_update_seq"]) for k, v in fct(elt).items()}
    elt.run_ok("sales", full_refresh=True)
    after = {k: (v["status"], v["document_update_seq"]) for k, v in fct(elt).items()}
    assert before == after
    assert after == {
        "S1": ("refunded", 8),
        "S2": ("completed", 6),
        "S3": ("completed", 3),
        "S6": ("completed", 7),
        "S7": ("cancelled", 9),
    }


def test_stg_sales_keeps_latest_valid_version_without_customer_names(elt: LocalElt):
    export_day1(elt)
    export_day2(elt)
    export_day3(elt)
    elt.run_ok("sales")
    staged = {r["sale_id"]: r for r in elt.rows("SELECT * FROM winter_days_staging.stg_sales")}
    assert sorted(staged) == ["S1", "S2", "S3", "S6", "S7"]
    assert staged["S3"]["source_file"] == f"gs://winter-days-lake/{DAY2}"
    assert staged["S1"]["document_update_seq"] == 8
    assert "customer_name" not in staged["S1"]

    # No customer name, clear e-mail address or card number anywhere past bronze (the raw
    # lake, read through views).
    con_tables = elt.rows(
        "SELECT table_schema, table_name, column_name FROM information_schema.columns "
        "WHERE data_type = 'VARCHAR' AND table_schema LIKE 'winter_days_%' AND table_schema != 'winter_days_bronze'"
    )
    assert not [c for c in con_tables if c["column_name"] == "customer_name"]
    leaks = []
    for c in con_tables:
        found = elt.rows(
            f'SELECT COUNT(*) AS n FROM "{c["table_schema"]}"."{c["table_name"]}" '
            f"""WHERE "{c["column_name"]}" LIKE '%Name of %' OR "{c["column_name"]}" LIKE '%@example.com%' """
            f"""OR "{c["column_name"]}" LIKE '%4111111111111111%'"""
        )
        if found[0]["n"]:
            leaks.append(c)
    assert leaks == []


def test_sales_quarantine_and_accounting(elt: LocalElt):
    export_day1(elt)
    export_day2(elt)
    export_day3(elt)
    elt.run_ok("sales", "accounting")
    quarantined = {r["row_identity"]: r for r in elt.rows("SELECT * FROM winter_days_staging.stg_sales_quarantine")}
    assert {k: v["reason"] for k, v in quarantined.items()} == {
        "doc-S4": "unparseable timestamp: sale_timestamp = the day before yesterday",
        "doc-S5": "invalid value: status = lost",
        "doc-S8": "wrong type: quantity",
        "doc-S9": "invalid value: contact_email_hashed is not a SHA-256 hex digest",
    }
    assert quarantined["doc-S8"]["source_file"] == f"gs://winter-days-lake/{DAY3}"
    assert '"quantity": "two"' in quarantined["doc-S8"]["raw_payload"]
    assert "the day before yesterday" in quarantined["doc-S4"]["raw_payload"]
    accounting = elt.rows("SELECT * FROM winter_days_staging.flow_row_accounting WHERE flow = 'sales'")[0]
    assert (
        accounting["rows_in_bronze"],
        accounting["rows_staged"],
        accounting["rows_quarantined"],
        accounting["duplicates_removed"],
    ) == (12, 5, 4, 3)


def test_dim_customer_one_row_per_customer(elt: LocalElt):
    export_day1(elt)
    export_day2(elt)
    export_day3(elt)
    elt.run_ok("sales")
    dim = {r["customer_id"]: r for r in elt.rows("SELECT * FROM winter_days_warehouse.dim_customer")}
    assert sorted(dim) == ["C1", "C2", "C4"]
    c1 = dim["C1"]
    assert (c1["region"], c1["first_purchase_at"], c1["last_purchase_at"], c1["last_completed_purchase_at"]) == (
        "East",
        utc("2024-04-01 10:00"),
        utc("2024-04-20 10:00"),
        utc("2024-04-20 10:00"),
    )
    assert (c1["order_count"], c1["completed_order_count"], c1["lifetime_value"]) == (2, 1, 50.0)
    assert c1["preferred_payment_method"] == "credit_card"  # a 1-1 tie goes to the first name
    assert c1["contact_email_hashed"] == sha("C1@example.com")
    c2 = dim["C2"]
    assert (c2["first_purchase_at"], c2["last_purchase_at"], c2["lifetime_value"], c2["preferred_payment_method"]) == (
        utc("2024-03-15 08:00"),
        utc("2024-04-25 12:00"),
        50.0,
        "gift_card",
    )
    c4 = dim["C4"]
    assert (c4["completed_order_count"], c4["lifetime_value"], c4["last_completed_purchase_at"]) == (0, 0.0, None)


def test_gold_keeps_a_name_pseudonym_and_a_label_and_no_name(elt: LocalElt):
    """Files exported before names were pseudonymised hold the name: it stays in bronze, and
    the customer's pseudonym comes with the next export of one of their sales."""
    legacy = "bronze/sales/export_date=2024-04-30/sales-20240430T230000Z-r0.parquet"
    elt.write_sales(
        legacy,
        [
            sale(
                "S0",
                "C7",
                "2024-04-29 10:00",
                seq=1,
                exported="2024-04-30 23:00",
                customer_name="Grace Hopper",
                customer_name_pseudonym=None,
            ),
        ],
    )
    export_day1(elt)
    elt.run_ok("sales")
    dim = {r["customer_id"]: r for r in elt.rows("SELECT * FROM winter_days_warehouse.dim_customer")}
    assert dim["C1"]["customer_name_pseudonym"] == TEST_PSEUDONYMS.name("Name of C1")
    assert (dim["C7"]["customer_name_pseudonym"], dim["C7"]["customer_label"]) == (None, "Customer 7")
    assert "S0" in {r["sale_id"] for r in elt.rows("SELECT sale_id FROM winter_days_staging.stg_sales")}
    # The name is nowhere past bronze.
    for column in elt.rows(
        "SELECT table_schema, table_name, column_name FROM information_schema.columns WHERE data_type = 'VARCHAR' "
        "AND table_schema IN ('winter_days_staging', 'winter_days_warehouse')"
    ):
        relation = f'"{column["table_schema"]}"."{column["table_name"]}"'
        hits = elt.rows(f"""SELECT COUNT(*) AS n FROM {relation} WHERE "{column["column_name"]}" LIKE '%Grace%'""")
        assert hits[0]["n"] == 0, column

    later = "bronze/sales/export_date=2024-05-04/sales-20240504T230000Z-r4.parquet"
    elt.write_sales(
        later,
        [
            sale(
                "S0", "C7", "2024-04-29 10:00", seq=20, exported="2024-05-04 23:00", customer_name_pseudonym="c7" * 32
            ),
        ],
    )
    elt.run_ok("sales")
    dim = {r["customer_id"]: r for r in elt.rows("SELECT * FROM winter_days_warehouse.dim_customer")}
    assert dim["C7"]["customer_name_pseudonym"] == "c7" * 32


def metrics(elt: LocalElt) -> dict[str, dict]:
    return {r["customer_id"]: r for r in elt.rows("SELECT * FROM winter_days_warehouse.agg_cust_metrics")}


def test_agg_cust_metrics_as_of_latest_sale(elt: LocalElt):
    export_day1(elt)
    export_day2(elt)
    export_day3(elt)
    write_clicks(elt)
    elt.run_ok("sales")
    m = metrics(elt)
    assert sorted(m) == ["C1", "C2", "C4"]
    assert {r["as_of"] for r in m.values()} == {utc("2024-05-03 09:00")}
    c1 = m["C1"]
    assert {
        k: c1[k]
        for k in (
            "recency_days",
            "days_since_last_completed",
            "tenure_days",
            "frequency",
            "order_count",
            "monetary_value",
            "avg_order_value",
            "completed_orders_30d",
            "monetary_value_30d",
            "completed_orders_90d",
        )
    } == {
        "recency_days": 12,
        "days_since_last_completed": 12,
        "tenure_days": 31,
        "frequency": 1,
        "order_count": 2,
        "monetary_value": 50.0,
        "avg_order_value": 50.0,
        "completed_orders_30d": 1,
        "monetary_value_30d": 50.0,
        "completed_orders_90d": 1,
    }
    assert (c1["refund_rate"], c1["cancellation_rate"]) == (0.5, 0.0)
    assert (c1["share_credit_card"], c1["share_paypal"], c1["share_gift_card"]) == (0.5, 0.5, 0.0)
    # Clicks up to as_of only: the 2024-05-04 session is in the future of as_of.
    assert {
        k: c1[k]
        for k in (
            "sessions_total",
            "sessions_30d",
            "events_30d",
            "product_views_30d",
            "bounce_rate_30d",
            "active_days_30d",
            "days_since_last_visit",
        )
    } == {
        "sessions_total": 2,
        "sessions_30d": 2,
        "events_30d": 3,
        "product_views_30d": 1,
        "bounce_rate_30d": 0.5,
        "active_days_30d": 2,
        "days_since_last_visit": 0,
    }
    c2 = m["C2"]
    assert (c2["recency_days"], c2["tenure_days"], c2["frequency"], c2["avg_order_value"]) == (7, 49, 2, 25.0)
    assert (c2["completed_orders_30d"], c2["monetary_value_30d"], c2["completed_orders_90d"]) == (1, 30.0, 2)
    assert (c2["sessions_total"], c2["sessions_30d"], c2["days_since_last_visit"]) == (1, 0, 62)
    c4 = m["C4"]
    assert (c4["recency_days"], c4["tenure_days"], c4["frequency"], c4["monetary_value"], c4["avg_order_value"]) == (
        0,
        0,
        0,
        0.0,
        0.0,
    )
    assert (c4["cancellation_rate"], c4["share_bank_transfer"], c4["days_since_last_completed"]) == (1.0, 1.0, None)
    assert (c4["sessions_total"], c4["days_since_last_visit"]) == (0, None)


def test_agg_cust_metrics_as_of_a_past_date_uses_nothing_after_it(elt: LocalElt):
    export_day1(elt)
    export_day2(elt)
    export_day3(elt)
    write_clicks(elt)
    elt.run_ok("sales", metrics_as_of="2024-04-21 00:00:00")
    m = metrics(elt)
    assert sorted(m) == ["C1", "C2"]  # C4's first sale is after as_of
    assert {r["as_of"] for r in m.values()} == {utc("2024-04-21 00:00")}
    c1 = m["C1"]
    assert (c1["recency_days"], c1["tenure_days"], c1["order_count"]) == (0, 19, 2)
    assert (c1["sessions_total"], c1["days_since_last_visit"]) == (0, None)
    c2 = m["C2"]
    assert (c2["recency_days"], c2["frequency"], c2["monetary_value"], c2["sessions_total"]) == (36, 1, 20.0, 1)


def test_a_session_open_across_the_window_counts_its_events_up_to_as_of_only(elt: LocalElt):
    export_day1(elt)
    export_day2(elt)
    export_day3(elt)
    write_clicks(elt)
    # One session of C2's that runs for six weeks: begun before the 30-day window of
    # 2024-04-21, still going after it.
    elt.write_lines(
        "bronze/clickstream/load_date=2024-05-01/clickstream-2024-05-01.jsonl",
        [
            click("L1", "L", "C2", "page_view", "2024-03-20T12:00:00.000Z"),
            click("L2", "L", "C2", "checkout", "2024-05-01T12:00:00.000Z"),
        ],
    )
    elt.run_ok("sales", metrics_as_of="2024-04-21 00:00:00")
    c2 = metrics(elt)["C2"]
    # Its latest event up to as_of is the one of 2024-03-20, 31 days and 12 hours before.
    assert (c2["sessions_total"], c2["sessions_30d"], c2["events_30d"], c2["days_since_last_visit"]) == (2, 0, 0, 31)
    elt.run_ok("sales")
    c2 = metrics(elt)["C2"]
    assert (
        c2["sessions_total"],
        c2["sessions_30d"],
        c2["events_30d"],
        c2["checkouts_30d"],
        c2["days_since_last_visit"],
    ) == (2, 1, 1, 1, 1)


def test_customer_assertion_fails_on_an_orphan_sale_and_nothing_is_published(elt: LocalElt):
    export_day1(elt)
    elt.run_ok("sales")
    # Break the published dimension behind the models' back, then audit it.
    from winter_days.elt.engines.duckdb.executor import open_session

    con = open_session(elt.warehouse)
    con.execute("DELETE FROM winter_days_warehouse.dim_customer WHERE customer_id = 'C2'")
    con.close()
    published = elt.warehouse.read_bytes()

    from winter_days.elt.backend import InvocationConfig, Target

    assertion = Target("", "winter_days_assertions", "assert_fct_sales_customers_in_dim")
    from winter_days.elt.engines.duckdb.executor import DuckDBExecutor

    result = DuckDBExecutor(elt.warehouse, elt.lake).run(elt.compile(), InvocationConfig(included_targets=(assertion,)))
    assert result.state.value == "FAILED" and not result.published
    (action,) = result.actions
    assert action.state.value == "FAILED"
    assert [dict(r) for r in action.failing_rows_sample] == [{"customer_id": "C2", "sales_without_customer": 1}]
    assert elt.warehouse.read_bytes() == published
