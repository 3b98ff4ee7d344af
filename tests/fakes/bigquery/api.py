"""The datasets, tables and tabledata resources of BigQuery v2, over the store.

Resources carry the fields the client reads (kind, id, etag, selfLink, *Reference,
creationTime / lastModifiedTime in epoch milliseconds as strings; numRows, numBytes for
tables). PATCH and PUT honour If-Match, as BigQuery does for the client's
update_dataset / update_table. A schema may only grow (new NULLABLE or REPEATED fields,
nested ones included, and REQUIRED relaxed to NULLABLE); anything else is refused with
BigQuery's "Provided Schema does not match Table" errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from winter_days.elt.engines.duckdb.external import ExternalTable, view_sql
from winter_days.warehouse.duckdb.dialect.transpile import UnsupportedSqlError

from .errors import BigQueryError, from_duckdb, invalid, invalid_query, not_found
from .ids import check_dataset_id, check_labels, check_table_id
from .jobs import Jobs
from .partitions import check_clustering, check_partitioning, split_decorator
from .schema import Field, compatible, fields_from_api, quote, schema_api
from .statements import Parameters, Planner, parse_script
from .store import Store, TableMeta, new_etag, now_ms
from .values import decode_row, encode_rows
from .writes import Write, grow_field, write_rows

_DATASET_FIELDS = (
    "description",
    "friendlyName",
    "labels",
    "defaultTableExpirationMs",
    "defaultPartitionExpirationMs",
    "access",
)
_TABLE_FIELDS = (
    "description",
    "friendlyName",
    "labels",
    "expirationTime",
    "timePartitioning",
    "rangePartitioning",
    "clustering",
    "requirePartitionFilter",
)


class ResourceApi:
    def __init__(self, store: Store, jobs: Jobs, lake_root: Path | None) -> None:
        self.store, self.jobs, self.lake_root = store, jobs, lake_root
        self._insert_ids: dict[tuple[str, str], set[str]] = {}

    # -- datasets -----------------------------------------------------------------------

    def dataset(self, dataset: str) -> dict[str, Any]:
        stored = self.store.require_dataset(dataset)
        return {
            **stored,
            "kind": "bigquery#dataset",
            "id": self.store.dataset_name(dataset),
            "selfLink": f"/bigquery/v2/projects/{self.store.project}/datasets/{dataset}",
            "type": "DEFAULT",
        }

    def insert_dataset(self, body: dict[str, Any]) -> dict[str, Any]:
        reference = body.get("datasetReference") or {}
        if reference.get("projectId") not in (None, self.store.project):
            raise not_found(
                f"Project {reference['projectId']} (the BigQuery fake serves project {self.store.project} only)"
            )
        dataset = check_dataset_id(str(reference.get("datasetId") or ""))
        check_labels(body.get("labels"))
        self.store.create_dataset(dataset, {k: body[k] for k in (*_DATASET_FIELDS, "location") if k in body})
        return self.dataset(dataset)

    def list_datasets(self, query: dict[str, list[str]]) -> dict[str, Any]:
        show_all = _flag(query, "all")
        wanted = dict(
            term.split(":", 1) if ":" in term else (term, "")
            for term in _first(query, "filter").replace("labels.", "").split()
            if term
        )
        items = []
        for name in sorted(self.store.datasets):
            stored = self.store.datasets[name]
            labels = stored.get("labels") or {}
            if (name.startswith("_") and not show_all) or any(
                labels.get(k) is None or (v and labels[k] != v) for k, v in wanted.items()
            ):
                continue
            item = {
                "kind": "bigquery#dataset",
                "id": self.store.dataset_name(name),
                "datasetReference": stored["datasetReference"],
                "location": stored["location"],
            }
            if labels:
                item["labels"] = labels
            items.append(item)
        return _page(query, items, "datasets", {"kind": "bigquery#datasetList", "etag": new_etag()})

    def update_dataset(
        self, dataset: str, body: dict[str, Any], headers: dict[str, str], replace: bool
    ) -> dict[str, Any]:
        with self.store.writes:
            stored = self.store.require_dataset(dataset)
            _check_etag(headers, stored["etag"], self.store.dataset_name(dataset))
            check_labels({k: v for k, v in (body.get("labels") or {}).items() if v is not None})
            if replace:
                for key in _DATASET_FIELDS:
                    stored.pop(key, None)
            for key in _DATASET_FIELDS:
                if key in body:
                    stored[key] = _patched(stored.get(key), body[key]) if key == "labels" else body[key]
            stored.update(lastModifiedTime=str(now_ms()), etag=new_etag())
        return self.dataset(dataset)

    # -- tables -------------------------------------------------------------------------

    def table(self, dataset: str, table: str) -> dict[str, Any]:
        anonymous = self.jobs.anonymous.get((dataset, table))
        if anonymous is not None and anonymous.fields is not None and anonymous.data is not None:
            return {
                **self._table_base(dataset, table, TableMeta("TABLE")),
                "schema": schema_api(anonymous.fields),
                "numRows": str(anonymous.data.num_rows),
                "numBytes": str(anonymous.data.nbytes),
            }
        meta = self.store.require_table(dataset, table)
        resource = {**self._table_base(dataset, table, meta), **meta.resource}
        resource["schema"] = schema_api(self.store.columns(dataset, table))
        if meta.kind == "TABLE":
            rows, sizes = self.store.stats(dataset, table)
            resource.update(
                numRows=str(rows),
                numBytes=str(sum(sizes.values())),
                numLongTermBytes="0",
                numTotalLogicalBytes=str(sum(sizes.values())),
                numActiveLogicalBytes=str(sum(sizes.values())),
            )
        return resource

    def _table_base(self, dataset: str, table: str, meta: TableMeta) -> dict[str, Any]:
        return {
            "kind": "bigquery#table",
            "etag": meta.etag,
            "id": self.store.table_name(dataset, table),
            "selfLink": f"/bigquery/v2/projects/{self.store.project}/datasets/{dataset}/tables/{table}",
            "tableReference": {"projectId": self.store.project, "datasetId": dataset, "tableId": table},
            "type": meta.kind,
            "creationTime": str(meta.created_ms),
            "lastModifiedTime": str(meta.modified_ms),
            "location": self.store.datasets.get(dataset, {}).get("location", self.store.location),
        }

    def insert_table(self, dataset: str, body: dict[str, Any]) -> dict[str, Any]:
        reference = body.get("tableReference") or {}
        if reference.get("projectId") not in (None, self.store.project):
            raise not_found(
                f"Project {reference['projectId']} (the BigQuery fake serves project {self.store.project} only)"
            )
        table = check_table_id(str(reference.get("tableId") or ""))
        if reference.get("datasetId") not in (None, dataset):
            raise invalid(
                f"The dataset in the path ({dataset}) and in tableReference ({reference['datasetId']}) differ"
            )
        check_labels(body.get("labels"))
        if body.get("materializedView"):
            raise invalid("Materialized views are not supported by the BigQuery fake")
        fields = fields_from_api(body.get("schema"))
        resource = {k: body[k] for k in _TABLE_FIELDS if k in body}
        with self.store.writes, self.store.cursor() as cur:
            self.store.require_dataset(dataset)
            if (dataset, table) in self.store.tables:
                raise BigQueryError("duplicate", f"Already Exists: Table {self.store.table_name(dataset, table)}")
            try:
                if body.get("view"):
                    self._create_view(cur, dataset, table, body["view"], resource)
                elif body.get("externalDataConfiguration"):
                    self._create_external(cur, dataset, table, body["externalDataConfiguration"], fields)
                else:
                    if not fields:
                        raise invalid(
                            "The BigQuery fake creates a table only with a schema (a load job creates one from its data)"
                        )
                    check_partitioning(resource.get("timePartitioning"), fields)
                    check_clustering(resource.get("clustering"), fields)
                    self.store.create_table(dataset, table, fields, TableMeta("TABLE", resource=resource), cur)
            except Exception as err:
                raise _as_bigquery(err) from None
        if body.get("view") or body.get("externalDataConfiguration"):
            self.store.set_descriptions(dataset, table, fields)
        return self.table(dataset, table)

    def _create_view(
        self, cur: Any, dataset: str, table: str, view: dict[str, Any], resource: dict[str, Any], replace: bool = False
    ) -> None:
        if view.get("useLegacySql", True) not in (False, "false"):
            raise invalid("The BigQuery fake runs GoogleSQL (standard SQL) only: set view.useLegacySql to false")
        statements = parse_script(str(view.get("query") or ""))
        if [s.kind for s in statements] != ["SELECT"]:
            raise invalid_query("A view's query must be one SELECT statement")
        prepared = Planner(self.store, None, Parameters(), self.lake_root).prepare(statements[0])
        assert prepared.tree is not None and prepared.sql is not None
        cur.execute(
            f"CREATE {'OR REPLACE ' if replace else ''}VIEW {self.store.sql_name(dataset, table)} AS {prepared.sql}"
        )
        stored = {**resource, "view": {"query": prepared.tree.sql(dialect="bigquery"), "useLegacySql": False}}
        self.store.register(dataset, table, TableMeta("VIEW", resource=stored))

    def _create_external(self, cur: Any, dataset: str, table: str, config: dict[str, Any], fields: list[Field]) -> None:
        if self.lake_root is None:
            raise invalid(
                "External tables read gs:// files: start the BigQuery fake with lake_root=<folder> to serve them"
            )
        external = ExternalTable(
            schema=dataset,
            name=table,
            file_format=str(config.get("sourceFormat") or "CSV").upper(),
            uris=tuple(config.get("sourceUris") or ()),
            columns=tuple((f.name, f.duckdb_type()) for f in fields),
            options={},
        )
        cur.execute(view_sql(external, self.lake_root))
        self.store.register(dataset, table, TableMeta("EXTERNAL", resource={"externalDataConfiguration": config}))

    def list_tables(self, dataset: str, query: dict[str, list[str]]) -> dict[str, Any]:
        self.store.require_dataset(dataset)
        items = []
        for (owner, name), meta in sorted(self.store.tables.items()):
            if owner != dataset:
                continue
            item = {
                k: v
                for k, v in self._table_base(owner, name, meta).items()
                if k not in ("etag", "selfLink", "lastModifiedTime", "location")
            }
            item.update(
                {
                    k: v
                    for k, v in meta.resource.items()
                    if k
                    in (
                        "labels",
                        "timePartitioning",
                        "rangePartitioning",
                        "clustering",
                        "expirationTime",
                        "friendlyName",
                    )
                }
            )
            if meta.kind == "VIEW":
                item["view"] = {"useLegacySql": False}
            items.append(item)
        return _page(
            query, items, "tables", {"kind": "bigquery#tableList", "etag": new_etag(), "totalItems": len(items)}
        )

    def update_table(
        self, dataset: str, table: str, body: dict[str, Any], headers: dict[str, str], replace: bool
    ) -> dict[str, Any]:
        with self.store.writes, self.store.cursor() as cur:
            meta = self.store.require_table(dataset, table)
            _check_etag(headers, meta.etag, self.store.table_name(dataset, table))
            check_labels({k: v for k, v in (body.get("labels") or {}).items() if v is not None})
            try:
                if "schema" in body:
                    self._update_schema(cur, dataset, table, meta, fields_from_api(body["schema"]))
                if meta.kind == "VIEW" and (body.get("view") or {}).get("query"):
                    self._create_view(
                        cur,
                        dataset,
                        table,
                        body["view"],
                        {k: v for k, v in meta.resource.items() if k != "view"},
                        replace=True,
                    )
                    meta = self.store.tables[(dataset, table)]
            except Exception as err:
                raise _as_bigquery(err) from None
            if "timePartitioning" in body and meta.resource.get("timePartitioning"):
                old, new = meta.resource["timePartitioning"], body["timePartitioning"] or {}
                if (old.get("type"), old.get("field")) != (
                    new.get("type", old.get("type")),
                    new.get("field", old.get("field")),
                ):
                    raise invalid("Cannot change partitioning spec for a partitioned table")
            fields = self.store.columns(dataset, table, cur)
            if "clustering" in body:
                check_clustering(body["clustering"], fields)
            if replace:
                for key in ("description", "friendlyName", "labels", "expirationTime"):
                    meta.resource.pop(key, None)
            for key in _TABLE_FIELDS:
                if key in body:
                    meta.resource[key] = _patched(meta.resource.get(key), body[key]) if key == "labels" else body[key]
            meta.touch()
        return self.table(dataset, table)

    def _update_schema(self, cur: Any, dataset: str, table: str, meta: TableMeta, fields: list[Field]) -> None:
        current = self.store.columns(dataset, table, cur)
        full_name = self.store.table_name(dataset, table)
        given = {f.name.lower(): f for f in fields}
        for old in current:
            new = given.get(old.name.lower())
            reason = f"Field {old.name} is missing in new schema" if new is None else compatible(old, new)
            if reason:
                raise invalid(f"Provided Schema does not match Table {full_name}. {reason}")
        if meta.kind == "TABLE":
            name = self.store.sql_name(dataset, table)
            known = {f.name.lower(): f for f in current}
            for new in fields:
                old = known.get(new.name.lower())
                if old is None:
                    if new.mode == "REQUIRED":
                        raise invalid(
                            f"Provided Schema does not match Table {full_name}. Cannot add required fields to an existing schema. (field: {new.name})"
                        )
                    cur.execute(f"ALTER TABLE {name} ADD COLUMN {quote(new.name)} {new.duckdb_type()}")
                    continue
                if old.mode == "REQUIRED" and new.mode == "NULLABLE":
                    cur.execute(f"ALTER TABLE {name} ALTER COLUMN {quote(old.name)} DROP NOT NULL")
                grown = grow_field(old, new)
                if grown is not None:
                    cur.execute(
                        f"ALTER TABLE {name} ALTER COLUMN {quote(old.name)} SET DATA TYPE {grown.duckdb_type()}"
                    )
            self.store.changed(dataset, table)
        self.store.set_descriptions(dataset, table, fields)

    # -- tabledata ----------------------------------------------------------------------

    def list_rows(self, dataset: str, table: str, query: dict[str, list[str]], ts_format: str) -> dict[str, Any]:
        name, partition = split_decorator(table)
        if partition:
            raise invalid(
                "Listing one partition (a $ decorator in tabledata.list) is not supported by the BigQuery fake"
            )
        count = int(_first(query, "maxResults") or self.jobs.page_rows)
        token = _first(query, "pageToken")
        start = int(token.split("-", 1)[1]) if token.startswith("row-") else int(_first(query, "startIndex") or 0)
        if token and not token.startswith("row-"):
            raise invalid(f"Invalid page token '{token}'")
        selected = [s.strip() for s in _first(query, "selectedFields").split(",") if s.strip()] or None
        anonymous = self.jobs.anonymous.get((dataset, name))
        if anonymous is not None:
            page = self.jobs.results_page(anonymous, start, count, ts_format)
            return {
                "kind": "bigquery#tableDataList",
                "etag": new_etag(),
                **{k: page[k] for k in ("totalRows", "rows", "pageToken") if k in page},
            }
        meta = self.store.require_table(dataset, name)
        if meta.kind == "VIEW":
            raise invalid(f"Cannot list a table of type VIEW. ({self.store.table_name(dataset, name)})")
        rows, _ = self.store.stats(dataset, name)
        fields, data = self.store.read(dataset, name, start, count, selected)
        values = list(zip(*(c.to_pylist() for c in data.columns), strict=False)) if data.num_columns else []
        body: dict[str, Any] = {
            "kind": "bigquery#tableDataList",
            "etag": meta.etag,
            "totalRows": str(rows),
            "rows": encode_rows(values, fields, ts_format),
        }
        if start + data.num_rows < rows:
            body["pageToken"] = f"row-{start + data.num_rows}"
        return body

    def insert_all(self, dataset: str, table: str, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("templateSuffix"):
            raise invalid("Template tables (templateSuffix) are not supported by the BigQuery fake")
        meta = self.store.require_table(dataset, table)
        if meta.kind != "TABLE":
            raise invalid(f"Cannot insert into {self.store.table_name(dataset, table)}: it is a {meta.kind}")
        fields = self.store.columns(dataset, table)
        ignore = bool(body.get("ignoreUnknownValues"))
        seen = self._insert_ids.setdefault((dataset, table), set())
        good, errors = [], []
        for index, entry in enumerate(body.get("rows") or ()):
            insert_id = (entry or {}).get("insertId")
            try:
                row = decode_row((entry or {}).get("json"), fields, ignore)
            except BigQueryError as err:
                errors.append({"index": index, "errors": [{**err.proto(), "debugInfo": ""}]})
                continue
            if insert_id and insert_id in seen:
                continue
            good.append((insert_id, row))
        if errors and not body.get("skipInvalidRows"):
            failed = {e["index"] for e in errors}
            stopped = [
                {"index": i, "errors": [{"reason": "stopped", "location": "", "debugInfo": "", "message": ""}]}
                for i in range(len(body.get("rows") or ()))
                if i not in failed
            ]
            return {
                "kind": "bigquery#tableDataInsertAllResponse",
                "insertErrors": sorted(errors + stopped, key=lambda e: e["index"]),
            }
        if good:
            import pyarrow as pa

            data = pa.Table.from_pylist(
                [row for _, row in good], schema=pa.schema([pa.field(f.name, f.arrow_type()) for f in fields])
            )
            write_rows(self.store, Write(dataset, table, create="CREATE_NEVER", strict_types=False), fields, data)
            seen.update(i for i, _ in good if i)
        response: dict[str, Any] = {"kind": "bigquery#tableDataInsertAllResponse"}
        if errors:
            response["insertErrors"] = errors
        return response


def _as_bigquery(err: Exception) -> Exception:
    import duckdb

    if isinstance(err, duckdb.Error):
        return from_duckdb(err)
    if isinstance(err, UnsupportedSqlError):
        return invalid_query(str(err))
    return err


def _check_etag(headers: dict[str, str], etag: str, name: str) -> None:
    wanted = headers.get("if-match")
    if wanted and wanted not in ("*", etag):
        raise BigQueryError(
            "conditionNotMet",
            f"Precondition check failed: {name} was changed since it was read (etag {wanted})",
            status=412,
        )


def _patched(old: dict[str, Any] | None, new: dict[str, Any] | None) -> dict[str, Any]:
    """Labels PATCH semantics: a null value removes the label."""
    merged = dict(old or {})
    for key, value in (new or {}).items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def _first(query: dict[str, list[str]], key: str) -> str:
    return (query.get(key) or [""])[0]


def _flag(query: dict[str, list[str]], key: str) -> bool:
    return _first(query, key).lower() == "true"


def _page(query: dict[str, list[str]], items: list[dict[str, Any]], key: str, base: dict[str, Any]) -> dict[str, Any]:
    size = int(_first(query, "maxResults") or 50) or 50
    token = _first(query, "pageToken")
    start = int(token.split("-", 1)[1]) if token.startswith("item-") else 0
    body = {**base, key: items[start : start + size]}
    if start + size < len(items):
        body["nextPageToken"] = f"item-{start + size}"
    return body
