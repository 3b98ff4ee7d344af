"""The model registry: versions and aliases in the lake under `mlops/models/<model>/`.

Layout:
    mlops/models/customer_churn/versions/<version>/model.skops      candidate (skops, never pickle)
    mlops/models/customer_churn/versions/<version>/calibrator.skops its score -> probability calibration
    mlops/models/customer_churn/versions/<version>/baseline.skops   logistic-regression baseline
    mlops/models/customer_churn/versions/<version>/metrics.json     evaluation of both models
    mlops/models/customer_churn/versions/<version>/features.json    ordered feature list
    mlops/models/customer_churn/versions/<version>/roc.png, pr.png  curves of the evaluation
    mlops/models/customer_churn/versions/<version>/manifest.json    written last: the version is complete
    mlops/models/customer_churn/aliases.json                         champion / challenger, and every decision

A version id is its as-of date and a digest of the training-data fingerprint, the model
parameters and the package version, so the same data and code give the same version
whichever runner trains it. The manifest keeps the version's lineage (feature signature,
code, training window, data fingerprint) and its evaluation, including its AUC against the
champion on the same rows with the confidence interval the gate decided on.

The gate promotes a new version only when the interval of its AUC minus the champion's lies
above -tolerance (default 0: the new version is not worse, at the configured confidence).
A date is scored by the champion *for that date*: the version most recently made champion
among those trained on labels up to it, so a backfill never uses, nor is compared against,
a model that learnt from labels after its as-of date.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import skops.io as sio

from winter_days.stores import Lake, LakeNotFound
from winter_days.stores.locking import exclusive_lock

MODEL_NAME = "customer_churn"
REGISTRY_PREFIX = f"mlops/models/{MODEL_NAME}"
ALIASES_KEY = f"{REGISTRY_PREFIX}/aliases.json"

# Types a registry artefact may contain beyond what skops trusts by default. Anything else
# in a file (a function reference, an unknown class) makes loading fail.
TRUSTED_TYPES = (
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "numpy.dtype",
)

DEFAULT_AUC_TOLERANCE = 0.0
DEFAULT_AUC_FLOOR = 0.6


class RegistryError(Exception):
    """A registry read or write that cannot be done; the message names the key."""


class UntrustedArtefactError(RegistryError):
    """A model file holding types outside TRUSTED_TYPES: refused, never loaded."""


def version_key(version: str, name: str) -> str:
    return f"{REGISTRY_PREFIX}/versions/{version}/{name}"


def version_as_of(version: str) -> date | None:
    """The as-of date a version id starts with (YYYYMMDD-...), None for another id."""
    try:
        return datetime.strptime(version[:8], "%Y%m%d").date()
    except ValueError:
        return None


def make_version_id(as_of: str, training_fingerprint: str, model_params: dict, package_version: str) -> str:
    digest = hashlib.sha256(
        json.dumps([training_fingerprint, model_params, package_version], sort_keys=True).encode()
    ).hexdigest()
    return f"{as_of.replace('-', '')}-{digest[:12]}"


def dump_model(model: Any) -> bytes:
    """The skops bytes of a scikit-learn estimator."""
    return sio.dumps(model, compression=8)


# Loaded models by the digest of their bytes: a pipeline run loads the same champion and
# candidate in several steps, and a skops load checks every object it builds.
_LOADED: OrderedDict[str, Any] = OrderedDict()
_LOADED_MAX = 8
_loaded_lock = threading.Lock()


def load_model(data: bytes, source: str = "model") -> Any:
    """Load skops bytes, refusing any type outside the default set and TRUSTED_TYPES.

    The same bytes give the same (already checked) estimator object; callers only predict
    with it and never change it.
    """
    digest = hashlib.sha256(data).hexdigest()
    with _loaded_lock:
        if digest in _LOADED:
            _LOADED.move_to_end(digest)
            return _LOADED[digest]
    model = _load_checked(data, source)
    with _loaded_lock:
        _LOADED[digest] = model
        while len(_LOADED) > _LOADED_MAX:
            _LOADED.popitem(last=False)
    return model


def _load_checked(data: bytes, source: str) -> Any:
    try:
        found = sio.get_untrusted_types(data=data)
    except Exception as err:  # a corrupt or foreign file: say which one
        raise RegistryError(f"{source}: not a readable skops file ({err})") from None
    refused = sorted(set(found) - set(TRUSTED_TYPES))
    if refused:
        raise UntrustedArtefactError(f"{source}: refusing to load untrusted type(s) {', '.join(refused)}")
    return sio.loads(data, trusted=list(found))


def _json(value: Any) -> bytes:
    return json.dumps(value, indent=2, sort_keys=True, default=str).encode()


@dataclass
class ModelVersion:
    version: str
    manifest: dict

    @property
    def roc_auc(self) -> float:
        return float(self.manifest["metrics"]["candidate"]["roc_auc"])

    @property
    def as_of(self) -> date | None:
        """The run's as-of date: the last day whose data (labels included) it learnt from."""
        text = self.manifest.get("as_of")
        return date.fromisoformat(text) if text else version_as_of(self.version)


class Registry:
    """Model versions and aliases of one model in a lake."""

    def __init__(self, lake: Lake):
        self.lake = lake

    # -- versions ------------------------------------------------------------------------
    def exists(self, version: str) -> bool:
        return self.lake.exists(version_key(version, "manifest.json"))

    def save_version(
        self,
        version: str,
        *,
        model: bytes,
        baseline: bytes,
        metrics: dict,
        calibrator: bytes | None = None,
        features: list[str],
        curves: dict[str, bytes],
        manifest: dict,
    ) -> ModelVersion:
        """Write a complete version; the manifest goes last so a half-written version is
        never visible. Re-saving an existing version with the same fingerprint is a no-op."""
        if self.exists(version):
            existing = self.get_version(version)
            if existing.manifest.get("training_fingerprint") != manifest.get("training_fingerprint"):
                raise RegistryError(f"model version {version} already exists with a different training fingerprint")
            return existing
        self.lake.put(version_key(version, "model.skops"), model)
        self.lake.put(version_key(version, "baseline.skops"), baseline)
        artefacts = ["model.skops", "baseline.skops"]
        if calibrator is not None:
            self.lake.put(version_key(version, "calibrator.skops"), calibrator)
            artefacts.append("calibrator.skops")
        self.lake.put(version_key(version, "metrics.json"), _json(metrics))
        self.lake.put(version_key(version, "features.json"), _json(list(features)))
        for name, png in curves.items():
            self.lake.put(version_key(version, f"{name}.png"), png)
        full = {
            **manifest,
            "version": version,
            "model_name": MODEL_NAME,
            "metrics": metrics,
            "features": list(features),
            "model_sha256": hashlib.sha256(model).hexdigest(),
            **({"calibrator_sha256": hashlib.sha256(calibrator).hexdigest()} if calibrator is not None else {}),
            "files": [*artefacts, "metrics.json", "features.json", *(f"{n}.png" for n in curves)],
        }
        self.lake.put(version_key(version, "manifest.json"), _json(full))
        return ModelVersion(version, full)

    def get_version(self, version: str) -> ModelVersion:
        try:
            manifest = json.loads(self.lake.get(version_key(version, "manifest.json")))
        except LakeNotFound:
            raise RegistryError(f"model version {version} is not in the registry") from None
        return ModelVersion(version, manifest)

    def versions(self) -> list[str]:
        suffix = "/manifest.json"
        prefix = f"{REGISTRY_PREFIX}/versions/"
        return sorted(k[len(prefix) : -len(suffix)] for k in self.lake.list(prefix) if k.endswith(suffix))

    def load(self, version: str, artefact: str = "model.skops") -> Any:
        """The estimator of a version, checked against the manifest's hash and trusted types."""
        key = version_key(version, artefact)
        data = self.lake.get(key)
        digest_field = {"model.skops": "model_sha256", "calibrator.skops": "calibrator_sha256"}.get(artefact)
        if digest_field:
            expected = self.get_version(version).manifest.get(digest_field)
            if expected and hashlib.sha256(data).hexdigest() != expected:
                raise RegistryError(f"{key}: content does not match the manifest's {digest_field}")
        return load_model(data, source=key)

    def load_calibrator(self, version: str) -> Any | None:
        """The version's calibrator, or None for a version registered without one."""
        if "calibrator.skops" not in self.get_version(version).manifest.get("files", ()):
            return None
        return self.load(version, "calibrator.skops")

    def latest_trained_as_of(self, until: date) -> date | None:
        """The latest as-of date any version was trained for, up to `until` (from the ids)."""
        dates = [d for d in (version_as_of(v) for v in self.versions()) if d is not None and d <= until]
        return max(dates, default=None)

    # -- aliases -------------------------------------------------------------------------
    def aliases(self) -> dict:
        try:
            return json.loads(self.lake.get(ALIASES_KEY))
        except LakeNotFound:
            return {"revision": 0, "aliases": {}, "history": []}

    def alias(self, name: str) -> str | None:
        entry = self.aliases()["aliases"].get(name)
        return entry["version"] if entry else None

    def champion_at(self, as_of: date) -> str | None:
        """The champion for a date: the current champion when it learnt from labels up to
        `as_of`, else the version most recently made champion among those that did (a
        version whose as-of date is not recorded counts as one that did)."""
        state = self.aliases()
        promoted = [entry["version"] for entry in state["history"] if entry.get("alias") == "champion"]
        current = state["aliases"].get("champion", {}).get("version")
        for version in ([current] if current else []) + promoted[::-1]:
            trained = version_as_of(version)
            if trained is None and self.exists(version):
                trained = self.get_version(version).as_of
            if trained is None or trained <= as_of:
                return version
        return None

    def _alias_lock(self) -> contextlib.AbstractContextManager:
        # The file replace makes each write atomic; the lock makes read-modify-write atomic
        # between processes on one machine (remote lakes rely on the single-run guard).
        path = self.lake.local_path(f"{REGISTRY_PREFIX}/aliases.lock")
        return contextlib.nullcontext() if path is None else exclusive_lock(path)

    def promote(self, version: str, reason: str) -> dict:
        """Make `version` champion by hand (an operator's decision, recorded with its reason)."""
        candidate = self.get_version(version)
        with self._alias_lock():
            state = self.aliases()
            previous = state["aliases"].get("champion", {}).get("version")
            decision = {
                "version": version,
                "promoted": True,
                "champion_version": previous,
                "reason": f"manual: {reason}",
            }
            self._move_aliases(state, "champion", candidate, decision)
            return decision

    def _move_aliases(self, state: dict, alias: str, candidate: ModelVersion, decision: dict) -> None:
        """Point `alias` at the candidate, log the decision, and replace aliases.json at once."""
        now = datetime.now(UTC).isoformat()
        state["aliases"][alias] = {"version": candidate.version, "roc_auc": candidate.roc_auc, "updated_at": now}
        if alias == "champion" and state["aliases"].get("challenger", {}).get("version") == candidate.version:
            del state["aliases"]["challenger"]
        state["history"] = (state["history"] + [{"at": now, "alias": alias, **decision}])[-200:]
        state["revision"] = int(state["revision"]) + 1
        self.lake.put(ALIASES_KEY, _json(state))

    def apply_gate(self, version: str, tolerance: float, floor: float, comparison: dict | None = None) -> dict:
        """Gate `version` against the current champion and move the aliases in one write.

        `comparison` is the version's AUC against the champion for its as-of date on the same
        rows (compare.AucComparison.as_dict()); see `gate_decision`. A version whose as-of
        date lies before the current champion's (a backfill) is kept as challenger: the
        champion learnt from labels after that date. Returns the decision with its reason.
        """
        candidate = self.get_version(version)
        with self._alias_lock():
            state = self.aliases()
            champion_version = state["aliases"].get("champion", {}).get("version")
            if champion_version == version:
                return {
                    "version": version,
                    "promoted": True,
                    "champion_version": version,
                    "comparison": comparison,
                    "reason": f"version {version} is already champion",
                }
            champion_as_of = self.get_version(champion_version).as_of if champion_version else None
            if champion_as_of is not None and candidate.as_of is not None and candidate.as_of < champion_as_of:
                decision = {
                    "promoted": False,
                    "champion_version": champion_version,
                    "comparison": comparison,
                    "reason": f"backfill as of {candidate.as_of}: champion {champion_version} learnt from "
                    f"labels up to {champion_as_of}, after this date; kept as challenger",
                }
            else:
                decision = gate_decision(candidate.roc_auc, comparison, champion_version, tolerance, floor)
            decision["version"] = version
            self._move_aliases(state, "champion" if decision["promoted"] else "challenger", candidate, decision)
            return decision


def gate_decision(
    candidate_auc: float, comparison: dict | None, champion_version: str | None, tolerance: float, floor: float
) -> dict:
    """Whether a candidate may become champion, and why (pure: no registry access).

    Promoted when its AUC is above the floor and, with a champion, the confidence interval of
    its AUC minus the champion's (on the same rows) lies at or above -tolerance: it is not
    worse beyond the configured confidence. A champion that cannot score the candidate's
    rows (features it needs are no longer computed) is replaced.
    """
    base = {
        "candidate_auc": candidate_auc,
        "champion_version": champion_version,
        "comparison": comparison,
        "tolerance": tolerance,
        "floor": floor,
    }
    if not candidate_auc > floor:
        return {
            **base,
            "promoted": False,
            "reason": f"AUC {candidate_auc:.4f} is not above the floor {floor:.4f}; kept as challenger",
        }
    if champion_version is None:
        return {**base, "promoted": True, "reason": f"no champion yet; AUC {candidate_auc:.4f} is above the floor"}
    if comparison is None or comparison.get("reference_version") != champion_version:
        return {
            **base,
            "promoted": True,
            "reason": f"champion {champion_version} cannot score this run's evaluation rows; replaced",
        }
    low, high = comparison["interval"]
    shown = (
        f"AUC {comparison['difference']:+.4f} against champion {champion_version} "
        f"({comparison['confidence']:.0%} interval {low:+.4f} .. {high:+.4f}, {comparison['rows']} rows)"
    )
    if low >= -tolerance:
        return {**base, "promoted": True, "reason": f"{shown}: not worse at {comparison['confidence']:.0%} confidence"}
    floor_text = "zero" if tolerance == 0 else f"{-tolerance:+.4f}"
    return {
        **base,
        "promoted": False,
        "reason": f"{shown}: may be worse (the interval reaches below {floor_text}); kept as challenger",
    }
