"""BigQuery external tables over the lake, as DuckDB views.

`CREATE [OR REPLACE] EXTERNAL TABLE t [(col TYPE, ...)] OPTIONS (format=..., uris=[...])`
becomes a view over read_parquet / read_csv / read_json whose file globs are evaluated
each time the view is queried, so files that land later are read without recompiling.
`gs://<bucket>/<path>` maps to `<lake root>/<path>`; a `*` spans folders as in BigQuery,
and never matches the lake's hidden in-flight files (`.tmp-*`). Each view also has
BigQuery's `_FILE_NAME` pseudo-column, holding the gs:// URI of the row's file.

Where BigQuery fails a query over an external table whose URIs match no file, the local
view exists and is empty (when its columns are declared): the local profile starts from
an empty lake.

A CSV file is read as BigQuery reads it, and no byte of it fails the read: a short row is
padded with nulls under allow_jagged_rows, a long row's extra values are dropped under
ignore_unknown_values, and a file DuckDB's reader refuses (bytes that are not UTF-8, a line
over 2 MB) is read from a repaired copy (lake_repair.py; `LakeFiles.repairs`,
`view_sql(..., repairs)`).
"""

from __future__ import annotations

import glob as globlib
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from sqlglot import exp

from winter_days.elt.engines.duckdb.lake_repair import MAX_CSV_ROW_BYTES, LakeRepairs
from winter_days.warehouse.duckdb.dialect.transpile import UnsupportedSqlError, transpile_tree

SUPPORTED_FORMATS = ("PARQUET", "CSV", "NEWLINE_DELIMITED_JSON", "JSON")


@dataclass(frozen=True)
class ExternalTable:
    """The parts of a CREATE EXTERNAL TABLE statement the local view needs."""

    schema: str
    name: str
    file_format: str
    uris: tuple[str, ...]
    columns: tuple[tuple[str, str], ...]  # (name, DuckDB type)
    options: dict[str, object]


def is_external_table(tree: exp.Expr) -> bool:
    """True for a parsed `CREATE ... EXTERNAL TABLE` statement."""
    properties = tree.args.get("properties") if isinstance(tree, exp.Create) else None
    return properties is not None and any(isinstance(p, exp.ExternalProperty) for p in properties.expressions)


def parse_external_table(tree: exp.Create) -> ExternalTable:
    """Read target, columns and OPTIONS of a parsed CREATE EXTERNAL TABLE."""
    schema_node = tree.this
    table = schema_node.this if isinstance(schema_node, exp.Schema) else schema_node
    columns: list[tuple[str, str]] = []
    if isinstance(schema_node, exp.Schema):
        for column in schema_node.expressions:
            kind = transpile_tree(column.args["kind"].copy())
            columns.append((column.name, kind.sql(dialect="duckdb")))
    file_format = ""
    options: dict[str, object] = {}
    for prop in tree.args["properties"].expressions:
        if isinstance(prop, exp.FileFormatProperty):
            file_format = prop.this.name.upper()
        elif isinstance(prop, exp.Property) and "value" in prop.args:
            options[prop.name.lower()] = _option_value(prop.args["value"])
    file_format = str(options.pop("format", file_format)).upper()
    uris = options.pop("uris", None)
    if not uris:
        raise UnsupportedSqlError(f"external table {table.name}: OPTIONS(uris=[...]) is required")
    if isinstance(uris, str):
        uris = [uris]
    if not isinstance(uris, (list, tuple)):
        raise UnsupportedSqlError(
            f"external table {table.name}: OPTIONS(uris=...) must be a string or an array of strings"
        )
    return ExternalTable(
        schema=table.db,
        name=table.name,
        file_format=file_format,
        uris=tuple(str(u) for u in uris),
        columns=tuple(columns),
        options=options,
    )


def view_sql(table: ExternalTable, lake_root: Path, repairs: LakeRepairs | None = None) -> str:
    """The DuckDB statement that (re)creates the external table as a view. With `repairs`,
    the view reads the files it lists now, the repaired ones from their copies."""
    _check_format(table)
    lake_root = lake_root.resolve()
    relation = f'"{table.schema}"."{table.name}"'
    if repairs is not None:
        files = LakeFiles(table, lake_root, repairs)
        sql = files.reader_sql(files.names())
        if sql is not None:
            return f"CREATE OR REPLACE VIEW {relation} AS {sql}"
    patterns = [lake_glob(uri, lake_root) for uri in table.uris]
    # Whether a pattern matches anything: the first match answers it, not a walk of the lake.
    matching = [p for p in patterns if next(globlib.iglob(p, recursive=True, include_hidden=False), None) is not None]
    if not matching:
        if not table.columns:
            raise UnsupportedSqlError(
                f"external table {table.schema}.{table.name}: no file matches {', '.join(table.uris)} "
                "and no column list is declared, so its schema is unknown"
            )
        nulls = ", ".join(f'CAST(NULL AS {kind}) AS "{name}"' for name, kind in table.columns)
        return f"CREATE OR REPLACE VIEW {relation} AS SELECT {nulls}, CAST(NULL AS VARCHAR) AS _FILE_NAME WHERE false"
    return f"CREATE OR REPLACE VIEW {relation} AS {_select(table, lake_root, matching)}"


@dataclass(frozen=True)
class LakeFiles:
    """The files an external table's view reads, listed once per run, and a query over a
    chosen few of them with the view's columns.

    The listing walks the lake in Python, with the view's glob semantics: DuckDB's `**`
    glob took 30 ms over a year of daily folders, and a query over the view globs again.
    """

    table: ExternalTable
    lake_root: Path
    repairs: LakeRepairs | None = None

    def names(self) -> list[str]:
        """The _FILE_NAME of every file the view reads now."""
        return sorted(self._paths)

    def listed_paths(self) -> list[str]:
        """The local path of every file the view reads now."""
        return list(self._paths.values())

    def reader_sql(self, names: list[str]) -> str | None:
        """A SELECT over exactly these files, with the view's columns; None when the view
        takes its columns from the files themselves (reading fewer could change them)."""
        if not names or not self.table.columns:
            return None
        paths = [self._paths[name] for name in names]
        copies = self.repairs.copies if self.repairs is not None else {}
        clean = [p for p in paths if p not in copies]
        reads = [_select(self.table, self.lake_root.resolve(), clean)] if clean else []
        if self.repairs is not None and len(clean) < len(paths):
            repaired = [copies[p] for p in paths if p in copies]
            reads.append(_select(self.table, self.repairs.root, repaired, long_lines=True))
        return " UNION ALL ".join(reads)

    @cached_property
    def _paths(self) -> dict[str, str]:
        lake_root = self.lake_root.resolve()
        prefix = "/".join(self.table.uris[0].split("/", 3)[:3]) + "/"
        found: dict[str, str] = {}
        for uri in self.table.uris:
            for path in _lake_files(lake_glob(uri, lake_root)):
                found[prefix + str(Path(path).relative_to(lake_root))] = path
        return found


def _lake_files(pattern: str) -> list[str]:
    """The files DuckDB's glob() returns for a lake_glob pattern."""
    if "/**/[!.]*" not in pattern:
        return [p for p in globlib.glob(pattern, include_hidden=True) if os.path.isfile(p)]
    folder, suffix = pattern.split("/**/[!.]*", 1)
    files = []
    for directory, _, names in os.walk(folder):
        files += [
            os.path.join(directory, n)
            for n in names
            if not n.startswith(".") and n.endswith(suffix) and len(n) > len(suffix)
        ]
    return files


def _select(table: ExternalTable, lake_root: Path, paths: list[str], long_lines: bool = False) -> str:
    """The view's query over the given file paths or globs (under `lake_root`, which may be
    the folder of repaired copies: the rows' _FILE_NAME is the lake's either way)."""
    files = "[" + ", ".join(_quote(p) for p in paths) + "]"
    bucket_prefix = table.uris[0].split("/", 3)[:3]
    file_name = f"{_quote('/'.join(bucket_prefix) + '/')} || substr(filename, {len(str(lake_root)) + 2})"
    reader, columns = _reader(table, files, long_lines)
    return f"SELECT {columns}, {file_name} AS _FILE_NAME FROM {reader}"


def _check_format(table: ExternalTable) -> None:
    if table.file_format not in SUPPORTED_FORMATS:
        raise UnsupportedSqlError(
            f"external table {table.name}: format {table.file_format or '?'} is not supported locally "
            f"(supported: {', '.join(SUPPORTED_FORMATS)})"
        )


def lake_glob(uri: str, lake_root: Path) -> str:
    """A DuckDB glob under the lake root for a gs:// (or lake-relative) URI."""
    path = uri.split("://", 1)[1].split("/", 1)[1] if "://" in uri else uri.lstrip("/")
    if path.count("*") > 1:
        raise UnsupportedSqlError(f"uri {uri}: BigQuery allows one '*' wildcard")
    if "*" in path:
        prefix, suffix = path.split("*", 1)
        # BigQuery's star spans folders; a hidden file is an in-flight lake write.
        star = "**/[!.]*" if prefix == "" or prefix.endswith("/") else "*"
        path = prefix + star + suffix
    return str(lake_root / path)


def _reader(table: ExternalTable, files: str, long_lines: bool = False) -> tuple[str, str]:
    hive = "hive_partition_uri_prefix" in table.options
    declared = ", ".join(f'CAST("{n}" AS {k}) AS "{n}"' for n, k in table.columns)
    if table.file_format == "PARQUET":
        reader = (
            f"read_parquet({files}, union_by_name = true, filename = true, hive_partitioning = {str(hive).lower()})"
        )
        return reader, declared or "* EXCLUDE (filename)"
    if table.file_format == "CSV":
        if not table.columns:
            raise UnsupportedSqlError(f"external table {table.name}: CSV needs a column list locally")
        column_types = "{" + ", ".join(f"{_quote(n)}: {_quote(k)}" for n, k in table.columns) + "}"
        delimiter = str(table.options.get("field_delimiter", ","))
        quote = str(table.options.get("quote", '"'))
        header = int(str(table.options.get("skip_leading_rows", 0) or 0)) > 0
        # BigQuery's allow_jagged_rows pads a short row with nulls; ignore_unknown_values
        # drops a long row's extra values, which DuckDB does outside its strict mode.
        jagged = bool(table.options.get("allow_jagged_rows", False))
        extra = bool(table.options.get("ignore_unknown_values", False))
        # DuckDB's buffer holds 16 of the longest lines by default: 1.6 GB for 100 MB ones.
        line_options = (
            f", max_line_size = {MAX_CSV_ROW_BYTES}, buffer_size = {MAX_CSV_ROW_BYTES + (1 << 20)}"
            if long_lines
            else ""
        )
        reader = (
            f"read_csv({files}, columns = {column_types}, delim = {_quote(delimiter)}, quote = {_quote(quote)}, "
            f"escape = {_quote(quote)}, header = {str(header).lower()}, auto_detect = false, filename = true, "
            f"null_padding = {str(jagged).lower()}, strict_mode = {str(not extra).lower()}, "
            f"hive_partitioning = {str(hive).lower()}{line_options})"
        )
        return reader, ", ".join(f'"{n}"' for n, _ in table.columns)
    if table.file_format in ("NEWLINE_DELIMITED_JSON", "JSON"):
        if not table.columns:
            reader = f"read_json({files}, format = 'newline_delimited', filename = true, hive_partitioning = {str(hive).lower()})"
            return reader, "* EXCLUDE (filename)"
        column_types = "{" + ", ".join(f"{_quote(n)}: {_quote(k)}" for n, k in table.columns) + "}"
        reader = (
            f"read_json({files}, format = 'newline_delimited', columns = {column_types}, filename = true, "
            f"hive_partitioning = {str(hive).lower()})"
        )
        return reader, ", ".join(f'"{n}"' for n, _ in table.columns)
    raise UnsupportedSqlError(
        f"external table {table.name}: format {table.file_format or '?'} is not supported locally"
    )


def _option_value(node: exp.Expr) -> object:
    if isinstance(node, exp.Array):
        return [_option_value(e) for e in node.expressions]
    if isinstance(node, exp.Literal):
        return (
            node.this
            if node.is_string
            else int(float(node.this))
            if float(node.this).is_integer()
            else float(node.this)
        )
    if isinstance(node, exp.Boolean):
        return node.this
    return node.name


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
