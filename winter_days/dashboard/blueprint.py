"""The dashboard pages as a Flask blueprint: `make_dashboard_blueprint(platform)`.

Pages: /dashboard/sales, /dashboard/churn, /dashboard/pipeline; every chart's rows as CSV
under /dashboard/csv/...; Plotly's JavaScript served from the installed `plotly` package,
so the pages work with no internet. A page's query results are kept per published
warehouse state (`result_cache.py`): a repeated view, or the CSV of a chart just shown,
reads no table.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from winter_days.dashboard import churn_page, pipeline_page, sales_page
from winter_days.dashboard.charts import Chart, DataQuery, QueryResult, chart_view, run_queries, to_csv
from winter_days.dashboard.filters import RISK_TIERS, DashboardFilters, FilterError, parse_filters
from winter_days.dashboard.lineage import lineage_nodes, lineage_svg
from winter_days.dashboard.result_cache import DEFAULT_MAX_ENTRIES, PageResultCache
from winter_days.platform import Platform
from winter_days.records import REGIONS
from winter_days.warehouse import WarehouseBusy, WarehouseMissing, WarehouseUnreadable

PAGE_QUERIES: dict[str, tuple[DataQuery, ...]] = {
    "sales": sales_page.QUERIES,
    "churn": churn_page.QUERIES,
    "pipeline": pipeline_page.QUERIES,
}


@functools.lru_cache(maxsize=1)
def plotly_bundle() -> tuple[bytes, str]:
    """plotly.min.js from the installed package, and an ETag for it."""
    from plotly.offline import get_plotlyjs

    body = get_plotlyjs().encode()
    return body, hashlib.sha256(body).hexdigest()[:16]


class DataformGraphCache:
    """The compiled action graph, recompiled only when a file under dataform/ changes."""

    def __init__(self, dataform_dir: Path):
        self.dataform_dir = dataform_dir
        self._stamp: tuple[float, int] | None = None
        self._graph: dict[str, Any] = {}
        self._error = ""

    def _current_stamp(self) -> tuple[float, int]:
        files = [p for p in self.dataform_dir.rglob("*") if p.is_file() and "node_modules" not in p.parts]
        return max((p.stat().st_mtime for p in files), default=0.0), len(files)

    def get(self) -> tuple[dict[str, Any], str]:
        """(graph, error message); the graph is empty when the repository does not compile."""
        if not self.dataform_dir.is_dir():
            return {}, f"no Dataform repository at {self.dataform_dir} (setting dataform_dir)"
        stamp = self._current_stamp()
        if stamp != self._stamp:
            from winter_days.elt.sqlx.compiler import compile_project
            from winter_days.elt.sqlx.errors import CompilationError

            try:
                self._graph, self._error = compile_project(self.dataform_dir), ""
            except CompilationError as err:
                self._graph, self._error = {}, f"the Dataform repository does not compile: {err}"
            self._stamp = stamp
        return self._graph, self._error


def make_dashboard_blueprint(platform: Platform, cache_entries: int = DEFAULT_MAX_ENTRIES) -> Blueprint:
    """The dashboard pages over one platform: its warehouse, its run store (the pipeline
    page), its lake (the model registry) and its Dataform project (the lineage); the
    results of up to `cache_entries` page views are kept per published warehouse state."""
    blueprint = Blueprint(
        "dashboard", __name__, url_prefix="/dashboard", template_folder="templates", static_folder="static"
    )
    settings = platform.settings
    graphs = DataformGraphCache(Path(settings.dataform_dir or "dataform"))
    results_cache: PageResultCache[dict[str, QueryResult | None]] = PageResultCache(cache_entries)

    def lake() -> Any:
        return platform.lake

    def filters_or_400() -> DashboardFilters:
        try:
            return parse_filters(request.args)
        except FilterError as err:
            abort(Response(render_template("dashboard/message.html", title="Bad filter", message=str(err)), 400))

    def read(page: str, filters: DashboardFilters) -> tuple[dict[str, QueryResult | None], str]:
        """Every query of a page over one published state, kept for the next view of the
        same page and filters; a notice when there is no warehouse."""

        def run() -> dict[str, QueryResult | None]:
            with platform.warehouse.reader() as reader:
                return run_queries(reader, PAGE_QUERIES[page], filters)

        try:
            return results_cache.read_through(platform.warehouse.published_version, (page, filters), run), ""
        except WarehouseMissing as err:
            return {q.id: None for q in PAGE_QUERIES[page]}, str(err)
        except WarehouseBusy as err:
            response = Response(
                render_template("dashboard/message.html", title="Warehouse busy", message=str(err)), 503
            )
            response.headers["Retry-After"] = "5"
            abort(response)
        except WarehouseUnreadable as err:
            abort(
                Response(render_template("dashboard/message.html", title="Warehouse unreadable", message=str(err)), 503)
            )

    def views(page: str, charts: Sequence[Chart], results: dict[str, QueryResult | None], filters: DashboardFilters):
        queries = {q.id: q for q in PAGE_QUERIES[page]}
        return [
            chart_view(
                chart,
                queries,
                results,
                url_for(".csv_download", page=page, query_id=chart.query)
                + ("?" + filters.query_string() if filters.query_string() else ""),
            )
            for chart in charts
        ]

    def render(template: str, page: str, filters: DashboardFilters, **context: Any) -> str:
        return render_template(template, page=page, filters=filters, regions=REGIONS, risk_tiers=RISK_TIERS, **context)

    @blueprint.route("/")
    def index() -> BaseResponse:
        return redirect(url_for(".sales"))

    @blueprint.route("/sales")
    def sales() -> str:
        filters = filters_or_400()
        results, notice = read("sales", filters)
        sections = [
            (title, note, views("sales", charts, results, filters)) for title, note, charts in sales_page.SECTIONS
        ]
        totals = results.get("sales_totals")
        return render(
            "dashboard/sales.html",
            "sales",
            filters,
            sections=sections,
            notice=notice,
            totals=totals.records()[0] if totals else None,
        )

    @blueprint.route("/churn")
    def churn() -> str:
        filters = filters_or_400()
        results, notice = read("churn", filters)
        summary = results.get("churn_summary")
        top = results.get("top_at_risk")
        return render(
            "dashboard/churn.html",
            "churn",
            filters,
            notice=notice,
            charts=views("churn", churn_page.CHARTS, results, filters),
            summary=summary.records()[0] if summary else None,
            top=top,
            top_csv=url_for(".csv_download", page="churn", query_id="top_at_risk") + "?" + filters.query_string(),
            models=_model_cards(lake),
            empty_hint=churn_page.no_predictions_hint(pipeline_page.load_runs(platform.run_store, limit=5))
            if top is None
            else None,
            reliability_columns=churn_page.RELIABILITY_COLUMNS,
            tier_cutoffs=churn_page.TIER_CUTOFFS,
        )

    @blueprint.route("/pipeline")
    def pipeline() -> str:
        filters = filters_or_400()
        results, notice = read("pipeline", filters)
        runs = pipeline_page.load_runs(platform.run_store)
        graph, graph_error = graphs.get()
        names = pipeline_page.all_action_names(graph)
        states, states_run = pipeline_page.last_action_states(runs, names)
        nodes = lineage_nodes(graph, states)
        assertions = pipeline_page.assertion_names(graph)
        checks = [pipeline_page.run_checks(run, assertions) for run in runs]
        columns, duration_rows = pipeline_page.step_duration_rows(runs)
        durations = QueryResult(tuple(columns), tuple(duration_rows))
        return render(
            "dashboard/pipeline.html",
            "pipeline",
            filters,
            notice=notice,
            runs=runs,
            step_names=pipeline_page.step_names(runs),
            durations=durations,
            step_figure=pipeline_page.step_durations_figure(durations) if runs else None,
            checks=checks,
            flows=pipeline_page.quarantine_flows(checks),
            lineage=lineage_svg(nodes),
            lineage_run=states_run,
            graph_error=graph_error,
            lineage_rows=[
                (n.name, n.schema, n.kind, n.state, len(n.assertion_states), n.failed_assertions) for n in nodes
            ],
            charts=views("pipeline", pipeline_page.CHARTS, results, filters),
        )

    @blueprint.route("/csv/<page>/<query_id>.csv")
    def csv_download(page: str, query_id: str) -> Response:
        queries = {q.id: q for q in PAGE_QUERIES.get(page, ())}
        if query_id not in queries:
            abort(404)
        filters = filters_or_400()
        results, notice = read(page, filters)
        result = results.get(query_id)
        if result is None:
            abort(Response(notice or queries[query_id].empty_hint, 404, mimetype="text/plain"))
        return _csv_response(to_csv(result), f"{query_id}.csv")

    @blueprint.route("/csv/pipeline/step_durations.csv")
    def step_durations_csv() -> Response:
        columns, rows = pipeline_page.step_duration_rows(pipeline_page.load_runs(platform.run_store))
        return _csv_response(to_csv(QueryResult(tuple(columns), tuple(rows))), "step_durations.csv")

    @blueprint.route("/models/<version>/roc.png")
    def roc_curve(version: str) -> Response:
        png = churn_page.roc_png(lake(), version)
        if png is None:
            abort(404)
        return Response(png, mimetype="image/png", headers={"Cache-Control": "max-age=3600"})

    @blueprint.route("/assets/plotly.min.js")
    def plotly_js() -> BaseResponse:
        body, etag = plotly_bundle()
        response = Response(body, mimetype="application/javascript")
        response.set_etag(etag)
        response.headers["Cache-Control"] = "public, max-age=86400"
        return response.make_conditional(request)

    return blueprint


def _model_cards(lake: Callable[[], Any]) -> list[churn_page.ModelCard]:
    from winter_days.config import ConfigError

    try:
        return churn_page.model_cards(lake())
    except ConfigError:
        return []


def _csv_response(text: str, filename: str) -> Response:
    return Response(text, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{filename}"'})
