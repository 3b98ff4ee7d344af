from __future__ import annotations

import json
import os
from datetime import date

import numpy as np
import pytest
import skops.io as sio
from sklearn.preprocessing import FunctionTransformer

from winter_days.ml.registry import (
    ALIASES_KEY,
    Registry,
    RegistryError,
    UntrustedArtefactError,
    dump_model,
    gate_decision,
    load_model,
    version_key,
)
from winter_days.ml.train import Dataset, TrainingConfig, fit_baseline, fit_candidate
from winter_days.stores import LocalLake


@pytest.fixture(scope="module")
def models():
    rng = np.random.default_rng(1)
    X = rng.random((300, 4))
    X[::9, 1] = np.nan
    y = (X[:, 0] + 0.3 * rng.random(300) > 0.6).astype(float)
    data = Dataset(X, y, np.array([f"C{i}" for i in range(300)], dtype=object), np.array(["d"] * 300, dtype=object))
    config = TrainingConfig(max_iter=30)
    return X, fit_candidate(data, config), fit_baseline(data, config)


@pytest.fixture
def registry(tmp_path):
    return Registry(LocalLake(tmp_path / "lake"))


def save(registry, models, version, auc, fingerprint="f1", as_of="2026-03-01", calibrator=None):
    _, candidate, baseline = models
    return registry.save_version(
        version,
        model=dump_model(candidate),
        baseline=dump_model(baseline),
        calibrator=calibrator,
        metrics={"candidate": {"roc_auc": auc}, "baseline": {"roc_auc": auc - 0.01}},
        features=["a", "b", "c", "d"],
        curves={"roc": b"\x89PNG roc", "pr": b"\x89PNG pr"},
        manifest={"training_fingerprint": fingerprint, "package_version": "0.1.0", "as_of": as_of},
    )


def against(champion, difference, low, high, rows=500):
    """A comparison as the evaluation step records it (compare.AucComparison.as_dict())."""
    return {
        "reference_version": champion,
        "difference": difference,
        "interval": [low, high],
        "confidence": 0.95,
        "rows": rows,
        "candidate_auc": 0.8 + difference,
        "reference_auc": 0.8,
        "standard_error": 0.01,
        "method": "DeLong",
    }


def test_version_round_trip_gives_the_same_predictions(registry, models):
    X, candidate, baseline = models
    save(registry, models, "v1", 0.8)
    assert registry.versions() == ["v1"]
    manifest = registry.get_version("v1").manifest
    assert manifest["features"] == ["a", "b", "c", "d"] and manifest["training_fingerprint"] == "f1"
    assert manifest["package_version"] == "0.1.0" and "model.skops" in manifest["files"]
    np.testing.assert_array_equal(registry.load("v1").predict_proba(X), candidate.predict_proba(X))
    np.testing.assert_array_equal(registry.load("v1", "baseline.skops").predict_proba(X), baseline.predict_proba(X))
    lake_files = registry.lake.list("mlops/models/customer_churn/versions/v1/")
    assert {k.rsplit("/", 1)[1] for k in lake_files} == {
        "model.skops",
        "baseline.skops",
        "metrics.json",
        "features.json",
        "roc.png",
        "pr.png",
        "manifest.json",
    }


def test_saving_a_version_again_is_idempotent_but_not_with_other_data(registry, models):
    first = save(registry, models, "v1", 0.8)
    assert save(registry, models, "v1", 0.8).manifest == first.manifest
    with pytest.raises(RegistryError, match="different training fingerprint"):
        save(registry, models, "v1", 0.8, fingerprint="other")


def test_untrusted_types_are_refused():
    hostile = sio.dumps(FunctionTransformer(func=os.system))
    with pytest.raises(UntrustedArtefactError, match="refusing to load untrusted type.*system"):
        load_model(hostile, "uploaded.skops")
    with pytest.raises(RegistryError, match="not a readable skops file"):
        load_model(b"\x80\x04 a pickle, not a skops zip", "uploaded.skops")


def test_the_same_model_bytes_load_once_and_other_bytes_are_checked_again(models):
    data = dump_model(models[1])
    first, again = load_model(data), load_model(data)
    assert first is again
    assert np.array_equal(first.predict_proba(models[0]), models[1].predict_proba(models[0]))
    hostile = sio.dumps(FunctionTransformer(func=os.system))
    for _ in range(2):
        with pytest.raises(UntrustedArtefactError):
            load_model(hostile, "uploaded.skops")


def test_a_replaced_model_file_is_refused(registry, models):
    save(registry, models, "v1", 0.8)
    registry.lake.put(version_key("v1", "model.skops"), dump_model(models[2]))
    with pytest.raises(RegistryError, match="does not match the manifest"):
        registry.load("v1")


def test_first_model_above_the_floor_becomes_champion(registry, models):
    save(registry, models, "v1", 0.8)
    decision = registry.apply_gate("v1", tolerance=0.0, floor=0.6)
    assert decision["promoted"] and "no champion yet" in decision["reason"]
    assert registry.alias("champion") == "v1"


def test_model_below_the_floor_stays_challenger(registry, models):
    save(registry, models, "v1", 0.55)
    decision = registry.apply_gate("v1", tolerance=0.0, floor=0.6)
    assert not decision["promoted"] and "not above the floor 0.6000" in decision["reason"]
    assert registry.alias("champion") is None and registry.alias("challenger") == "v1"


def test_champion_is_replaced_only_when_the_interval_says_not_worse(registry, models):
    save(registry, models, "v1", 0.80)
    registry.apply_gate("v1", 0.0, 0.6)
    # Higher on these rows, but within the noise: the interval reaches below zero.
    save(registry, models, "v2", 0.805, fingerprint="f2", as_of="2026-03-08")
    noisy = registry.apply_gate("v2", 0.0, 0.6, against("v1", 0.005, -0.012, 0.022))
    assert not noisy["promoted"] and "may be worse (the interval reaches below zero)" in noisy["reason"]
    assert "AUC +0.0050 against champion v1 (95% interval -0.0120 .. +0.0220, 500 rows)" in noisy["reason"]
    assert (registry.alias("champion"), registry.alias("challenger")) == ("v1", "v2")
    save(registry, models, "v3", 0.83, fingerprint="f3", as_of="2026-03-15")
    better = registry.apply_gate("v3", 0.0, 0.6, against("v1", 0.03, 0.004, 0.056))
    assert better["promoted"] and "not worse at 95% confidence" in better["reason"]
    assert (registry.alias("champion"), registry.alias("challenger")) == ("v3", "v2")
    state = json.loads(registry.lake.get(ALIASES_KEY))
    assert state["revision"] == 3 and [h["version"] for h in state["history"]] == ["v1", "v2", "v3"]
    # The interval the gate decided on is kept in the registry with the decision.
    assert state["history"][-1]["comparison"]["interval"] == [0.004, 0.056]


def test_a_tolerance_admits_a_model_no_worse_than_that_margin(registry, models):
    save(registry, models, "v1", 0.80)
    registry.apply_gate("v1", 0.0, 0.6)
    save(registry, models, "v2", 0.80, fingerprint="f2", as_of="2026-03-08")
    assert registry.apply_gate("v2", 0.01, 0.6, against("v1", 0.0, -0.008, 0.008))["promoted"]


def test_a_backfill_is_never_promoted_over_a_champion_trained_on_later_labels(registry, models):
    save(registry, models, "v1", 0.70, as_of="2026-03-01")
    registry.apply_gate("v1", 0.0, 0.6)
    save(registry, models, "v2", 0.75, fingerprint="f2", as_of="2026-04-01")
    registry.apply_gate("v2", 0.0, 0.6, against("v1", 0.05, 0.02, 0.08))
    save(registry, models, "v3", 0.95, fingerprint="f3", as_of="2026-03-10")
    # The backfill as of March 10 was compared with v1, the champion of that date, never v2.
    backfill = registry.apply_gate("v3", 0.0, 0.6, against("v1", 0.25, 0.2, 0.3))
    assert not backfill["promoted"]
    assert "backfill as of 2026-03-10: champion v2 learnt from labels up to 2026-04-01" in backfill["reason"]
    assert registry.alias("champion") == "v2"


def test_each_date_is_scored_by_the_champion_that_learnt_only_from_labels_up_to_it(registry, models):
    assert registry.champion_at(date(2026, 5, 1)) is None
    save(registry, models, "v1", 0.70, as_of="2026-03-01")
    registry.apply_gate("v1", 0.0, 0.6)
    save(registry, models, "v2", 0.75, fingerprint="f2", as_of="2026-04-01")
    registry.apply_gate("v2", 0.0, 0.6, against("v1", 0.05, 0.02, 0.08))
    assert registry.champion_at(date(2026, 5, 1)) == "v2"
    assert registry.champion_at(date(2026, 3, 20)) == "v1"
    assert registry.champion_at(date(2026, 2, 1)) is None
    registry.promote("v1", "rollback")
    assert registry.champion_at(date(2026, 5, 1)) == "v1"
    assert registry.latest_trained_as_of(date(2026, 3, 31)) is None  # ids without a date say nothing
    assert registry.latest_trained_as_of(date(2026, 5, 1)) is None


def test_the_latest_training_date_is_read_from_the_version_ids(registry, models):
    save(registry, models, "20260301-aaaaaaaaaaaa", 0.7, as_of="2026-03-01")
    save(registry, models, "20260308-bbbbbbbbbbbb", 0.7, fingerprint="f2", as_of="2026-03-08")
    assert registry.latest_trained_as_of(date(2026, 3, 7)) == date(2026, 3, 1)
    assert registry.latest_trained_as_of(date(2026, 3, 8)) == date(2026, 3, 8)
    assert registry.latest_trained_as_of(date(2026, 2, 28)) is None


def test_a_calibrator_is_kept_with_its_hash(registry, models):
    from sklearn.isotonic import IsotonicRegression

    calibrator = IsotonicRegression(out_of_bounds="clip").fit([0.1, 0.5, 0.9], [0, 1, 1])
    save(registry, models, "v1", 0.8, calibrator=dump_model(calibrator))
    save(registry, models, "v0", 0.8, fingerprint="f0")
    assert registry.load_calibrator("v1").predict([0.5]).tolist() == calibrator.predict([0.5]).tolist()
    assert registry.load_calibrator("v0") is None
    registry.lake.put(version_key("v1", "calibrator.skops"), dump_model(IsotonicRegression().fit([0, 1], [0, 1])))
    with pytest.raises(RegistryError, match="calibrator_sha256"):
        registry.load_calibrator("v1")


def test_gate_decision_boundaries():
    assert gate_decision(0.8, against("v1", 0.0, 0.0, 0.02), "v1", 0.0, 0.6)["promoted"]  # exactly zero
    assert not gate_decision(0.8, against("v1", 0.0, -1e-9, 0.02), "v1", 0.0, 0.6)["promoted"]
    assert not gate_decision(0.6, None, None, 0.0, 0.6)["promoted"]  # must be above the floor
    # A champion that cannot score the new rows (no comparison) is replaced.
    assert "cannot score" in gate_decision(0.7, None, "v1", 0.0, 0.6)["reason"]


def test_manual_promotion_is_recorded_with_its_reason(registry, models):
    save(registry, models, "v1", 0.80)
    registry.apply_gate("v1", 0.0, 0.6)
    save(registry, models, "v2", 0.70, fingerprint="f2")
    registry.apply_gate("v2", 0.0, 0.6, against("v1", -0.1, -0.13, -0.07))
    decision = registry.promote("v2", "v1 drifted in production")
    assert decision["champion_version"] == "v1"
    assert (registry.alias("champion"), registry.alias("challenger")) == ("v2", None)
    assert registry.aliases()["history"][-1]["reason"] == "manual: v1 drifted in production"
    with pytest.raises(RegistryError, match="v9 is not in the registry"):
        registry.promote("v9", "typo")
