"""The ML port: `ChurnPipelineRunner` runs the churn pipeline for one as-of date.

Its adapters are `runner.InProcessRunner` and `runner.KfpLocalRunner` (local) and
`vertex.VertexRunner` (gcp); the platform module picks one per profile. A run's `mode`
(cadence.MODES) says whether it trains: `score` only scores with the champion, `train`
trains and then scores, `auto` (the daily run) trains when the history allows and training
is due, and always scores.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from winter_days.ml.options import PipelineOptions

Progress = Callable[[str], None]


@runtime_checkable
class ChurnPipelineRunner(Protocol):
    """Features -> train -> evaluate -> register -> gate -> predict for one as-of date
    (the training steps pass through when the run does not train)."""

    name: str

    def run(
        self,
        as_of: date | None = None,
        options: PipelineOptions | None = None,
        progress: Progress | None = None,
        mode: str = "auto",
    ) -> dict[str, Any]:
        """Run the pipeline and return its summary (see `runner.summarise`); raise the
        step's error (FeatureError, TrainingDataError, ...) with a message saying what is wrong."""
        ...
