"""BigQuery's rules for names and labels, checked as the service checks them.

A dataset, table or job id, or a label, that BigQuery would refuse fails here too, so an
adapter tested against the fake does not meet the refusal first in production.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import invalid

_DATASET = re.compile(r"^[A-Za-z0-9_]{1,1024}$")
_TABLE = re.compile(r"^[\w\- ]{1,1024}$")
_JOB = re.compile(r"^[A-Za-z0-9_-]{1,1024}$")
_LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")


def check_dataset_id(dataset: str) -> str:
    if not _DATASET.match(dataset or ""):
        raise invalid(
            f'Invalid dataset ID "{dataset}". Dataset IDs must be alphanumeric (plus underscores) and must be at most 1024 characters long.'
        )
    return dataset


def check_table_id(table: str) -> str:
    if not _TABLE.match(table or ""):
        raise invalid(
            f'Invalid table ID "{table}". Table IDs must be alphanumeric (plus underscores, dashes and spaces) and at most 1024 characters long.'
        )
    return table


def check_job_id(job: str) -> str:
    if not _JOB.match(job or ""):
        raise invalid(
            f'Invalid job ID "{job}". Job IDs must be alphanumeric (plus underscores and dashes) and at most 1024 characters long.'
        )
    return job


def check_labels(labels: Any) -> dict[str, str]:
    if labels is None:
        return {}
    if not isinstance(labels, dict):
        raise invalid("labels must be a map of strings")
    if len(labels) > 64:
        raise invalid(f"Too many labels: {len(labels)}; at most 64 are allowed")
    for key, value in labels.items():
        if not _LABEL_KEY.match(str(key)):
            raise invalid(
                f'Invalid label key "{key}": keys start with a lowercase letter and hold at most 63 lowercase letters, digits, underscores and dashes'
            )
        if not _LABEL_VALUE.match(str(value if value is not None else "")):
            raise invalid(
                f'Invalid label value "{value}" for key "{key}": values hold at most 63 lowercase letters, digits, underscores and dashes'
            )
    return {str(k): str(v if v is not None else "") for k, v in labels.items()}
