from __future__ import annotations

import json
import re

import pyarrow.parquet as pq
from click.testing import CliRunner

from winter_days.cli import main
from winter_days.config import load_settings
from winter_days.platform import build_platform
from winter_days.records import SALES_COLLECTION

CARD_NUMBER = re.compile(rb"(?<![0-9a-f.])[0-9]{13,19}(?![0-9a-f])")


def invoke(*args):
    result = CliRunner().invoke(main, ["generate", *args], catch_exceptions=False)
    return result


def test_generate_writes_the_three_flows_and_nothing_raw(tmp_path, monkeypatch):
    monkeypatch.setenv("WINTER_DAYS_HOME", str(tmp_path))
    monkeypatch.delenv("WINTER_DAYS_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    for day in ("2026-03-01", "2026-03-02"):
        result = invoke("sales", "--date", day)
        assert result.exit_code == 0, result.output
        assert "upserted into collection winter_sales" in result.output
    result = invoke("sales", "--date", "2026-03-03", "--count", "400")
    assert "400 documents" in result.output
    settings = load_settings()
    platform = build_platform(settings)
    store, lake = platform.document_store(), platform.lake
    total = store.count(SALES_COLLECTION)
    assert 10 + 400 <= total <= 40 + 400
    assert invoke("sales", "--date", "2026-03-03", "--count", "400").exit_code == 0
    assert store.count(SALES_COLLECTION) == total  # a rerun upserts, never duplicates

    result = invoke("clickstream", "--date", "2026-03-01", "--count", "2500")
    assert result.exit_code == 0 and "2500 events" in result.output
    assert invoke("startups", "--date", "2026-03-06").output.startswith("startups 2026-03-06: full load")
    assert "delta load (changes since 2026-03-06)" in invoke("startups", "--date", "2026-03-13").output
    bad = invoke("clickstream", "--date", "2026-03-01", "--count", "10")
    assert bad.exit_code != 0 and "already exists with different content" in bad.output
    assert invoke("sales", "--date", "03/01/2026").exit_code != 0

    keys = lake.list("")
    assert any(k.startswith("bronze/clickstream/load_date=2026-03-01/") for k in keys)
    truth = pq.read_table(lake.local_path("ground_truth/churn/as_of=2026-03-01/churn-h30-2026-03-01.parquet"))
    assert truth.num_rows == settings.customers
    for key in keys:
        data = lake.get(key)
        if key.endswith(".parquet"):  # compressed bytes are arbitrary: scan the values
            data = json.dumps(pq.read_table(lake.local_path(key)).to_pylist(), default=str).encode()
        assert b"@" not in data and not CARD_NUMBER.search(data), key
    for _, doc in store.stream(SALES_COLLECTION):
        doc.pop("sale_timestamp")  # epoch-millisecond legacy values are 13 digits by nature
        text = json.dumps(doc).encode()
        assert b"@" not in text and not CARD_NUMBER.search(text)
    # The SQLite file's own pages contain '@' bytes; look for anything shaped like an address.
    assert not re.search(rb"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+\.[A-Za-z.]{2,}", settings.document_store_path.read_bytes())
