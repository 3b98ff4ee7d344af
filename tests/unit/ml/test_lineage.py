"""A model's lineage: the source commit where there is one (never an error where there is
none), and a fingerprint of the feature rows that ignores their order."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date

import pyarrow as pa
import pytest

from winter_days.ml.features import FEATURE_COLUMNS
from winter_days.ml.lineage import data_fingerprint, source_commit


def package_in(root):
    package = root / "winter_days"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    return package


def test_outside_a_checkout_the_commit_is_unknown(tmp_path):
    assert source_commit(package_in(tmp_path)) == {"commit": None, "dirty": None}


def test_without_git_on_the_path_the_commit_is_unknown(tmp_path, monkeypatch):
    package = package_in(tmp_path)
    (tmp_path / ".git").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert source_commit(package) == {"commit": None, "dirty": None}


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_a_checkout_gives_its_commit_and_whether_it_has_local_changes(tmp_path):
    package = package_in(tmp_path)

    def git(*args):
        return subprocess.run(
            ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t", *args],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    git("init", "-q")
    git("add", ".")
    git("commit", "-q", "-m", "first")
    head = git("rev-parse", "HEAD")
    assert source_commit(package) == {"commit": head, "dirty": False}
    (package / "__init__.py").write_text("changed = True\n")
    assert source_commit(package) == {"commit": head, "dirty": True}


def rows(order, label_of_c2=1):
    data = {"C1": (0, 0.5), "C2": (label_of_c2, 2.0), "C3": (None, 7.0)}
    records = []
    for customer in order:
        label, value = data[customer]
        record = {"as_of_date": date(2026, 3, 1), "customer_id": customer, "churned": label}
        record.update({f: value for f in FEATURE_COLUMNS})
        records.append(record)
    return pa.Table.from_pylist(records)


def test_the_data_fingerprint_follows_the_rows_not_their_order():
    first = data_fingerprint(rows(["C1", "C2", "C3"]), FEATURE_COLUMNS)
    assert data_fingerprint(rows(["C3", "C1", "C2"]), FEATURE_COLUMNS) == first
    assert data_fingerprint(rows(["C1", "C2", "C3"], label_of_c2=0), FEATURE_COLUMNS) != first
    assert len(first) == 64
