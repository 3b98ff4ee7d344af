"""The gcp profile's ELT backend: the Dataform REST API v1 (compile, invoke, poll, cancel)."""

from __future__ import annotations

from winter_days.elt.engines.dataform_api.backend import (
    DataformApiBackend,
    DataformCompilationError,
    describe_compilation_errors,
)
from winter_days.elt.engines.dataform_api.settings import DataformSettings, load_dataform_settings
from winter_days.elt.engines.dataform_api.transport import DataformApiError, RetryPolicy

__all__ = [
    "DataformApiBackend",
    "DataformApiError",
    "DataformCompilationError",
    "DataformSettings",
    "RetryPolicy",
    "describe_compilation_errors",
    "load_dataform_settings",
]
