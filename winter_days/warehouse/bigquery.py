"""The warehouse on BigQuery (gcp profile): the datasets the Dataform models publish to.

Queries are the port's BigQuery SQL; table names are logical (`winter_days_warehouse.fct_sales`)
and are qualified here with the installation's project and schema suffix. Each query has a
cost cap (`bigquery.maximum_bytes_billed`: BigQuery refuses a query whose estimate is over
it before running it) and logs the bytes it processed and billed. A failed query or write
names its job id, BigQuery's message and the query. A write replaces one partition with a
load job into the partition (`table$YYYYMMDD`, WRITE_TRUNCATE): atomic, so a rerun of a date
never duplicates. Jobs run in gcp.project_id; the tables live in dataform.default_database.
API calls and failed jobs are retried with the client's own back-off policies (rate limits,
backend errors), a failed load as a new load job into the same partition.

google-cloud-bigquery is imported when the adapter is built (the `[gcp]` extra). Reads
use the REST API; the Storage Read API is used for large results when
google-cloud-bigquery-storage is installed.
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
import logging
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq
import sqlglot
from sqlglot import exp

from winter_days.config import ConfigError, Settings, describe
from winter_days.warehouse import Params, WarehouseError, WarehouseMissing, conform
from winter_days.warehouse.tables import STAGING, WAREHOUSE, TableName, WrittenTable

if TYPE_CHECKING:
    from google.cloud import bigquery

log = logging.getLogger("winter_days.warehouse")

DATASETS = (STAGING, WAREHOUSE)
# The published-state id is the tables' last change; asking BigQuery for it on every page
# view would cost an API call per table, so it is kept this long.
VERSION_TTL_SECONDS = 30.0
# Characters of a failed query shown in its error message.
QUERY_SHOWN = 300
_ARROW_TO_BIGQUERY = {
    pa.string(): "STRING",
    pa.float64(): "FLOAT64",
    pa.int64(): "INT64",
    pa.bool_(): "BOOL",
    pa.date32(): "DATE",
    pa.timestamp("us", tz="UTC"): "TIMESTAMP",
}


def _bigquery() -> Any:
    try:
        from google.cloud import bigquery
    except ImportError as err:
        raise WarehouseError(
            "the gcp profile's warehouse needs google-cloud-bigquery: install winter-days[gcp]"
        ) from err
    return bigquery


def _scalar_type(value: Any) -> str:
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, int):
        return "INT64"
    if isinstance(value, float):
        return "FLOAT64"
    if isinstance(value, decimal.Decimal):
        return "NUMERIC"
    if isinstance(value, dt.datetime):
        return "TIMESTAMP"
    if isinstance(value, dt.date):
        return "DATE"
    if isinstance(value, (bytes, bytearray)):
        return "BYTES"
    return "STRING"


def query_parameters(params: Params | None) -> list[Any]:
    """The port's parameters as BigQuery query parameters (named for a mapping, positional
    for a sequence); a list becomes an ARRAY of its first element's type."""
    bigquery = _bigquery()
    if not params:
        return []
    items: list[tuple[str | None, Any]] = (
        list(params.items()) if isinstance(params, Mapping) else [(None, value) for value in params]
    )
    out = []
    for name, value in items:
        if isinstance(value, (list, tuple)):
            kind = _scalar_type(value[0]) if value else "STRING"
            out.append(bigquery.ArrayQueryParameter(name, kind, list(value)))
        else:
            out.append(bigquery.ScalarQueryParameter(name, _scalar_type(value), value))
    return out


class BigQueryReader:
    """Queries of one page or feature build, sharing the adapter's client and table list."""

    def __init__(self, warehouse: BigQueryWarehouse):
        self._warehouse = warehouse
        self._tables: frozenset[TableName] | None = None

    def tables(self) -> frozenset[TableName]:
        if self._tables is None:
            self._tables = self._warehouse.list_tables()
        return self._tables

    def query(self, sql: str, params: Params | None = None) -> pa.Table:
        return self._warehouse.read(sql, params)


class BigQueryWarehouse:
    """The two datasets of one project (with the installation's schema suffix)."""

    def __init__(
        self,
        client: bigquery.Client,
        project: str,
        location: str = "",
        maximum_bytes_billed: int = 0,
        schema_suffix: str = "",
        use_storage_api: bool = False,
        retry: Any = None,
        job_retry: Any = None,
    ):
        bigquery = _bigquery()
        from google.cloud.bigquery.retry import DEFAULT_JOB_RETRY

        self.client = client
        self.project = project
        self.location = location or None
        self.maximum_bytes_billed = maximum_bytes_billed
        self.schema_suffix = schema_suffix
        self.use_storage_api = use_storage_api
        # The client's own policies: API calls and failed jobs (rateLimitExceeded,
        # backendError, ...) are retried with exponential back-off; a write is a new load
        # job into the same partition, so retrying it cannot duplicate rows.
        self.retry = bigquery.DEFAULT_RETRY if retry is None else retry
        self.job_retry = DEFAULT_JOB_RETRY if job_retry is None else job_retry
        self._version: tuple[float, str | None] | None = None
        self._version_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> BigQueryWarehouse:
        """The warehouse the settings name. Jobs run (and are billed) in gcp.project_id; the
        tables live in dataform.default_database (default: the same project), in datasets
        with the dataform.schema_suffix. `bigquery.api_endpoint` points the client at a test
        server (anonymous credentials); else Application Default Credentials are used."""
        bigquery = _bigquery()
        from winter_days.gcp_credentials import client_credentials

        billing = settings.gcp.project_id
        if not billing:
            raise ConfigError(f"{describe('gcp.project_id')}: the project the BigQuery warehouse's jobs run in")
        endpoint = settings.bigquery.api_endpoint
        client_kwargs: dict[str, Any] = {
            "project": billing,
            "credentials": client_credentials("the BigQuery warehouse", endpoint=endpoint),
        }
        if endpoint:
            client_kwargs["client_options"] = {"api_endpoint": endpoint}
        try:
            import google.cloud.bigquery_storage  # noqa: F401

            storage = not endpoint
        except ImportError:
            storage = False
        return cls(
            bigquery.Client(**client_kwargs),
            settings.dataform.default_database or billing,
            location=settings.bigquery.location,
            maximum_bytes_billed=settings.bigquery.maximum_bytes_billed,
            schema_suffix=settings.dataform.schema_suffix,
            use_storage_api=storage,
            **kwargs,
        )

    # -- names --------------------------------------------------------------------------

    def dataset_id(self, dataset: str) -> str:
        return f"{dataset}_{self.schema_suffix}" if self.schema_suffix else dataset

    def table_id(self, table: TableName) -> str:
        return f"{self.project}.{self.dataset_id(table.dataset)}.{table.name}"

    def qualify(self, sql: str) -> str:
        """`sql` with every logical table name (dataset.table of the platform's datasets)
        made project.dataset[_suffix].table."""
        tree = sqlglot.parse_one(sql, read="bigquery")

        def rewrite(node: exp.Expr) -> exp.Expr:
            if isinstance(node, exp.Table) and node.db in DATASETS and not node.catalog:
                node.set("db", exp.to_identifier(self.dataset_id(node.db)))
                node.set("catalog", exp.to_identifier(self.project))
            return node

        return tree.transform(rewrite).sql(dialect="bigquery")

    def describe(self) -> str:
        datasets = ", ".join(self.dataset_id(d) for d in DATASETS)
        return f"BigQuery project {self.project} (datasets {datasets})"

    # -- reads --------------------------------------------------------------------------

    def list_tables(self) -> frozenset[TableName]:
        from google.api_core import exceptions

        found = set()
        for dataset in DATASETS:
            where = f"{self.project}.{self.dataset_id(dataset)}"
            try:
                for item in self.client.list_tables(where, retry=self.retry):
                    found.add(TableName(dataset, item.table_id))
            except exceptions.NotFound:
                continue
            except exceptions.GoogleAPICallError as err:
                raise WarehouseError(
                    f"cannot list the tables of BigQuery dataset {where}: {_first_message(err)}"
                ) from err
        return frozenset(found)

    @contextmanager
    def reader(self) -> Iterator[BigQueryReader]:
        reader = BigQueryReader(self)
        if not reader.tables():
            raise WarehouseMissing(f"nothing has been published to {self.describe()} yet: run the pipeline (POST /run)")
        yield reader

    def read(self, sql: str, params: Params | None = None) -> pa.Table:
        bigquery = _bigquery()
        config = bigquery.QueryJobConfig(
            query_parameters=query_parameters(params),
            labels={"winter-days": "warehouse-read"},
        )
        if self.maximum_bytes_billed:
            # BigQuery refuses the job before it reads anything when its estimate is over the cap.
            config.maximum_bytes_billed = self.maximum_bytes_billed
        qualified = self.qualify(sql)
        job = None
        try:
            # query() then result(), not query_and_wait(): the job id is known for the error message.
            job = self.client.query(
                qualified, job_config=config, location=self.location, retry=self.retry, job_retry=self.job_retry
            )
            rows = job.result(retry=self.retry, job_retry=self.job_retry)
            table = rows.to_arrow(create_bqstorage_client=self.use_storage_api)
        except Exception as err:
            raise WarehouseError(self._job_failure(job, qualified, err)) from err
        log.info(
            "query %s processed %s bytes (billed %s)",
            job.job_id,
            job.total_bytes_processed,
            job.total_bytes_billed,
            extra={
                "bigquery_job_id": job.job_id,
                "bytes_processed": job.total_bytes_processed,
                "bytes_billed": job.total_bytes_billed,
            },
        )
        return table

    def published_version(self) -> str | None:
        with self._version_lock:
            now = time.monotonic()
            if self._version is not None and now - self._version[0] < VERSION_TTL_SECONDS:
                return self._version[1]
            modified = [self.client.get_table(self.table_id(t)).modified for t in sorted(self.list_tables())]
            version = max(modified).isoformat() if modified else None
            self._version = (now, version)
            return version

    # -- writes -------------------------------------------------------------------------

    def replace_partition(self, table: WrittenTable, rows: pa.Table, value: Any) -> int:
        bigquery = _bigquery()
        if not isinstance(value, dt.date):
            raise WarehouseError(f"{table.name}: partitions are replaced by date, got {value!r}")
        rows = conform(table, rows)
        self._ensure_table(table)
        buffer = io.BytesIO()
        pq.write_table(rows, buffer)
        data = buffer.getvalue()
        destination = f"{self.table_id(table.name)}${value:%Y%m%d}"
        config = bigquery.LoadJobConfig(
            source_format=bigquery.SourceFormat.PARQUET,
            write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE,
            schema=self._schema(table),
            labels={"winter-days": "warehouse-write"},
        )
        jobs: list[Any] = []

        def load() -> Any:
            job = self.client.load_table_from_file(
                io.BytesIO(data), destination, job_config=config, location=self.location
            )
            jobs.append(job)
            job.result(retry=self.retry)
            return job

        try:
            # A load job that failed for a passing reason (rate limits, a backend error) is
            # sent again as a new job: it truncates the same partition, so nothing doubles.
            job = self.job_retry(load)()
        except Exception as err:
            raise WarehouseError(
                self._job_failure(jobs[-1] if jobs else None, f"load into {destination}", err)
            ) from err
        log.info(
            "load %s replaced partition %s with %s rows",
            job.job_id,
            destination,
            rows.num_rows,
            extra={"bigquery_job_id": job.job_id},
        )
        with self._version_lock:
            self._version = None
        return rows.num_rows

    def _schema(self, table: WrittenTable) -> list[Any]:
        bigquery = _bigquery()
        return [
            bigquery.SchemaField(f.name, _ARROW_TO_BIGQUERY[f.type], mode="NULLABLE" if f.nullable else "REQUIRED")
            for f in table.schema
        ]

    def _ensure_table(self, table: WrittenTable) -> None:
        from google.api_core import exceptions

        bigquery = _bigquery()
        spec = bigquery.Table(self.table_id(table.name), schema=self._schema(table))
        spec.time_partitioning = bigquery.TimePartitioning(
            type_=bigquery.TimePartitioningType.DAY, field=table.partition_column
        )
        spec.description = table.description
        try:
            self.client.create_table(spec, exists_ok=True)
        except exceptions.GoogleAPICallError as err:
            raise WarehouseError(f"cannot create {self.table_id(table.name)}: {err.message}") from err

    # -- errors -------------------------------------------------------------------------

    def _job_failure(self, job: Any, what: str, err: BaseException) -> str:
        job_id = getattr(job, "job_id", None) or _job_id_in(err)
        shown = " ".join(what.split())
        shown = shown if len(shown) <= QUERY_SHOWN else shown[: QUERY_SHOWN - 3] + "..."
        reason = " ".join(_first_message(err).split())
        if "bytesBilledLimitExceeded" in _reasons(err):
            reason += (
                f"; the query would bill more than the cost cap of {self.maximum_bytes_billed} bytes, so it "
                f"did not run: narrow the query or raise {describe('bigquery.maximum_bytes_billed')}"
            )
        where = f"; query: {shown}" if shown else ""
        return f"BigQuery job {job_id or '(not created)'} failed: {reason}{where}"

    def explain(self, error: BaseException) -> str | None:
        from google.api_core import exceptions

        # Only BigQuery's own errors: Firestore and Cloud Storage raise the same exception types.
        if isinstance(error, exceptions.GoogleAPICallError) and _from_bigquery(error):
            return self._job_failure(None, "", error)
        return None


def _first_message(err: BaseException) -> str:
    """BigQuery's own message of the first error (the client's text adds the job's location
    and id over several lines), else the exception's first line."""
    for error in getattr(err, "errors", None) or ():
        if isinstance(error, Mapping) and error.get("message"):
            return str(error["message"])
    return (str(getattr(err, "message", None) or err).splitlines() or [type(err).__name__])[0]


def _reasons(err: BaseException) -> list[str]:
    """The BigQuery error reasons an exception of the client carries."""
    return [str(e.get("reason")) for e in getattr(err, "errors", None) or () if isinstance(e, Mapping)]


def _from_bigquery(err: BaseException) -> bool:
    """Whether the BigQuery client raised `err` (a request to the BigQuery API, or a failed job)."""
    request = getattr(getattr(err, "response", None), "request", None)
    return "/bigquery/" in str(getattr(request, "url", "") or "") or _job_id_in(err) is not None


def _job_id_in(err: BaseException) -> str | None:
    """The job id google-cloud-bigquery names in a failed job's exception, if any."""
    job_id = getattr(err, "job_id", None)
    if job_id:
        return str(job_id)
    text = str(err)
    for marker in ("Job ID: ", "/jobs/"):
        if marker in text:
            found = text.split(marker, 1)[1].split("?", 1)[0].split()
            return found[0] if found else None
    return None
