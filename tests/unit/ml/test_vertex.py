"""Submitting the churn pipeline to Vertex AI, recorded at the SDK boundary by a fake PipelineJob."""

from __future__ import annotations

import inspect
import json
import re
import sys
from pathlib import Path

import pytest

from winter_days.config import ConfigError, load_settings
from winter_days.ml.vertex import (
    VertexJobError,
    VertexRunner,
    VertexSubmitError,
    VertexUnavailableError,
    pipeline_job_id,
    sanitise_label_value,
    submit_churn_pipeline,
    vertex_target,
)
from winter_days.stores import LocalLake

PIPELINE_SA = "churn-pipeline@winter-proj.iam.gserviceaccount.com"
IMAGE = "europe-west1-docker.pkg.dev/winter-proj/winter-days/winter-days:0.1.0"
RUN_ID = "20260301T020000Z-2026-02-28-a1b2c3"
LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")
# What the SDK is handed as credentials (Application Default Credentials unless given).
CREDENTIALS = object()
# The inputs `winter-days ml compile` declares (customer_churn_pipeline.json, root.inputDefinitions).
SPEC = {
    "pipelineInfo": {"name": "customer-churn"},
    "root": {
        "inputDefinitions": {
            "parameters": {
                "as_of": {"defaultValue": "", "isOptional": True, "parameterType": "STRING"},
                "mode": {"defaultValue": "auto", "isOptional": True, "parameterType": "STRING"},
                "options_json": {"defaultValue": "{}", "isOptional": True, "parameterType": "STRING"},
                "run_id": {"defaultValue": "", "isOptional": True, "parameterType": "STRING"},
                "settings_json": {"parameterType": "STRING"},
            }
        }
    },
    "schemaVersion": "2.1.0",
}


class RecordingPipelineJob:
    """Stands in for aiplatform.PipelineJob: records the constructor and the submit call, and
    reports the states a test scripts (PipelineState names) as the job is polled."""

    created: list[RecordingPipelineJob] = []
    fail_with: Exception | None = None
    states: list[str] = ["PIPELINE_STATE_SUCCEEDED"]

    def __init__(self, **kwargs):
        self.kwargs = kwargs
        self.submitted: list[dict] = []
        self.ran = False
        self.cancelled = False
        self._states = list(RecordingPipelineJob.states)
        RecordingPipelineJob.created.append(self)

    @property
    def state(self):
        return self._states.pop(0) if len(self._states) > 1 else self._states[0]

    def cancel(self):
        self.cancelled = True

    def submit(self, **kwargs):
        if RecordingPipelineJob.fail_with is not None:
            raise RecordingPipelineJob.fail_with
        self.submitted.append(kwargs)
        self.resource_name = f"projects/123/locations/{self.kwargs['location']}/pipelineJobs/{self.kwargs['job_id']}"

    def run(self, **kwargs):  # blocking: the orchestrator must never call it
        self.ran = True


@pytest.fixture(autouse=True)
def fresh_recorder():
    RecordingPipelineJob.created = []
    RecordingPipelineJob.fail_with = None
    RecordingPipelineJob.states = ["PIPELINE_STATE_SUCCEEDED"]


BASE = {
    "WINTER_DAYS_PROFILE": "gcp",
    "WINTER_DAYS_GCP_PROJECT_ID": "winter-proj",
    "WINTER_DAYS_VERTEX_SERVICE_ACCOUNT": PIPELINE_SA,
    "WINTER_DAYS_VERTEX_PIPELINE_ROOT": "gs://winter-lake/pipeline_root/",
    "WINTER_DAYS_VERTEX_IMAGE": IMAGE,
}


def gcp_settings(tmp_path, **changes):
    environ = {**BASE, "WINTER_DAYS_LAKE_URI": (tmp_path / "lake").as_uri()}
    for name, value in changes.items():
        environ.pop(name, None)
        if value is not None:
            environ[name] = value
    return load_settings(environ=environ, cwd=tmp_path)


@pytest.fixture
def settings(tmp_path):
    return gcp_settings(tmp_path)


@pytest.fixture
def spec_path(tmp_path) -> Path:
    path = tmp_path / "customer_churn_pipeline.json"
    path.write_text(json.dumps(SPEC))
    return path


@pytest.fixture
def lake(settings):
    return LocalLake(settings.lake_root)


def test_submission_uploads_the_spec_and_submits_without_waiting(settings, lake, spec_path):
    submitted, _ = submit_churn_pipeline(
        settings,
        lake,
        RUN_ID,
        {"as_of": "2026-02-28"},
        spec_path=spec_path,
        pipeline_job=RecordingPipelineJob,
        credentials=CREDENTIALS,
    )

    key = f"mlops/runs/{RUN_ID}/customer_churn_pipeline.json"
    assert lake.get(key) == spec_path.read_bytes()
    (job,) = RecordingPipelineJob.created
    args = job.kwargs
    assert args["template_path"] == str(lake.local_path(key))
    assert args["pipeline_root"] == "gs://winter-lake/pipeline_root"
    assert args["project"] == "winter-proj" and args["location"] == settings.gcp.region
    assert args["job_id"] == "customer-churn-20260301t020000z-2026-02-28-a1b2c3"
    assert args["enable_caching"] is False
    assert args["credentials"] is CREDENTIALS
    values = args["parameter_values"]
    assert values["run_id"] == RUN_ID and values["as_of"] == "2026-02-28"
    sent = json.loads(values["settings_json"])
    assert sent["gcp"]["project_id"] == "winter-proj" and "token" not in sent.get("auth", {})
    assert args["labels"] == {
        "winter-days-run-id": "20260301t020000z-2026-02-28-a1b2c3",
        "winter-days-pipeline": "customer-churn",
    }
    assert job.submitted == [{"service_account": PIPELINE_SA}]
    assert job.ran is False
    assert submitted.job_id == args["job_id"]
    assert submitted.template_uri == lake.uri(key)
    assert submitted.resource_name.endswith(f"/pipelineJobs/{args['job_id']}")
    assert submitted.console_url == (
        f"https://console.cloud.google.com/vertex-ai/locations/{settings.gcp.region}/pipelines/runs/{args['job_id']}"
        "?project=winter-proj"
    )


@pytest.mark.parametrize("run_id", ["Run#7 at 2026-03-01T02:00:00+00:00", "x" * 40 + "Ü" * 40, "A" * 200])
def test_labels_and_job_ids_follow_the_gcp_rules(run_id):
    value = sanitise_label_value(run_id)
    assert LABEL_VALUE.match(value), value
    job_id = pipeline_job_id(run_id)
    assert re.match(r"^[a-z][-a-z0-9]{0,126}$", job_id), job_id


def test_long_run_ids_keep_distinct_labels():
    first, second = "2026-03-01-" + "a" * 80 + "-1", "2026-03-01-" + "a" * 80 + "-2"
    assert sanitise_label_value(first) != sanitise_label_value(second)
    assert pipeline_job_id(first * 2) != pipeline_job_id(second * 2)


def test_an_unknown_parameter_is_refused_before_anything_is_uploaded(settings, lake, spec_path):
    with pytest.raises(
        ValueError, match="unknown pipeline parameter\\(s\\) as_off; declared: as_of, mode, options_json"
    ):
        submit_churn_pipeline(
            settings,
            lake,
            RUN_ID,
            {"as_off": "2026-02-28"},
            spec_path=spec_path,
            pipeline_job=RecordingPipelineJob,
            credentials=CREDENTIALS,
        )
    assert lake.list("mlops/") == [] and RecordingPipelineJob.created == []


def test_a_parameter_of_the_wrong_type_is_refused(settings, lake, spec_path):
    with pytest.raises(ValueError, match="pipeline parameter as_of must be STRING, got int"):
        submit_churn_pipeline(
            settings,
            lake,
            RUN_ID,
            {"as_of": 20260228},
            spec_path=spec_path,
            pipeline_job=RecordingPipelineJob,
            credentials=CREDENTIALS,
        )


def test_a_file_that_is_not_a_pipeline_spec_is_named(settings, lake, tmp_path):
    bad = tmp_path / "notes.json"
    bad.write_text('{"hello": "world"}')
    with pytest.raises(ValueError, match="notes.json: not a compiled KFP pipeline spec"):
        submit_churn_pipeline(
            settings, lake, RUN_ID, spec_path=bad, pipeline_job=RecordingPipelineJob, credentials=CREDENTIALS
        )


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"WINTER_DAYS_VERTEX_SERVICE_ACCOUNT": None}, "WINTER_DAYS_VERTEX_SERVICE_ACCOUNT): required"),
        ({"WINTER_DAYS_VERTEX_IMAGE": None}, "WINTER_DAYS_VERTEX_IMAGE): required"),
        ({"WINTER_DAYS_VERTEX_PIPELINE_ROOT": None}, "WINTER_DAYS_VERTEX_PIPELINE_ROOT): required"),
    ],
)
def test_missing_settings_fail_before_any_work(tmp_path, spec_path, changes, named):
    settings = gcp_settings(tmp_path, **changes)
    lake = LocalLake(settings.lake_root)
    with pytest.raises(ConfigError) as raised:
        submit_churn_pipeline(
            settings, lake, RUN_ID, spec_path=spec_path, pipeline_job=RecordingPipelineJob, credentials=CREDENTIALS
        )
    assert named in str(raised.value)
    assert lake.list("mlops/") == [] and RecordingPipelineJob.created == []


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("WINTER_DAYS_VERTEX_SERVICE_ACCOUNT", "me@example.com", "'me@example.com' is not a service account e-mail"),
        ("WINTER_DAYS_VERTEX_PIPELINE_ROOT", "/tmp/root", "'/tmp/root' is not a gs://BUCKET[/prefix] URI"),
        ("WINTER_DAYS_VERTEX_IMAGE", "winter days", "is not an image path"),
    ],
)
def test_malformed_settings_stop_at_load(tmp_path, variable, value, named):
    with pytest.raises(ConfigError, match=re.escape(named)):
        gcp_settings(tmp_path, **{variable: value})


def test_the_pipeline_root_defaults_to_the_bucket_lake(tmp_path):
    settings = gcp_settings(
        tmp_path, WINTER_DAYS_VERTEX_PIPELINE_ROOT=None, WINTER_DAYS_LAKE_URI=None, WINTER_DAYS_GCP_BUCKET="winter-lake"
    )
    assert vertex_target(settings).pipeline_root == "gs://winter-lake/mlops/pipeline_root"


def test_a_refused_submission_names_the_job(settings, lake, spec_path):
    RecordingPipelineJob.fail_with = PermissionError("403 Permission 'aiplatform.pipelineJobs.create' denied")
    with pytest.raises(
        VertexSubmitError, match=r"customer-churn-20260301t020000z.*\(winter-proj/europe-west1\): 403 Permission"
    ):
        submit_churn_pipeline(
            settings, lake, RUN_ID, spec_path=spec_path, pipeline_job=RecordingPipelineJob, credentials=CREDENTIALS
        )


def test_without_the_sdk_the_error_says_what_to_install(settings, lake, spec_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "google.cloud.aiplatform", None)
    google_cloud = sys.modules.get("google.cloud")
    if google_cloud is not None:  # an earlier import leaves the SDK as an attribute of the namespace package
        monkeypatch.delattr(google_cloud, "aiplatform", raising=False)
    with pytest.raises(VertexUnavailableError, match=r"pip install 'winter-days\[gcp\]'"):
        submit_churn_pipeline(settings, lake, RUN_ID, spec_path=spec_path)
    assert lake.list("mlops/") == []


@pytest.mark.slow
def test_the_compiled_churn_pipeline_is_submitted_with_its_declared_inputs(settings, lake):
    submit_churn_pipeline(
        settings, lake, RUN_ID, {"options_json": "{}"}, pipeline_job=RecordingPipelineJob, credentials=CREDENTIALS
    )

    uploaded = json.loads(lake.get(f"mlops/runs/{RUN_ID}/customer_churn_pipeline.json"))
    assert uploaded["pipelineInfo"]["name"] == "customer-churn"
    (job,) = RecordingPipelineJob.created
    assert set(job.kwargs["parameter_values"]) == {"settings_json", "run_id", "options_json"}


@pytest.mark.slow
def test_the_recorded_call_fits_the_real_sdk_signature(settings, lake, spec_path):
    aiplatform = pytest.importorskip("google.cloud.aiplatform")
    submit_churn_pipeline(
        settings, lake, RUN_ID, spec_path=spec_path, pipeline_job=RecordingPipelineJob, credentials=CREDENTIALS
    )

    (job,) = RecordingPipelineJob.created
    inspect.signature(aiplatform.PipelineJob.__init__).bind(None, **job.kwargs)
    inspect.signature(aiplatform.PipelineJob.submit).bind(None, **job.submitted[0])


class ScriptedClock:
    """A clock the runner's sleeps move forward, so waiting takes no real time."""

    def __init__(self):
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def result_summary(run_id: str) -> dict:
    """What the pipeline's last component writes to the lake."""
    return {
        "run_id": run_id,
        "as_of": "2026-02-28",
        "mode": "auto",
        "version": "v1",
        "train_dates": [],
        "eval_date": "2026-01-29",
        "rows": {"train": 10, "eval": 5, "score": 7},
        "non_finite_values": 0,
        "training": {
            "train": True,
            "reason": "trained: no model was trained yet",
            "history_days": 80,
            "history_needed": 74,
        },
        "metrics": {"candidate": {"roc_auc": 0.8}, "baseline": {"roc_auc": 0.7}, "champion_on_eval": None},
        "gate": {"promoted": True, "reason": "first model"},
        "predictions": {
            "status": "scored",
            "reason": "scored 7 customers with champion v1",
            "written": 7,
            "model_version": "v1",
            "risk_tiers": {"low": 7},
        },
    }


class CompletingJob(RecordingPipelineJob):
    """A job that, when it succeeds, has written its result where the pipeline's last step does."""

    lake: LocalLake | None = None

    @property
    def state(self):
        state = super().state
        if state == "PIPELINE_STATE_SUCCEEDED" and self.lake is not None:
            run_id = self.kwargs["parameter_values"]["run_id"]
            self.lake.put(f"mlops/runs/{run_id}/result.json", json.dumps(result_summary(run_id)).encode())
        return state


def runner(settings, clock):
    return VertexRunner(
        settings,
        LocalLake(settings.lake_root),
        pipeline_job=CompletingJob,
        sleep=clock.sleep,
        clock=lambda: clock.now,
        credentials=CREDENTIALS,
    )


def test_the_runner_waits_for_the_job_and_returns_its_summary(settings, spec_path, monkeypatch):
    monkeypatch.setattr("winter_days.ml.vertex._read_spec", lambda path, image: spec_path.read_bytes())
    clock = ScriptedClock()
    CompletingJob.lake = LocalLake(settings.lake_root)
    RecordingPipelineJob.states = [
        "PIPELINE_STATE_PENDING",
        "PIPELINE_STATE_RUNNING",
        "PIPELINE_STATE_RUNNING",
        "PIPELINE_STATE_SUCCEEDED",
    ]
    summary = runner(settings, clock).run(mode="score")
    assert summary["predictions_written"] == 7 and summary["runner"] == "vertex"
    (job,) = RecordingPipelineJob.created
    assert job.kwargs["parameter_values"]["mode"] == "score"
    assert summary["vertex_job_id"].startswith("customer-churn-") and summary["console_url"].startswith("https://")
    assert clock.sleeps == [settings.vertex.poll_interval_seconds] * 3


@pytest.mark.parametrize("end", ["PIPELINE_STATE_FAILED", "PIPELINE_STATE_CANCELLED"])
def test_a_job_that_ends_without_success_fails_naming_it_and_its_console_page(settings, spec_path, monkeypatch, end):
    monkeypatch.setattr("winter_days.ml.vertex._read_spec", lambda path, image: spec_path.read_bytes())
    RecordingPipelineJob.states = ["PIPELINE_STATE_RUNNING", end]
    with pytest.raises(VertexJobError, match=f"customer-churn-.* ended {end}; .*console.cloud.google.com"):
        runner(settings, ScriptedClock()).run()


def test_a_job_past_the_limit_is_cancelled(settings, spec_path, monkeypatch):
    monkeypatch.setattr("winter_days.ml.vertex._read_spec", lambda path, image: spec_path.read_bytes())
    RecordingPipelineJob.states = ["PIPELINE_STATE_RUNNING"]
    with pytest.raises(
        VertexJobError, match="did not end within 3600 s .*WINTER_DAYS_VERTEX_POLL_TIMEOUT_SECONDS.*cancelled"
    ):
        runner(settings, ScriptedClock()).run()
    (job,) = RecordingPipelineJob.created
    assert job.cancelled


@pytest.mark.parametrize("method", ["__init__", "submit"])
def test_the_vertex_fake_has_the_sdk_signatures(method):
    """The fake of tests/fakes/vertex.py takes exactly what aiplatform.PipelineJob takes."""
    aiplatform = pytest.importorskip("google.cloud.aiplatform")
    from fakes.vertex import FakePipelineJob

    def shape(function):
        return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]

    assert shape(getattr(FakePipelineJob, method)) == shape(getattr(aiplatform.PipelineJob, method))


def test_a_failed_component_records_its_error_where_the_runner_reads_it(tmp_path):
    from winter_days.ml.features import FeatureError
    from winter_days.ml.steps import component, settings_to_json

    local = load_settings(environ={"WINTER_DAYS_HOME": str(tmp_path / "home")}, cwd=tmp_path)
    with pytest.raises(FeatureError):
        component("build_features", settings_to_json(local), "{}", RUN_ID, "")
    recorded = json.loads(LocalLake(local.lake_root).get(f"mlops/runs/{RUN_ID}/failed.json"))
    assert recorded["step"] == "build_features"
    assert recorded["error"].startswith("FeatureError: churn features: ") and "run the pipeline" in recorded["error"]


class FailingJob(RecordingPipelineJob):
    """A job whose train-models component failed and recorded why, as the component does."""

    lake: LocalLake | None = None

    @property
    def state(self):
        state = super().state
        if state == "PIPELINE_STATE_FAILED":
            run_id = self.kwargs["parameter_values"]["run_id"]
            error = {"step": "train_models", "error": "TrainingDataError: churn training data has 3 customer rows"}
            self.lake.put(f"mlops/runs/{run_id}/failed.json", json.dumps(error).encode())
        return state


def test_a_failed_job_names_the_component_and_its_error(settings, spec_path, monkeypatch):
    monkeypatch.setattr("winter_days.ml.vertex._read_spec", lambda path, image: spec_path.read_bytes())
    FailingJob.lake = LocalLake(settings.lake_root)
    RecordingPipelineJob.states = ["PIPELINE_STATE_RUNNING", "PIPELINE_STATE_FAILED"]
    clock = ScriptedClock()
    runner = VertexRunner(
        settings,
        FailingJob.lake,
        pipeline_job=FailingJob,
        sleep=clock.sleep,
        clock=lambda: clock.now,
        credentials=CREDENTIALS,
    )
    with pytest.raises(VertexJobError) as failed:
        runner.run()
    assert re.search(
        r"job customer-churn-\S+ ended PIPELINE_STATE_FAILED: component train-models failed: "
        r"TrainingDataError: churn training data has 3 customer rows; its steps' logs are at https://",
        str(failed.value),
    )
