"""The export: sales documents changed since the last export -> one bronze Parquet file.

`sales.py` streams the changes into the file, `timestamps.py` parses the legacy forms of
`sale_timestamp`, `read_ahead.py` overlaps reading pages with converting them.
"""

from __future__ import annotations

from winter_days.export.sales import BATCH_SIZE, ExportResult, bronze_row, export_sales, sales_export_key

__all__ = ["BATCH_SIZE", "ExportResult", "bronze_row", "export_sales", "sales_export_key"]
