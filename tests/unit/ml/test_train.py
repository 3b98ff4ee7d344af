from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa
import pytest

from winter_days.ml.features import FEATURE_COLUMNS
from winter_days.ml.train import (
    Dataset,
    TrainingConfig,
    TrainingDataError,
    check_training_data,
    fingerprint,
    fit_baseline,
    fit_candidate,
    is_holdout,
    split_by_time,
    to_dataset,
)

D1, D2, D3 = date(2026, 3, 1), date(2026, 3, 15), date(2026, 4, 30)


def feature_table(n_per_date: int = 200, dates=(D1, D2, D3), churn=None, seed: int = 3) -> pa.Table:
    rng = np.random.default_rng(seed)
    rows = []
    for d in dates:
        for i in range(n_per_date):
            recency = float(rng.exponential(20))
            row = {"as_of_date": d, "customer_id": f"C{i:04d}"}
            row.update({f: float(rng.random()) for f in FEATURE_COLUMNS})
            row["recency_days"] = recency
            label = int(rng.random() < 1 / (1 + np.exp(-(recency - 20) / 5))) if churn is None else churn
            row["churned"] = label
            rows.append(row)
    return pa.Table.from_pylist(rows)


def test_split_is_by_time_and_by_customer():
    table = feature_table()
    train, calibration, evaluation = split_by_time(table, [D1, D2], D3, holdout_share=0.25)
    train_customers = set(train.column("customer_id").to_pylist())
    eval_customers = set(evaluation.column("customer_id").to_pylist())
    # Calibration: the later date (no training label reaches it), the customers not held out.
    assert set(calibration.column("as_of_date").to_pylist()) == {D3}
    assert set(calibration.column("customer_id").to_pylist()) == train_customers
    assert calibration.num_rows + evaluation.num_rows == 200
    assert set(train.column("as_of_date").to_pylist()) == {D1, D2}
    assert set(evaluation.column("as_of_date").to_pylist()) == {D3}
    assert not train_customers & eval_customers
    assert 30 <= len(eval_customers) <= 70  # about a quarter of 200
    assert train.num_rows == 2 * (200 - len(eval_customers))


def test_holdout_is_stable_per_customer():
    ids = np.array([f"C{i}" for i in range(1000)], dtype=object)
    first = is_holdout(ids, 0.2)
    assert np.array_equal(first, is_holdout(ids[::-1], 0.2)[::-1])
    assert np.array_equal(first[:10], is_holdout(ids[:10], 0.2))


def test_unlabelled_rows_never_train():
    table = feature_table(dates=(D1,))
    labels = table.column("churned").to_pylist()
    labels[:50] = [None] * 50
    table = table.set_column(table.schema.get_field_index("churned"), "churned", pa.array(labels, pa.int64()))
    train, _, _ = split_by_time(table, [D1], D3, holdout_share=0.0)
    assert train.num_rows == 150


def test_models_learn_the_signal():
    data = to_dataset(feature_table())
    check_training_data(data, TrainingConfig())
    order = np.argsort(data.X[:, FEATURE_COLUMNS.index("recency_days")])
    for model in (fit_candidate(data, TrainingConfig()), fit_baseline(data, TrainingConfig())):
        p = model.predict_proba(data.X)[:, 1]
        assert p[order[-60:]].mean() > p[order[:60]].mean() + 0.3  # long-absent customers score higher


@pytest.mark.parametrize(
    "table, message",
    [
        (feature_table().slice(0, 0), "empty"),
        (feature_table(n_per_date=10, dates=(D1,)), "has 10 customer rows; at least 50"),
        (feature_table(churn=1), "single class: all 600 customers churned"),
        (feature_table(churn=0), "single class: all 600 customers retained"),
    ],
)
def test_bad_training_data_is_refused(table, message):
    with pytest.raises(TrainingDataError, match=message):
        check_training_data(to_dataset(table), TrainingConfig())


def test_too_few_of_one_class_is_refused():
    table = feature_table(churn=0)
    labels = [1, 1] + table.column("churned").to_pylist()[2:]
    table = table.set_column(table.schema.get_field_index("churned"), "churned", pa.array(labels, pa.int64()))
    with pytest.raises(TrainingDataError, match="2 churned and 598 retained"):
        check_training_data(to_dataset(table), TrainingConfig())


def test_all_missing_features_are_refused():
    table = feature_table()
    for name in FEATURE_COLUMNS:
        table = table.set_column(table.schema.get_field_index(name), name, pa.nulls(table.num_rows, pa.float64()))
    with pytest.raises(TrainingDataError, match="every feature value is missing"):
        check_training_data(to_dataset(table), TrainingConfig())


def test_infinite_features_become_missing_and_are_counted():
    table = feature_table()
    values = table.column("monetary").to_pylist()
    values[:3] = [float("inf"), float("-inf"), float("inf")]
    table = table.set_column(table.schema.get_field_index("monetary"), "monetary", pa.array(values))
    data = to_dataset(table)
    assert data.non_finite == {"monetary": 3}
    assert np.isnan(data.X[:3, FEATURE_COLUMNS.index("monetary")]).all()
    assert np.isfinite(fit_candidate(data, TrainingConfig()).predict_proba(data.X)).all()


def test_fingerprint_follows_the_rows_not_their_order():
    data = to_dataset(feature_table())
    shuffled = np.random.default_rng(0).permutation(len(data))
    same = Dataset(data.X[shuffled], data.y[shuffled], data.customer_id[shuffled], data.as_of_date[shuffled])
    assert fingerprint(same) == fingerprint(data)
    changed = Dataset(data.X.copy(), data.y.copy(), data.customer_id, data.as_of_date)
    changed.y[0] = 1 - changed.y[0]
    assert fingerprint(changed) != fingerprint(data)
