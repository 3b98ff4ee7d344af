"""The ML port: `ChurnPipelineRunner` runs the churn pipeline for one as-of date.

Its adapters are `runner.InProcessRunner` and `runner.KfpLocalRunner` (local) and
`vertex.VertexRunner` (gcp); the platform module picks one per profile.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any, Callable, Protocol, runtime_checkable

if TYPE_CHECKING:
    from winter_days.ml.options import PipelineOptions

Progress = Callable[[str], None]


@runtime_checkable
class ChurnPipelineRunner(Protocol):
    """Features -> train -> evaluate -> register -> gate -> predict for one as-of date."""

    name: str

    def run(self, as_of: date | None = None, options: PipelineOptions | None = None,
            progress: Progress | None = None) -> dict[str, Any]:
        """Run the pipeline and return its summary (see `summarise`); raise the step's
        error (FeatureError, TrainingDataError, ...) with a message saying what is wrong."""
        ...
