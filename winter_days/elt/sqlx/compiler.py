"""Compiles a Dataform project (SQLX and JavaScript definitions, includes) into Dataform's
compiled-graph JSON, with @dataform/core's rules, and every error at its file and line."""

from __future__ import annotations

import gc
import json
import os
import re
from pathlib import Path
from typing import Any

from winter_days.elt.sqlx.actions import Action, Builder, ConfigError, Problem, builtin_query, readable, target_of
from winter_days.elt.sqlx.errors import CompilationError, CompileIssue
from winter_days.elt.sqlx.graph import (
    ResolvableMap,
    ambiguous,
    cycle_problems,
    duplicate_problems,
    index_actions,
    qualify_dependencies,
    stringify_resolvable,
)
from winter_days.elt.sqlx.jsengine import JsEngine, JsFailure
from winter_days.elt.sqlx.lexer import LexError, parse
from winter_days.elt.sqlx.output import assemble_graph
from winter_days.elt.sqlx.program import ProgramError, SqlxParts, extract_parts, js_program, sqlx_program
from winter_days.elt.sqlx.settings import read_project_config

DATAFORM_CORE_VERSION = "3.0.62"
_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
_SKIPPED_FOLDERS = {"node_modules"}
_BATCH = 256  # SQLX programs run in one evaluation
_INVALID_REF = (
    "Invalid input. Accepted inputs include: a single object containing an (optional) 'database', "
    "(optional) 'schema', and 'name', or 1-3 inputs consisting of an (optional) database, (optional) "
    "schema, and 'name'."
)


def _project_files(root: Path, folder: str) -> list[str]:
    """Project-relative paths under `folder`, sorted as Dataform sorts them (as strings)."""
    found: list[str] = []
    base = root / folder
    for directory, subdirs, files in os.walk(base):
        subdirs[:] = [d for d in subdirs if d not in _SKIPPED_FOLDERS and not d.startswith(".")]
        rel = Path(directory).relative_to(root).as_posix()
        found.extend(f"{rel}/{name}" for name in files if not name.startswith(".") and "." in name)
    return sorted(found)


LOCAL_TESTS = "unit_tests"  # local-only unit tests: Dataform does not read this folder


class _Compiler:
    def __init__(self, project_dir: Path, vars_override: dict[str, str] | None, local_tests: bool = False):
        self.root = project_dir
        self.local_tests = local_tests
        self.project = read_project_config(project_dir, vars_override)
        self.canonical = {
            k: self.project[k]
            for k in ("warehouse", "defaultSchema", "defaultDatabase", "assertionSchema")
            if k in self.project
        }
        self.issues: list[CompileIssue] = []
        self.engine = JsEngine(self.project, self._call)
        self.builder = Builder(self.project, self.canonical, self.resolve_target)
        self.actions: list[Action] = []
        self.tests: list[Action] = []
        self.index: ResolvableMap[Action] | None = None
        self.current: Action | None = None
        self.replacing: Action | None = None  # the test whose inputs replace refs right now
        self.records: list[dict] = []
        self._resolved: dict[str, tuple[Any, str]] = {}
        self.config_blocks: dict[str, tuple[str, int]] = {}  # SQLX file -> (config block, its line)

    def error(self, file: str, line: int | None, message: str) -> None:
        self.issues.append(CompileIssue(file, line or 1, message))

    # -- loading ---------------------------------------------------------------------
    def load_includes(self) -> None:
        if not (self.root / "includes").is_dir():
            return
        for rel in _project_files(self.root, "includes"):
            stem, _, extension = rel.split("/")[-1].rpartition(".")
            if extension != "js" or rel.count("/") != 1:
                continue  # Dataform loads only top-level includes/*.js files.
            if not _IDENTIFIER.match(stem):
                self.error(rel, 1, f"include name {stem!r} is not a JavaScript identifier")
                continue
            try:
                self.engine.load_include(stem, _read(self.root / rel))
            except JsFailure as failure:
                self.error(rel, failure.line, str(failure))

    def load_definitions(self) -> None:
        if not (self.root / "definitions").is_dir():
            self.error("definitions", 1, "the project has no definitions/ folder")
            return
        batch: list[tuple[str, str, SqlxParts]] = []
        for rel in _project_files(self.root, "definitions"):
            name = rel.split("/")[-1]
            extension = name.rsplit(".", 1)[-1]
            if name in ("actions.yaml",):
                self.error(
                    rel,
                    1,
                    "actions.yaml files are not supported by this compiler; define the actions in .sqlx or .js files",
                )
            elif extension == "sqlx":
                program = self._sqlx_program(rel)
                if program is not None:
                    batch.append(program)
                if len(batch) >= _BATCH:
                    self._run_sqlx(batch)
                    batch = []
            elif extension == "js":
                self._run_sqlx(batch)  # Dataform runs the files in order: the batch first
                batch = []
                self._load_js(rel)
        if self.local_tests and (self.root / LOCAL_TESTS).is_dir():
            batch += [
                program
                for rel in _project_files(self.root, LOCAL_TESTS)
                if rel.endswith(".sqlx")
                for program in [self._sqlx_program(rel)]
                if program is not None
            ]
        self._run_sqlx(batch)

    def _sqlx_program(self, rel: str) -> tuple[str, str, SqlxParts] | None:
        try:
            parts = extract_parts(parse(_read(self.root / rel)))
        except (LexError, ProgramError) as err:
            self.error(rel, err.line, str(err))
            return None
        if parts.config is not None:
            self.config_blocks[rel] = (parts.config.code, parts.config.line)
        return rel, sqlx_program(rel.split("/")[-1].rsplit(".", 1)[0], parts), parts

    def _run_sqlx(self, batch: list[tuple[str, str, SqlxParts]]) -> None:
        """Run SQLX programs many at a time (one parse instead of one per file); a batch that
        does not parse runs file by file, so each syntax error is found at its own line."""
        if not batch:
            return
        try:
            failures = self.engine.run_batch([(rel, program) for rel, program, _ in batch])
        except JsFailure:
            for rel, program, parts in batch:
                self._run_one_sqlx(rel, program, parts)
            return
        for position, message, line in failures:
            self.error(batch[position][0], line, message)

    def _run_one_sqlx(self, rel: str, program: str, parts: SqlxParts) -> None:
        try:
            self.engine.run_definitions(rel, program, lines_match_file=False)
        except JsFailure as failure:
            if failure.args[0].startswith("SyntaxError"):
                self._locate_syntax_error(rel, parts, failure)
            else:
                self.error(rel, failure.line, str(failure))

    def _load_js(self, rel: str) -> None:
        code = _read(self.root / rel)
        try:
            self.engine.run_definitions(rel, js_program(code), lines_match_file=True)
        except JsFailure as failure:
            self.error(rel, failure.line, str(failure))

    def _locate_syntax_error(self, rel: str, parts, failure: JsFailure) -> None:
        """A program that does not parse: find the snippet of the file at fault, for its line."""
        snippets = (
            ([(parts.config, True)] if parts.config else [])
            + [(s, False) for s in parts.js]
            + [(s, True) for s in parts.placeholders]
        )
        for snippet, as_expression in snippets:
            try:
                self.engine.check_syntax(snippet.code, snippet.line, as_expression)
            except JsFailure as located:
                self.error(rel, located.line, str(located))
                return
        self.error(rel, failure.line, str(failure))

    # -- actions from the recorded specs --------------------------------------------------
    def build(self) -> None:
        self.records = self.engine.records()
        for index, record in enumerate(self.records):
            file, line = record["file"], record["line"] or 1
            try:
                action = self._create(index, record)
                for method, args in record["calls"]:
                    self.builder.call(action, method, args)
            except ConfigError as failure:
                self.error(file, self.key_line(file, failure.key, line), str(failure))
                continue
            if action.kind == "test":
                self.tests.append(action)
        self.actions = self.builder.created

    def _create(self, index: int, record: dict) -> Action:
        kind, file, line = record["kind"], record["file"], record["line"] or 1
        config = dict(record.get("config") or {})
        if kind == "sqlx":
            action_type = config.get("type", "operations")
            config.setdefault("filename", file)
            self._sqlx_rules(record, action_type, config, file, line)
            if action_type == "test":
                return self._test(index, record, config.get("name"), config, file, line)
            return self._dataset_or_other(action_type, config, index, record, file, line, legacy=True)
        if kind == "publish":
            action_type = config.get("type") or "view"
            if action_type not in ("view", "table", "incremental"):
                raise ConfigError(f"Unrecognized table type: {action_type}")
            config = {"type": action_type, "name": record.get("name"), "filename": file, **config}
            return self._dataset_or_other(action_type, config, index, record, file, line, legacy=True)
        if kind == "operate":
            config = {"name": record.get("name"), "filename": file, **config}
            return self._dataset_or_other("operations", config, index, record, file, line, legacy="type" in config)
        if kind == "assert":
            config = {"name": record.get("name"), "filename": file, **config}
            return self._dataset_or_other("assertion", config, index, record, file, line, legacy=True)
        if kind == "declare":
            return self.builder.declaration(config, file, line)
        return self._test(index, record, record.get("name"), None, file, line)

    def _sqlx_rules(self, record: dict, action_type: str, config: dict, file: str, line: int) -> None:
        """The checks Dataform's sqlxAction makes before it builds the action."""
        problems = []
        if record["statementCount"] > 1 and action_type != "operations":
            problems.append("Actions may only contain more than one SQL statement if they are of type 'operations'.")
        if "protected" in config and action_type != "incremental":
            self.error(
                file,
                self.key_line(file, "protected", line),
                "Actions may only specify 'protected: true' if they are of type 'incremental'.",
            )
        if record["hasWhere"] and action_type != "incremental":
            problems.append("Actions may only include incremental_where if they are of type 'incremental'.")
        if record["inputs"] and action_type != "test":
            problems.append("Actions may only include input blocks if they are of type 'test'.")
        if action_type not in ("view", "table", "incremental"):
            if record["preBlock"]:
                problems.append("Actions may only include pre_operations if they create a dataset.")
            if record["postBlock"]:
                problems.append("Actions may only include post_operations if they create a dataset.")
        for message in problems:
            self.error(file, line, message)
        if action_type not in ("view", "table", "incremental", "assertion", "operations", "declaration", "test"):
            if action_type == "dataPreparation":
                raise ConfigError("dataPreparation actions are not supported by this compiler")
            raise ConfigError(f"Unrecognized action type: {action_type}")

    def _dataset_or_other(
        self, action_type: str, config: dict, index: int, record: dict, file: str, line: int, legacy: bool
    ) -> Action:
        if action_type in ("table", "view", "incremental"):
            return self.builder.dataset(action_type, config, file, line, index, legacy)
        if action_type == "operations":
            return self.builder.operation(config, file, line, index, legacy)
        if action_type == "assertion":
            return self.builder.assertion(config, file, line, index)
        return self.builder.declaration(config, file, line)

    def _test(self, index: int, record: dict, name: Any, config: dict | None, file: str, line: int) -> Action:
        action = self.builder.test(name, file, line, index)
        if config is not None:
            self.builder.call(action, "config", [config])
        for position, ref_name in enumerate(record["inputs"]):
            action.inputs[_input_key(ref_name)] = position
        return action

    # -- compiling queries -----------------------------------------------------------
    def resolve_target(self, target: dict) -> str:
        """Dataform's resolveTarget: the backticked `project.dataset.name` of a target."""
        database = target.get("database") or self.project.get("defaultDatabase")
        schema = target.get("schema") or self.project.get("defaultSchema")
        return f"`{database}.{schema}.{target['name']}`" if database else f"`{schema}.{target['name']}`"

    def _finalize(self, target: dict) -> dict:
        database = target.get("database")
        if database and self.project.get("databaseSuffix"):
            database = f"{database}_{self.project['databaseSuffix']}"
        schema = target.get("schema")
        if self.project.get("schemaSuffix"):
            schema = f"{schema}_{self.project['schemaSuffix']}"
        name = target["name"]
        if self.project.get("tablePrefix"):
            name = f"{self.project['tablePrefix']}_{name}"
        return target_of(name, schema, database)

    def resolve(self, action: Action, wanted: Any, line: int | None) -> str:
        """Dataform's session.resolve: the table a ref names, or "" and an error."""
        assert self.index is not None
        try:
            target = _resolvable_target(wanted)
        except ConfigError as failure:
            action.problems.append(Problem(str(failure), line))
            return ""
        found = self.index.find(target)
        if len(found) > 1:
            action.problems.append(Problem(ambiguous(wanted, found), line))
            return ""
        if not found:
            action.problems.append(Problem(f"Could not resolve {json.dumps(wanted, separators=(',', ':'))}", line))
            return ""
        resolved = found[0]
        if resolved.kind == "operations" and not resolved.proto.get("hasOutput"):
            action.problems.append(Problem("Actions cannot resolve operations which do not produce output.", line))
            return ""
        if resolved.kind == "declaration":
            return self.resolve_target(resolved.target)
        return self.resolve_target(self._finalize(resolved.target))

    def _call(self, op: str, _spec: int, payload: str, given_line: int) -> str:
        action = self.current
        assert action is not None
        line = given_line or None
        if self.replacing is not None and op in ("ref", "resolve"):
            return self._input(self.replacing, json.loads(payload), line)
        target = action.target
        if op == "name":
            return self._finalize(target)["name"]
        if op == "schema":
            return self._finalize(target).get("schema") or ""
        if op == "database":
            if not target.get("database"):
                action.problems.append(Problem("Warehouse does not support multiple databases", line))
                return ""
            return self._finalize(target)["database"]
        if op == "self":
            return self.resolve(action, target, line)
        if op == "dependencies":
            self.builder.dependencies(action, _as_list(json.loads(payload)))
            return ""
        if op == "tags":
            self.builder.call(action, "tags", [json.loads(payload)])
            return ""
        if op == "hasOutput":
            self.builder.call(action, "hasOutput", [json.loads(payload)])
            return ""
        cached = self._resolved.get(payload)
        wanted = json.loads(payload) if cached is None else cached[0]
        if op == "ref":
            self.builder.dependencies(action, [wanted])
        if cached is not None:
            return cached[1]
        problems = len(action.problems)
        resolved = self.resolve(action, wanted, line)
        if len(action.problems) == problems:
            # The same ref names the same table wherever it is written.
            self._resolved[payload] = (wanted, resolved)
        return resolved

    def _input(self, test: Action, wanted: Any, line: int | None) -> str:
        key = _input_key(wanted)
        if key not in test.inputs:
            provided = ",".join(
                json.dumps(
                    {k: v for k, v in zip(("database", "schema", "name"), k, strict=True) if v is not None},
                    separators=(",", ":"),
                )
                for k in test.inputs
            )
            shown = {
                k: v
                for k, v in zip(("schema", "name", "database"), (key[1], key[2], key[0]), strict=True)
                if v is not None
            }
            test.problems.append(
                Problem(
                    f'Input for dataset "{json.dumps(shown, separators=(",", ":"))}" has not been '
                    f"provided. Provided inputs: {provided}",
                    line,
                )
            )
            return ""
        assert test.spec is not None
        return f"({self.engine.apply(test.spec, f'input {test.inputs[key]}', 'test', False)})"

    def compile_actions(self) -> None:
        self.index = index_actions([*self.actions, *self.tests])
        for action in [*self.actions, *self.tests]:
            self.current = action
            try:
                self._compile_action(action)
            except (JsFailure, ConfigError) as failure:
                action.problems.append(Problem(str(failure), getattr(failure, "line", None)))
            finally:
                self.replacing = None
        self.current = None

    def _apply(self, action: Action, part: str, kind: str, incremental: bool = False, first: bool = False) -> Any:
        assert action.spec is not None
        if part in ("pre", "post") and not self.records[action.spec][part]:
            return []  # nothing to evaluate (most actions): spare the call into JavaScript
        value = self.engine.apply(action.spec, part, kind, incremental)
        if first and isinstance(value, list):
            value = value[0] if value else None
        return value

    def _compile_action(self, action: Action) -> None:
        proto, kind = action.proto, action.kind
        sqlx = action.file.endswith(".sqlx") and action.builtin is None
        if action.builtin is not None:
            parent = action.proto["parentAction"]
            self.builder.dependencies(action, [parent])
            proto["query"] = builtin_query(action.builtin, self.resolve(action, parent, action.line))
            self._no_semicolon(action, proto["query"])
            return
        if kind == "declaration" or action.spec is None:
            return
        if kind == "test":
            self._compile_test(action, sqlx)
            return
        if kind == "operations":
            queries = self._apply(action, "query", kind)
            proto["queries"] = [queries] if isinstance(queries, str) else queries
            if proto.get("actionDescriptor", {}).get("columns") and not proto.get("hasOutput"):
                action.problems.append(
                    Problem("Actions of type 'operations' may only describe columns if they specify 'hasOutput: true'.")
                )
            return
        proto["query"] = self._apply(action, "query", kind, first=sqlx)
        if kind == "assertion":
            self._no_semicolon(action, proto["query"])
            return
        if kind == "incremental":
            proto["incrementalQuery"] = self._apply(action, "query", kind, True, first=sqlx)
            proto["incrementalPreOps"] = self._apply(action, "pre", kind, True)
            proto["incrementalPostOps"] = self._apply(action, "post", kind, True)
        if self._record(action)["hasWhere"]:
            proto["where"] = self._apply(action, "where", kind)
        proto["preOps"] = [op for op in self._apply(action, "pre", kind) if op.strip()]
        proto["postOps"] = [op for op in self._apply(action, "post", kind) if op.strip()]
        self._no_semicolon(action, proto.get("query"))
        self._no_semicolon(action, proto.get("incrementalQuery"))

    def _compile_test(self, test: Action, sqlx: bool) -> None:
        assert self.index is not None
        if test.test_target is None:
            test.problems.append(Problem("Tests must operate upon a specified dataset."))
            return
        found = self.index.find(test.test_target)
        if len(found) > 1:
            test.problems.append(Problem(ambiguous(test.test_target, found)))
            return
        dataset = found[0] if found else None
        if dataset is None or not dataset.is_dataset:
            test.problems.append(Problem(f"Dataset {stringify_resolvable(test.test_target)} could not be found."))
            return
        if dataset.kind == "incremental" and not test.file.startswith(f"{LOCAL_TESTS}/"):
            test.problems.append(Problem("Running tests on incremental datasets is not yet supported."))
            return
        self.replacing = test
        self.current = dataset
        try:
            query = self._apply(dataset, "query", "refs", first=dataset.file.endswith(".sqlx"))
        finally:
            self.replacing = None
            self.current = test
        test.proto["testQuery"] = query
        test.proto["expectedOutputQuery"] = self._apply(test, "query" if sqlx else "expect", "test", first=sqlx)
        if not (test.proto.get("testQuery") or "").strip():
            test.problems.append(Problem("Test query is empty."))
        if not (test.proto.get("expectedOutputQuery") or "").strip():
            test.problems.append(Problem("Expected query is empty."))

    def _record(self, action: Action) -> dict:
        assert action.spec is not None
        return self.records[action.spec]

    def _no_semicolon(self, action: Action, query: str | None) -> None:
        if query and query.strip().endswith(";"):
            action.problems.append(Problem("Semi-colons are not allowed at the end of SQL statements."))

    # -- the graph -------------------------------------------------------------------------
    def finish(self) -> dict:
        everything = [*self.actions, *self.tests]
        targets = [dict(a.target) for a in everything]
        # The graph checks run on a graph whose actions compiled: a ref that failed would
        # only be reported again as a missing dependency.
        if not self._report(everything):
            qualify_dependencies(everything, self.index or index_actions(everything))
            self._rename(everything)
            duplicate_problems(everything)
            cycle_problems(everything)
            self._report(everything)
        if self.issues:
            raise CompilationError(self.issues)
        return assemble_graph(self.actions, self.tests, self.project, targets, DATAFORM_CORE_VERSION)

    def _report(self, actions: list[Action]) -> bool:
        """Move the actions' problems to the compile issues; whether there were any."""
        for action in actions:
            seen = set()
            for problem in action.problems:
                if (problem.message, problem.line) not in seen:
                    seen.add((problem.message, problem.line))
                    self.error(
                        action.file,
                        problem.line or self.key_line(action.file, problem.key, action.line),
                        problem.message,
                    )
            action.problems.clear()
        return bool(self.issues)

    def key_line(self, file: str, key: str | None, default: int) -> int:
        """The line of `key` in the file's config block (where the error is), else `default`."""
        block = self.config_blocks.get(file)
        if key is None or block is None:
            return default
        code, start = block
        match = re.search(r"""(?<![\w$])(["']?)""" + re.escape(key) + r"\1\s*:", code)
        return start + code[: match.start()].count("\n") if match else default

    def _rename(self, actions: list[Action]) -> None:
        """Dataform's alterActionName: namePrefix, datasetSuffix and projectSuffix applied to
        every target but declarations', and to the dependencies that name them."""
        if not any(self.project.get(k) for k in ("tablePrefix", "schemaSuffix", "databaseSuffix")):
            return
        renamed: dict[tuple, dict] = {}
        for action in actions:
            key = (action.target.get("database"), action.target.get("schema"), action.target.get("name"))
            if action.kind == "declaration":
                renamed[key] = action.target
            else:
                renamed[key] = self._finalize(action.target)
                action.proto["target"] = renamed[key]

        def updated(target: dict) -> dict:
            return renamed.get((target.get("database"), target.get("schema"), target.get("name")), target)

        for action in actions:
            if action.kind != "declaration" and "dependencyTargets" in action.proto:
                action.proto["dependencyTargets"] = [updated(t) for t in action.proto["dependencyTargets"]]
            if action.kind == "assertion" and action.proto.get("parentAction"):
                action.proto["parentAction"] = updated(action.proto["parentAction"])


def _read(path: Path) -> str:
    """A file's text with its line ends as `\n` (Dataform's template literals read CRLF and
    CR so). Read below Python's text layer, which costs twice as much per small file."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        chunks = []
        while chunk := os.read(descriptor, 1 << 20):
            chunks.append(chunk)
    finally:
        os.close(descriptor)
    text = b"".join(chunks).decode("utf-8")
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _resolvable_target(wanted: Any) -> dict:
    if isinstance(wanted, str):
        return {"name": wanted}
    if isinstance(wanted, dict):
        if "dataset" in wanted or "project" in wanted:
            return target_of(wanted.get("name"), wanted.get("dataset"), wanted.get("project"))
        return target_of(wanted.get("name"), wanted.get("schema"), wanted.get("database"))
    raise ConfigError(_INVALID_REF)


def _input_key(wanted: Any) -> tuple:
    """A test input's key: the target its label (or a ref) names, parts as given."""
    if isinstance(wanted, list):
        parts = list(reversed(wanted))
        return (parts[2] if len(parts) > 2 else None, parts[1] if len(parts) > 1 else None, parts[0])
    target = _resolvable_target(wanted)
    return (target.get("database"), target.get("schema"), target.get("name"))


def compile_project(project_dir: Path, vars: dict[str, str] | None = None, local_tests: bool = False) -> dict:
    """Compile `project_dir` into the JSON of `dataform compile --json`.

    `local_tests` adds the unit tests of the project's unit_tests/ folder, which Dataform
    does not read: there a test may cover an incremental table (its full-refresh query),
    which Dataform's own tests refuse. Raises CompilationError listing every
    (file, line, message) found.
    """
    # A compile allocates a few objects per line of the project and frees none of them until
    # it ends: the cyclic collector's passes over them would cost a tenth of the compile.
    collecting = gc.isenabled()
    gc.disable()
    try:
        compiler = _Compiler(Path(project_dir), vars, local_tests)
        compiler.load_includes()
        compiler.load_definitions()
        compiler.build()
        compiler.compile_actions()
        return compiler.finish()
    finally:
        if collecting:
            gc.enable()


__all__ = ["compile_project", "CompilationError", "readable"]
