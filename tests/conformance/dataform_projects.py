"""Projects written for the conformance tests: every construct @dataform/core accepts that
our compiler supports (one project, so the real CLI runs once for all of them), the
workflow settings that rename targets, and a project of files the real compiler rejects."""

from __future__ import annotations

SETTINGS = """defaultProject: proj
defaultLocation: EU
defaultDataset: wh
defaultAssertionDataset: checks
vars:
  stage: staging
"""

RENAMING_SETTINGS = """defaultProject: proj
defaultLocation: EU
defaultDataset: wh
namePrefix: pre
datasetSuffix: dev
projectSuffix: sfx
disableAssertions: true
builtinAssertionNamePrefix: bi
"""

CONSTRUCTS = {
    "includes/helpers.js": (
        'function daily(name) { return publish(name, { type: "table", tags: ["daily"] }).query("SELECT 1 AS a"); }\n'
        "module.exports = { daily };\n"
    ),
    "definitions/sources.sqlx": (
        'config { type: "declaration", schema: "raw", name: "src", description: "raw rows", tags: ["raw"],\n'
        '  columns: { a: "the a", rec: { description: "a record", columns: { x: "inner x",\n'
        '    y: { description: "inner y", columns: { z: "deep" } } } } } }\n'
    ),
    # JavaScript definition files: every action function and builder method.
    "definitions/js/api.js": (
        'publish("js_view", { tags: ["a"] }).query("SELECT 1 AS a");\n'
        'publish("js_table", { type: "table", schema: "s", columns: { a: "b" } })\n'
        '  .query(ctx => `SELECT * FROM ${ctx.ref("src")}`).tags(["z"]).dependencies("js_view");\n'
        'operate("js_op", { hasOutput: true }).queries("CREATE TABLE IF NOT EXISTS x AS SELECT 1");\n'
        'assert("js_assert", { dependencies: ["js_view"] }).query("SELECT 1 WHERE FALSE");\n'
        'assert("js_assert_ref").query(ctx => `SELECT * FROM ${ctx.ref("js_table")} WHERE FALSE`).tags("q").tags(["q", "r"]);\n'
        'operate("js_op_list", { hasOutput: true }).queries(ctx => [`SELECT 1`, `SELECT * FROM ${ctx.self()}`]);\n'
        'declare({ name: "js_declared", schema: "ext", description: "declared in JS" });\n'
        'publish("js_ops", "SELECT 3 AS c").preOps(["SELECT 0", " "]).postOps(ctx => `SELECT \'${ctx.name()}\'`)\n'
        '  .description("three").columns([{ path: ["c"], description: "cc" }, { path: ["c", "d"], tags: ["t"] }]);\n'
        'publish("js_inc", { type: "incremental" }).query(ctx => `SELECT ${ctx.incremental()} AS a`).protected()\n'
        '  .bigquery({ partitionBy: "DATE(ts)", labels: { l: "v" } }).uniqueKey(["a"]);\n'
        'publish("js_mat", { type: "view", materialized: true }).query("SELECT 1 AS a").bigquery({ clusterBy: ["a"] });\n'
        'operate("js_disabled_op").queries("SELECT 1").hasOutput(false).disabled();\n'
        'test("js_test").dataset("js_view").input("src", "SELECT 1 AS a").expect("SELECT 1 AS a");\n'
    ),
    "definitions/js/assertions.js": (
        'publish("js_checked", { type: "table", assertions: { uniqueKey: ["a"] }, disabled: true, tags: ["t"] })\n'
        '  .query("SELECT 1 AS a").tags("u");\n'
        'publish("js_checked_later").query("SELECT 1 AS a").assertions({ nonNull: "a", uniqueKeys: [] });\n'
    ),
    "definitions/js/from_includes.js": 'helpers.daily("made_one");\n["x", "y"].forEach(n => helpers.daily("made_" + n));\n',
    # Views: materialized, bigquery options.
    "definitions/views/mat_view.sqlx": (
        'config { type: "view", materialized: true, description: "mv",\n'
        '  bigquery: { clusterBy: ["a"], partitionBy: "DATE(ts)", labels: { a: "b" },\n'
        '    additionalOptions: { enable_refresh: "true", max_staleness: "INTERVAL 1 HOUR" } } }\n'
        'SELECT * FROM ${ref("src")}\n'
    ),
    "definitions/views/labels_view.sqlx": 'config { type: "view", bigquery: { labels: { a: "b" } } }\nSELECT 1\n',
    "definitions/views/options_view.sqlx": 'config { type: "view", bigquery: { additionalOptions: { a: "b" } } }\nSELECT 1\n',
    # Tables: every bigquery option, nested column descriptions, reservation, hermetic.
    "definitions/tables/bq_table.sqlx": (
        'config { type: "table", hermetic: true, reservation: "r1", description: "all options",\n'
        '  bigquery: { partitionBy: "DATE(ts)", clusterBy: ["a", "b"], labels: { x: "y" }, partitionExpirationDays: 3,\n'
        '    requirePartitionFilter: true, additionalOptions: { kms_key_name: "\\"k\\"" } },\n'
        '  columns: { a: "A", r: { description: "R", tags: ["t1"], bigqueryPolicyTags: "pt",\n'
        '    columns: { x: { description: "X", columns: { y: "Y" } }, z: "Z" } }, n: { tags: ["only_tags"] } } }\n'
        'SELECT * FROM ${ref("mat_view")}\n'
    ),
    "definitions/tables/top_level.sqlx": (
        'config { type: "table", partitionBy: "d", clusterBy: ["a"], labels: { a: "b" }, disabled: "yes" }\nSELECT 1\n'
    ),
    "definitions/tables/named.sqlx": (
        'config { type: "table", name: "renamed", schema: "s2", database: "db2" }\nSELECT 1\n'
    ),
    "definitions/tables/refs.sqlx": (
        'config { type: "view" }\n'
        'SELECT * FROM ${ref("db2", "s2", "renamed")} JOIN ${resolve("src")} ON TRUE\n'
        '  JOIN ${ref({ name: "src", dataset: "raw" })} ON TRUE ${ctx.dependencies("js_view")} ${ctx.tags(["ctx_tag"])}\n'
    ),
    "definitions/tables/context_names.sqlx": (
        'config { type: "view" }\n'
        'SELECT * FROM ${\\u0072ef("src")} ON "${typeof when}" = "${eval("typeof ref")}" AND ${(0, eval)("1 + 1")}\n'
    ),
    # Incremental tables: onSchemaChange, strategies, predicates, legacy incremental_where.
    "definitions/inc/extend.sqlx": (
        'config {\n  type: "incremental",\n  uniqueKey: ["a"],\n  onSchemaChange: "EXTEND",\n'
        '  bigquery: {\n    partitionBy: "DATE(ts)",\n'
        '    updatePartitionFilter: "ts > TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)",\n'
        "    partitionExpirationDays: 30,\n    requirePartitionFilter: true,\n"
        '    additionalOptions: { description: "\\"x\\"" }\n  }\n}\n'
        'SELECT * FROM ${ref("src")}\n'
        "incremental_where {\n  ts > (SELECT MAX(ts) FROM ${self()})\n}\n"
    ),
    "definitions/inc/synchronize.sqlx": (
        'config { type: "incremental", onSchemaChange: "synchronize", uniqueKey: ["a"], incrementalStrategy: "merge" }\n'
        "SELECT 1 AS a\n"
    ),
    "definitions/inc/fail.sqlx": 'config { type: "incremental", onSchemaChange: "FAIL" }\nSELECT 1 AS a\n',
    "definitions/inc/overwrite.sqlx": (
        'config { type: "incremental", uniqueKey: ["a"], incrementalStrategy: "INSERT_OVERWRITE",\n'
        '  bigquery: { partitionBy: "d", incrementalPredicates: ["DATAFORM_DEST.d > 1"] } }\nSELECT 1 AS a\n'
    ),
    "definitions/inc/protected.sqlx": (
        'config { type: "incremental", protected: true }\npre_operations {}\nSELECT 1\npost_operations {\n}\n'
    ),
    # Dependencies on the assertions of a dependency.
    "definitions/deps/checked.sqlx": 'config { type: "table", assertions: { nonNull: ["a"] } }\nSELECT 1 AS a\n',
    "definitions/deps/check.sqlx": 'config { type: "assertion", hermetic: true, description: "d" }\nSELECT * FROM ${ref("checked")} WHERE FALSE\n',
    "definitions/deps/wants_checks.sqlx": (
        'config { type: "view", dependOnDependencyAssertions: true }\nSELECT * FROM ${ref("checked")}\n'
    ),
    "definitions/deps/wants_checks_too.sqlx": (
        'config { type: "table", dependencies: [{ name: "checked", includeDependentAssertions: true }] }\nSELECT 1\n'
    ),
    # Context functions in assertions and operations; two config blocks (the last one counts).
    "definitions/misc/assertion_when.sqlx": 'config { type: "assertion" }\nSELECT ${when(true, "1", "2")} WHERE FALSE\n',
    "definitions/misc/ops_when.sqlx": 'config { type: "operations", hermetic: false }\nSELECT ${when(true, "1", "2")}\n',
    "definitions/misc/two_configs.sqlx": 'config { type: "table" }\nconfig { type: "view" }\nSELECT 1\n',
    # Unit tests: inputs by name and by dataset and name, js blocks, a dataset in another schema.
    "definitions/tests/tested_view.sqlx": (
        'config { type: "view", schema: "other" }\n'
        'SELECT * FROM ${ref("src")} JOIN ${ref("raw", "src")} ON TRUE\n'
        'WHERE ${when(incremental(), "x", "y")} AND "${self()}" = "${name()}"\n'
    ),
    "definitions/tests/tested_table.sqlx": 'config { type: "table" }\nSELECT * FROM ${ref("tested_view")}\n',
    "definitions/tests/test_view.sqlx": (
        'config { type: "test", dataset: { schema: "other", name: "tested_view" }, tags: ["unit"] }\n'
        'input "src" {\n  SELECT 1 AS a\n}\ninput "raw", "src" {\n  SELECT 2 AS a\n}\n\nSELECT 1 AS a\n'
    ),
    "definitions/tests/test_table.sqlx": (
        'config { type: "test", dataset: "tested_table" }\njs { const k = 5; }\ninput "tested_view" { SELECT ${k} AS a }\n'
        "SELECT ${k} AS a\n"
    ),
}

RENAMED = {
    "definitions/src.sqlx": 'config { type: "declaration", schema: "raw", name: "src" }\n',
    "definitions/t.sqlx": (
        'config { type: "table", assertions: { nonNull: ["a"] } }\n'
        'SELECT 1 AS a FROM ${ref("src")} WHERE "${name()}" != "${schema()}.${database()}"\n'
    ),
    "definitions/u.sqlx": 'config { type: "view" }\nSELECT * FROM ${ref("t")}\n',
    "definitions/a.sqlx": 'config { type: "assertion" }\nSELECT * FROM ${ref("u")}\n',
    "definitions/tt.sqlx": 'config { type: "test", dataset: "t" }\ninput "src" { SELECT 1 AS a }\nSELECT 1 AS a\n',
}

# Each file the real compiler rejects, with what our message says.
REJECTED = {
    "definitions/tags_string.sqlx": ('config { type: "table", tags: "x" }\nSELECT 1\n', 'Unexpected property "tags"'),
    "definitions/falsy_option.sqlx": (
        'config { type: "table", bigquery: { partitionBy: "d", requirePartitionFilter: false } }\nSELECT 1\n',
        'Unexpected property "bigquery"',
    ),
    "definitions/view_partition.sqlx": (
        'config { type: "view", bigquery: { partitionBy: "x" } }\nSELECT 1\n',
        "only to materialized views",
    ),
    "definitions/table_protected.sqlx": ('config { type: "table", protected: true }\nSELECT 1\n', "'protected: true'"),
    "definitions/deps_string.sqlx": ('config { type: "table", dependencies: "src" }\nSELECT 1\n', "must be a list"),
    "definitions/unique_string.sqlx": (
        'config { type: "incremental", uniqueKey: "a" }\nSELECT 1 AS a\n',
        'Unexpected property "uniqueKey"',
    ),
    "definitions/assert_columns.sqlx": (
        'config { type: "assertion", columns: { a: "x" } }\nSELECT 1\n',
        'Unexpected property "columns"',
    ),
    "definitions/test_incremental.sqlx": (
        'config { type: "test", dataset: "inc_target" }\nSELECT 1\n',
        "incremental datasets is not yet supported",
    ),
    "definitions/inc_target.sqlx": ('config { type: "incremental" }\nSELECT 1\n;', "Semi-colons"),
    "definitions/ops_columns.sqlx": (
        'config { type: "operations", columns: { a: "x" } }\nSELECT 1\n',
        "may only describe columns",
    ),
    "definitions/both_keys.sqlx": (
        'config { type: "table", assertions: { uniqueKey: ["a"], uniqueKeys: [["b"]] } }\nSELECT 1\n',
        "Specify at most one",
    ),
    "definitions/merge_no_key.sqlx": (
        'config { type: "incremental", incrementalStrategy: "MERGE" }\nSELECT 1\n',
        "requires 'uniqueKey'",
    ),
    "definitions/overwrite_no_partition.sqlx": (
        'config { type: "incremental", incrementalStrategy: "INSERT_OVERWRITE" }\nSELECT 1\n',
        "requires 'partitionBy'",
    ),
    "definitions/filter_and_predicates.sqlx": (
        'config { type: "incremental", bigquery: { partitionBy: "d", updatePartitionFilter: "d > 1",\n'
        '  incrementalPredicates: ["d > 2"] } }\nSELECT 1\n',
        "cannot be both set",
    ),
    "definitions/expiry_unpartitioned.sqlx": (
        'config { type: "table", bigquery: { partitionExpirationDays: 3 } }\nSELECT 1\n',
        "non partitioned",
    ),
    "definitions/two_statements.sqlx": (
        'config { type: "table" }\nSELECT 1\n---\nSELECT 2\n',
        "more than one SQL statement",
    ),
    "definitions/where_in_table.sqlx": (
        'config { type: "table" }\nSELECT 1\nincremental_where { x > 1 }\n',
        "incremental_where",
    ),
    "definitions/input_in_view.sqlx": ('config { type: "view" }\ninput "src" { SELECT 1 }\nSELECT 1\n', "input blocks"),
    "definitions/pre_in_assertion.sqlx": (
        'config { type: "assertion" }\npre_operations { SELECT 1 }\nSELECT 1\n',
        "pre_operations",
    ),
    "definitions/ghost_ref.sqlx": ('config { type: "view" }\nSELECT * FROM ${ref("ghost")}\n', "Could not resolve"),
    "definitions/ref_no_output.sqlx": (
        'config { type: "view" }\nSELECT * FROM ${ref("no_output")}\n',
        "operations which do not produce output",
    ),
    "definitions/no_output.sqlx": ('config { type: "operations" }\nSELECT 1\n', None),
    "definitions/bad_strategy.sqlx": (
        'config { type: "incremental", onSchemaChange: "DROP" }\nSELECT 1\n',
        "is not supported",
    ),
    "definitions/js_builder.js": (
        'publish("js_later").query("SELECT 1 AS a").assertions({ nonNull: "a" });\n',
        "uniqueKeys",
    ),
    "definitions/js_columns.js": ('publish("js_columns").query("SELECT 1 AS a").columns({ a: "x" });\n', ".columns()"),
}
