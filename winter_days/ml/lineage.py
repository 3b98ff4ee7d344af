"""What a registered model came from: its input signature, the code, and the data it read.

Kept in each version's manifest so that a model can be traced and reproduced: the feature
names and types it takes, the package version and the git commit of the source when it runs
from a checkout (a container image has no git: the commit is then unknown, never an error),
and a fingerprint of the feature rows the run read.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from winter_days.ml.features import KEY_COLUMNS, LABEL_COLUMN, feature_matrix

_COMMIT = re.compile(r"^[0-9a-f]{40}$")
GIT_TIMEOUT_SECONDS = 5.0


def source_commit(package_dir: Path | None = None) -> dict[str, Any]:
    """{'commit': sha or None, 'dirty': bool or None} of the checkout the package runs from."""
    unknown: dict[str, Any] = {"commit": None, "dirty": None}
    root = (package_dir or Path(__file__).resolve().parents[1]).parent
    # Only the package's own checkout counts: an installed package may sit inside some other
    # repository (a virtualenv in a project folder), whose commit says nothing about it.
    if not (root / ".git").exists():
        return unknown
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=GIT_TIMEOUT_SECONDS
        )
        if head.returncode != 0 or not _COMMIT.match(head.stdout.strip()):
            return unknown
        status = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_SECONDS,
        )
    except (OSError, subprocess.SubprocessError):
        return unknown
    return {"commit": head.stdout.strip(), "dirty": bool(status.stdout.strip()) if status.returncode == 0 else None}


def feature_signature(schema: pa.Schema, features: Sequence[str]) -> dict[str, Any]:
    """The model's inputs in order, as the warehouse typed them, and its output."""
    return {
        "inputs": [{"name": name, "type": str(schema.field(name).type)} for name in features],
        "input_matrix": "float64, NaN where a feature is undefined",
        "output": {"name": "churn_probability", "type": "double", "calibrated": True},
    }


def data_fingerprint(table: pa.Table, features: Sequence[str]) -> str:
    """SHA-256 of feature rows (keys, features, labels) in a fixed order: the same rows give
    the same fingerprint whatever order the warehouse returned them in."""
    digest = hashlib.sha256()
    digest.update(",".join([*KEY_COLUMNS, *features, LABEL_COLUMN]).encode())
    dates = np.asarray([str(d) for d in table.column("as_of_date").to_pylist()], dtype=object)
    customers = np.asarray(table.column("customer_id").to_pylist(), dtype=object).astype(str)
    order = np.lexsort((customers, dates))
    labels = np.asarray([-1 if v is None else int(v) for v in table.column(LABEL_COLUMN).to_pylist()], dtype=np.int64)
    for i in order:
        digest.update(f"{dates[i]}|{customers[i]}|{labels[i]}|".encode())
    digest.update(np.ascontiguousarray(feature_matrix(table, list(features))[order]).tobytes())
    return digest.hexdigest()
