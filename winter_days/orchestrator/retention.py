"""Pruning old churn pipeline artefacts after a successful ML step.

The rule and where it applies are the platform's (`platform.ml_artefact_retention`: local
folders pruned here, the bucket's lifecycle rule on gcp). Pruning is housekeeping: a
failure to prune is logged and never fails the ML step that just succeeded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from winter_days.orchestrator.pipeline import RunContext


def pruning_ml_artefacts(
    action: Callable[[RunContext], Mapping[str, Any] | None],
) -> Callable[[RunContext], Mapping[str, Any] | None]:
    """The ML step, then the retention rule once the churn pipeline has run and succeeded."""

    def run(context: RunContext) -> Mapping[str, Any] | None:
        counts = action(context)
        if not counts or not counts.get("ml_run_id"):
            return counts
        retention = context.platform.ml_artefact_retention
        try:
            pruned = retention.prune()
        except Exception as err:
            context.logger("ml").warning(
                "old ML run artefacts not pruned (%s: %s); kept: %s", type(err).__name__, err, retention.describe()
            )
            return counts
        return {**counts, "ml_runs_pruned": len(pruned)}

    return run
