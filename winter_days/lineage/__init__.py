"""OpenLineage: where a run's lineage events go, and how its datasets are named.

`LineageSink` (a folder, an HTTP endpoint or nowhere) and `RunLineage` (one run's events)
live in `events`; `DatasetNaming` and its profile adapters in `naming`. The platform builds
the sink (`platform.lineage`); the run pipeline and the poll step write through it.
"""

from __future__ import annotations

from winter_days.lineage.events import JOB_NAMESPACE, RUN_JOB, LineageSink, RunLineage, action_datasets
from winter_days.lineage.naming import BigQueryNaming, DatasetNaming, FileNaming, LineageDataset, lake_dataset

__all__ = [
    "JOB_NAMESPACE",
    "RUN_JOB",
    "BigQueryNaming",
    "DatasetNaming",
    "FileNaming",
    "LineageDataset",
    "LineageSink",
    "RunLineage",
    "action_datasets",
    "lake_dataset",
]
