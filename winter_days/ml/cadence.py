"""When a churn pipeline run trains: its mode, the history a time split needs, the cadence.

Scoring runs every day with the champion; training is the expensive part and needs history.
A run's mode says which it does:

- `score`: score the as-of date with the champion for that date, never train.
- `train`: train, evaluate, gate and register a new version, then score (an error when the
  history is too short for the time split).
- `auto` (the daily run): train when the history allows and training is due, i.e. no
  version was trained for the last `churn_train_every_days` days; then score. Before the
  history allows it the run succeeds and says "skipped: not enough history (N of M days)".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

from winter_days.ml.features import FeatureError, minimum_history_days

MODES = ("auto", "train", "score")


@dataclass(frozen=True)
class TrainingPlan:
    """Whether this run trains, and why (the reason goes to the run summary as it is)."""

    train: bool
    reason: str
    history_days: int
    history_needed: int

    def as_dict(self) -> dict:
        return asdict(self)


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"unknown churn pipeline mode {mode!r}; choose one of {', '.join(MODES)}")
    return mode


def plan_training(
    mode: str,
    first_day: date,
    score_date: date,
    horizon_days: int,
    min_history_days: int,
    last_trained: date | None,
    every_days: int,
) -> TrainingPlan:
    """The training decision of one run; FeatureError when `train` is asked without the history."""
    check_mode(mode)
    have = (score_date - first_day).days
    need = minimum_history_days(horizon_days, min_history_days)

    def plan(train: bool, reason: str) -> TrainingPlan:
        return TrainingPlan(train, reason, have, need)

    if mode == "score":
        return plan(False, "skipped: scoring only (mode score)")
    if have < need:
        if mode == "train":
            raise FeatureError(
                f"churn training: the sales history from {first_day} to {score_date} spans {have} days; a time split "
                f"with a {horizon_days}-day horizon needs at least {need} days (history, a training window and an "
                "evaluation window)"
            )
        return plan(False, f"skipped: not enough history ({have} of {need} days)")
    if mode == "train":
        return plan(True, "trained: asked for (mode train)")
    if last_trained is None:
        return plan(True, "trained: no model was trained yet")
    age = (score_date - last_trained).days
    if age >= every_days:
        return plan(True, f"trained: due (last trained as of {last_trained}, {age} days ago; every {every_days} days)")
    return plan(False, f"skipped: not due (last trained as of {last_trained}; every {every_days} days)")
