"""Load jobs: PARQUET, NEWLINE_DELIMITED_JSON and CSV rows from an upload (or the lake).

What `client.load_table_from_file` / `load_table_from_json` send arrives here as bytes
with the job's `configuration.load`. Parquet is self-describing (its Arrow types give the
schema, as BigQuery's Parquet conversions do; a LIST column keeps its three-level
`list.element` shape unless parquetOptions.enableListInference is set); JSON and CSV need
a schema, from the job, from an existing destination table, or by autodetect. Bad JSON
rows count against maxBadRecords (default 0) and fail the job beyond it.
"""

from __future__ import annotations

import glob as globlib
import io
import json
import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from winter_days.elt.engines.duckdb.external import lake_glob

from .errors import BigQueryError, invalid, not_found
from .partitions import split_decorator
from .schema import Field, fields_from_api, from_arrow
from .store import Store
from .values import decode_row
from .writes import Write, write_rows

FORMATS = ("PARQUET", "NEWLINE_DELIMITED_JSON", "CSV")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|UTC|[+-]\d{2}:?\d{2})?$")


def run_load(store: Store, config: dict[str, Any], upload: bytes | None, lake_root: Path | None) -> dict[str, str]:
    """Carry out a load job; its statistics.load."""
    target = load_target(store, config)
    inputs = read_source(config, upload, lake_root)
    fields, data, bad = load_rows(store, target, config, inputs)
    rows = write_rows(store, target, fields, data)
    return {
        "inputFiles": str(len(inputs)),
        "inputFileBytes": str(sum(len(b) for b in inputs)),
        "outputRows": str(rows),
        "outputBytes": str(data.nbytes),
        "badRecords": str(bad),
    }


def load_target(store: Store, config: dict[str, Any]) -> Write:
    destination = config.get("destinationTable") or {}
    project, dataset, table_id = destination.get("projectId"), destination.get("datasetId"), destination.get("tableId")
    if not dataset or not table_id:
        raise invalid("Required parameter is missing: configuration.load.destinationTable")
    if project and project != store.project:
        raise not_found(f"Project {project} (the BigQuery fake serves project {store.project} only)")
    table, partition = split_decorator(table_id)
    resource = {k: config[k] for k in ("timePartitioning", "rangePartitioning", "clustering") if config.get(k)}
    resource.update(
        {
            k: v
            for k, v in (config.get("destinationTableProperties") or {}).items()
            if k in ("description", "friendlyName", "labels")
        }
    )
    return Write(
        dataset,
        table,
        partition,
        disposition=str(config.get("writeDisposition") or "WRITE_APPEND"),
        create=str(config.get("createDisposition") or "CREATE_IF_NEEDED"),
        schema_updates=tuple(config.get("schemaUpdateOptions") or ()),
        table_resource=resource,
        strict_types=False,
    )


def read_source(config: dict[str, Any], data: bytes | None, lake_root: Path | None) -> list[bytes]:
    """The bytes of each input: the uploaded body, or the lake files sourceUris name."""
    if data is not None:
        return [data]
    uris = list(config.get("sourceUris") or ())
    if not uris:
        raise invalid("Load job has neither an upload nor configuration.load.sourceUris")
    if lake_root is None:
        raise invalid("Loads from gs:// URIs need the BigQuery fake started with lake_root=<folder>")
    paths = sorted({p for uri in uris for p in globlib.glob(lake_glob(uri, Path(lake_root).resolve()), recursive=True)})
    if not paths:
        raise not_found(f"URI {uris[0]}: no file matches in the lake")
    return [Path(p).read_bytes() for p in paths]


def load_rows(
    store: Store, target: Write, config: dict[str, Any], inputs: list[bytes]
) -> tuple[list[Field], pa.Table, int]:
    """(schema, rows, bad records) of a load job's input."""
    source_format = str(config.get("sourceFormat") or "CSV").upper()
    if source_format not in FORMATS:
        raise invalid(
            f"sourceFormat {source_format} is not supported by the BigQuery fake (use one of {', '.join(FORMATS)})"
        )
    given = fields_from_api(config.get("schema")) if config.get("schema") else None
    existing = store.columns(target.dataset, target.table) if (target.dataset, target.table) in store.tables else None
    if source_format == "PARQUET":
        inference = bool((config.get("parquetOptions") or {}).get("enableListInference"))
        tables = [pq.read_table(io.BytesIO(blob)) for blob in inputs]
        data = pa.concat_tables(tables, promote_options="permissive") if len(tables) > 1 else tables[0]
        fields = [from_arrow(f.name, f.type, inference) for f in data.schema]
        if not inference:
            data = _nest_lists(data)
        if given:
            by_name = {f.name.lower(): f for f in given}
            fields = [by_name.get(f.name.lower(), f) for f in fields]
        return fields, data, 0
    schema = given or (None if config.get("autodetect") else existing)
    if source_format == "CSV":
        return _csv(config, inputs, schema)
    lines = [line for blob in inputs for line in blob.decode("utf-8").splitlines() if line.strip()]
    try:
        parsed = [json.loads(line) for line in lines]
    except json.JSONDecodeError as err:
        raise BigQueryError(
            "invalid",
            f"Error while reading data, error message: JSON table encountered too many errors, giving up. {err}",
        ) from None
    if schema is None:
        if not config.get("autodetect"):
            raise invalid("No schema specified on job or table.")
        schema = autodetect(parsed)
    rows, errors = [], []
    ignore = bool(config.get("ignoreUnknownValues"))
    for index, value in enumerate(parsed):
        try:
            rows.append(decode_row(value, schema, ignore))
        except BigQueryError as err:
            errors.append(
                BigQueryError(
                    "invalid",
                    f"Error while reading data, error message: {err.message} (row {index + 1})",
                    location=f"row {index + 1}",
                )
            )
    if len(errors) > int(config.get("maxBadRecords") or 0):
        raise BigQueryError(
            "invalid",
            f"Error while reading data, error message: JSON table encountered too many errors, giving up. Rows: {len(parsed)}; errors: {len(errors)}. "
            "Please look into the errors[] collection for more details.",
            details=errors,
        )
    arrow_schema = pa.schema([pa.field(f.name, f.arrow_type()) for f in schema])
    return schema, pa.Table.from_pylist(rows, schema=arrow_schema), len(errors)


def _csv(config: dict[str, Any], inputs: list[bytes], schema: list[Field] | None) -> tuple[list[Field], pa.Table, int]:
    skip = int(config.get("skipLeadingRows") or 0)
    names = [f.name for f in schema] if schema else None
    read = pacsv.ReadOptions(
        skip_rows=skip if names else max(skip - 1, 0), column_names=names, autogenerate_column_names=False
    )
    parse = pacsv.ParseOptions(
        delimiter=str(config.get("fieldDelimiter") or ","),
        quote_char=str(config.get("quote", '"')) or False,
        newlines_in_values=bool(config.get("allowQuotedNewlines")),
    )
    null = [str(config.get("nullMarker") or "")]
    types = {f.name: f.arrow_type() for f in schema or () if f.type not in ("RECORD",) and not f.repeated}
    convert = pacsv.ConvertOptions(column_types=types, null_values=null, strings_can_be_null=True)
    try:
        tables = [
            pacsv.read_csv(io.BytesIO(blob), read_options=read, parse_options=parse, convert_options=convert)
            for blob in inputs
        ]
    except (pa.ArrowInvalid, ValueError) as err:
        raise BigQueryError("invalid", f"Error while reading data, error message: {err}") from None
    data = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    fields = schema or [from_arrow(f.name, f.type) for f in data.schema]
    return fields, data, 0


def _nest_lists(data: pa.Table) -> pa.Table:
    """LIST columns as BigQuery loads them without list inference: RECORD<list ARRAY<RECORD<element>>>."""
    columns = []
    for column in data.columns:
        chunk = column.combine_chunks() if column.num_chunks else pa.array([], column.type)
        if pa.types.is_list(chunk.type) or pa.types.is_large_list(chunk.type):
            items = pa.StructArray.from_arrays([chunk.values], ["element"])
            listed = pa.ListArray.from_arrays(chunk.offsets, items)
            chunk = pa.StructArray.from_arrays([listed], ["list"], mask=chunk.is_null())
        columns.append(chunk)
    return pa.Table.from_arrays(columns, names=data.column_names)


def autodetect(rows: list[Any]) -> list[Field]:
    """A schema for JSON rows, as BigQuery's autodetect reads them (sampled: every row here)."""
    found: dict[str, Field] = {}
    for row in rows:
        if not isinstance(row, dict):
            raise invalid("JSON rows must be objects to autodetect a schema")
        for key, value in row.items():
            guess = _guess(key, value)
            if guess is not None:
                found[key.lower()] = _widen(found.get(key.lower()), guess)
    return list(found.values()) or [Field("string_field_0", "STRING")]


def _guess(name: str, value: Any) -> Field | None:
    if value is None:
        return None
    if isinstance(value, list):
        items = [g for g in (_guess(name, v) for v in value) if g is not None]
        element = items[0] if items else Field(name, "STRING")
        for item in items[1:]:
            element = _widen(element, item)
        return Field(name, element.type, "REPEATED", element.fields)
    if isinstance(value, dict):
        children = [g for g in (_guess(k, v) for k, v in value.items()) if g is not None]
        return Field(name, "RECORD", "NULLABLE", tuple(children)) if children else None
    if isinstance(value, bool):
        return Field(name, "BOOLEAN")
    if isinstance(value, int):
        return Field(name, "INTEGER")
    if isinstance(value, float):
        return Field(name, "FLOAT")
    text = str(value)
    if _TIMESTAMP.match(text):
        return Field(name, "TIMESTAMP")
    if _DATE.match(text):
        return Field(name, "DATE")
    return Field(name, "STRING")


def _widen(old: Field | None, new: Field) -> Field:
    if old is None or old == new:
        return new
    if {old.type, new.type} == {"INTEGER", "FLOAT"} and old.mode == new.mode:
        return Field(old.name, "FLOAT", old.mode)
    if old.type == new.type == "RECORD" and old.mode == new.mode:
        merged = {f.name.lower(): f for f in old.fields}
        for child in new.fields:
            merged[child.name.lower()] = _widen(merged.get(child.name.lower()), child)
        return Field(old.name, "RECORD", old.mode, tuple(merged.values()))
    return Field(old.name, "STRING", "REPEATED" if old.repeated or new.repeated else "NULLABLE")


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, Any], bytes]:
    """(job resource, data) of a multipart/related upload."""
    match = re.search(r'boundary="?([^";]+)"?', content_type or "")
    if match is None:
        raise invalid("A multipart upload needs a Content-Type: multipart/related; boundary=...")
    delimiter = b"--" + match.group(1).encode()
    parts = []
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        _, _, content = chunk.partition(b"\r\n\r\n")
        parts.append(content[:-2] if content.endswith(b"\r\n") else content)
    if len(parts) != 2:
        raise invalid(f"A multipart upload has two parts (metadata, data); found {len(parts)}")
    try:
        return json.loads(parts[0]), parts[1]
    except json.JSONDecodeError:
        raise invalid("The metadata part of the upload is not valid JSON") from None
