"""Submitting the churn pipeline to Vertex AI Pipelines (the gcp profile's ML step).

The compiled KFP spec (`customer_churn_pipeline.json`) is uploaded to the lake under the
run's `mlops/runs/<run_id>/` prefix, then a `PipelineJob` is created from it and
submitted without waiting: the orchestrator does not block on a training run. The
aiplatform SDK is imported only here, lazily, and the job class is injectable so the
submission is tested at the SDK boundary.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from winter_days.config import ConfigError, Settings
from winter_days.ml.kfp_pipeline import PIPELINE_FILE, PIPELINE_NAME
from winter_days.ml.steps import run_key, settings_to_json
from winter_days.stores import Lake

PREFIX = "WINTER_DAYS_VERTEX_"
LABEL_MAX = 63
JOB_ID_MAX = 127
SERVICE_ACCOUNT = re.compile(r"^[a-z][a-z0-9-]{4,61}[a-z0-9]@[a-z0-9.-]+\.gserviceaccount\.com$")
# KFP parameter types -> the Python types a value of that type may have.
PARAMETER_TYPES: dict[str, tuple[type, ...]] = {
    "STRING": (str,),
    "BOOLEAN": (bool,),
    "NUMBER_INTEGER": (int,),
    "NUMBER_DOUBLE": (int, float),
}


class VertexUnavailableError(RuntimeError):
    """google-cloud-aiplatform is not installed (it comes with the [gcp] extra)."""


class VertexSubmitError(RuntimeError):
    """Vertex AI refused or failed the pipeline job submission."""


@dataclass(frozen=True)
class VertexSettings:
    """Where pipeline jobs run, as whom, and where they keep their artefacts."""

    project: str
    location: str
    service_account: str
    pipeline_root: str


@dataclass(frozen=True)
class SubmittedPipeline:
    """What was submitted: enough to find the job in the console or with gcloud."""

    job_id: str
    display_name: str
    template_uri: str
    pipeline_root: str
    labels: Mapping[str, str]
    resource_name: str | None


def load_vertex_settings(settings: Settings, environ: Mapping[str, str] | None = None) -> VertexSettings:
    """Read and validate the Vertex AI settings; raise ConfigError naming what is missing or wrong."""
    environ = os.environ if environ is None else environ
    if not settings.gcp_project_id:
        raise ConfigError("setting gcp_project_id: required to submit to Vertex AI (WINTER_DAYS_GCP_PROJECT_ID)")
    account = environ.get(PREFIX + "SERVICE_ACCOUNT", "").strip()
    if not account:
        raise ConfigError(f"{PREFIX}SERVICE_ACCOUNT: required by the gcp profile (the pipeline's service account e-mail)")
    if not SERVICE_ACCOUNT.match(account):
        raise ConfigError(f"{PREFIX}SERVICE_ACCOUNT: {account!r} is not a service account e-mail")
    root = environ.get(PREFIX + "PIPELINE_ROOT", "").strip()
    if not root and settings.lake_uri.startswith("gs://"):
        root = f"{settings.lake_uri}/mlops/pipeline_root"
    if not root:
        raise ConfigError(f"{PREFIX}PIPELINE_ROOT: required when the lake is not a gs:// bucket (gs://BUCKET/prefix)")
    if not re.match(r"^gs://[a-z0-9][a-z0-9._-]{1,220}(/|$)", root):
        raise ConfigError(f"{PREFIX}PIPELINE_ROOT: {root!r} is not a gs://BUCKET[/prefix] URI")
    location = environ.get(PREFIX + "LOCATION", "").strip() or settings.gcp_region
    return VertexSettings(settings.gcp_project_id, location, account, root.rstrip("/"))


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


def _read_spec(spec_path: Path | None) -> bytes:
    """The compiled spec: the given file, or the pipeline compiled now."""
    if spec_path is not None:
        return Path(spec_path).read_bytes()
    from winter_days.ml.kfp_pipeline import compile_pipeline

    with tempfile.TemporaryDirectory() as work:
        return compile_pipeline(Path(work) / PIPELINE_FILE).read_bytes()


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
        raise ValueError(f"{where}: unknown pipeline parameter(s) {', '.join(unknown)}; declared: {', '.join(sorted(declared))}")
    for name, value in given.items():
        kind = str(declared[name].get("parameterType") or "")
        allowed = PARAMETER_TYPES.get(kind)
        if allowed and (not isinstance(value, allowed) or (kind != "BOOLEAN" and isinstance(value, bool))):
            raise ValueError(f"{where}: pipeline parameter {name} must be {kind}, got {type(value).__name__}")
    missing = sorted(
        name for name, spec in declared.items()
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
    vertex: VertexSettings | None = None,
    environ: Mapping[str, str] | None = None,
    pipeline_job: Callable[..., Any] | None = None,
) -> SubmittedPipeline:
    """Upload the churn pipeline spec to the lake and submit it as a Vertex AI PipelineJob.

    `parameters` override the pipeline inputs (as_of, options_json, ...); settings_json and
    run_id are filled in. Returns at once (`submit`, not `run`). `pipeline_job` stands in
    for `aiplatform.PipelineJob`.
    """
    vertex = vertex or load_vertex_settings(settings, environ)
    if not run_id:
        raise ValueError("submit_churn_pipeline: run_id is empty")
    key = run_key(run_id, PIPELINE_FILE)  # also validates the run id as a lake path segment
    spec = _read_spec(spec_path)
    where = str(spec_path or PIPELINE_FILE)
    given = {"settings_json": settings_to_json(settings), "run_id": run_id, **(parameters or {})}
    values = pipeline_parameters(_spec_parameters(spec, where), given, where)
    job_class = pipeline_job or _pipeline_job_class()

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
            project=vertex.project,
            location=vertex.location,
        )
        job.submit(service_account=vertex.service_account)
    except Exception as err:
        raise VertexSubmitError(f"Vertex AI pipeline job {job_id} ({vertex.project}/{vertex.location}): {err}") from err
    return SubmittedPipeline(
        job_id=job_id,
        display_name=display_name,
        template_uri=lake.uri(key),
        pipeline_root=vertex.pipeline_root,
        labels=labels,
        resource_name=getattr(job, "resource_name", None),
    )
