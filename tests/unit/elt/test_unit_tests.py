"""`winter-days elt test`: the project's unit tests pass on DuckDB, and a model broken on
purpose fails its test with a row diff and a non-zero exit."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from winter_days.cli import main
from winter_days.elt.unit_tests import compare

REPO = Path(__file__).resolve().parents[3]
DATAFORM = REPO / "dataform"


def _copy_of_the_project(tmp_path: Path) -> Path:
    copy = tmp_path / "dataform"
    shutil.copytree(DATAFORM, copy, ignore=shutil.ignore_patterns("node_modules"))
    return copy


def test_the_projects_own_unit_tests_pass(settings):
    result = CliRunner().invoke(main, ["elt", "test", "--project", str(DATAFORM)])
    assert result.exit_code == 0, result.output
    for name in ("test_stg_sales_checked", "test_stg_click", "test_agg_cust_metrics", "test_fct_customer_sessions"):
        assert f"PASS  {name}" in result.output
    assert "4 passed, 0 failed" in result.output


def test_a_model_broken_on_purpose_fails_with_a_row_diff(settings, tmp_path):
    project = _copy_of_the_project(tmp_path)
    model = project / "definitions" / "clickstream" / "stg_click.sqlx"
    model.write_text(model.read_text().replace("WHEN 'purchase' THEN 5", "WHEN 'purchase' THEN 4"))
    result = CliRunner().invoke(main, ["elt", "test", "--project", str(project)])
    assert result.exit_code == 1
    assert "FAIL  test_stg_click  (unit_tests/test_stg_click.sqlx)" in result.output
    assert "1 expected row(s) missing, 1 unexpected row(s)." in result.output
    assert '- event_id="E1"' in result.output and '+ event_id="E1"' in result.output
    assert "differs in funnel_step: expected 5, saw 4" in result.output
    assert "3 passed, 1 failed" in result.output


def test_only_the_named_tests_run_and_a_compile_error_is_reported(settings, tmp_path):
    project = _copy_of_the_project(tmp_path)
    result = CliRunner().invoke(main, ["elt", "test", "--project", str(project), "--tests", "test_stg_click"])
    assert result.exit_code == 0 and "1 passed, 0 failed" in result.output
    (project / "unit_tests" / "test_stg_click.sqlx").write_text(
        'config { type: "test", dataset: "stg_click" }\nSELECT 1 AS x\n'
    )
    broken = CliRunner().invoke(main, ["elt", "test", "--project", str(project)])
    assert broken.exit_code == 1
    assert "unit_tests/test_stg_click.sqlx:1: Dataset" in broken.output and "could not be found" in broken.output


def test_rows_compare_as_dataforms_test_runner_compares_them():
    # Ordered: a row out of place is named with its column, as Dataform says it.
    messages, _ = compare(["a"], [(2,), (1,)], ["A"], [(1,), (2,)], ordered=True)
    assert messages == [
        'For row 0 and column "A": expected 1, but saw 2.',
        'For row 1 and column "A": expected 2, but saw 1.',
    ]
    # Unordered: the same rows in another order are equal; numbers compare by value.
    assert compare(["a", "b"], [(2, 1.0), (1, "x")], ["b", "a"], [("x", 1), (1, 2)], ordered=False) == ([], [])
    assert compare(["a"], [(1,)], ["a"], [(1,), (2,)], ordered=False)[0] == ["Expected 2 rows, but saw 1 rows."]
    assert compare(["a"], [(1,)], ["c"], [(1,)], ordered=False)[0] == ['Expected columns "c", but saw "a".']
