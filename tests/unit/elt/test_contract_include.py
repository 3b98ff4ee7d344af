"""dataform/includes/contract.js is the record contract rendered as SQL: if records.py
changes and the file is not generated again, staging would apply yesterday's rules."""

from __future__ import annotations

import json

import quickjs

from winter_days.records import CONTRACTS, MAX_LINE_CHARS
from winter_days.records.sql import CONTRACT_JS, main, render_contract_js


def test_the_committed_include_is_the_contract_rendered_now():
    assert CONTRACT_JS.read_text() == render_contract_js(), (
        f"{CONTRACT_JS} is out of date with winter_days/records.py: run `python -m winter_days.records.sql`"
    )


def test_the_check_mode_says_whether_the_include_is_current(tmp_path, monkeypatch, capsys):
    stale = tmp_path / "contract.js"
    stale.write_text("// an older contract\n")
    monkeypatch.setattr("winter_days.records.sql.CONTRACT_JS", stale)
    assert main(["--check"]) == 1 and "out of date" in capsys.readouterr().out
    assert main([]) == 0 and main(["--check"]) == 0


def test_the_include_is_javascript_that_exports_each_flows_sql():
    context = quickjs.Context()
    context.eval("var module = {exports: {}};")
    context.eval(render_contract_js())
    exported = json.loads(context.eval("JSON.stringify(module.exports)"))
    assert set(exported) == set(CONTRACTS) | {"limits"}
    assert exported["limits"]["maxLineChars"] == MAX_LINE_CHARS
    for flow, contract in CONTRACTS.items():
        reason = exported[flow]["rejectReason"]
        # Every field has its rules in the SQL, and the SQL keeps BigQuery's escapes.
        assert all(rule.name in reason for rule in contract.rules), flow
        assert "'\\uFFFD'" in reason and "r'[\\x00-\\x1f\\x7f]'" in reason
