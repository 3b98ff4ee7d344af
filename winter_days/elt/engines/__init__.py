"""Engines that execute a compiled Dataform graph: the local DuckDB executor."""
