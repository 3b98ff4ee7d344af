"""Sales and activity ("what happened"): sales, web activity and startups, from gold tables.

Revenue is the amount of completed sales; orders are completed sales; average order value
is revenue over orders. Web activity counts web sessions (fct_web_sessions: a session is
split at midnight UTC, as web analytics does) and attributes each to the referrer and the
device it arrived with; it never reads the click events themselves, which on BigQuery would
bill a scan of every event per page view. The date range filters sale_date (and event_date
for web activity); the region filters sales only: web visitors are mostly anonymous and
startups are not regional.
"""

from __future__ import annotations

from winter_days.dashboard.charts import Chart, DataQuery, SqlAndParams, where_clause
from winter_days.dashboard.filters import DashboardFilters
from winter_days.records import FUNDING_STAGES, VALUATION_BUCKETS
from winter_days.warehouse import tables

FCT_SALES = tables.FCT_SALES
DIM_CUSTOMER = tables.DIM_CUSTOMER
WEB_SESSIONS = tables.FCT_WEB_SESSIONS
DIM_STARTUP = tables.DIM_STARTUP

NO_SALES = "no sales published yet: generate data and run the pipeline (winter-days run)"
NO_CLICKS = "no web activity published yet: generate clickstream data and run the pipeline"
NO_STARTUPS = "no startups published yet: generate startup loads and run the pipeline"

FUNNEL = ("page_view", "product_view", "add_to_cart", "checkout", "purchase")
# Days of data beyond which the revenue series is shown per week instead of per day.
WEEKLY_FROM_DAYS = 92


def _sales_filter(filters: DashboardFilters) -> SqlAndParams:
    return where_clause(filters, "sale_date", "region")


def _sales_totals(filters: DashboardFilters) -> SqlAndParams:
    cond, params = _sales_filter(filters)
    return (
        f"""
        SELECT
          ROUND(COALESCE(SUM(IF(is_completed, total_amount, NULL)), 0), 2) AS revenue,
          COUNTIF(is_completed) AS orders,
          ROUND(COALESCE(SUM(IF(is_completed, total_amount, NULL)) / NULLIF(COUNTIF(is_completed), 0), 0), 2)
            AS avg_order_value,
          COUNT(DISTINCT customer_id) AS customers,
          MIN(sale_date) AS first_sale_date,
          MAX(sale_date) AS last_sale_date
        FROM {FCT_SALES}
        WHERE TRUE{cond}
        """,
        params,
    )


def _sales_over_time(filters: DashboardFilters) -> SqlAndParams:
    cond, params = _sales_filter(filters)
    return (
        f"""
        WITH completed AS (
          SELECT sale_date, total_amount FROM {FCT_SALES} WHERE is_completed{cond}
        ),
        grain AS (
          SELECT IF(DATE_DIFF(MAX(sale_date), MIN(sale_date), DAY) > {WEEKLY_FROM_DAYS}, 'week', 'day') AS period_grain
          FROM completed
        )
        SELECT
          IF(g.period_grain = 'week', DATE_TRUNC(c.sale_date, WEEK(MONDAY)), c.sale_date) AS period_start,
          g.period_grain,
          ROUND(SUM(c.total_amount), 2) AS revenue,
          COUNT(*) AS orders,
          ROUND(SUM(c.total_amount) / COUNT(*), 2) AS avg_order_value
        FROM completed AS c CROSS JOIN grain AS g
        GROUP BY 1, 2
        ORDER BY 1
        """,
        params,
    )


def _revenue_by(column: str, label: str):
    def build(filters: DashboardFilters) -> SqlAndParams:
        cond, params = _sales_filter(filters)
        return (
            f"""
            SELECT
              {column} AS {label},
              ROUND(SUM(total_amount), 2) AS revenue,
              COUNT(*) AS orders
            FROM {FCT_SALES}
            WHERE is_completed{cond}
            GROUP BY 1
            ORDER BY revenue DESC, 1
            """,
            params,
        )

    return build


def _amount_by_status(filters: DashboardFilters) -> SqlAndParams:
    cond, params = _sales_filter(filters)
    return (
        f"""
        SELECT status, ROUND(SUM(total_amount), 2) AS amount, COUNT(*) AS sales
        FROM {FCT_SALES}
        WHERE TRUE{cond}
        GROUP BY 1
        ORDER BY amount DESC, 1
        """,
        params,
    )


def _top_customers(filters: DashboardFilters) -> SqlAndParams:
    cond, params = _sales_filter(filters)
    return (
        f"""
        WITH labels AS (SELECT customer_id, customer_label FROM {DIM_CUSTOMER})
        SELECT
          -- The label, not the name: the warehouse holds no personal data to show.
          COALESCE(ANY_VALUE(customer_label), customer_id) AS customer_label,
          MAX_BY(region, sale_timestamp) AS region,
          COUNT(*) AS orders,
          ROUND(SUM(total_amount), 2) AS revenue
        FROM {FCT_SALES} LEFT JOIN labels USING (customer_id)
        WHERE is_completed{cond}
        GROUP BY customer_id
        ORDER BY revenue DESC, customer_id
        LIMIT {int(filters.top_n)}
        """,
        params,
    )


def _click_filter(filters: DashboardFilters) -> SqlAndParams:
    return where_clause(filters, "event_date", None)


def _click_funnel(filters: DashboardFilters) -> SqlAndParams:
    cond, params = _click_filter(filters)
    steps = ", ".join(f"STRUCT({i} AS step, '{name}' AS funnel_step)" for i, name in enumerate(FUNNEL, 1))
    # Five steps by at most five depths: a cross join, as BigQuery may refuse an outer join
    # on an inequality alone.
    return (
        f"""
        WITH depths AS (
          SELECT funnel_depth, COUNT(*) AS sessions
          FROM {WEB_SESSIONS}
          WHERE TRUE{cond}
          GROUP BY funnel_depth
        ),
        steps AS (
          SELECT * FROM UNNEST([{steps}])
        )
        SELECT
          s.step,
          s.funnel_step,
          SUM(IF(d.funnel_depth >= s.step, d.sessions, 0)) AS sessions,
          ROUND(SUM(IF(d.funnel_depth >= s.step, d.sessions, 0)) / SUM(d.sessions), 4) AS share_of_sessions
        FROM steps AS s
        CROSS JOIN depths AS d
        GROUP BY s.step, s.funnel_step
        ORDER BY s.step
        """,
        params,
    )


def _bounce_by(column: str, label: str, limit: int | None = None):
    def build(filters: DashboardFilters) -> SqlAndParams:
        cond, params = _click_filter(filters)
        tail = f"ORDER BY sessions DESC, 1 LIMIT {int(limit)}" if limit else "ORDER BY 1"
        return (
            f"""
            SELECT
              {column} AS {label},
              COUNT(*) AS sessions,
              COUNTIF(is_bounce) AS bounced_sessions,
              ROUND(COUNTIF(is_bounce) / COUNT(*), 4) AS bounce_rate
            FROM {WEB_SESSIONS}
            WHERE TRUE{cond}
            GROUP BY 1
            {tail}
            """,
            params,
        )

    return build


def _ordered_values(column: str, values: tuple[str, ...]) -> str:
    """The values with their display position, as a BigQuery table expression."""
    rows = [f"STRUCT({i} AS position, '{v}' AS {column})" for i, v in enumerate(values)]
    return f"SELECT * FROM UNNEST([{', '.join(rows)}])"


def _startups_by(column: str, order: tuple[str, ...] | None = None):
    def build(filters: DashboardFilters) -> SqlAndParams:
        counts = f"""
            SELECT {column} AS {column}, COUNT(*) AS startups,
                   ROUND(SUM(total_funding_usd) / 1e6, 1) AS total_funding_musd
            FROM {DIM_STARTUP}
            WHERE is_current
            GROUP BY 1
        """
        if order is None:
            return f"{counts} ORDER BY startups DESC, 1", []
        return (
            f"""
            WITH counts AS ({counts}), ordering AS ({_ordered_values(column, order)})
            SELECT c.{column}, c.startups, c.total_funding_musd
            FROM counts AS c LEFT JOIN ordering AS o USING ({column})
            ORDER BY o.position NULLS LAST, c.{column}
            """,
            [],
        )

    return build


QUERIES: tuple[DataQuery, ...] = (
    DataQuery("sales_totals", "Totals for the filters", (FCT_SALES,), _sales_totals, NO_SALES),
    DataQuery("sales_over_time", "Revenue, orders and AOV over time", (FCT_SALES,), _sales_over_time, NO_SALES),
    DataQuery("revenue_by_region", "Revenue by region", (FCT_SALES,), _revenue_by("region", "region"), NO_SALES),
    DataQuery(
        "revenue_by_category",
        "Revenue by product category",
        (FCT_SALES,),
        _revenue_by("product_category", "product_category"),
        NO_SALES,
    ),
    DataQuery(
        "revenue_by_payment_method",
        "Revenue by payment method",
        (FCT_SALES,),
        _revenue_by("payment_method", "payment_method"),
        NO_SALES,
    ),
    DataQuery("amount_by_status", "Sales amount by status", (FCT_SALES,), _amount_by_status, NO_SALES),
    DataQuery("top_customers", "Top customers by revenue", (FCT_SALES, DIM_CUSTOMER), _top_customers, NO_SALES),
    DataQuery("click_funnel", "Clickstream funnel", (WEB_SESSIONS,), _click_funnel, NO_CLICKS),
    DataQuery(
        "bounce_by_device",
        "Bounce rate by device category",
        (WEB_SESSIONS,),
        _bounce_by("device_type_category", "device_category"),
        NO_CLICKS,
    ),
    DataQuery(
        "bounce_by_referrer",
        "Bounce rate by referrer (top 10 by sessions)",
        (WEB_SESSIONS,),
        _bounce_by("COALESCE(referrer_domain, '(direct)')", "referrer", limit=10),
        NO_CLICKS,
    ),
    DataQuery("startups_by_sector", "Startups by sector", (DIM_STARTUP,), _startups_by("sector"), NO_STARTUPS),
    DataQuery(
        "startups_by_funding_stage",
        "Startups by funding stage",
        (DIM_STARTUP,),
        _startups_by("funding_stage", FUNDING_STAGES),
        NO_STARTUPS,
    ),
    DataQuery(
        "startups_by_valuation",
        "Startups by valuation bucket",
        (DIM_STARTUP,),
        _startups_by("valuation_bucket", VALUATION_BUCKETS),
        NO_STARTUPS,
    ),
)

MONEY = ",.0f"

SECTIONS: tuple[tuple[str, str, tuple[Chart, ...]], ...] = (
    (
        "Sales",
        "Completed sales in the date range and region chosen above.",
        (
            Chart(
                "revenue_over_time",
                "sales_over_time",
                "Revenue over time",
                "line",
                "period_start",
                ("revenue",),
                "Period start ({period_grain})",
                "Revenue (USD)",
                y_format=MONEY,
            ),
            Chart(
                "orders_over_time",
                "sales_over_time",
                "Orders over time",
                "bar",
                "period_start",
                ("orders",),
                "Period start ({period_grain})",
                "Completed orders",
            ),
            Chart(
                "aov_over_time",
                "sales_over_time",
                "Average order value over time",
                "line",
                "period_start",
                ("avg_order_value",),
                "Period start ({period_grain})",
                "Average order value (USD)",
                y_format=MONEY,
            ),
            Chart(
                "revenue_by_region",
                "revenue_by_region",
                "Revenue by region",
                "bar",
                "region",
                ("revenue",),
                "Region",
                "Revenue (USD)",
                y_format=MONEY,
            ),
            Chart(
                "revenue_by_category",
                "revenue_by_category",
                "Revenue by product category",
                "hbar",
                "product_category",
                ("revenue",),
                "Product category",
                "Revenue (USD)",
                y_format=MONEY,
            ),
            Chart(
                "revenue_by_payment_method",
                "revenue_by_payment_method",
                "Revenue by payment method",
                "hbar",
                "payment_method",
                ("revenue",),
                "Payment method",
                "Revenue (USD)",
                y_format=MONEY,
            ),
            Chart(
                "amount_by_status",
                "amount_by_status",
                "Sales amount by status (all statuses)",
                "bar",
                "status",
                ("amount",),
                "Status",
                "Amount (USD)",
                y_format=MONEY,
            ),
            Chart(
                "top_customers",
                "top_customers",
                "Top customers by revenue",
                "hbar",
                "customer_label",
                ("revenue",),
                "Customer",
                "Revenue (USD)",
                y_format=MONEY,
            ),
        ),
    ),
    (
        "Web activity",
        "Web sessions in the date range chosen above, each under the referrer and the device it arrived with "
        "(all regions: most visitors are anonymous).",
        (
            Chart(
                "click_funnel",
                "click_funnel",
                "Sessions reaching each funnel step",
                "hbar",
                "funnel_step",
                ("sessions",),
                "Funnel step",
                "Sessions",
            ),
            Chart(
                "bounce_by_device",
                "bounce_by_device",
                "Bounce rate by device category",
                "bar",
                "device_category",
                ("bounce_rate",),
                "Device category",
                "Bounce rate (share of sessions)",
                y_format=".0%",
            ),
            Chart(
                "bounce_by_referrer",
                "bounce_by_referrer",
                "Bounce rate by referrer",
                "hbar",
                "referrer",
                ("bounce_rate",),
                "Referrer domain",
                "Bounce rate (share of sessions)",
                y_format=".0%",
            ),
        ),
    ),
    (
        "Startups",
        "The current state of every startup (filters do not apply: startups are not dated sales or regional).",
        (
            Chart(
                "startups_by_sector",
                "startups_by_sector",
                "Startups by sector",
                "bar",
                "sector",
                ("startups",),
                "Sector",
                "Startups",
            ),
            Chart(
                "startups_by_funding_stage",
                "startups_by_funding_stage",
                "Startups by funding stage",
                "bar",
                "funding_stage",
                ("startups",),
                "Funding stage",
                "Startups",
            ),
            Chart(
                "startups_by_valuation",
                "startups_by_valuation",
                "Startups by valuation bucket",
                "bar",
                "valuation_bucket",
                ("startups",),
                "Valuation bucket (USD)",
                "Startups",
            ),
        ),
    ),
)
