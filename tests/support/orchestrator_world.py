"""The simulated installation the orchestrator's integration tests share: paths, token, sizes."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TOKEN = "integration-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# Enough history for a time split with a 30-day horizon, and enough customers to evaluate.
DAYS, CUSTOMERS, SALES_PER_DAY, CLICKS_PER_DAY = 100, 300, 40, 100


def installation_environ(root: Path) -> dict[str, str]:
    return {
        "WINTER_DAYS_HOME": str(root / "home"),
        "WINTER_DAYS_DATAFORM_DIR": str(root / "dataform"),
        "WINTER_DAYS_CUSTOMERS": str(CUSTOMERS),
        "WINTER_DAYS_AUTH_TOKEN": TOKEN,
        "WINTER_DAYS_ORCHESTRATOR_POLL_INTERVAL_SECONDS": "0.05",
    }


def service_app(settings, pipeline=None):
    """The service over the installation's platform (and a given pipeline, else the real one)."""
    from winter_days.orchestrator.launcher import RunLauncher
    from winter_days.platform import build_platform
    from winter_days.service import create_app

    platform = build_platform(settings)
    return create_app(platform, launcher=RunLauncher(platform, pipeline) if pipeline is not None else None)
