"""Readable copies of the lake files DuckDB's CSV reader refuses, read as BigQuery reads them.

BigQuery reads a CSV file whatever its bytes: it "decodes the data after the raw, binary
data has been split" and "if BigQuery can't convert a character other than the ASCII 0
character, BigQuery converts the character to the standard Unicode replacement character"
(CsvOptions.encoding, https://cloud.google.com/bigquery/docs/reference/rest/v2/tables#CsvOptions),
and it takes rows up to 100 MB (https://cloud.google.com/bigquery/quotas, load jobs).
DuckDB's reader fails the whole query on a byte that is not UTF-8 and on a line over 2 MB,
and its Latin-1 reading refuses bytes 0x80-0x9F, which UTF-8 text is full of.

So a read that fails so names its file (DuckDB's message says which), and the executor
reads that file from a copy made here instead: the same lines, decoded with U+FFFD where
the bytes are not UTF-8, under a private folder that mirrors the lake's paths (so the
rows keep the original _FILE_NAME), with lines up to BigQuery's 100 MB. Only such files
are copied, once per run; the bronze file itself is never touched. The folder is removed
when the action is done.
"""

from __future__ import annotations

import codecs
import re
import shutil
import tempfile
from pathlib import Path

import duckdb

# BigQuery's maximum row size for CSV data: a longer line fails a read on either engine.
MAX_CSV_ROW_BYTES = 100 * 1024 * 1024
_CHUNK_BYTES = 16 * 1024 * 1024
_FAILING_FILE = re.compile(r"^\s*file = (?P<path>.+?)\s*$", re.MULTILINE)


def is_repairable(err: Exception) -> bool:
    """Whether a failed DuckDB query failed on the bytes of a CSV file a copy can fix."""
    message = str(err)
    return isinstance(err, duckdb.InvalidInputException) and (
        "Invalid unicode" in message or "Maximum line size" in message
    )


def failing_file(err: Exception) -> str | None:
    """The file DuckDB names in a CSV read error, if it names one."""
    found = _FAILING_FILE.search(str(err))
    return found["path"] if found else None


class LakeRepairs:
    """The repaired copies of one action's lake files: original path -> copy, under `root`."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="winter-days-lake-repair-")).resolve()
        self.copies: dict[str, str] = {}

    def repair(self, path: str, lake_root: Path) -> str:
        """Copy `path` (a file under `lake_root`) with its bytes decoded as BigQuery does."""
        if path in self.copies:
            return self.copies[path]
        copy = self.root / Path(path).resolve().relative_to(lake_root.resolve())
        copy.parent.mkdir(parents=True, exist_ok=True)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        with open(path, "rb") as source, open(copy, "wb") as target:
            while chunk := source.read(_CHUNK_BYTES):
                target.write(decoder.decode(chunk).encode("utf-8"))
            target.write(decoder.decode(b"", final=True).encode("utf-8"))
        self.copies[path] = str(copy)
        return self.copies[path]

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
