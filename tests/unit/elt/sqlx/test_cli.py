"""`winter-days elt compile`: JSON graph, readable summary, and file:line errors."""

from __future__ import annotations

import json

from click.testing import CliRunner

from winter_days.cli import main


def test_compile_json_and_summary(project, settings):
    root = project(
        {
            "definitions/a.sqlx": 'config { type: "table", assertions: { nonNull: "x" } }\nSELECT 1 AS x\n',
            "definitions/b.sqlx": 'config { type: "view" }\nSELECT * FROM ${ref("a")}\n',
        }
    )
    runner = CliRunner()
    result = runner.invoke(main, ["elt", "compile", "--json", "--project", str(root), "--vars", "k=v"])
    assert result.exit_code == 0, result.output
    graph = json.loads(result.output)
    assert [t["name"] for t in graph["targets"]] == ["wh_a_assertions_rowConditions", "a", "b"]
    # The project's own vars, the settings' (where the lake and the datasets are), then --vars.
    assert graph["projectConfig"]["vars"] == {
        "stage": "staging",
        "lake_bucket": "winter-days-lake",
        "staging_dataset": "winter_days_staging",
        "warehouse_dataset": "winter_days_warehouse",
        "bronze_dataset": "winter_days_bronze",
        "k": "v",
    }
    summary = runner.invoke(main, ["elt", "compile", "--project", str(root)])
    assert summary.exit_code == 0
    assert "3 actions, 2 dependency edges" in summary.output and "table: 1" in summary.output


def test_compile_errors_exit_non_zero_with_locations(project, settings):
    root = project({"definitions/a.sqlx": 'config { type: "view" }\n\nSELECT * FROM ${ref("ghost")}\n'})
    result = CliRunner().invoke(main, ["elt", "compile", "--project", str(root)])
    assert result.exit_code == 1
    assert 'definitions/a.sqlx:3: Could not resolve "ghost"' in result.output
