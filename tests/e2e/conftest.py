"""A real installation for the browser tests: generated data run through the real pipeline
(export -> compile -> ELT -> ML), the service with the dashboards on 127.0.0.1, and headless
Debian Chromium driven by Playwright (never a downloaded browser build)."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPOSITORY = Path(__file__).resolve().parents[2]
# Enough history for the churn model's time split (30-day horizon) and a few hundred customers.
DAYS, CUSTOMERS, SALES_PER_DAY, CLICKS_PER_DAY, STARTUPS_PER_LOAD = 100, 300, 40, 100, 20
AUTH_TOKEN = "dashboard-e2e-token-0123456789"


def _environ(root: Path) -> dict[str, str]:
    return {
        "WINTER_DAYS_HOME": str(root / "home"),
        "WINTER_DAYS_DATAFORM_DIR": str(root / "dataform"),
        "WINTER_DAYS_CUSTOMERS": str(CUSTOMERS),
        "WINTER_DAYS_ORCHESTRATOR_POLL_INTERVAL_SECONDS": "0.05",
        "WINTER_DAYS_AUTH_TOKEN": AUTH_TOKEN,
    }


@pytest.fixture(scope="session")
def installation(tmp_path_factory):
    """Settings of an installation whose warehouse, registry and run history come from one real run."""
    if not CHROMIUM.exists():
        pytest.skip(
            f"{CHROMIUM} is absent: install Debian's chromium (apt-get install -y chromium) to run browser tests"
        )
    from winter_days.config import load_settings
    from winter_days.orchestrator.launcher import RunLauncher
    from winter_days.orchestrator.pipeline import RunParameters
    from winter_days.platform import build_platform
    from winter_days.simulation import DailyVolumes, DaySimulator

    root = tmp_path_factory.mktemp("installation")
    shutil.copytree(REPOSITORY / "dataform", root / "dataform", ignore=shutil.ignore_patterns("node_modules", ".df-*"))
    environ = _environ(root)
    settings = load_settings(environ=environ, cwd=root)
    platform = build_platform(settings)
    simulator = DaySimulator(
        platform, DailyVolumes(sales=SALES_PER_DAY, clicks=CLICKS_PER_DAY, startups=STARTUPS_PER_LOAD)
    )
    simulator.write_days(settings.population_start, DAYS)
    simulator.close()
    run = RunLauncher(platform).trigger({"kind": "dashboard-e2e"}, RunParameters(), wait=True).run
    platform.close()
    assert run is not None and run["status"] == "succeeded", f"the pipeline run for the dashboards failed: {run}"
    return settings, environ


@pytest.fixture(scope="session")
def base_url(installation) -> Iterator[str]:
    """The orchestrator service with the dashboards registered, on a free port of 127.0.0.1."""
    from werkzeug.serving import make_server

    from winter_days.platform import build_platform
    from winter_days.service import create_app

    settings, environ = installation
    app = create_app(build_platform(settings))
    assert "dashboard" in app.blueprints, "the service serves the dashboards"
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="dashboard-e2e-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)


@pytest.fixture(scope="session")
def browser(installation):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright (PyPI) is not installed in this environment")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


class BrowserPage:
    """A page that records console errors and refuses every request that leaves 127.0.0.1."""

    def __init__(self, page):
        self.page = page
        self.errors: list[str] = []
        self.blocked: list[str] = []
        page.on("console", lambda msg: self.errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda err: self.errors.append(str(err)))
        page.route("**/*", self._only_local)

    def _only_local(self, route) -> None:
        if urlparse(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()

    def open(self, url: str) -> None:
        response = self.page.goto(url, wait_until="load")
        assert response is not None and response.status == 200, f"{url}: HTTP {response and response.status}"
        # Every chart on the page has been drawn by Plotly.
        self.page.wait_for_function(
            "() => [...document.querySelectorAll('[data-figure]')].every(n => n.dataset.rendered === 'true')",
            timeout=30_000,
        )

    def plotted(self, dom_id: str, axis: str, trace: int = 0) -> list:
        return self.page.evaluate(f"() => Array.from(document.getElementById('{dom_id}').data[{trace}].{axis})")


@pytest.fixture
def laptop(browser) -> Iterator[BrowserPage]:
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    yield BrowserPage(context.new_page())
    context.close()


@pytest.fixture
def phone(browser) -> Iterator[BrowserPage]:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    yield BrowserPage(context.new_page())
    context.close()


@pytest.fixture
def warehouse_sql(installation):
    """Run SQL on the published warehouse (read-only), as the pages do."""
    import duckdb

    settings, _ = installation

    def run(sql: str, params: list | None = None) -> list[tuple]:
        con = duckdb.connect(str(settings.warehouse_path), read_only=True)
        try:
            return con.execute(sql, params or []).fetchall()
        finally:
            con.close()

    return run
