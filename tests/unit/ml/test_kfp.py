from __future__ import annotations

import json
import subprocess
import sys
import warnings

import duckdb
import pytest
from click.testing import CliRunner

from winter_days.cli import main
from winter_days.ml.steps import STEP_ORDER
from winter_days.platform import build_platform

kfp_pipeline = pytest.importorskip("winter_days.ml.kfp_pipeline")
pytest.importorskip("kfp", reason="kfp comes with the [gcp] extra")


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    path = kfp_pipeline.compile_pipeline(tmp_path_factory.mktemp("kfp") / "customer_churn_pipeline.json", "img:1")
    return json.loads(path.read_text())


def test_the_spec_made_in_memory_is_what_kfps_compiler_writes(spec, tmp_path):
    from kfp import compiler

    path = tmp_path / "customer_churn_pipeline.json"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        compiler.Compiler().compile(kfp_pipeline.build_pipeline("img:1"), package_path=str(path))
    assert json.loads(path.read_text()) == spec
    assert json.loads(kfp_pipeline.pipeline_spec_json("img:1")) == spec


def test_compiled_dag_follows_the_in_process_step_order(spec):
    dag = kfp_pipeline.pipeline_dag(spec)
    tasks = [kfp_pipeline.task_name(step) for step in STEP_ORDER]
    assert set(dag) == set(tasks)
    assert kfp_pipeline.execution_order(dag) == tasks
    for before, after in zip(tasks, tasks[1:], strict=False):
        assert dag[after] == [before]
    assert dag[tasks[0]] == []


def test_each_component_is_a_thin_call_into_the_package(spec):
    executors = spec["deploymentSpec"]["executors"]
    assert len(executors) == len(STEP_ORDER)
    for step in STEP_ORDER:
        container = executors[f"exec-{kfp_pipeline.task_name(step)}"]["container"]
        source = " ".join(container["command"])
        assert "from winter_days.ml.steps import component" in source and f'component("{step}", settings_json' in source
        assert "pip install" not in source  # the image already holds the package
        assert container["image"] == "img:1"
    params = spec["root"]["inputDefinitions"]["parameters"]
    assert set(params) == {"settings_json", "options_json", "run_id", "as_of", "mode"}
    assert "defaultValue" not in params["settings_json"]
    assert params["mode"]["defaultValue"] == "auto"  # a caller that does not say trains when due


def test_execution_order_rejects_a_cycle():
    with pytest.raises(ValueError, match="cycle"):
        kfp_pipeline.execution_order({"a": ["b"], "b": ["a"]})


def test_cli_compile_writes_the_spec(settings, tmp_path):
    out = tmp_path / "customer_churn_pipeline.json"
    result = CliRunner().invoke(main, ["ml", "compile", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "build-features -> train-models -> evaluate-models" in result.output
    assert json.loads(out.read_text())["pipelineInfo"]["name"] == "customer-churn"


def test_the_core_never_imports_kfp():
    code = (
        "import sys, winter_days.ml, winter_days.ml.cli, winter_days.ml.steps, winter_days.cli; "
        "sys.exit(1 if any(m == 'kfp' or m.startswith('kfp.') for m in sys.modules) else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


@pytest.mark.slow
def test_kfp_local_runner_gives_the_same_model_and_predictions(simulated_settings, tmp_path):
    from dataclasses import replace

    from winter_days.ml import PipelineOptions, TrainingConfig, run_churn_pipeline

    options = PipelineOptions(training=TrainingConfig(max_iter=60))
    other_home = tmp_path / "other"
    twin = replace(
        simulated_settings,
        home=other_home,
        lake_uri=(other_home / "lake").as_uri(),
        warehouse_path=other_home / "warehouse.duckdb",
    )
    other_home.mkdir()
    twin.warehouse_path.write_bytes(simulated_settings.warehouse_path.read_bytes())

    local = run_churn_pipeline(build_platform(simulated_settings), runner="in-process", options=options, mode="train")
    kfp = run_churn_pipeline(build_platform(twin), runner="kfp-local", options=options, mode="train")
    assert kfp["runner"] == "kfp-local"
    assert kfp["version"] == local["version"] and kfp["metrics"] == local["metrics"]
    assert kfp["promoted"] and kfp["predictions_written"] == local["predictions_written"]
    # Score only: the training components pass the summary on, the champion scores.
    scored = run_churn_pipeline(build_platform(twin), runner="kfp-local", options=options, mode="score")
    assert not scored["trained"] and scored["champion"] == kfp["version"]

    def scores(s):
        with duckdb.connect(str(s.warehouse_path), read_only=True) as con:
            return con.execute(
                "SELECT customer_id, churn_probability, risk_tier, model_version, as_of_date "
                "FROM winter_days_warehouse.fact_predictions_churn ORDER BY customer_id"
            ).fetchall()

    assert scores(twin) == scores(simulated_settings)
