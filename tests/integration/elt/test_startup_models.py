"""Golden tests of the startup models: a full load then two deltas build dim_startup's
history (SCD type 2) without losing earlier states; bad lines are quarantined and counted."""

from __future__ import annotations

import pytest
from support.elt_models import LocalElt, startup, utc

pytestmark = pytest.mark.slow

FULL = "bronze/startups/load_date=2024-05-01/startups-2024-05-01.jsonl"
DELTA1 = "bronze/startups/load_date=2024-05-08/startups-2024-05-08.jsonl"
DELTA2 = "bronze/startups/load_date=2024-05-15/startups-2024-05-15.jsonl"


def full_load(elt: LocalElt) -> None:
    elt.write_lines(
        FULL,
        [
            startup("ST1", "2024-05-01T00:00:00Z", "full"),
            startup("ST2", "2024-05-01T00:00:00Z", "full", sector="ai"),
            startup("ST3", "2024-05-01T00:00:00Z", "full", sector="climate"),
            startup("ST9", "2024-05-01T00:00:00Z", "full", founded_year="nineteen"),
        ],
    )


def first_delta(elt: LocalElt) -> None:
    elt.write_lines(
        DELTA1,
        [
            startup(
                "ST1",
                "2024-05-07T12:00:00Z",
                "delta",
                funding_stage="series_a",
                funding_stage_score=3,
                valuation_usd=40_000_000.0,
                valuation_bucket="10m_100m",
            ),
            # Sent again with a new updated_at but the same state: not a new version.
            startup("ST2", "2024-05-07T12:00:00Z", "delta", sector="ai"),
            startup("ST4", "2024-05-06T00:00:00Z", "delta", sector="biotech"),
            startup("ST5", "not a time", "delta"),
        ],
    )


def second_delta(elt: LocalElt) -> None:
    elt.write_lines(
        DELTA2,
        [
            startup(
                "ST1",
                "2024-05-14T00:00:00Z",
                "delta",
                funding_stage="series_a",
                funding_stage_score=3,
                valuation_usd=40_000_000.0,
                valuation_bucket="10m_100m",
                is_active=False,
            ),
            # The full-load state of ST3, delivered twice.
            startup("ST3", "2024-05-01T00:00:00Z", "full", sector="climate"),
        ],
    )


def history(elt: LocalElt) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in elt.rows("SELECT * FROM winter_days_warehouse.dim_startup ORDER BY startup_id, version"):
        out.setdefault(r["startup_id"], []).append(r)
    return out


def test_dim_startup_keeps_every_state_as_deltas_arrive(elt: LocalElt):
    full_load(elt)
    elt.run_ok("startup")
    after_full = history(elt)
    assert sorted(after_full) == ["ST1", "ST2", "ST3"]
    assert all(len(v) == 1 and v[0]["is_current"] and v[0]["valid_to"] is None for v in after_full.values())

    first_delta(elt)
    elt.run_ok("startup")
    second_delta(elt)
    elt.run_ok("startup")
    h = history(elt)
    assert sorted(h) == ["ST1", "ST2", "ST3", "ST4"]
    st1 = [
        (v["version"], v["funding_stage"], v["is_active"], v["valid_from"], v["valid_to"], v["is_current"])
        for v in h["ST1"]
    ]
    assert st1 == [
        (1, "seed", True, utc("2024-05-01 00:00"), utc("2024-05-07 12:00"), False),
        (2, "series_a", True, utc("2024-05-07 12:00"), utc("2024-05-14 00:00"), False),
        (3, "series_a", False, utc("2024-05-14 00:00"), None, True),
    ]
    assert h["ST1"][1]["valuation_bucket"] == "10m_100m" and h["ST1"][0]["valuation_bucket"] == "under_10m"
    assert [(v["version"], v["valid_from"], v["is_current"]) for v in h["ST2"]] == [(1, utc("2024-05-01 00:00"), True)]
    assert len(h["ST3"]) == 1 and h["ST4"][0]["loaded_by"] == "delta"
    current = elt.rows("SELECT COUNT(*) AS n FROM winter_days_warehouse.dim_startup WHERE is_current")
    assert current == [{"n": 4}]


def test_startup_quarantine_and_accounting(elt: LocalElt):
    full_load(elt)
    first_delta(elt)
    second_delta(elt)
    elt.run_ok("startup", "accounting")
    quarantined = elt.rows("SELECT * FROM winter_days_staging.stg_startup_quarantine ORDER BY row_identity")
    assert [(q["row_identity"], q["reason"], q["source_file"]) for q in quarantined] == [
        ("ST5", "unparseable timestamp: updated_at = not a time", f"gs://winter-days-lake/{DELTA1}"),
        ("ST9", "wrong type: founded_year = nineteen is not an integer", f"gs://winter-days-lake/{FULL}"),
    ]
    assert '"founded_year": "nineteen"' in quarantined[1]["raw_payload"]
    staged = elt.rows("SELECT COUNT(*) AS n FROM winter_days_staging.stg_startup")
    assert staged == [{"n": 7}]
    accounting = elt.rows("SELECT * FROM winter_days_staging.flow_row_accounting WHERE flow = 'startup'")[0]
    assert (
        accounting["rows_in_bronze"],
        accounting["rows_staged"],
        accounting["rows_quarantined"],
        accounting["duplicates_removed"],
    ) == (10, 7, 2, 1)


def test_accounting_assertion_fails_when_a_staged_row_goes_missing(elt: LocalElt):
    full_load(elt)
    elt.run_ok("startup", "accounting")
    from winter_days.elt.backend import InvocationConfig, Target
    from winter_days.elt.engines.duckdb.executor import DuckDBExecutor, open_session

    con = open_session(elt.warehouse)
    con.execute("DELETE FROM winter_days_staging.stg_startup WHERE startup_id = 'ST2'")
    con.close()
    published = elt.warehouse.read_bytes()
    targets = (
        Target("", "winter_days_staging", "flow_row_accounting"),
        Target("", "winter_days_assertions", "assert_flow_rows_accounted"),
    )
    result = DuckDBExecutor(elt.warehouse, elt.lake).run(elt.compile(), InvocationConfig(included_targets=targets))
    assert result.state.value == "FAILED" and not result.published
    failed = [a for a in result.actions if a.state.value == "FAILED"]
    assert [str(a.target.name) for a in failed] == ["assert_flow_rows_accounted"]
    sample = [dict(r) for r in failed[0].failing_rows_sample]
    assert [(r["flow"], r["rows_in_bronze"], r["rows_staged"], r["rows_unaccounted"]) for r in sample] == [
        ("startup", 4, 2, 1)
    ]
    assert elt.warehouse.read_bytes() == published
