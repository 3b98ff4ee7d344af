from __future__ import annotations

import json
import os

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


def save(registry, models, version, auc, fingerprint="f1"):
    _, candidate, baseline = models
    return registry.save_version(
        version,
        model=dump_model(candidate),
        baseline=dump_model(baseline),
        metrics={"candidate": {"roc_auc": auc}, "baseline": {"roc_auc": auc - 0.01}},
        features=["a", "b", "c", "d"],
        curves={"roc": b"\x89PNG roc", "pr": b"\x89PNG pr"},
        manifest={"training_fingerprint": fingerprint, "package_version": "0.1.0"},
    )


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
        "model.skops", "baseline.skops", "metrics.json", "features.json", "roc.png", "pr.png", "manifest.json"}


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
    decision = registry.apply_gate("v1", tolerance=0.005, floor=0.6)
    assert decision["promoted"] and "no champion yet" in decision["reason"]
    assert registry.alias("champion") == "v1"


def test_model_below_the_floor_stays_challenger(registry, models):
    save(registry, models, "v1", 0.55)
    decision = registry.apply_gate("v1", tolerance=0.005, floor=0.6)
    assert not decision["promoted"] and "not above the floor 0.6000" in decision["reason"]
    assert registry.alias("champion") is None and registry.alias("challenger") == "v1"


def test_champion_is_replaced_only_within_tolerance(registry, models):
    save(registry, models, "v1", 0.80)
    registry.apply_gate("v1", 0.005, 0.6)
    save(registry, models, "v2", 0.790, fingerprint="f2")
    worse = registry.apply_gate("v2", 0.005, 0.6)
    assert not worse["promoted"] and "< champion v1 AUC 0.8000 - 0.005" in worse["reason"]
    assert (registry.alias("champion"), registry.alias("challenger")) == ("v1", "v2")
    save(registry, models, "v3", 0.796, fingerprint="f3")
    close = registry.apply_gate("v3", 0.005, 0.6)
    assert close["promoted"]
    assert (registry.alias("champion"), registry.alias("challenger")) == ("v3", "v2")
    state = json.loads(registry.lake.get(ALIASES_KEY))
    assert state["revision"] == 3 and [h["version"] for h in state["history"]] == ["v1", "v2", "v3"]


def test_gate_uses_the_champion_auc_on_the_same_evaluation_set(registry, models):
    save(registry, models, "v1", 0.70)
    registry.apply_gate("v1", 0.005, 0.6)
    save(registry, models, "v2", 0.75, fingerprint="f2")
    # On v2's own evaluation rows the champion scores 0.90: v2 is worse there.
    decision = registry.apply_gate("v2", 0.005, 0.6, champion_auc_on_eval={"v1": 0.90})
    assert not decision["promoted"] and decision["champion_auc"] == 0.90


def test_gate_decision_boundaries():
    assert gate_decision(0.795, 0.8, "v1", 0.005, 0.6)["promoted"]  # exactly champion - tolerance
    assert not gate_decision(0.6, None, None, 0.005, 0.6)["promoted"]  # must be above the floor


def test_manual_promotion_is_recorded_with_its_reason(registry, models):
    save(registry, models, "v1", 0.80)
    registry.apply_gate("v1", 0.005, 0.6)
    save(registry, models, "v2", 0.70, fingerprint="f2")
    registry.apply_gate("v2", 0.005, 0.6)
    decision = registry.promote("v2", "v1 drifted in production")
    assert decision["champion_version"] == "v1"
    assert (registry.alias("champion"), registry.alias("challenger")) == ("v2", None)
    assert registry.aliases()["history"][-1]["reason"] == "manual: v1 drifted in production"
    with pytest.raises(RegistryError, match="v9 is not in the registry"):
        registry.promote("v9", "typo")
