"""Checks made before a run or the service starts: every setting the profile's steps need.

The steps read their own settings when they run; checking them all up front turns a
missing Dataform repository or service account into a message at start, naming it,
instead of a failed step minutes into a run.
"""

from __future__ import annotations

from typing import Mapping

from winter_days.config import ConfigError, Settings
from winter_days.orchestrator.options import OrchestratorOptions


def check_profile(
    settings: Settings, options: OrchestratorOptions, serving: bool, environ: Mapping[str, str] | None = None
) -> None:
    """Raise ConfigError naming the first missing or wrong setting of the settings' profile."""
    from winter_days.orchestrator.auth import make_verifier

    if serving:
        make_verifier(settings, options)
    if settings.profile != "gcp":
        return
    if not settings.lake_uri.startswith("gs://"):
        raise ConfigError(
            f"setting lake_uri: the gcp profile keeps its lake in a bucket (gs://...), got {settings.lake_uri!r}; "
            "set WINTER_DAYS_GCP_BUCKET or WINTER_DAYS_LAKE_URI"
        )
    from winter_days.elt.engines.dataform_api.settings import load_dataform_settings
    from winter_days.ml.vertex import load_vertex_settings

    load_dataform_settings(settings, environ)
    load_vertex_settings(settings, environ)
