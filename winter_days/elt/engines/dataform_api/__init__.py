"""The gcp profile's ELT backend: the Dataform API v1 through google-cloud-dataform (compile, invoke, poll, cancel).

Importing this package loads no cloud SDK; the client library is imported when a backend
is built.
"""

from __future__ import annotations

from winter_days.elt.engines.dataform_api.backend import (
    DataformApiBackend,
    DataformCompilationError,
    describe_compilation_errors,
)
from winter_days.elt.engines.dataform_api.calls import DataformApiError, RetryPolicy
from winter_days.elt.engines.dataform_api.settings import DataformRepository, load_dataform_settings

__all__ = [
    "DataformApiBackend",
    "DataformApiError",
    "DataformCompilationError",
    "DataformRepository",
    "RetryPolicy",
    "describe_compilation_errors",
    "load_dataform_settings",
]
