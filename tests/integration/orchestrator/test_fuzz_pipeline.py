"""Over ten thousand mangled records land in all three flows of a running installation; one
run of the real pipeline (export, ELT, ML) succeeds, and every record is accounted for
exactly: staged, quarantined with the reason the record contract gives, or counted as a
duplicate. Nothing a producer writes can block a run."""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import duckdb
import pyarrow.parquet as pq
import pytest
from support.orchestrator_world import AUTH, service_app
from support.record_mutations import json_line, mangle_line, mutate_record, valid_click, valid_sale, valid_startup

from winter_days.platform import build_platform
from winter_days.records import CONTRACTS, SALES_COLLECTION
from winter_days.records.checks import json_value_text, line_errors, parse_iso_timestamp, reading_errors

pytestmark = pytest.mark.slow

SEED = 20261206
DAY = "2026-04-11"  # the day after the simulated world's last one
COUNTS = {"sales": 3_000, "clickstream": 5_000, "startups": 2_000}
FILES = {
    "clickstream": [f"bronze/clickstream/load_date={DAY}/fuzz-{part}.jsonl" for part in range(2)],
    "startups": [f"bronze/startups/load_date={DAY}/fuzz-0.jsonl"],
}
VALID = {"sales": valid_sale, "clickstream": valid_click, "startups": valid_startup}
ACCOUNTING_FLOW = {"sales": "sales", "clickstream": "clickstream", "startups": "startup"}
QUARANTINE = {
    "sales": "stg_sales_quarantine",
    "clickstream": "stg_click_quarantine",
    "startups": "stg_startup_quarantine",
}


def mangled(flow: str, rng: random.Random) -> list:
    """COUNTS[flow] records, most of them mangled, some repeating an earlier key."""
    records, keys = [], []
    for i in range(COUNTS[flow]):
        record = VALID[flow](rng, i, DAY)
        keys.append(record[CONTRACTS[flow].key])
        records.append(mutate_record(rng, record, flow, keys) if rng.random() < 0.6 else record)
    return records


def land_lines(settings, flow: str, rng: random.Random) -> list[bytes]:
    lines = []
    for record in mangled(flow, rng):
        line = json_line(record)
        lines.append(mangle_line(rng, line) if rng.random() < 0.15 else line)
    lines = [line for line in lines if line]  # a line without bytes is no row on either engine
    lake = build_platform(settings).lake
    parts = FILES[flow]
    for n, key in enumerate(parts):
        lake.put(key, b"".join(line + b"\n" for line in lines[n :: len(parts)]))
    return lines


def storable(value):
    """The SQLite store refuses NaN and infinities (JSON has none): the most extreme finite
    number stands in for them."""
    if isinstance(value, float) and not math.isfinite(value):
        return math.copysign(1.7976931348623157e308, value)
    return value


def land_sales(settings, rng: random.Random) -> list[str]:
    store = build_platform(settings).document_store()
    documents = [{name: storable(value) for name, value in doc.items()} for doc in mangled("sales", rng)]
    ids = [f"fuzz-{i:05d}" for i in range(len(documents))]
    store.put_many(SALES_COLLECTION, list(zip(ids, documents, strict=False)))
    store.close()
    return ids


def expected_lines(flow: str, lines: list[bytes]) -> tuple[Counter, set]:
    """The reasons the contract gives the lines, and the keys of the valid ones."""
    loaded_at = datetime.fromisoformat(DAY).replace(tzinfo=UTC) + timedelta(days=1)
    reasons: Counter = Counter()
    keys = set()
    for raw in lines:
        text = raw.decode("utf-8", "replace")
        errors = line_errors(flow, text, loaded_at if flow == "startups" else None)
        if errors:
            reasons[kind(errors[0])] += 1
        else:
            # Keys as staging reads them: a field's text, an instant for updated_at.
            record = json.loads(text)
            key = json_value_text(record[CONTRACTS[flow].key])
            keys.add((key, parse_iso_timestamp(record["updated_at"])) if flow == "startups" else key)
    return reasons, keys


def kind(reason: str) -> str:
    return reason.split(" = ")[0]


def accounting(settings) -> dict[str, tuple[int, int, int, int]]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        rows = con.execute(
            "SELECT flow, rows_in_bronze, rows_staged, rows_quarantined, duplicates_removed"
            " FROM winter_days_staging.flow_row_accounting"
        ).fetchall()
    return {flow: tuple(counts) for flow, *counts in rows}


def quarantined_reasons(settings, flow: str) -> Counter:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        rows = con.execute(
            f"SELECT reason FROM winter_days_staging.{QUARANTINE[flow]}"
            f" WHERE quarantined_at = (SELECT MAX(quarantined_at) FROM winter_days_staging.{QUARANTINE[flow]})"
        ).fetchall()
    return Counter(kind(reason) for (reason,) in rows)


def test_ten_thousand_mangled_records_are_each_accounted_for_and_the_run_succeeds(published):
    rng = random.Random(SEED)
    document_ids = land_sales(published, rng)
    lines = {flow: land_lines(published, flow, rng) for flow in ("clickstream", "startups")}
    assert len(document_ids) + sum(map(len, lines.values())) >= 10_000
    before = accounting(published)

    response = service_app(published).test_client().post("/run", headers=AUTH)

    body = response.get_json()
    assert response.status_code == 200 and body["status"] == "succeeded", body
    assert [s["status"] for s in body["steps"]] == ["succeeded"] * 5
    after = accounting(published)
    delta = {flow: tuple(a - b for a, b in zip(after[flow], before[flow], strict=False)) for flow in after}
    # in = staged + quarantined + duplicates, cumulative and for this run's records alone.
    assert all(
        bronze == staged + quarantined + duplicates for bronze, staged, quarantined, duplicates in after.values()
    )

    for flow in ("clickstream", "startups"):
        reasons, valid_keys = expected_lines(flow, lines[flow])
        bronze, staged, quarantined, duplicates = delta[ACCOUNTING_FLOW[flow]]
        assert bronze == len(lines[flow]), flow
        assert quarantined == sum(reasons.values()) and quarantined_reasons(published, flow) == reasons, flow
        assert staged == len(valid_keys) and staged + duplicates == bronze - quarantined, flow

    store = build_platform(published).document_store()
    exported = pq.read_table(build_platform(published).lake.local_path(body["steps"][0]["counts"]["key"]))
    exported_at = exported.column("exported_at")[0].as_py()
    documents = [store.get(SALES_COLLECTION, doc_id) for doc_id in document_ids]
    store.close()
    verdicts = [reading_errors("sales", doc, exported_at) for doc in documents]
    reasons = Counter(kind(errors[0]) for errors in verdicts if errors)
    valid_ids = {doc["sale_id"] for doc, errors in zip(documents, verdicts, strict=False) if not errors}
    bronze, staged, quarantined, duplicates = delta["sales"]
    assert exported.num_rows == bronze == len(documents)
    assert quarantined == sum(reasons.values()) and quarantined_reasons(published, "sales") == reasons
    assert staged == len(valid_ids) and staged + duplicates == bronze - quarantined
    # Every class of damage was among them, and the ML step read what they left in gold.
    assert {
        "unparseable JSON line",
        "invalid text: the line holds U+FFFD, the mark of bytes that were not UTF-8",
        "not a JSON object",
    } <= set(expected_lines("clickstream", lines["clickstream"])[0])
    assert body["steps"][4]["counts"]["predictions_written"] > 0
