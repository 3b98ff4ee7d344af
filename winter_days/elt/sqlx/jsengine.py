"""The embedded JavaScript engine (QuickJS) that runs includes, definition files and `${...}`."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import quickjs

from winter_days.elt.sqlx.runtime import RUNTIME_JS

_LINE_IN_TRACE = re.compile(r"<input>:(\d+)")
_DEFINITION_FRAME = re.compile(r"at __wdDefinitionFile \(<input>:(\d+)\)")


class JsFailure(Exception):
    """A JavaScript error, with the line QuickJS or the placeholder tracker reported."""

    def __init__(self, message: str, line: int | None):
        super().__init__(message)
        self.line = line


def _first_line(error: Exception) -> tuple[str, int | None]:
    text = str(error)
    match = _LINE_IN_TRACE.search(text)
    return text.splitlines()[0] if text else type(error).__name__, int(match.group(1)) if match else None


class JsEngine:
    """One QuickJS context per compile; programs and includes share its globals like Dataform's."""

    def __init__(self, project_config: dict, call: Callable[[str, int, str, int], str]):
        self._context = quickjs.Context()
        self._context.set_memory_limit(1024 * 1024 * 1024)
        self._context.eval(RUNTIME_JS)
        self._context.add_callable("__wdCall", call)
        self._context.eval(f"dataform.projectConfig = {json.dumps(project_config)};")
        self._apply = self._context.get("__wdApply")

    def _eval(self, code: str) -> object:
        try:
            return self._context.eval(code)
        except quickjs.JSException as err:
            message, _ = _first_line(err)
            # Generated programs do not keep file lines; the placeholder tracker does.
            raise JsFailure(message, self._context.get("__wdLine") or None) from None

    def check_syntax(self, code: str, line: int, as_expression: bool) -> None:
        """Compile a snippet without running it; errors carry the snippet's file line."""
        body = f"return ({code}\n);" if as_expression else code
        try:
            self._context.eval("\n" * (line - 1) + f"(function(){{{body}\n}});")
        except quickjs.JSException as err:
            message, reported = _first_line(err)
            raise JsFailure(message, reported or line) from None

    def load_include(self, global_name: str, code: str) -> None:
        """Run an includes/ file as a module; its exports become a global named after the file."""
        try:
            self._context.eval(
                f"var {global_name} = (function(){{ var module = {{exports: {{}}}}; var exports = module.exports; "
                f"{code}\n; return module.exports; }})();"
            )
        except quickjs.JSException as err:
            message, line = _first_line(err)
            raise JsFailure(message, line) from None

    def run_definitions(self, file: str, program: str, lines_match_file: bool) -> None:
        """Run one definition file's program; its actions are recorded as specs."""
        self._context.set("__wdFile", file)
        self._context.set("__wdLine", 0)
        try:
            self._context.eval(program)
        except quickjs.JSException as err:
            message, line = _first_line(err)
            frame = _DEFINITION_FRAME.search(str(err))
            if lines_match_file:
                line = int(frame.group(1)) if frame else line
            else:
                line = self._context.get("__wdLine") or None
            raise JsFailure(message, line) from None

    def run_batch(self, programs: list[tuple[str, str]]) -> list[tuple[int, str, int | None]]:
        """Run SQLX programs in one evaluation, each guarded on its own: the failures, as
        (position, message, line). Raises JsFailure when the batch does not parse."""
        code = "".join(
            f"__wdFile = {json.dumps(file)}; __wdLine = 0; try {{\n{program}\n}} catch (e) {{ __wdFailed({i}, e); }}\n"
            for i, (file, program) in enumerate(programs)
        )
        self._context.eval("var __wdFailures = [];")
        self._eval(code)
        return [tuple(f) for f in json.loads(self._eval("JSON.stringify(__wdFailures)"))]  # type: ignore[arg-type]

    def records(self) -> list[dict]:
        """What every registered spec recorded: kind, config, builder calls, parts present."""
        return json.loads(self._eval("__wdRecords()"))  # type: ignore[arg-type]

    def apply(self, index: int, part: str, kind: str, incremental: bool) -> object:
        """Evaluate one part of a spec (query, where, expect, pre, post, input <n>) in a context."""
        try:
            return json.loads(self._apply(index, part, kind, incremental))
        except quickjs.JSException as err:
            message, _ = _first_line(err)
            raise JsFailure(message, self._context.get("__wdLine") or None) from None
