"""Each SQLX construct compiles to what Dataform writes for it."""

from __future__ import annotations

from winter_days.elt.sqlx import compile_project


def _by_name(graph: dict) -> dict:
    return {
        a["target"]["name"]: a for s in ("tables", "operations", "assertions", "declarations") for a in graph.get(s, [])
    }


SOURCE = {"definitions/src.sqlx": 'config { type: "declaration", schema: "raw", name: "src" }\n'}


def test_ref_forms_resolve_and_record_dependencies(project):
    root = project(
        {
            **SOURCE,
            "definitions/a.sqlx": (
                'config { type: "table" }\n'
                'SELECT * FROM ${ref("src")} JOIN ${ref("raw", "src")} JOIN ${ref({schema: "raw", name: "src"})}'
                ' WHERE ${resolve("b")} IS NOT NULL\n'
            ),
            "definitions/b.sqlx": 'config { type: "view" }\nSELECT 1 AS x\n',
        }
    )
    a = _by_name(compile_project(root))["a"]
    assert a["query"] == (
        "\nSELECT * FROM `proj.raw.src` JOIN `proj.raw.src` JOIN `proj.raw.src` WHERE `proj.wh.b` IS NOT NULL\n"
    )
    # resolve() names a table without depending on it; the three refs are one edge.
    assert a["dependencyTargets"] == [{"schema": "raw", "name": "src", "database": "proj"}]


def test_self_name_schema_database_constants_vars_and_js(project):
    root = project(
        {
            "includes/constants.js": 'const region = "EU";\nmodule.exports = { region };\n',
            "definitions/t.sqlx": (
                'config { type: "table", schema: dataform.projectConfig.vars.stage }\n'
                "js {\n  const twice = (x) => x + x;\n}\n"
                "SELECT '${self()}', '${name()}', '${schema()}', '${database()}', "
                "'${constants.region}', '${twice(\"ab\")}'\n"
            ),
        }
    )
    t = _by_name(compile_project(root))["t"]
    assert t["target"] == {"schema": "staging", "name": "t", "database": "proj"}
    assert t["query"].strip() == "SELECT '`proj.staging.t`', 't', 'staging', 'proj', 'EU', 'abab'"


def test_context_names_bind_as_in_dataform(project):
    # An escaped identifier is the name it spells; eval runs globally (Dataform's sandbox),
    # where the context's names are not defined.
    root = project(
        {
            **SOURCE,
            "definitions/t.sqlx": (
                'config { type: "view" }\n'
                'SELECT * FROM ${\\u0072ef("src")} ON "${typeof when}" = "${eval("typeof ref")}"\n'
            ),
        }
    )
    t = _by_name(compile_project(root))["t"]
    assert t["query"].strip() == 'SELECT * FROM `proj.raw.src` ON "function" = "undefined"'


def test_vars_override_replaces_project_vars(project):
    root = project(
        {"definitions/t.sqlx": 'config { type: "view", schema: dataform.projectConfig.vars.stage }\nSELECT 1\n'}
    )
    graph = compile_project(root, {"stage": "other"})
    assert graph["projectConfig"]["vars"] == {"stage": "other"}
    assert _by_name(graph)["t"]["target"]["schema"] == "other"


def test_incremental_when_and_operation_blocks(project):
    root = project(
        {
            **SOURCE,
            "definitions/inc.sqlx": (
                'config { type: "incremental", uniqueKey: ["id"] }\n'
                "pre_operations {\n  SET x = ${when(incremental(), `(SELECT MAX(id) FROM ${self()})`, `0`)}\n}\n"
                'SELECT * FROM ${ref("src")} ${when(incremental(), `WHERE id > x`)}\n'
                "post_operations {\n  SELECT 1\n  ---\n  SELECT 2\n}\n"
            ),
        }
    )
    inc = _by_name(compile_project(root))["inc"]
    assert inc["type"] == "incremental" and inc["uniqueKey"] == ["id"]
    assert "WHERE" not in inc["query"] and inc["incrementalQuery"].strip().endswith("WHERE id > x")
    assert inc["preOps"] == ["\n  SET x = 0\n"]
    assert inc["incrementalPreOps"] == ["\n  SET x = (SELECT MAX(id) FROM `proj.wh.inc`)\n"]
    assert [op.strip() for op in inc["postOps"]] == ["SELECT 1", "SELECT 2"]


def test_operations_split_on_separator_and_has_output(project):
    root = project(
        {
            "definitions/op.sqlx": (
                'config { type: "operations", hasOutput: true }\nCREATE TABLE ${self()} (x INT64)\n---\nSELECT 1\n'
            ),
            "definitions/uses.sqlx": 'config { type: "view" }\nSELECT * FROM ${ref("op")}\n',
        }
    )
    graph = _by_name(compile_project(root))
    assert [q.strip() for q in graph["op"]["queries"]] == ["CREATE TABLE `proj.wh.op` (x INT64)", "SELECT 1"]
    assert graph["op"]["hasOutput"] is True
    assert graph["uses"]["dependencyTargets"][0]["name"] == "op"


def test_placeholders_in_comments_stay_text(project):
    root = project(
        {"definitions/v.sqlx": ('config { type: "view" }\nSELECT 1 -- ${ref("nowhere")}\n/* ${self()} */\n')}
    )
    v = _by_name(compile_project(root))["v"]
    assert '${ref("nowhere")}' in v["query"] and "${self()}" in v["query"]
    assert "dependencyTargets" not in v


def test_builtin_assertions_named_and_written_like_dataform(project):
    root = project(
        {
            "definitions/t.sqlx": (
                'config { type: "table", tags: ["gold"], disabled: true,\n'
                '  assertions: { uniqueKeys: [["a"], ["b", "c"]], nonNull: "a", rowConditions: ["b > 0"] } }\n'
                "SELECT 1 AS a, 2 AS b, 3 AS c\n"
            )
        }
    )
    graph = compile_project(root)
    names = [t["name"] for t in graph["targets"]]
    assert names == ["wh_t_assertions_uniqueKey_0", "wh_t_assertions_uniqueKey_1", "wh_t_assertions_rowConditions", "t"]
    checks = _by_name(graph)
    unique = checks["wh_t_assertions_uniqueKey_1"]
    assert unique["target"]["schema"] == "checks" and unique["parentAction"]["name"] == "t"
    assert "GROUP BY b, c" in unique["query"] and unique["tags"] == ["gold"] and unique["disabled"] is True
    rows = checks["wh_t_assertions_rowConditions"]["query"]
    assert rows.index("'b > 0' AS failing_row_condition") < rows.index("'a IS NOT NULL' AS failing_row_condition")
    assert "UNION ALL" in rows


def test_declaration_assertion_tags_dependencies(project):
    root = project(
        {
            **SOURCE,
            "definitions/a.sqlx": 'config { type: "table", dependencies: ["raw.src"], tags: ["x"] }\nSELECT 1\n',
            "definitions/check.sqlx": 'config { type: "assertion" }\nSELECT * FROM ${ref("a")} WHERE FALSE\n',
        }
    )
    graph = compile_project(root)
    by = _by_name(graph)
    assert graph["declarations"][0]["target"] == {"schema": "raw", "name": "src", "database": "proj"}
    assert by["a"]["tags"] == ["x"] and by["a"]["dependencyTargets"][0]["name"] == "src"
    assert by["check"]["target"]["schema"] == "checks" and by["check"]["dependencyTargets"][0]["name"] == "a"
