"""Customer churn: point-in-time features, training, evaluation, a gated registry, batch
predictions into the warehouse, and the same steps as a KFP v2 pipeline."""

from __future__ import annotations

from winter_days.ml.evaluate import EvaluationError
from winter_days.ml.features import FeatureError
from winter_days.ml.predict import PredictionError
from winter_days.ml.registry import RegistryError, UntrustedArtefactError
from winter_days.ml.runner import run_churn_pipeline
from winter_days.ml.steps import PipelineOptions
from winter_days.ml.train import TrainingConfig, TrainingDataError

__all__ = [
    "EvaluationError",
    "FeatureError",
    "PipelineOptions",
    "PredictionError",
    "RegistryError",
    "TrainingConfig",
    "TrainingDataError",
    "UntrustedArtefactError",
    "run_churn_pipeline",
]
