"""A fake BigQuery (REST v2) on 127.0.0.1 that runs queries on DuckDB.

Driven by the real google-cloud-bigquery client::

    fake = FakeBigQueryServer(project="winter-proj", location="EU").start()
    client = fake.client()   # bigquery.Client(project=..., credentials=AnonymousCredentials(),
                             #   client_options={"api_endpoint": fake.endpoint})
    rows = client.query_and_wait("SELECT 1 AS x").to_arrow(create_bqstorage_client=False)
    fake.stop()

(tests/conftest.py has the fixtures `bigquery_fake` and `bigquery_client`.)

`to_arrow()` / `to_dataframe()` try the BigQuery Storage Read API (gRPC) unless told not
to: pass `create_bqstorage_client=False`; the fake serves REST only.

Served (BigQuery v2 field names and shapes, checked against the client 3.47):
- datasets: insert, get, list (all, filter by label, paging), patch / update (If-Match),
  delete (deleteContents);
- tables: insert (schema with nested RECORD / REPEATED fields, timePartitioning,
  rangePartitioning, clustering, views, external tables over `lake_root`), get (schema,
  numRows, numBytes, lastModifiedTime), list, patch / update (schema may only grow),
  delete;
- tabledata.list (maxResults, pageToken, startIndex, selectedFields, formatOptions) and
  tabledata.insertAll (insertId de-duplication, skipInvalidRows, ignoreUnknownValues);
- jobs.insert for query, load and copy jobs; jobs.query (requestId makes a retry
  idempotent), jobs.get, jobs.getQueryResults (paging, schema), jobs.cancel, jobs.list
  (stateFilter, parentJobId), jobs.delete; multipart and resumable uploads of load data
  (PARQUET, NEWLINE_DELIMITED_JSON, CSV).

Queries are GoogleSQL, parsed with sqlglot and run on DuckDB through the platform's own
transpiler (winter_days/warehouse/duckdb/dialect/transpile.py), one DuckDB database for the
project, one schema per dataset. `project.dataset.table` and `dataset.table` resolve;
another project is notFound. Named and positional parameters, destination tables with
write/create dispositions and `$partition` decorators, DDL (CREATE [OR REPLACE]
TABLE / VIEW [AS SELECT], CREATE EXTERNAL TABLE, CREATE / DROP SCHEMA, DROP, TRUNCATE,
ALTER TABLE), DML (INSERT, UPDATE, DELETE, MERGE, with numDmlAffectedRows) and scripts with
BEGIN / COMMIT / ROLLBACK TRANSACTION. dryRun, maximumBytesBilled (refused before running,
reason bytesBilledLimitExceeded) and bytes processed / billed come from a deterministic
estimate (estimate.py). Errors have BigQuery's shapes and reasons, so the client raises
the same google.api_core exceptions (with the job id for failed jobs).

Scripted behaviour for tests: `fail(status, times, method=, path_contains=, reason=,
retry_after=)` answers the next requests with an HTTP error (429, 403 rateLimitExceeded,
500 backendError, 503, ...), and with `processed=True` serves them first (the request
took effect, its answer was lost); `fail_job(reason, times, query_contains=)` ends the
next jobs failed; `running_polls` keeps new jobs RUNNING for that many polls;
`page_rows` sets the default page size; `requests` records every request. `sql(...)` and
`table_rows(...)` look at the stored tables directly. With `database=<file>` the rows
outlive the fake (a new fake over the file finds its datasets and tables again);
`lake_root=<folder>` serves gs://<bucket>/<path> URIs of external tables and loads from
<folder>/<path>, as the local profile's lake does; with `gcs=(emulator endpoint, buckets)`
the buckets' objects on a Cloud Storage emulator are copied there before each job (gcs.py).

Not served: legacy SQL, BigQuery scripting beyond transactions (DECLARE, SET, IF, loops,
EXECUTE IMMEDIATE, BEGIN...END blocks), INFORMATION_SCHEMA, routines, materialized views,
BIGNUMERIC / GEOGRAPHY / RANGE, extract jobs, the Storage Read and Write APIs, sessions,
partition pruning in byte estimates, IAM, and more than one project or location.
"""

from .jobs import JobFailure
from .server import FakeBigQueryServer, FakeFailure, RecordedRequest

__all__ = ["FakeBigQueryServer", "FakeFailure", "JobFailure", "RecordedRequest"]
