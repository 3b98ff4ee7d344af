"""What each step of the real run pipeline reads and writes, named for lineage events.

The ELT actions get their own events from the poll step (inputs and outputs from the
compiled graph); these are the steps' own: the export reads the sales collection and
writes one bronze file, the poll step stands for the whole graph's outputs, and the ML
step reads the feature tables and writes the predictions and the model registry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from winter_days.lineage import LineageDataset, action_datasets, lake_dataset
from winter_days.orchestrator.pipeline import RunContext
from winter_days.records import SALES_COLLECTION
from winter_days.warehouse.tables import FACT_PREDICTIONS_CHURN, FCT_SALES, STG_CLICK

Datasets = tuple[list[LineageDataset], list[LineageDataset]]
# Where the churn pipeline keeps its model versions and aliases.
MODEL_REGISTRY = "mlops/models"
ML_FEATURE_TABLES = (FCT_SALES, STG_CLICK)


def export_datasets(context: RunContext, counts: Mapping[str, Any]) -> Datasets:
    naming = context.platform.lineage.naming
    outputs = [lake_dataset(context.platform.lake.uri(counts["key"]))] if counts.get("key") else []
    return [naming.collection(SALES_COLLECTION)], outputs


def elt_datasets(context: RunContext, counts: Mapping[str, Any]) -> Datasets:
    """The graph's sources (dependencies no action builds) in, every action's target out."""
    compilation = context.handed_on.get("compilation")
    graph = getattr(compilation, "graph", None) or {}
    actions = action_datasets(graph, context.platform.lineage.naming)
    outputs = {output for _, targets in actions.values() for output in targets}
    inputs = {source for sources, _ in actions.values() for source in sources} - outputs
    return sorted(inputs), sorted(outputs)


def ml_datasets(context: RunContext, counts: Mapping[str, Any]) -> Datasets:
    if not counts.get("ml_run_id"):
        return [], []
    naming = context.platform.lineage.naming
    inputs = [naming.warehouse_table(table.dataset, table.name) for table in ML_FEATURE_TABLES]
    outputs = [
        naming.warehouse_table(FACT_PREDICTIONS_CHURN.dataset, FACT_PREDICTIONS_CHURN.name),
        lake_dataset(context.platform.lake.uri(MODEL_REGISTRY)),
    ]
    return inputs, outputs


STEP_DATASETS = {"export_sales": export_datasets, "poll": elt_datasets, "ml": ml_datasets}
