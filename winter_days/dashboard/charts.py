"""Charts as data: each chart names the SQL query it plots, and is drawn by Plotly in the page.

A `DataQuery` is one SQL statement over the published warehouse; its rows are what the
chart plots, what the page's table shows and what the CSV download holds, so the three
can never disagree. A `Chart` says how to draw one query's columns.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa

from winter_days.dashboard.filters import DashboardFilters
from winter_days.warehouse import WarehouseReader

SqlAndParams = tuple[str, list[Any]]


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class QueryResult:
    """Columns and rows of one query, values made JSON- and CSV-friendly."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]

    @classmethod
    def from_arrow(cls, table: pa.Table) -> QueryResult:
        columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
        return cls(
            tuple(table.column_names), tuple(tuple(_plain(v) for v in row) for row in zip(*columns, strict=False))
        )

    def column(self, name: str) -> list[Any]:
        index = self.columns.index(name)
        return [row[index] for row in self.rows]

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=False)) for row in self.rows]

    def __len__(self) -> int:
        return len(self.rows)


@dataclass(frozen=True)
class DataQuery:
    """One SQL query behind a chart or a table; `needs` lists the tables it reads."""

    id: str
    title: str
    needs: tuple[Any, ...]  # TableName or "dataset.table"
    build: Callable[[DashboardFilters], SqlAndParams]
    empty_hint: str
    # What an empty result means, when it is not "the filters exclude everything".
    no_rows_hint: str = "no rows for these filters: widen the date range or choose all regions"

    def run(self, reader: WarehouseReader, filters: DashboardFilters) -> QueryResult | None:
        """The rows, or None when a table it reads is not published yet."""
        published = {str(table) for table in reader.tables()}
        if not all(str(table) in published for table in self.needs):
            return None
        sql, params = self.build(filters)
        return QueryResult.from_arrow(reader.query(sql, params))


@dataclass(frozen=True)
class Chart:
    """How to draw a query: kind is 'bar', 'hbar', 'line' or 'stacked'."""

    id: str
    query: str
    title: str
    kind: str
    x: str
    y: tuple[str, ...]
    x_label: str
    y_label: str
    # Legend names of the y columns, when there is more than one.
    series_names: tuple[str, ...] = ()
    y_format: str = ""  # Plotly tick format, e.g. '.0%' or ',.2f'
    hover_note: str = ""


@dataclass
class ChartView:
    """A chart ready for the template: its figure, its numbers and what to say when empty."""

    chart: Chart
    query: DataQuery
    result: QueryResult | None
    figure: dict[str, Any] | None
    empty_message: str = ""
    csv_url: str = ""
    table_rows: list[list[Any]] = field(default_factory=list)

    @property
    def dom_id(self) -> str:
        return f"chart-{self.chart.id}"


def plotly_figure(chart: Chart, result: QueryResult) -> dict[str, Any]:
    """The Plotly figure (data + layout) of a chart over its query's rows."""
    x = result.column(chart.x)
    traces: list[dict[str, Any]] = []
    for index, column in enumerate(chart.y):
        name = chart.series_names[index] if chart.series_names else column
        values = result.column(column)
        if chart.kind == "hbar":
            trace = {"type": "bar", "orientation": "h", "x": values, "y": x}
        elif chart.kind == "line":
            trace = {"type": "scatter", "mode": "lines+markers", "x": x, "y": values}
        else:
            trace = {"type": "bar", "x": x, "y": values}
        trace["name"] = name
        traces.append(trace)
    value_axis = {"title": {"text": chart.y_label}, "automargin": True}
    if chart.y_format:
        value_axis["tickformat"] = chart.y_format
    # A label may name a column of the first row, e.g. the period grain of a time series.
    x_label = chart.x_label.format(**result.records()[0]) if "{" in chart.x_label and result.rows else chart.x_label
    category_axis = {"title": {"text": x_label}, "automargin": True}
    if chart.kind == "hbar":
        # Largest first, reading top to bottom.
        category_axis["autorange"] = "reversed"
        xaxis, yaxis = value_axis, category_axis
    else:
        xaxis, yaxis = category_axis, value_axis
    layout = {
        "title": {"text": chart.title, "x": 0, "xanchor": "left", "font": {"size": 15}},
        "xaxis": xaxis,
        "yaxis": yaxis,
        "margin": {"l": 10, "r": 10, "t": 44, "b": 10},
        "autosize": True,
        "height": 340,
        "showlegend": len(traces) > 1,
        "legend": {"orientation": "h", "y": -0.25},
        "barmode": "stack" if chart.kind == "stacked" else "group",
        "paper_bgcolor": "rgba(0,0,0,0)",
    }
    return {"data": traces, "layout": layout}


def chart_view(
    chart: Chart,
    queries: dict[str, DataQuery],
    results: dict[str, QueryResult | None],
    csv_url: str,
) -> ChartView:
    """Pair a chart with its query's rows, or with the empty state that says what to do."""
    query = queries[chart.query]
    result = results.get(chart.query)
    if result is None:
        return ChartView(chart, query, None, None, empty_message=query.empty_hint, csv_url=csv_url)
    if len(result) == 0:
        return ChartView(chart, query, result, None, empty_message=query.no_rows_hint, csv_url=csv_url)
    return ChartView(
        chart, query, result, plotly_figure(chart, result), csv_url=csv_url, table_rows=[list(r) for r in result.rows]
    )


def run_queries(
    reader: WarehouseReader, queries: Sequence[DataQuery], filters: DashboardFilters
) -> dict[str, QueryResult | None]:
    """Every query of a page on the same connection, hence the same published state."""
    return {query.id: query.run(reader, filters) for query in queries}


def to_csv(result: QueryResult) -> str:
    """The rows as CSV with a header line."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(result.columns)
    writer.writerows(result.rows)
    return out.getvalue()


def where_clause(filters: DashboardFilters, date_column: str | None, region_column: str | None) -> SqlAndParams:
    """' AND ...' conditions (and their parameters) for the date range and region."""
    conditions: list[str] = []
    params: list[Any] = []
    if date_column and filters.start:
        conditions.append(f"{date_column} >= ?")
        params.append(filters.start)
    if date_column and filters.end:
        conditions.append(f"{date_column} <= ?")
        params.append(filters.end)
    if region_column and filters.region:
        conditions.append(f"{region_column} = ?")
        params.append(filters.region)
    return "".join(f" AND {c}" for c in conditions), params
