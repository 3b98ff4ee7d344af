"""The churn pipeline on Vertex AI Pipelines: the gcp profile's `ChurnPipelineRunner`.

The compiled KFP spec (`customer_churn_pipeline.json`, its components on the project's
container image, `vertex.image`) is uploaded to the lake under the run's
`mlops/runs/<run_id>/` prefix, a `PipelineJob` is created from it and submitted, and the ML
step waits for the job's terminal state (`vertex.poll_interval_seconds`, at most
`vertex.poll_timeout_seconds`; past it the job is cancelled). The components read the
warehouse (BigQuery) and the lake (the bucket) themselves: nothing of the submitting
machine reaches them but the settings. On success the summary the last component wrote
to the lake is the step's result; on failure the error names the job, the failed
component and its error (which the component recorded in the lake, `step_failures.py`),
and the job's console URL. The SDK gets Application Default Credentials (a one-line
CredentialsError before anything is uploaded when there are none). The aiplatform SDK is
imported only here, lazily; the job class and the credentials are injectable so the runner
is tested at the SDK boundary (tests/fakes/vertex.py runs the spec with KFP's local runner).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from winter_days.config import ConfigError, Settings, describe
from winter_days.ml.cadence import check_mode
from winter_days.ml.kfp_pipeline import PIPELINE_FILE, PIPELINE_NAME, task_name
from winter_days.ml.runner import Progress, as_of_text, summarise
from winter_days.ml.step_failures import FAILURE_FILE, read_step_failure
from winter_days.ml.steps import PipelineOptions, new_run_id, run_key, settings_to_json
from winter_days.stores import Lake

LABEL_MAX = 63
JOB_ID_MAX = 127
# KFP parameter types -> the Python types a value of that type may have.
PARAMETER_TYPES: dict[str, tuple[type, ...]] = {
    "STRING": (str,),
    "BOOLEAN": (bool,),
    "NUMBER_INTEGER": (int,),
    "NUMBER_DOUBLE": (int, float),
}
SUCCEEDED_STATE = "PIPELINE_STATE_SUCCEEDED"
FAILED_STATES = ("PIPELINE_STATE_FAILED", "PIPELINE_STATE_CANCELLED")
CANCEL_GRACE_SECONDS = 120.0


class VertexUnavailableError(RuntimeError):
    """google-cloud-aiplatform is not installed (it comes with the [gcp] extra)."""


class VertexSubmitError(RuntimeError):
    """Vertex AI refused or failed the pipeline job submission."""


class VertexJobError(RuntimeError):
    """The pipeline job ended without success, or did not end in time."""


@dataclass(frozen=True)
class VertexTarget:
    """Where pipeline jobs run, as whom, on which image, and where they keep artefacts."""

    project: str
    location: str
    service_account: str
    pipeline_root: str
    image: str


@dataclass(frozen=True)
class SubmittedPipeline:
    """What was submitted: enough to find the job in the console or with gcloud."""

    job_id: str
    display_name: str
    template_uri: str
    pipeline_root: str
    labels: Mapping[str, str]
    resource_name: str | None
    console_url: str


def vertex_target(settings: Settings) -> VertexTarget:
    """The Vertex AI settings, checked; ConfigError naming what is missing."""
    for name in ("gcp.project_id", "vertex.service_account", "vertex.image"):
        section, field = name.split(".")
        if not getattr(getattr(settings, section), field):
            raise ConfigError(f"{describe(name)}: required to run the churn pipeline on Vertex AI")
    root = settings.vertex.pipeline_root
    if not root and settings.lake_uri.startswith("gs://"):
        root = f"{settings.lake_uri}/mlops/pipeline_root"
    if not root:
        raise ConfigError(f"{describe('vertex.pipeline_root')}: required when the lake is not a gs:// bucket")
    return VertexTarget(
        project=settings.gcp.project_id,
        location=settings.vertex.location or settings.gcp.region,
        service_account=settings.vertex.service_account,
        pipeline_root=root.rstrip("/"),
        image=settings.vertex.image,
    )


def console_url(target: VertexTarget, job_id: str) -> str:
    """The job's page in the Cloud console."""
    return (
        f"https://console.cloud.google.com/vertex-ai/locations/{target.location}/pipelines/runs/{job_id}"
        f"?project={target.project}"
    )


def _bounded(text: str, limit: int) -> str:
    """`text` cut to `limit`; a cut one ends in a short digest so distinct inputs stay distinct."""
    if len(text) <= limit:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    return f"{text[: limit - 9].rstrip('-_')}-{digest}"


def sanitise_label_value(value: str) -> str:
    """A GCP label value: lowercase letters, digits, '_' and '-', at most 63 characters."""
    return _bounded(re.sub(r"[^a-z0-9_-]", "-", value.lower()), LABEL_MAX)


def pipeline_job_id(run_id: str) -> str:
    """A Vertex pipeline job id for the run: [a-z][-a-z0-9]*, under 128 characters."""
    return _bounded(re.sub(r"[^a-z0-9-]", "-", f"{PIPELINE_NAME}-{run_id}".lower()), JOB_ID_MAX)


def _pipeline_job_class() -> Callable[..., Any]:
    try:
        from google.cloud import aiplatform
    except ImportError:
        raise VertexUnavailableError(
            "submitting to Vertex AI needs google-cloud-aiplatform: pip install 'winter-days[gcp]'"
        ) from None
    return aiplatform.PipelineJob


def _read_spec(spec_path: Path | None, image: str) -> bytes:
    """The compiled spec: the given file, or the pipeline compiled now, in memory, for `image`."""
    if spec_path is not None:
        return Path(spec_path).read_bytes()
    from winter_days.ml.kfp_pipeline import pipeline_spec_json

    return pipeline_spec_json(image)


def _spec_parameters(spec: bytes, where: str) -> dict[str, Mapping[str, Any]]:
    try:
        parsed = json.loads(spec)
        return dict(parsed["root"]["inputDefinitions"]["parameters"])
    except (ValueError, KeyError, TypeError):
        raise ValueError(f"{where}: not a compiled KFP pipeline spec (no root.inputDefinitions.parameters)") from None


def pipeline_parameters(
    declared: Mapping[str, Mapping[str, Any]], given: Mapping[str, Any], where: str
) -> dict[str, Any]:
    """`given` checked against the spec's declared inputs: known names, right types, none missing."""
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise ValueError(
            f"{where}: unknown pipeline parameter(s) {', '.join(unknown)}; declared: {', '.join(sorted(declared))}"
        )
    for name, value in given.items():
        kind = str(declared[name].get("parameterType") or "")
        allowed = PARAMETER_TYPES.get(kind)
        if allowed and (not isinstance(value, allowed) or (kind != "BOOLEAN" and isinstance(value, bool))):
            raise ValueError(f"{where}: pipeline parameter {name} must be {kind}, got {type(value).__name__}")
    missing = sorted(
        name
        for name, spec in declared.items()
        if name not in given and not spec.get("isOptional") and "defaultValue" not in spec
    )
    if missing:
        raise ValueError(f"{where}: pipeline parameter(s) {', '.join(missing)} have no value")
    return dict(given)


def submit_churn_pipeline(
    settings: Settings,
    lake: Lake,
    run_id: str,
    parameters: Mapping[str, Any] | None = None,
    *,
    spec_path: Path | None = None,
    pipeline_job: Callable[..., Any] | None = None,
    credentials: Any = None,
) -> tuple[SubmittedPipeline, Any]:
    """Upload the churn pipeline spec to the lake and submit it as a Vertex AI PipelineJob.

    `parameters` override the pipeline inputs (as_of, options_json, ...); settings_json and
    run_id are filled in. Returns at once (`submit`, not `run`) with the job object.
    `pipeline_job` stands in for `aiplatform.PipelineJob`; `credentials` (default:
    Application Default Credentials) are the SDK's.
    """
    vertex = vertex_target(settings)
    if not run_id:
        raise ValueError("submit_churn_pipeline: run_id is empty")
    key = run_key(run_id, PIPELINE_FILE)  # also validates the run id as a lake path segment
    spec = _read_spec(spec_path, vertex.image)
    where = str(spec_path or PIPELINE_FILE)
    given = {"settings_json": settings_to_json(settings), "run_id": run_id, **(parameters or {})}
    values = pipeline_parameters(_spec_parameters(spec, where), given, where)
    job_class = pipeline_job or _pipeline_job_class()
    if credentials is None:
        from winter_days.gcp_credentials import client_credentials

        credentials = client_credentials("Vertex AI Pipelines")

    lake.put(key, spec)
    local = lake.local_path(key)
    # The SDK reads the template itself: a local lake hands it the file, a bucket its gs:// URI.
    template = str(local) if local is not None else lake.uri(key)
    job_id = pipeline_job_id(run_id)
    labels = {"winter-days-run-id": sanitise_label_value(run_id), "winter-days-pipeline": PIPELINE_NAME}
    display_name = f"{PIPELINE_NAME} {run_id}"[:128]
    try:
        job = job_class(
            display_name=display_name,
            template_path=template,
            job_id=job_id,
            pipeline_root=vertex.pipeline_root,
            parameter_values=values,
            enable_caching=False,
            labels=labels,
            credentials=credentials,
            project=vertex.project,
            location=vertex.location,
        )
        job.submit(service_account=vertex.service_account)
    except Exception as err:
        raise VertexSubmitError(f"Vertex AI pipeline job {job_id} ({vertex.project}/{vertex.location}): {err}") from err
    submitted = SubmittedPipeline(
        job_id=job_id,
        display_name=display_name,
        template_uri=lake.uri(key),
        pipeline_root=vertex.pipeline_root,
        labels=labels,
        resource_name=job.resource_name,
        console_url=console_url(vertex, job_id),
    )
    return submitted, job


def _state_name(state: Any) -> str:
    """A PipelineState enum (or its name) as its name."""
    return str(getattr(state, "name", state))


def _failed_tasks(job: Any) -> list[tuple[str, str]]:
    """(task name, error message) of the job's failed tasks, as its task details report them."""
    try:
        details = list(job.task_details)
    except Exception:  # a job that never started has none; the state says enough then
        return []
    return [
        (str(d.task_name), str(getattr(getattr(d, "error", None), "message", "") or "failed"))
        for d in details
        if _state_name(getattr(d, "state", "")) == "FAILED"
    ]


class VertexRunner:
    """Submit the churn pipeline to Vertex AI and wait for its end."""

    name = "vertex"

    def __init__(
        self,
        settings: Settings,
        lake: Lake,
        pipeline_job: Callable[..., Any] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        credentials: Any = None,
    ):
        self.settings = settings
        self.lake = lake
        self._pipeline_job = pipeline_job
        self._credentials = credentials
        self._sleep = sleep
        self._clock = clock

    def run(
        self,
        as_of: date | None = None,
        options: PipelineOptions | None = None,
        progress: Progress | None = None,
        mode: str = "auto",
    ) -> dict[str, Any]:
        settings, lake = self.settings, self.lake
        text = as_of_text(as_of)
        run_id = new_run_id(text)
        parameters = {"as_of": text, "options_json": (options or PipelineOptions()).to_json(), "mode": check_mode(mode)}
        submitted, job = submit_churn_pipeline(
            settings, lake, run_id, parameters, pipeline_job=self._pipeline_job, credentials=self._credentials
        )
        if progress:
            progress(f"Vertex AI pipeline job {submitted.job_id} submitted: {submitted.console_url}")
        state = self._wait(job, submitted, settings)
        if state != SUCCEEDED_STATE:
            raise VertexJobError(self._failure(job, submitted, run_id, state))
        result_key = run_key(run_id, "result.json")
        try:
            summary = json.loads(lake.get(result_key))
        except Exception as err:
            raise VertexJobError(
                f"Vertex AI pipeline job {submitted.job_id} succeeded but wrote no summary at {lake.uri(result_key)} "
                f"({type(err).__name__}); see {submitted.console_url}"
            ) from None
        return {
            **summarise(summary, self.name),
            "vertex_job_id": submitted.job_id,
            "vertex_resource": submitted.resource_name,
            "console_url": submitted.console_url,
        }

    def _failure(self, job: Any, submitted: SubmittedPipeline, run_id: str, state: str) -> str:
        """What failed, from the component's own record, else from the job's task details."""
        text = f"Vertex AI pipeline job {submitted.job_id} ended {state}"
        recorded = read_step_failure(self.lake, run_key(run_id, FAILURE_FILE))
        failed = _failed_tasks(job)
        if recorded:
            text += f": component {task_name(str(recorded.get('step')))} failed: {recorded.get('error')}"
        elif failed:
            text += ": " + "; ".join(f"component {name} failed: {message}" for name, message in failed)
        else:
            error = getattr(getattr(job, "_gca_resource", None), "error", None)
            detail = getattr(error, "message", "") or ""
            text += f": {detail}" if detail else ""
        return text + f"; its steps' logs are at {submitted.console_url}"

    def _wait(self, job: Any, submitted: SubmittedPipeline, settings: Settings) -> str:
        deadline = self._clock() + settings.vertex.poll_timeout_seconds
        while True:
            state = _state_name(job.state)
            if state == SUCCEEDED_STATE or state in FAILED_STATES:
                return state
            if self._clock() >= deadline:
                job.cancel()
                raise VertexJobError(
                    f"Vertex AI pipeline job {submitted.job_id} did not end within "
                    f"{settings.vertex.poll_timeout_seconds:g} s ({describe('vertex.poll_timeout_seconds')}); "
                    f"it was cancelled; see {submitted.console_url}"
                )
            self._sleep(settings.vertex.poll_interval_seconds)
