"""The embedded JavaScript engine (QuickJS) that evaluates configs, includes and `${...}`."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
import quickjs

from winter_days.elt.sqlx.runtime import RUNTIME_JS

_LINE_IN_TRACE = re.compile(r"<input>:(\d+)")


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
        self._context.set_memory_limit(512 * 1024 * 1024)
        self._context.eval(RUNTIME_JS)
        self._context.add_callable("__wdCall", call)
        self._context.eval(f"dataform.projectConfig = {json.dumps(project_config)};")

    def _eval(self, code: str, lines_match_file: bool = False) -> object:
        try:
            return self._context.eval(code)
        except quickjs.JSException as err:
            message, line = _first_line(err)
            if not lines_match_file:
                # Generated programs do not keep file lines; the placeholder tracker does.
                line = self._context.get("__wdLine") or None
            raise JsFailure(message, line) from None

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
        self._eval(
            f"var {global_name} = (function(){{ var module = {{exports: {{}}}}; var exports = module.exports; "
            f"{code}\n; return module.exports; }})();",
            lines_match_file=True,
        )

    def register(self, program: str) -> None:
        self._context.set("__wdLine", 0)
        self._eval(program)

    def config(self, index: int) -> dict:
        return json.loads(self._eval(f"__wdConfigJson({index})"))  # type: ignore[arg-type]

    def value(self, expression: str) -> object:
        return self._eval(expression)

    def statement_count(self, index: int) -> int:
        return int(self._eval(f"__wdSpecs[{index}].statementCount"))  # type: ignore[arg-type]

    def has_part(self, index: int, part: str) -> bool:
        return bool(self._eval(f"!!__wdSpecs[{index}].{part}"))

    def apply(self, index: int, part: str, kind: str, incremental: bool) -> list[str] | None:
        """Evaluate one SQL part (sql, pre or post) of a file in an action context."""
        self._context.set("__wdLine", 0)
        out = self._eval(f"__wdApply({index}, {json.dumps(part)}, {json.dumps(kind)}, {json.dumps(incremental)})")
        return json.loads(out)  # type: ignore[arg-type]
