"""Options of one churn pipeline run beyond the settings: training knobs, the promotion gate,
the input tables. They travel to a pipeline's components as JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields

from winter_days.ml.features import FeatureSources
from winter_days.ml.registry import DEFAULT_AUC_FLOOR, DEFAULT_AUC_TOLERANCE
from winter_days.ml.train import TrainingConfig


@dataclass(frozen=True)
class PipelineOptions:
    """Run options beyond Settings: training knobs, the promotion gate, input tables."""

    training: TrainingConfig = field(default_factory=TrainingConfig)
    auc_tolerance: float = DEFAULT_AUC_TOLERANCE
    auc_floor: float = DEFAULT_AUC_FLOOR
    sales_table: str = FeatureSources.sales
    clicks_table: str = FeatureSources.clicks

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> PipelineOptions:
        raw = json.loads(text or "{}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ValueError(f"unknown churn pipeline option(s): {', '.join(unknown)}")
        training = TrainingConfig(**raw.pop("training", {}))
        return cls(training=training, **raw)

    @property
    def sources(self) -> FeatureSources:
        return FeatureSources(self.sales_table, self.clicks_table)
