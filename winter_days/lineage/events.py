"""OpenLineage events of orchestrator runs: the run, each step, and each ELT action.

`LineageSink` is where events go: an HTTP endpoint (`lineage.url`), a folder with one JSON
lines file per run (the local profile's `<home>/lineage/`), or nowhere. `RunLineage` writes
the events of one run: START, then COMPLETE, FAIL or ABORT, for the run (job
`orchestrator.run`), for each step (`orchestrator.<step>`, the run as parent) and for each
ELT action (`elt.<schema>.<table>`, derived from the invocation's action states and timings
as the poll step sees them, with inputs and outputs from the compiled graph).

Lineage is an observer: emitting never fails a run. A failed emission is logged once per
run, and that run sends nothing more, so an unreachable server costs at most one timeout.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from enum import Enum
from pathlib import Path
from typing import Any

from winter_days.lineage.naming import DatasetNaming, LineageDataset

log = logging.getLogger("winter_days.lineage")

JOB_NAMESPACE = "winter-days"
RUN_JOB = "orchestrator.run"
PRODUCER = "https://github.com/winter-days/winter-days"
HTTP_TIMEOUT_SECONDS = 5.0
# Sections of a compiled graph (`dataform compile --json`) whose entries are actions.
ACTION_SECTIONS = ("tables", "operations", "assertions")
# Action states (Dataform's WorkflowInvocationAction.State) -> the event that ends the action's run.
ACTION_ENDS = {"SUCCEEDED": "COMPLETE", "FAILED": "FAIL", "CANCELLED": "ABORT", "SKIPPED": "ABORT", "DISABLED": "ABORT"}
ACTION_RAN = ("RUNNING", "SUCCEEDED", "FAILED", "CANCELLED")


def _utc(moment: datetime | None) -> str:
    return (moment or datetime.now(UTC)).astimezone(UTC).isoformat()


class LineageSink:
    """Where one installation's lineage events go."""

    def __init__(
        self,
        naming: DatasetNaming,
        url: str | None = None,
        folder: Path | None = None,
        timeout: float = HTTP_TIMEOUT_SECONDS,
    ):
        self.naming = naming
        self.url = url
        self.folder = folder
        self.timeout = timeout
        self._http: Any = None
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return bool(self.url or self.folder)

    def describe(self) -> str:
        if self.url:
            return f"OpenLineage endpoint {self.url}"
        return f"files under {self.folder}" if self.folder else "nowhere (set lineage.url)"

    def run_file(self, run_id: str) -> Path | None:
        """The file a run's events go to when the sink is a folder."""
        return self.folder / f"{run_id}.jsonl" if self.folder else None

    def transport(self, run_id: str) -> Any:
        """The openlineage-python transport for one run's events (None when disabled)."""
        if self.url:
            with self._lock:
                if self._http is None:
                    from openlineage.client.transport.http import HttpConfig, HttpTransport

                    # One attempt per event: a run must not wait on a lineage server's retries.
                    self._http = HttpTransport(HttpConfig(url=self.url, timeout=self.timeout, retry={"total": 0}))
                return self._http
        path = self.run_file(run_id)
        if path is None:
            return None
        path.parent.mkdir(parents=True, exist_ok=True)
        return RunFileTransport(path)

    def for_run(self, run_id: str) -> RunLineage:
        return RunLineage(self, run_id)

    def close(self) -> None:
        with self._lock:
            if self._http is not None:
                self._http.close()
                self._http = None


class RunFileTransport:
    """One run's events as JSON lines in its file: the text openlineage-python's FileTransport
    writes (`Serde.to_json`), serialised in one pass, with each facet the run's events share
    (the parent run, the job type) serialised once. A daily run writes two events per ELT
    action, and the generic serialiser made them a fifth of a small run's time."""

    def __init__(self, path: Path):
        self.path = path
        # id(object) -> (the object, kept so that its id stays its own; its plain form)
        self._shared: dict[int, tuple[Any, Any]] = {}

    def emit(self, event: Any) -> None:
        line = json.dumps(self.plain(event), sort_keys=True, default=_not_serialisable)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")

    def plain(self, value: Any) -> Any:
        """`Serde.to_dict`'s answer: attrs classes as dicts of their fields, None left out of
        dicts, None and empty dicts left out of lists, enums as their values."""
        fields = _attrs_fields(type(value))
        if fields is not None:
            known = self._shared.get(id(value))
            if known is not None and known[0] is value:
                return known[1]
            out = {}
            for name in fields:
                item = self.plain(getattr(value, name))
                if item is not None:
                    out[name] = item
            self._shared[id(value)] = (value, out)
            return out
        if isinstance(value, Enum):
            return value.value
        if isinstance(value, dict):
            return {key: item for key, raw in value.items() if (item := self.plain(raw)) is not None}
        if isinstance(value, list | tuple):
            return [item for raw in value if raw is not None and (item := self.plain(raw)) is not None and item != {}]
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, uuid.UUID):
            return str(value)
        return value


_FIELDS: dict[type, tuple[str, ...] | None] = {}


def _attrs_fields(cls: type) -> tuple[str, ...] | None:
    """The field names of an attrs class, None for any other type (cached per type)."""
    if cls not in _FIELDS:
        import attr

        _FIELDS[cls] = tuple(a.name for a in attr.fields(cls)) if attr.has(cls) else None
    return _FIELDS[cls]


def _not_serialisable(value: Any) -> str:
    return f"<<non-serializable: {type(value).__qualname__}>>"


class RunLineage:
    """The lineage events of one orchestrator run; every method is safe to call and never raises."""

    def __init__(self, sink: LineageSink | None, run_id: str):
        self.sink = sink
        self.run_id = run_id
        self.started = datetime.now(UTC)
        self._transport: Any = None
        self._broken = False
        self._dropped = 0
        self._actions: dict[str, str] = {}  # action job name -> last event type sent
        self._uuids: dict[str, str] = {}  # job -> its run id in this run
        self._parent: Any = None  # the parent facet every step and action event carries
        self._datasets: tuple[Mapping[str, Any], dict[tuple[str, str], tuple[list, list]]] | None = None
        self._lock = threading.Lock()

    @classmethod
    def disabled(cls, run_id: str = "") -> RunLineage:
        return cls(None, run_id)

    # -- ids and events ---------------------------------------------------------------------

    def run_uuid(self, job: str) -> str:
        """A stable id of this run of `job` (START and its end share it): a UUIDv7 from the run's start."""
        known = self._uuids.get(job)
        if known is None:
            from openlineage.client.uuid import generate_static_uuid

            known = self._uuids[job] = str(generate_static_uuid(self.started, f"{self.run_id}/{job}".encode()))
        return known

    def _emit(
        self,
        event_type: str,
        job: str,
        when: datetime | None = None,
        error: str | None = None,
        inputs: Iterable[LineageDataset] = (),
        outputs: Iterable[LineageDataset] = (),
        facets: Mapping[str, Any] | None = None,
    ) -> None:
        if self.sink is None or not self.sink.enabled:
            return
        with self._lock:
            if self._broken:
                self._dropped += 1
                return
            try:
                self._send(event_type, job, when, error, inputs, outputs, facets or {})
            except Exception as err:  # an observer: the run goes on without its lineage
                self._broken = True
                self._dropped += 1
                log.warning(
                    "lineage events of run %s are not sent: %s failed (%s: %s); the run goes on, its further "
                    "events are dropped",
                    self.run_id,
                    self.sink.describe(),
                    type(err).__name__,
                    err,
                    extra={"run_id": self.run_id},
                )

    def _send(
        self,
        event_type: str,
        job: str,
        when: datetime | None,
        error: str | None,
        inputs: Iterable[LineageDataset],
        outputs: Iterable[LineageDataset],
        facets: Mapping[str, Any],
    ) -> None:
        from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
        from openlineage.client.facet_v2 import error_message_run, job_type_job, parent_run

        assert self.sink is not None
        if self._transport is None:
            self._transport = self.sink.transport(self.run_id)
        run_facets: dict[str, Any] = dict(facets)
        if job != RUN_JOB:
            if self._parent is None:
                self._parent = parent_run.ParentRunFacet(
                    run=parent_run.Run(runId=self.run_uuid(RUN_JOB)),
                    job=parent_run.Job(namespace=JOB_NAMESPACE, name=RUN_JOB),
                )
            run_facets["parent"] = self._parent
        if error:
            run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
                message=error, programmingLanguage="python"
            )
        kind = "JOB" if job == RUN_JOB else "TASK"
        event = RunEvent(
            eventTime=_utc(when),
            producer=PRODUCER,
            eventType=RunState[event_type],
            run=Run(runId=self.run_uuid(job), facets=run_facets),
            job=Job(
                namespace=JOB_NAMESPACE,
                name=job,
                facets={
                    "jobType": job_type_job.JobTypeJobFacet(
                        processingType="BATCH", integration="WINTER_DAYS", jobType=kind
                    ),
                },
            ),
            inputs=[InputDataset(namespace=d.namespace, name=d.name) for d in sorted(set(inputs))],
            outputs=[OutputDataset(namespace=d.namespace, name=d.name) for d in sorted(set(outputs))],
        )
        self._transport.emit(event)

    # -- the run and its steps --------------------------------------------------------------

    def run_started(self, parameters: Mapping[str, Any] | None = None) -> None:
        self._emit("START", RUN_JOB, when=self.started)

    def run_finished(self, status: str, error: str | None = None) -> None:
        event = {"succeeded": "COMPLETE", "failed": "FAIL"}.get(status, "ABORT")
        self._emit(event, RUN_JOB, error=error)
        if self._dropped:
            log.warning(
                "%d lineage event(s) of run %s were dropped", self._dropped, self.run_id, extra={"run_id": self.run_id}
            )

    def step_started(self, step: str) -> None:
        self._emit("START", f"orchestrator.{step}")

    def step_finished(
        self,
        step: str,
        succeeded: bool,
        error: str | None = None,
        inputs: Iterable[LineageDataset] = (),
        outputs: Iterable[LineageDataset] = (),
    ) -> None:
        self._emit(
            "COMPLETE" if succeeded else "FAIL", f"orchestrator.{step}", error=error, inputs=inputs, outputs=outputs
        )

    # -- ELT actions ------------------------------------------------------------------------

    def elt_actions(self, graph: Mapping[str, Any], status: Any) -> None:
        """Events for the actions whose state changed since the last look (call after each poll with
        the ELT backend's `InvocationStatus`)."""
        try:
            if self._datasets is None or self._datasets[0] is not graph:
                self._datasets = (graph, action_datasets(graph, self.sink.naming) if self.sink else {})
            datasets = self._datasets[1]
            for action in status.actions:
                self._action_event(action, datasets)
        except Exception as err:  # a graph this code cannot read must not fail the poll
            log.warning(
                "lineage of the ELT actions of run %s not derived: %s: %s",
                self.run_id,
                type(err).__name__,
                err,
                extra={"run_id": self.run_id},
            )

    def _action_event(self, action: Any, datasets: Mapping[tuple[str, str], tuple[list, list]]) -> None:
        target = action.target
        job = f"elt.{target.schema}.{target.name}" if target.schema else f"elt.{target.name}"
        sent = self._actions.get(job)
        state = str(action.state.value)
        if sent in ("COMPLETE", "FAIL", "ABORT"):
            return
        inputs, outputs = datasets.get((target.schema, target.name), ([], []))
        timing = action.invocation_timing
        if sent is None and state in ACTION_RAN:
            self._emit("START", job, when=timing.start_time, inputs=inputs, outputs=outputs)
            self._actions[job] = sent = "START"
        # An action that never started (skipped, disabled) has no run to end.
        if sent is None or state not in ACTION_ENDS:
            return
        end = ACTION_ENDS[state]
        reason = action.failure_reason or (None if end == "COMPLETE" else f"action {state.lower()}")
        self._emit(end, job, when=timing.end_time, error=reason, inputs=inputs, outputs=outputs)
        self._actions[job] = end


def action_datasets(graph: Mapping[str, Any], naming: DatasetNaming) -> dict[tuple[str, str], tuple[list, list]]:
    """(schema, name) of each action -> (its inputs: the dependency targets, its outputs: its target)."""
    found: dict[tuple[str, str], tuple[list, list]] = {}
    for section in ACTION_SECTIONS:
        for entry in graph.get(section) or ():
            target = entry.get("target") or {}
            if not target.get("name"):
                continue
            inputs = [
                naming.table(str(d.get("database") or ""), str(d.get("schema") or ""), str(d["name"]))
                for d in entry.get("dependencyTargets") or ()
                if d.get("name")
            ]
            output = naming.table(str(target.get("database") or ""), str(target.get("schema") or ""), target["name"])
            found[(str(target.get("schema") or ""), str(target["name"]))] = (inputs, [output])
    return found
