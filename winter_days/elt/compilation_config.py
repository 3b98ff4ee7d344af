"""The environment a compilation of `dataform/` gets, built from the settings for every engine.

`dataform/workflow_settings.yaml` holds only what belongs to the code (the default and
assertion datasets, the dataset vars). Where the tables go and where the lake is come from
the settings, as a Dataform `CodeCompilationConfig`: the Dataform API backend sends it with
`compilationResults.create`, and the local engine compiles with the same `vars`, so a model
reads the same bucket variable on both profiles.

What the real compiler does without them (`dataform compile`, @dataform/cli 3.0): without
`defaultProject` the targets carry no database and queries name `dataset.table`; without
`vars.lake_bucket` the external tables read `gs://undefined/...`. So every compilation that
runs the models goes through `code_compilation_config`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from winter_days.config import Settings

if TYPE_CHECKING:
    from winter_days.elt.engines.dataform_api.settings import DataformRepository

# The datasets of the warehouse (before any schema suffix): part of the code, the same everywhere.
DATASET_VARS = {
    "staging_dataset": "winter_days_staging",
    "warehouse_dataset": "winter_days_warehouse",
    "bronze_dataset": "winter_days_bronze",
}
# A folder lake has no bucket. Its files are named gs://winter-days-lake/<key> in the models'
# source_file columns, so local and gcp rows differ only in the bucket; the local engine
# maps any gs:// URI to the lake folder.
LOCAL_LAKE_BUCKET = "winter-days-lake"


def lake_bucket(settings: Settings) -> str:
    """The `lake_bucket` var: bucket[/prefix] of a gs:// lake, LOCAL_LAKE_BUCKET for a folder lake."""
    parsed = urlparse(settings.lake_uri)
    if parsed.scheme == "gs":
        return (parsed.netloc + parsed.path).rstrip("/")
    return LOCAL_LAKE_BUCKET


def code_compilation_config(
    settings: Settings, dataform: DataformRepository | None = None, bigquery_location: str = ""
) -> dict[str, Any]:
    """The CodeCompilationConfig (REST field names) for `settings`.

    Without `dataform` (the local engine) only `vars` are set. With it: the default
    database (the [dataform] default_database, else the gcp project), the default BigQuery
    location (`bigquery_location`, else the Dataform location), and the schema suffix and
    assertion dataset when set.
    """
    config: dict[str, Any] = {"vars": {"lake_bucket": lake_bucket(settings), **DATASET_VARS}}
    if dataform is None:
        return config
    config["defaultDatabase"] = dataform.default_database or settings.gcp.project_id
    config["defaultLocation"] = bigquery_location or dataform.location
    if dataform.schema_suffix:
        config["schemaSuffix"] = dataform.schema_suffix
    if dataform.assertion_schema:
        config["assertionSchema"] = dataform.assertion_schema
    return config
