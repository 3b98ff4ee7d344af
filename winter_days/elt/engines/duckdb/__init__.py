"""Run a compiled Dataform graph on DuckDB with BigQuery semantics."""
