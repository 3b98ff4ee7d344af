"""Retention of the churn pipeline's per-run artefacts.

Every ML run leaves a folder named by its run id (`mlops/runs/<run_id>/` in the lake: the
hand-over files between steps; locally also `<home>/kfp-local/<run_id>/`: the KFP local
runner's spec and outputs). The model registry (`mlops/models/`) is not a run artefact and
is never pruned here. The rule, in both adapters' terms: a run's artefacts are deleted
once they are `keep_days` days old; locally the newest `keep_runs` runs are kept whatever
their age.

- `FolderRetention` (local) deletes the folders itself, after a successful ML step.
- `LifecycleRuleRetention` (gcp) deletes nothing: the bucket's lifecycle rule
  (deploy/terraform/storage.tf, `ml_run_artifacts_days`) deletes `mlops/runs/` and the
  pipeline root's objects of that age, and the orchestrator's account holds no delete
  permission on `mlops/`. deploy/terraform passes the same number as
  `retention.ml_run_days`, so both sides state one rule.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol, runtime_checkable

log = logging.getLogger("winter_days.retention")

# Where the ML runs keep their hand-over files in the lake (`ml.steps.run_key`).
ML_RUNS_PREFIX = "mlops/runs"
# An ML run id starts with its UTC start: 20260301T020000Z-<as of>-<hex>.
RUN_STAMP = "%Y%m%dT%H%M%SZ"
RUN_STAMP_LENGTH = 16


def run_started_at(run_id: str) -> datetime | None:
    """When an ML run started, read from its id; None for a name that is not a run id."""
    try:
        return datetime.strptime(run_id[:RUN_STAMP_LENGTH], RUN_STAMP).replace(tzinfo=UTC)
    except ValueError:
        return None


@runtime_checkable
class ArtefactRetention(Protocol):
    """Prunes the artefacts of old ML runs."""

    def prune(self, now: datetime | None = None) -> list[str]:
        """Delete what the rule says is old; return the ids of the runs pruned."""
        ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class FolderRetention:
    """Per-run folders under local roots: keep the newest `keep_runs`, and any younger than `keep_days`."""

    roots: Sequence[Path]
    keep_runs: int
    keep_days: int

    def describe(self) -> str:
        where = ", ".join(str(root) for root in self.roots)
        return f"the newest {self.keep_runs} runs, and every run younger than {self.keep_days} days, under {where}"

    def prune(self, now: datetime | None = None) -> list[str]:
        now = now or datetime.now(UTC)
        runs: dict[str, datetime] = {}
        for root in self.roots:
            if not root.is_dir():
                continue
            for child in root.iterdir():
                started = run_started_at(child.name)
                if child.is_dir() and started is not None:
                    runs[child.name] = started
        newest_first = sorted(runs, key=lambda run_id: (runs[run_id], run_id), reverse=True)
        old_enough = now - timedelta(days=self.keep_days)
        pruned = [run_id for run_id in newest_first[self.keep_runs :] if runs[run_id] <= old_enough]
        for run_id in pruned:
            for root in self.roots:
                folder = root / run_id
                if folder.is_dir():
                    shutil.rmtree(folder)
        if pruned:
            log.info(
                "pruned the artefacts of %d ML run(s) (%s .. %s); kept %s",
                len(pruned),
                pruned[-1],
                pruned[0],
                self.describe(),
            )
        return pruned


@dataclass(frozen=True)
class LifecycleRuleRetention:
    """A bucket whose lifecycle rule deletes run artefacts `keep_days` after they were written."""

    bucket_prefix: str
    keep_days: int

    def describe(self) -> str:
        return (
            f"the bucket's lifecycle rule deletes {self.bucket_prefix} objects {self.keep_days} days after they "
            "were written (deploy/terraform: ml_run_artifacts_days)"
        )

    def prune(self, now: datetime | None = None) -> list[str]:
        return []
