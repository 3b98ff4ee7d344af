"""The Terraform under deploy/terraform, parsed with python-hcl2 into plain Python values.

python-hcl2 keeps HCL's quotes around strings and block labels and leaves interpolations
as `${...}` text; this module strips the quotes and resolves the simple interpolations the
checks need (`${var.NAME}` to the variable's default, `${local.NAME}` to a literal local),
so a test reads `grants[0]["role"] == "roles/run.invoker"` rather than HCL syntax.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import hcl2

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
TERRAFORM = DEPLOY / "terraform"

_INTERPOLATION = re.compile(r"\$\{(var|local)\.([A-Za-z0-9_]+)\}")


def tf_files() -> list[Path]:
    """Every .tf file of the root module and its modules."""
    return sorted(TERRAFORM.rglob("*.tf"))


def unquote(value: Any) -> Any:
    """HCL values without python-hcl2's quotes and bookkeeping keys, recursively."""
    if isinstance(value, str):
        if len(value) >= 2 and value[0] == value[-1] == '"':
            return value[1:-1].replace('\\"', '"')
        return value
    if isinstance(value, list):
        return [unquote(item) for item in value]
    if isinstance(value, dict):
        return {unquote(k): unquote(v) for k, v in value.items() if not k.startswith("__")}
    return value


@dataclass(frozen=True)
class Resource:
    type: str
    name: str
    body: dict[str, Any]
    path: Path

    @property
    def address(self) -> str:
        return f"{self.type}.{self.name}"


@dataclass
class Module:
    """One Terraform module folder: its locals, variables, resources and module calls."""

    path: Path
    locals: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    resources: list[Resource] = field(default_factory=list)
    modules: dict[str, dict[str, Any]] = field(default_factory=dict)

    def resources_of(self, type_: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_]

    def resource(self, type_: str, name: str) -> Resource:
        found = [r for r in self.resources if r.type == type_ and r.name == name]
        assert found, f"{type_}.{name} is not declared under {self.path}"
        return found[0]

    def resolve(self, text: str) -> str:
        """`text` with ${var.X} replaced by X's default and ${local.Y} by a literal local Y."""

        def value(match: re.Match[str]) -> str:
            kind, name = match.groups()
            if kind == "var":
                default = self.variables.get(name, {}).get("default")
                return match.group(0) if default is None else str(default)
            literal = self.locals.get(name)
            return literal if isinstance(literal, str) and "${" not in literal else match.group(0)

        return _INTERPOLATION.sub(value, text)


def _parse(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        return hcl2.load(handle)


@cache
def load_module(folder: Path = TERRAFORM) -> Module:
    """Parse the .tf files directly in `folder` (not its sub-modules)."""
    module = Module(folder)
    for path in sorted(folder.glob("*.tf")):
        parsed = _parse(path)
        for block in parsed.get("locals", []):
            module.locals.update(unquote(block))
        for block in parsed.get("variable", []):
            module.variables.update(unquote(block))
        for block in parsed.get("output", []):
            module.outputs.update(unquote(block))
        for block in parsed.get("module", []):
            module.modules.update(unquote(block))
        for block in parsed.get("resource", []):
            for type_, named in unquote(block).items():
                for name, body in named.items():
                    module.resources.append(Resource(type_, name, body, path))
    return module


def root() -> Module:
    return load_module(TERRAFORM)
