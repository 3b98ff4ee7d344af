"""Dataset names in lineage events, after the OpenLineage naming conventions.

A dataset is a namespace (the data source) and a name within it. The lake names itself by
its URI (`gs://BUCKET` + object key, or `file` + absolute path). Tables and document
collections depend on the profile, which picks a `DatasetNaming`:

- `BigQueryNaming` (gcp): tables in namespace `bigquery` as `project.dataset.table`; the
  sales collection in `firestore://projects/P/databases/D`.
- `FileNaming` (local): the files themselves: tables in the namespace of the DuckDB
  warehouse file (`file:///.../warehouse.duckdb`) as `schema.table`; the collection in the
  namespace of the SQLite document store file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable
from urllib.parse import unquote, urlparse


@dataclass(frozen=True, order=True)
class LineageDataset:
    """One input or output of a job, as OpenLineage names it."""

    namespace: str
    name: str


@runtime_checkable
class DatasetNaming(Protocol):
    """How one profile's tables and collections are named."""

    def table(self, database: str, schema: str, name: str) -> LineageDataset:
        """A table as the compiled graph names it (database may be empty)."""
        ...

    def warehouse_table(self, dataset: str, name: str) -> LineageDataset:
        """A table by its logical dataset (before any schema suffix) and name."""
        ...

    def collection(self, name: str) -> LineageDataset:
        """A collection of the sales document store."""
        ...


def lake_dataset(uri: str) -> LineageDataset:
    """A lake object or prefix by its URI: gs://BUCKET/key -> (gs://BUCKET, key); file:///p -> (file, /p)."""
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return LineageDataset("file", unquote(parsed.path))
    return LineageDataset(f"{parsed.scheme}://{parsed.netloc}", parsed.path.lstrip("/"))


@dataclass(frozen=True)
class BigQueryNaming:
    """gcp: BigQuery tables and the Firestore database."""

    project: str
    schema_suffix: str = ""
    firestore_database: str = "(default)"

    def table(self, database: str, schema: str, name: str) -> LineageDataset:
        return LineageDataset("bigquery", f"{database or self.project}.{schema}.{name}")

    def warehouse_table(self, dataset: str, name: str) -> LineageDataset:
        suffixed = f"{dataset}_{self.schema_suffix}" if self.schema_suffix else dataset
        return LineageDataset("bigquery", f"{self.project}.{suffixed}.{name}")

    def collection(self, name: str) -> LineageDataset:
        return LineageDataset(f"firestore://projects/{self.project}/databases/{self.firestore_database}", name)


@dataclass(frozen=True)
class FileNaming:
    """local: tables inside the DuckDB warehouse file, collections inside the SQLite file."""

    warehouse_path: Path
    document_store_path: Path

    def table(self, database: str, schema: str, name: str) -> LineageDataset:
        return LineageDataset(self.warehouse_path.as_uri(), f"{schema}.{name}")

    def warehouse_table(self, dataset: str, name: str) -> LineageDataset:
        return self.table("", dataset, name)

    def collection(self, name: str) -> LineageDataset:
        return LineageDataset(self.document_store_path.as_uri(), name)
