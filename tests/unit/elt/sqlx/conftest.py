"""A throwaway Dataform project per test, written from a dict of relative path -> text."""

from __future__ import annotations

from pathlib import Path

import pytest

SETTINGS = """defaultProject: proj
defaultLocation: EU
defaultDataset: wh
defaultAssertionDataset: checks
vars:
  stage: staging
"""


@pytest.fixture
def project(tmp_path: Path):
    def make(files: dict[str, str], settings: str = SETTINGS) -> Path:
        root = tmp_path / "project"
        (root / "definitions").mkdir(parents=True, exist_ok=True)
        (root / "workflow_settings.yaml").write_text(settings)
        for rel, text in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        return root

    return make
