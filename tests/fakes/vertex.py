"""A fake Vertex AI Pipelines at the SDK boundary: a stand-in for `aiplatform.PipelineJob`.

`FakeVertex(work_dir).pipeline_job` is a class with PipelineJob's constructor and `submit`
signatures (checked against the SDK by the tests). It records the arguments exactly as
the SDK gets them, and does what the service then does with them:

- the constructor loads the template the way the SDK does (a local file, or a gs:// object
  through google-cloud-storage, on the emulator when STORAGE_EMULATOR_HOST is set) and
  refuses parameter values the spec does not declare;
- `submit` runs the compiled spec with KFP's local runner (SubprocessRunner, the
  components' functions from this environment standing in for the image) in a process
  of its own, as a machine of Vertex AI would: in a fresh working folder with a fresh
  HOME, with no WINTER_DAYS_* variable, so a component has only the settings it was
  given (the bucket and BigQuery) and cannot read a file of the submitting machine;
- `.state` is the job's `PipelineState` (PIPELINE_STATE_RUNNING until the process ends,
  then SUCCEEDED, FAILED or CANCELLED), `task_details` the per-task `PipelineTaskDetail`s
  with the states and error messages Vertex AI reports (a failed task's message is
  Vertex's "exited with a non-zero status", its log is the component's output), and
  `_gca_resource.error` the job's error; `cancel` stops the run.

kfp's local runner needs a local pipeline root, so the job's gs:// pipeline_root is
recorded but outputs are kept under the fake's work folder.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar

from winter_days.ml.kfp_pipeline import execution_order, pipeline_dag

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_TASK_END = re.compile(r"Task '([^']+)' finished with status (SUCCESS|FAILURE)")
# What Vertex AI says of a task whose container failed (the reason is in the task's log).
REPLICA_FAILED = (
    "The replica workerpool0-0 exited with a non-zero status of 1. Termination reason: Error. "
    "To find out more about why your job exited please check the logs: {log}"
)
DAG_FAILED = "The DAG failed because some tasks failed. The failed tasks are: [{tasks}]."

DRIVER = """
import json, sys
from kfp import components, local
spec, root, arguments = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=root, raise_on_error=True)
task = components.load_component_from_file(spec)(**arguments)
print("PIPELINE OUTPUT " + json.dumps(task.output))
"""


def _types() -> tuple[Any, Any]:
    from google.cloud.aiplatform_v1.types import pipeline_job, pipeline_state

    return pipeline_job, pipeline_state


def load_template(template_path: str) -> bytes:
    """The template's bytes, read as the SDK reads it (a gs:// object or a local file)."""
    if template_path.startswith("gs://"):
        from google.cloud import storage

        bucket, _, name = template_path[len("gs://") :].partition("/")
        return storage.Client(project="vertex-fake").bucket(bucket).blob(name).download_as_bytes()
    return Path(template_path).read_bytes()


class FakeVertex:
    """Pipeline jobs of one test, run under `work_dir`."""

    def __init__(self, work_dir: Path) -> None:
        self.work_dir = Path(work_dir)
        self.jobs: list[FakePipelineJob] = []
        # When set, the next submit fails with this exception (as a refused create would).
        self.refuse_submit: Exception | None = None

    @property
    def pipeline_job(self) -> type[FakePipelineJob]:
        """The class to pass where `aiplatform.PipelineJob` is expected."""
        return type("PipelineJob", (FakePipelineJob,), {"vertex": self})

    def stop(self) -> None:
        for job in self.jobs:
            job.stop()


class FakePipelineJob:
    """One pipeline job (see the module docstring)."""

    vertex: ClassVar[FakeVertex]

    def __init__(
        self,
        display_name: str,
        template_path: str,
        job_id: str | None = None,
        pipeline_root: str | None = None,
        parameter_values: dict[str, Any] | None = None,
        input_artifacts: dict[str, str] | None = None,
        enable_caching: bool | None = None,
        encryption_spec_key_name: str | None = None,
        labels: dict[str, str] | None = None,
        credentials: Any = None,
        project: str | None = None,
        location: str | None = None,
        failure_policy: str | None = None,
    ) -> None:
        self.init_args = {k: v for k, v in locals().items() if k not in ("self", "__class__")}
        self.submit_args: dict[str, Any] | None = None
        self.spec = json.loads(load_template(template_path))
        declared = self.spec["root"].get("inputDefinitions", {}).get("parameters", {})
        for name in parameter_values or {}:
            if name not in declared:
                raise ValueError(f"The pipeline parameter {name} is not found in the pipeline job input definitions.")
        self.job_id = job_id or f"{self.spec['pipelineInfo']['name']}-job"
        self.project, self.location = project, location
        self.folder = self.vertex.work_dir / self.job_id
        pipeline_job, pipeline_state = _types()
        self._gca_resource = pipeline_job.PipelineJob(
            name="",
            display_name=display_name,
            state=pipeline_state.PipelineState.PIPELINE_STATE_PENDING,
            labels=labels or {},
            service_account="",
        )
        self._process: subprocess.Popen | None = None
        self._cancelled = False
        self.log_path = self.folder / "job.log"
        self.vertex.jobs.append(self)

    # -- the SDK's surface --------------------------------------------------------------

    def submit(
        self,
        service_account: str | None = None,
        network: str | None = None,
        reserved_ip_ranges: list[str] | None = None,
        create_request_timeout: float | None = None,
        *,
        experiment: Any = None,
        enable_preflight_validations: bool | None = False,
    ) -> None:
        self.submit_args = {k: v for k, v in locals().items() if k not in ("self", "__class__")}
        if self.vertex.refuse_submit is not None:
            refused, self.vertex.refuse_submit = self.vertex.refuse_submit, None
            raise refused
        self._gca_resource.name = self.resource_name
        self._gca_resource.service_account = service_account or ""
        self.folder.mkdir(parents=True, exist_ok=False)
        (self.folder / "home").mkdir()
        spec_path = self.folder / "pipeline.json"
        spec_path.write_text(json.dumps(self.spec))
        arguments = dict(self.init_args["parameter_values"] or {})
        environ = {k: v for k, v in os.environ.items() if not k.startswith("WINTER_DAYS_")}
        environ.update(HOME=str(self.folder / "home"), PYTHONUNBUFFERED="1", NO_COLOR="1")
        with open(self.log_path, "wb") as log:
            self._process = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    DRIVER,
                    str(spec_path),
                    str(self.folder / "pipeline_root"),
                    json.dumps(arguments),
                ],
                cwd=self.folder,
                env=environ,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _, pipeline_state = _types()
        self._gca_resource.state = pipeline_state.PipelineState.PIPELINE_STATE_RUNNING

    def run(self, *args: Any, **kwargs: Any) -> None:
        raise AssertionError("PipelineJob.run blocks until the job ends: the platform submits and polls instead")

    @property
    def resource_name(self) -> str:
        return f"projects/{self.project}/locations/{self.location}/pipelineJobs/{self.job_id}"

    @property
    def state(self) -> Any:
        self._sync()
        return self._gca_resource.state

    @property
    def task_details(self) -> list[Any]:
        self._sync()
        return list(self._gca_resource.job_detail.task_details)

    def cancel(self) -> None:
        self._cancelled = True
        self.stop()

    # -- the fake's side ----------------------------------------------------------------

    def stop(self) -> None:
        """End the run's processes (its own process group)."""
        if self._process is not None and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGTERM)
            self._process.wait(timeout=60)

    def log(self) -> str:
        return _ANSI.sub("", self.log_path.read_text(errors="replace")) if self.log_path.exists() else ""

    def _sync(self) -> None:
        """The job's end, read once its process has ended."""
        _, pipeline_state = _types()
        done_states = (
            pipeline_state.PipelineState.PIPELINE_STATE_SUCCEEDED,
            pipeline_state.PipelineState.PIPELINE_STATE_FAILED,
            pipeline_state.PipelineState.PIPELINE_STATE_CANCELLED,
        )
        if self._process is None or self._gca_resource.state in done_states or self._process.poll() is None:
            return
        pipeline_job, _ = _types()
        states = {name: status for name, status in _TASK_END.findall(self.log())}
        detail = pipeline_job.PipelineTaskDetail
        failed = []
        for task in execution_order(pipeline_dag(self.spec)):
            status = states.get(task)
            if status == "SUCCESS":
                state, error = detail.State.SUCCEEDED, None
            elif status == "FAILURE":
                state, error = detail.State.FAILED, {"code": 9, "message": REPLICA_FAILED.format(log=self.log_path)}
                failed.append(task)
            else:
                state, error = (detail.State.CANCELLED if self._cancelled else detail.State.NOT_TRIGGERED), None
            self._gca_resource.job_detail.task_details.append(detail(task_name=task, state=state, error=error))
        if self._cancelled:
            self._gca_resource.state = pipeline_state.PipelineState.PIPELINE_STATE_CANCELLED
        elif self._process.returncode == 0 and not failed:
            self._gca_resource.state = pipeline_state.PipelineState.PIPELINE_STATE_SUCCEEDED
        else:
            self._gca_resource.state = pipeline_state.PipelineState.PIPELINE_STATE_FAILED
            self._gca_resource.error = {
                "code": 9,
                "message": DAG_FAILED.format(tasks=", ".join(failed) or "(the pipeline run)"),
            }


def vertex_profile(vertex: FakeVertex, credentials: Any) -> Any:
    """The gcp profile's builder with the churn pipeline submitted to `vertex` (the SDK
    boundary: the job class and the credentials the SDK would be handed)."""
    from winter_days.ml.vertex import VertexRunner
    from winter_days.profiles.gcp import GcpProfile

    class GcpProfileOnFakeVertex(GcpProfile):
        def ml_runner(self, platform: Any) -> Any:
            return VertexRunner(
                platform.settings, platform.lake, pipeline_job=vertex.pipeline_job, credentials=credentials
            )

    return GcpProfileOnFakeVertex()
