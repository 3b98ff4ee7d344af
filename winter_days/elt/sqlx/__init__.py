"""Our Dataform SQLX compiler: `compile_project(dir, vars)` returns `dataform compile --json`'s graph."""

from __future__ import annotations

from winter_days.elt.sqlx.compiler import compile_project
from winter_days.elt.sqlx.errors import CompilationError, CompileIssue

__all__ = ["compile_project", "CompilationError", "CompileIssue"]
