"""Every compile error names the file and line; nothing unsupported compiles silently."""

from __future__ import annotations

import pytest

from winter_days.elt.sqlx import CompilationError, compile_project


def _errors(root) -> list[tuple[str, int, str]]:
    with pytest.raises(CompilationError) as caught:
        compile_project(root)
    return caught.value.locations


def test_missing_ref_points_at_its_line(project):
    root = project({"definitions/a.sqlx": 'config { type: "view" }\nSELECT 1\nFROM ${ref("ghost")}\n'})
    assert _errors(root) == [("definitions/a.sqlx", 3, 'Could not resolve "ghost"')]


def test_missing_config_dependency(project):
    root = project({"definitions/a.sqlx": '\nconfig { type: "view", dependencies: ["ghost"] }\nSELECT 1\n'})
    [(file, line, message)] = _errors(root)
    assert (file, line) == ("definitions/a.sqlx", 2) and 'depends on "ghost" which does not exist' in message


def test_cycle_is_an_error(project):
    root = project(
        {
            "definitions/a.sqlx": 'config { type: "view" }\nSELECT * FROM ${ref("b")}\n',
            "definitions/b.sqlx": 'config { type: "view" }\nSELECT * FROM ${ref("a")}\n',
        }
    )
    [(file, line, message)] = _errors(root)
    assert file in ("definitions/a.sqlx", "definitions/b.sqlx") and line == 1
    assert message.startswith("Circular dependency detected in chain: [")
    assert "proj.wh.a" in message and "proj.wh.b" in message


def test_duplicate_targets_name_both_files(project):
    root = project(
        {
            "definitions/a.sqlx": 'config { type: "view", name: "same" }\nSELECT 1\n',
            "definitions/b.sqlx": '\n\nconfig { type: "table", name: "same" }\nSELECT 2\n',
        }
    )
    errors = _errors(root)
    assert [(file, line) for file, line, _ in errors] == [("definitions/a.sqlx", 1), ("definitions/b.sqlx", 3)]
    assert all("Duplicate action name detected" in m and '"proj.wh.same"' in m for _, _, m in errors)


def test_ambiguous_ref(project):
    root = project(
        {
            "definitions/a.sqlx": 'config { type: "view", schema: "s1", name: "t" }\nSELECT 1\n',
            "definitions/b.sqlx": 'config { type: "view", schema: "s2", name: "t" }\nSELECT 1\n',
            "definitions/c.sqlx": 'config { type: "view" }\nSELECT * FROM ${ref("t")}\n',
        }
    )
    [(file, line, message)] = _errors(root)
    assert (file, line) == ("definitions/c.sqlx", 2) and message.startswith("Ambiguous Action name")


@pytest.mark.parametrize(
    "config, fragment",
    [
        ('{ type: "table", materialized: true }', 'Unexpected property "materialized"'),
        ('{ type: "table", assertions: { unique: ["a"] } }', 'Unexpected property "unique" in assertions config'),
        ('{ type: "view", uniqueKey: ["a"] }', 'Unexpected property "uniqueKey"'),
        ('{ type: "table", dependencies: [{ name: "x", schema: "y" }] }', 'Unexpected property "schema"'),
        ('{ type: "incremental", incrementalStrategy: "MERGE" }', "IncrementalStrategy 'merge' requires 'uniqueKey'"),
        ('{ type: "incremental", onSchemaChange: "DROP" }', 'OnSchemaChange value "DROP" is not supported'),
        (
            '{ type: "table", iceberg: { connection: "c" } }',
            "Apache Iceberg ('iceberg') are not supported by this compiler",
        ),
    ],
)
def test_rejected_config_is_an_error_at_the_config_line(project, config, fragment):
    root = project({"definitions/a.sqlx": f"-- header\n\nconfig {config}\nSELECT 1\n"})
    [(file, line, message)] = _errors(root)
    assert (file, line) == ("definitions/a.sqlx", 3) and fragment in message


def test_a_rejected_option_is_reported_at_its_own_line(project):
    root = project(
        {
            "definitions/a.sqlx": (
                'config {\n  type: "table",\n  bigquery: {\n    partitionBy: "DATE(ts)",\n    requirePartitionFiltre: true\n'
                "  }\n}\nSELECT 1\n"
            ),
            "definitions/v.sqlx": 'config {\n  type: "view",\n  bigquery: {\n    clusterBy: ["a"]\n  }\n}\nSELECT 1\n',
        }
    )
    errors = _errors(root)
    assert [(file, line) for file, line, _ in errors] == [("definitions/a.sqlx", 5), ("definitions/v.sqlx", 4)]
    assert 'Unexpected property "requirePartitionFiltre" in BigQuery table config' in errors[0][2]
    assert "partitionBy/clusterBy can be applied only to materialized views" in errors[1][2]


def test_what_this_compiler_does_not_support_is_named(project):
    root = project(
        {
            "definitions/actions.yaml": "actions: []\n",
            "definitions/legacy.js": '\n\npublish("x").query("SELECT 1").type("table");\n',
        }
    )
    assert _errors(root) == [
        (
            "definitions/actions.yaml",
            1,
            "actions.yaml files are not supported by this compiler; define the actions in .sqlx or .js files",
        ),
        (
            "definitions/legacy.js",
            3,
            "Error: .type() is not supported by this compiler: pass { type: ... } in the config instead",
        ),
    ]


def test_javascript_definition_errors_name_the_line_of_the_file(project):
    root = project(
        {
            "definitions/defs.js": (
                'publish("a", { type: "table" }).query("SELECT 1");\n'
                "\n"
                'publish("b", { type: "table", bogus: 1 }).query("SELECT 1");\n'
                'assert("c").query(ctx => `SELECT * FROM ${ctx.ref("ghost")}`);\n'
            )
        }
    )
    errors = _errors(root)
    assert [(file, line) for file, line, _ in errors] == [("definitions/defs.js", 3), ("definitions/defs.js", 4)]
    assert 'Unexpected property "bogus"' in errors[0][2] and errors[1][2] == 'Could not resolve "ghost"'


def test_javascript_syntax_error_line(project):
    root = project({"definitions/a.sqlx": 'config { type: "view" }\njs {\n  const x = ;\n}\nSELECT 1\n'})
    [(file, line, message)] = _errors(root)
    assert (file, line) == ("definitions/a.sqlx", 3) and message.startswith("SyntaxError")


def test_javascript_runtime_error_in_placeholder_line(project):
    root = project({"definitions/a.sqlx": 'config { type: "view" }\nSELECT 1,\n  ${nothing.here}\n'})
    [(file, line, message)] = _errors(root)
    assert (file, line) == ("definitions/a.sqlx", 3) and "nothing" in message


def test_incremental_is_not_available_to_operations(project):
    root = project({"definitions/op.sqlx": 'config { type: "operations" }\n\nSELECT ${incremental()}\n'})
    [(file, line, message)] = _errors(root)
    assert (file, line) == ("definitions/op.sqlx", 3) and "TypeError" in message


def test_include_runtime_error_line(project):
    root = project(
        {
            "includes/constants.js": "const a = 1;\nconst b = missing.value;\n",
            "definitions/a.sqlx": 'config { type: "view" }\nSELECT 1\n',
        }
    )
    [(file, line, message)] = _errors(root)
    assert (file, line) == ("includes/constants.js", 2) and "missing" in message


@pytest.mark.parametrize(
    "body, fragment",
    [
        ('config { type: "table" }\nSELECT 1;\n', "Semi-colons are not allowed"),
        ('config { type: "table" }\nSELECT 1\n---\nSELECT 2\n', "more than one SQL statement"),
        ('config { type: "assertion" }\npre_operations { SELECT 1 }\nSELECT 1\n', "pre_operations"),
        ('config { type: "view" }\nSELECT * FROM ${ref("op")}\n', "operations which do not produce output"),
        ('config { type: "view",\n  name: "x"\nSELECT 1\n', "unclosed block"),
    ],
)
def test_rules_dataform_enforces(project, body, fragment):
    root = project({"definitions/op.sqlx": 'config { type: "operations" }\nSELECT 1\n', "definitions/a.sqlx": body})
    errors = _errors(root)
    assert any(file == "definitions/a.sqlx" and fragment in message for file, _, message in errors), errors


def test_settings_errors_name_the_line(project):
    root = project({}, settings="defaultProject: p\nnamePrefixes: pre\n")
    assert _errors(root) == [
        ("workflow_settings.yaml", 2, "workflow setting 'namePrefixes' is not supported by this compiler")
    ]
    root = project({}, settings="defaultProject: p\nvars:\n  n: 3\n")
    assert _errors(root)[0][:2] == ("workflow_settings.yaml", 3)
