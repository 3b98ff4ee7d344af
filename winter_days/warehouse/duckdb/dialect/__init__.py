"""BigQuery SQL on DuckDB with BigQuery's answers: the transpiler (`transpile`), the
functions it accepts or refuses by name (`functions`, `bigquery_catalog`), the rewrites of
values and times (`rewrites_values`, `rewrites_time`, on `rewriting`), and the functions a
DuckDB session defines for the SQL it produces (`udfs`, with `farmhash`, `string_format`
and `time_formats`). The DuckDB warehouse reads with it, the local ELT engine runs the
models with it, and the BigQuery fake of the tests answers queries with it."""
