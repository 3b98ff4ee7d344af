"""Compiles a Dataform project (SQLX + includes) into Dataform's compiled-graph JSON."""

from __future__ import annotations

import json
import re
from pathlib import Path

from winter_days.elt.sqlx.actions import DATASET_TYPES, Action, ConfigError, build_actions, builtin_query, readable
from winter_days.elt.sqlx.errors import CompilationError, CompileIssue
from winter_days.elt.sqlx.graph import assemble_graph, check_graph, Index
from winter_days.elt.sqlx.jsengine import JsEngine, JsFailure
from winter_days.elt.sqlx.lexer import LexError, parse
from winter_days.elt.sqlx.program import build_program, extract_parts
from winter_days.elt.sqlx.settings import read_project_config

_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
_UNSUPPORTED_DEFINITIONS = {".js": "JavaScript definition files", ".yaml": "actions.yaml files",
                            ".yml": "actions.yaml files", ".ipynb": "notebooks"}


class _Compiler:
    def __init__(self, project_dir: Path, vars_override: dict[str, str] | None):
        self.root = project_dir
        self.project = read_project_config(project_dir, vars_override)
        self.issues: list[CompileIssue] = []
        self.engine = JsEngine(self.project, self._call)
        self.spec_files: list[str] = []
        self.actions: list[Action] = []
        self.index: Index | None = None
        self.current: Action | None = None

    def error(self, file: str, line: int | None, message: str) -> None:
        self.issues.append(CompileIssue(file, line or 1, message))

    # -- loading ---------------------------------------------------------------------
    def load_includes(self) -> None:
        folder = self.root / "includes"
        if not folder.is_dir():
            return
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            rel = path.relative_to(self.root).as_posix()
            if path.suffix != ".js":
                continue
            if path.parent != folder:
                self.error(rel, 1, "includes in sub-folders are not supported; move the file to includes/")
                continue
            if not _IDENTIFIER.match(path.stem):
                self.error(rel, 1, f"include name {path.stem!r} is not a JavaScript identifier")
                continue
            try:
                self.engine.load_include(path.stem, path.read_text(encoding="utf-8"))
            except JsFailure as failure:
                self.error(rel, failure.line, str(failure))

    def load_definitions(self) -> None:
        folder = self.root / "definitions"
        if not folder.is_dir():
            self.error("definitions", 1, "the project has no definitions/ folder")
            return
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            rel = path.relative_to(self.root).as_posix()
            if path.suffix in _UNSUPPORTED_DEFINITIONS:
                self.error(rel, 1, f"{_UNSUPPORTED_DEFINITIONS[path.suffix]} are not supported by this compiler")
            elif path.suffix == ".sqlx":
                self._load_sqlx(path, rel)

    def _load_sqlx(self, path: Path, rel: str) -> None:
        try:
            parts = extract_parts(parse(path.read_text(encoding="utf-8")))
        except LexError as err:
            self.error(rel, err.line, str(err))
            return
        for keyword, line in parts.blocks:
            if keyword not in ("pre_operations", "post_operations"):
                self.error(rel, line, f"'{keyword}' blocks are not supported by this compiler")
        snippets = ([(parts.config, True)] if parts.config else []) + [(s, False) for s in parts.js] + [
            (s, True) for s in parts.placeholders
        ]
        failed = False
        for snippet, as_expression in snippets:
            try:
                self.engine.check_syntax(snippet.code, snippet.line, as_expression)
            except JsFailure as failure:
                self.error(rel, failure.line, str(failure))
                failed = True
        if failed or any(k not in ("pre_operations", "post_operations") for k, _ in parts.blocks):
            return
        try:
            self.engine.register(build_program(rel, path.stem, parts))
        except JsFailure as failure:
            self.error(rel, failure.line, str(failure))
            return
        self.spec_files.append(rel)

    def build(self) -> None:
        for index, rel in enumerate(self.spec_files):
            line = int(self.engine.value(f"__wdSpecs[{index}].configLine"))  # type: ignore[arg-type]
            try:
                config = self.engine.config(index)
                actions = build_actions(config, rel, line, index, self.project)
            except (JsFailure, ConfigError) as failure:
                self.error(rel, getattr(failure, "line", None) or line, str(failure))
                continue
            main = actions[-1]
            count = self.engine.statement_count(index)
            if count > 1 and main.kind != "operations":
                self.error(rel, line, "Actions may only contain more than one SQL statement if they are of type 'operations'.")
            for part, label in (("pre", "pre_operations"), ("post", "post_operations")):
                if main.kind not in DATASET_TYPES and self.engine.has_part(index, part):
                    self.error(rel, line, f"Actions may only include {label} if they create a dataset.")
            self.actions.extend(actions)

    # -- compiling queries -----------------------------------------------------------
    def _call(self, op: str, _spec: int, payload: str, line: int) -> str:
        action = self.current
        assert action is not None and self.index is not None
        if op == "name":
            return action.target["name"]
        if op == "schema":
            return action.target["schema"]
        if op == "database":
            return action.target["database"] or ""
        wanted = action.target if op == "self" else json.loads(payload)
        if op == "ref" and not wanted.get("name"):
            self.error(action.file, line, "Action name is not specified")
            return ""
        resolved, problem = self.index.resolve(wanted)
        if problem:
            shown = json.dumps({k: v for k, v in wanted.items() if v}, separators=(",", ":"))
            self.error(action.file, line, problem.format(ref=shown))
            return ""
        if op == "ref":
            action.dependencies.append(dict(wanted))
        return resolved

    def compile_actions(self) -> None:
        self.index = Index(self.actions, self.project)
        for action in self.actions:
            self.current = action
            try:
                self._compile_action(action)
            except JsFailure as failure:
                self.error(action.file, failure.line or action.line, str(failure))
        self.current = None

    def _compile_action(self, action: Action) -> None:
        assert self.index is not None
        if action.builtin is not None:
            assert action.parent is not None
            dataset, problem = self.index.resolve(action.parent)
            action.dependencies.append(dict(action.parent))
            action.compiled["query"] = builtin_query(action.builtin, dataset)
            return
        if action.spec_index is None:
            return
        index, kind = action.spec_index, action.kind
        statements = self.engine.apply(index, "sql", kind, False) or []
        if kind == "operations":
            action.compiled["queries"] = statements
            return
        action.compiled["query"] = statements[0] if statements else ""
        pre = self.engine.apply(index, "pre", kind, False) or []
        post = self.engine.apply(index, "post", kind, False) or []
        if kind == "incremental":
            action.compiled["incrementalQuery"] = (self.engine.apply(index, "sql", kind, True) or [""])[0]
            action.compiled["incrementalPreOps"] = self.engine.apply(index, "pre", kind, True) or []
            action.compiled["incrementalPostOps"] = self.engine.apply(index, "post", kind, True) or []
        if kind in DATASET_TYPES:
            action.compiled["preOps"] = [op for op in pre if op.strip()]
            action.compiled["postOps"] = [op for op in post if op.strip()]
            for key in ("query", "incrementalQuery"):
                if action.compiled.get(key, "").strip().endswith(";"):
                    self.error(action.file, action.line, "Semi-colons are not allowed at the end of SQL statements.")


def compile_project(project_dir: Path, vars: dict[str, str] | None = None) -> dict:
    """Compile `project_dir` into the JSON shape of `dataform compile --json`.

    Raises CompilationError listing every (file, line, message) found.
    """
    compiler = _Compiler(Path(project_dir), vars)
    compiler.load_includes()
    compiler.load_definitions()
    if not compiler.issues:
        compiler.build()
    if not compiler.issues:
        compiler.compile_actions()
    if not compiler.issues:
        compiler.issues.extend(check_graph(compiler.actions))
    if compiler.issues:
        raise CompilationError(compiler.issues)
    return assemble_graph(compiler.actions, compiler.project)


__all__ = ["compile_project", "CompilationError", "readable"]
