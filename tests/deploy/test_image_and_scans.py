"""The container image's Dockerfile and the deploy folder pass their linters, offline.

hadolint lints the Dockerfile; checkov scans deploy/ (Terraform, secrets) and the
Dockerfile with zero failed checks. Both come from .venv-deploy, which `make setup`
builds from deploy/requirements-checks.lock; without it the scans are skipped and say so.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from support.terraform_model import DEPLOY, REPO

TOOLS = REPO / ".venv-deploy" / "bin"
DOCKERFILE = REPO / "Dockerfile"
SKIP_COMMENT = re.compile(r"checkov:skip=([A-Z0-9_]+)(?::(.*))?")


def tool(name: str) -> Path:
    path = TOOLS / name
    if not path.exists():
        pytest.skip(f"{name} is not installed in .venv-deploy: run `make setup` (deploy/requirements-checks.lock)")
    return path


def checkov(*target: str) -> list[dict]:
    """checkov's JSON report, one entry per framework it ran, without network access."""
    result = subprocess.run(
        [str(tool("checkov")), *target, "--output", "json", "--quiet", "--skip-download"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
        env={
            "PATH": f"{TOOLS}:/usr/bin:/bin",
            "BC_SKIP_MAPPING": "TRUE",
            "CHECKOV_NO_OUTPUT_WARNINGS": "1",
            "HOME": "/tmp",
        },
    )
    assert result.returncode in (0, 1), f"checkov did not run: {result.stderr[-2000:]}"
    report = json.loads(result.stdout) if result.stdout.strip() else []
    return report if isinstance(report, list) else [report]


def failures(report: list[dict]) -> list[str]:
    found = []
    for framework in report:
        for check in framework.get("results", {}).get("failed_checks", []):
            found.append(f"{check['check_id']} {check['resource']} ({check['file_path']}:{check['file_line_range']})")
    return found


def test_hadolint_passes_on_the_dockerfile():
    result = subprocess.run([str(tool("hadolint")), str(DOCKERFILE)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_checkov_finds_no_failed_check_in_deploy():
    report = checkov("-d", str(DEPLOY.relative_to(REPO)))
    assert {f.get("check_type") for f in report} >= {"terraform"}
    assert not failures(report), "\n".join(failures(report))
    passed = sum(f.get("summary", {}).get("passed", 0) for f in report)
    assert passed > 0, "checkov scanned nothing under deploy/"


def test_checkov_finds_no_failed_check_in_the_dockerfile():
    report = checkov("-f", str(DOCKERFILE.relative_to(REPO)), "--framework", "dockerfile")
    assert not failures(report), "\n".join(failures(report))
    assert sum(f.get("summary", {}).get("passed", 0) for f in report) > 0


def test_every_checkov_skip_says_why():
    files = [DOCKERFILE, *sorted(p for p in DEPLOY.rglob("*") if p.is_file() and p.suffix in (".tf", ""))]
    skips = 0
    for path in files:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            match = SKIP_COMMENT.search(line)
            if match:
                skips += 1
                reason = (match.group(2) or "").strip()
                assert len(reason) >= 20, (
                    f"{path.relative_to(REPO)}:{number}: checkov skip {match.group(1)} without a reason"
                )
    assert skips > 0


def test_dockerfile_builds_a_small_non_root_image_from_the_lock():
    text = DOCKERFILE.read_text()
    stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", text, re.M)
    assert len(stages) >= 2, "a multi-stage build keeps build tools out of the final image"
    assert all(re.fullmatch(r"python:3\.11(\.\d+)?-slim[\w.-]*", image) for image, _ in stages), stages
    final = text[text.rindex("\nFROM ") :]
    users = re.findall(r"^USER\s+(\S+)", final, re.M)
    assert users and users[-1].split(":")[0] not in ("root", "0"), "the final stage runs as a non-root user"
    install = re.search(r"pip install --constraint requirements\.lock \"\.\[(\w+)\]\"", text)
    assert install and install.group(1) == "gcp", (
        "the package is installed with the [gcp] extra, pinned by requirements.lock"
    )
    assert "dev" not in re.findall(r"\.\[([\w,]+)\]", text)[0].split(",")
    assert re.search(r'^ENTRYPOINT \["winter-days"\]', final, re.M)
    # No secret is baked in: no key, token or credential as ENV/ARG, and no credential file copied.
    for line in re.findall(r"^(?:ENV|ARG)\b.*$", text, re.M):
        assert not re.search(r"(?i)(token|secret|password|credential|key)\b", line), line
    assert "GOOGLE_APPLICATION_CREDENTIALS" not in text


def test_dockerignore_lets_in_only_what_the_image_copies():
    lines = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*", "the context starts empty and lists what it lets in"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    copied = set()
    for sources in re.findall(r"^COPY\s+(?!--from)(.+)\s+\S+$", DOCKERFILE.read_text(), re.M):
        copied.update(s.rstrip("/") for s in sources.split())
    assert copied <= allowed, f"COPY sources the context leaves out: {sorted(copied - allowed)}"
    assert not {".venv", ".winter-days", ".git", "tests"} & allowed
