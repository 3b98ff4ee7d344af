"""Compile errors that name the file and line they come from."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CompileIssue:
    """One problem found while compiling: project-relative file, 1-based line, message."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class CompilationError(Exception):
    """Raised when a project does not compile; `issues` lists every problem found."""

    def __init__(self, issues: list[CompileIssue]):
        self.issues = list(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))

    @property
    def locations(self) -> list[tuple[str, int, str]]:
        """The issues as (file, line, message) tuples."""
        return [(issue.file, issue.line, issue.message) for issue in self.issues]
