"""Training: the time and customer split, input checks, the model and its baseline.

The candidate model is a HistGradientBoostingClassifier (handles missing values itself);
the baseline is a scaled logistic regression with median imputation and missing-value
indicators. Both are plain scikit-learn estimators, so the registry can save them with
skops and load them back with an explicit list of trusted types.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from winter_days.ml.features import FEATURE_COLUMNS, LABEL_COLUMN, MIN_HISTORY_DAYS, feature_matrix


class TrainingDataError(ValueError):
    """Training data a model must not be fitted on; the message says what is wrong."""


@dataclass(frozen=True)
class TrainingConfig:
    """Knobs of one training run; defaults suit the simulated world and 100k customers."""

    train_dates: int = 4
    step_days: int = 14
    min_history_days: int = MIN_HISTORY_DAYS
    holdout_share: float = 0.2
    min_rows: int = 50
    min_class_rows: int = 5
    seed: int = 0
    learning_rate: float = 0.06
    max_iter: int = 300
    max_leaf_nodes: int = 31
    min_samples_leaf: int = 40
    l2_regularization: float = 1.0

    def model_params(self) -> dict[str, float | int | bool]:
        # Early stopping on a held-back 10% always: small data must not get 300 overfitted trees.
        return {
            "early_stopping": True,
            "validation_fraction": 0.1,
            "learning_rate": self.learning_rate,
            "max_iter": self.max_iter,
            "max_leaf_nodes": self.max_leaf_nodes,
            "min_samples_leaf": self.min_samples_leaf,
            "l2_regularization": self.l2_regularization,
            "random_state": self.seed,
        }


@dataclass
class Dataset:
    """Feature matrix, labels and keys of one split."""

    X: np.ndarray
    y: np.ndarray
    customer_id: np.ndarray
    as_of_date: np.ndarray
    non_finite: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.y)


def customer_buckets(customer_ids: np.ndarray, seed: int = 0) -> np.ndarray:
    """A stable bucket 0..9999 per customer: it depends only on the id and the seed."""
    return np.fromiter(
        (
            int.from_bytes(hashlib.blake2b(f"{seed}:{cid}".encode(), digest_size=8).digest(), "big") % 10_000
            for cid in customer_ids
        ),
        dtype=np.int64,
        count=len(customer_ids),
    )


def is_holdout(customer_ids: np.ndarray, share: float, seed: int = 0) -> np.ndarray:
    """Stable customer hold-out: a customer's side depends only on its id and the seed."""
    return customer_buckets(customer_ids, seed) < int(round(share * 10_000))


def to_dataset(table: pa.Table, features: tuple[str, ...] | list[str] = FEATURE_COLUMNS) -> Dataset:
    """Matrix and labels of labelled rows; infinite values become missing and are counted."""
    X = feature_matrix(table, features)
    non_finite = {}
    bad = np.isinf(X)
    if bad.any():
        # A documented fallback: an infinite feature (e.g. an amount overflow upstream) is
        # treated as unknown, and the run reports how many there were per feature.
        non_finite = {features[j]: int(n) for j, n in enumerate(bad.sum(axis=0)) if n}
        X = np.where(bad, np.nan, X)
    labels = table.column(LABEL_COLUMN).to_numpy(zero_copy_only=False) if table.num_rows else np.empty(0)
    return Dataset(
        X=X,
        y=np.asarray(labels, dtype=np.float64),
        customer_id=np.asarray(table.column("customer_id").to_pylist(), dtype=object),
        as_of_date=np.asarray(table.column("as_of_date").to_pylist(), dtype=object),
        non_finite=non_finite,
    )


class TimeSplit(NamedTuple):
    train: pa.Table
    calibration: pa.Table
    evaluation: pa.Table


def split_by_time(
    table: pa.Table, train_dates: list[date], eval_date: date, holdout_share: float, seed: int = 0
) -> TimeSplit:
    """Training rows (earlier dates, customers not held out), calibration rows (the later
    date, the other customers) and evaluation rows (the later date, held-out customers only):
    calibrated on a period no training label reaches, scored on customers it never saw."""
    holdout = pa.array(
        is_holdout(np.asarray(table.column("customer_id").to_pylist(), dtype=object), holdout_share, seed)
    )
    labelled = pc.is_valid(table.column(LABEL_COLUMN))
    dates = table.column("as_of_date")
    later = pc.equal(dates, pa.scalar(eval_date, pa.date32()))
    in_train = pc.and_(pc.is_in(dates, pa.array(train_dates, pa.date32())), pc.invert(holdout))
    return TimeSplit(
        table.filter(pc.and_(in_train, labelled)),
        table.filter(pc.and_(pc.and_(later, pc.invert(holdout)), labelled)),
        table.filter(pc.and_(pc.and_(later, holdout), labelled)),
    )


def check_training_data(data: Dataset, config: TrainingConfig, what: str = "training") -> None:
    """Refuse data that would give a meaningless model: too few rows, one class, no signal."""
    if len(data) == 0:
        raise TrainingDataError(f"churn {what} data is empty: no active customers with a complete label window")
    if len(data) < config.min_rows:
        raise TrainingDataError(
            f"churn {what} data has {len(data)} customer rows; at least {config.min_rows} are needed"
        )
    positives = int(np.sum(data.y == 1))
    negatives = int(np.sum(data.y == 0))
    if positives == 0 or negatives == 0:
        only = "churned" if negatives == 0 else "retained"
        raise TrainingDataError(
            f"churn {what} data has a single class: all {len(data)} customers {only}; a classifier needs both"
        )
    if min(positives, negatives) < config.min_class_rows:
        raise TrainingDataError(
            f"churn {what} data has {positives} churned and {negatives} retained customers; each class needs at "
            f"least {config.min_class_rows}"
        )
    if np.isnan(data.X).all():
        raise TrainingDataError(f"churn {what} data: every feature value is missing")


def fit_candidate(data: Dataset, config: TrainingConfig) -> HistGradientBoostingClassifier:
    """The gradient-boosted model that competes for champion."""
    model = HistGradientBoostingClassifier(**config.model_params())
    model.fit(data.X, data.y.astype(np.int64))
    return model


def fit_baseline(data: Dataset, config: TrainingConfig) -> Pipeline:
    """The scaled logistic-regression baseline reported beside the candidate."""
    model = Pipeline(
        [
            ("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
            ("scale", StandardScaler()),
            ("logreg", LogisticRegression(max_iter=1000, random_state=config.seed)),
        ]
    )
    model.fit(data.X, data.y.astype(np.int64))
    return model


def fingerprint(data: Dataset, features: tuple[str, ...] | list[str] = FEATURE_COLUMNS) -> str:
    """SHA-256 of the training rows (keys, features, labels) in a fixed order."""
    digest = hashlib.sha256()
    digest.update(",".join(features).encode())
    order = np.lexsort((data.customer_id.astype(str), data.as_of_date.astype(str)))
    for i in order:
        digest.update(f"{data.as_of_date[i]}|{data.customer_id[i]}|{int(data.y[i])}|".encode())
    digest.update(np.ascontiguousarray(data.X[order]).tobytes())
    return digest.hexdigest()
