"""Errors as values: a code, a source span, a reason and hints, rendered as caret text or JSON.

Every user mistake becomes a :class:`Diagnostic`; :class:`FlowctlError` carries one or more of them
up to the CLI, which renders them. Nothing below the CLI prints.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict

Severity = Literal["error", "warning"]


class Span(BaseModel):
    """A region of source text: 1-based line and column, end exclusive."""

    model_config = ConfigDict(frozen=True)

    line: int
    column: int
    end_line: int
    end_column: int

    @classmethod
    def point(cls, line: int, column: int, width: int = 1) -> Span:
        return cls(line=line, column=column, end_line=line, end_column=column + width)


@dataclass(frozen=True)
class Source:
    """The text a diagnostic points into, with the name shown in ``file:line:col``."""

    name: str
    text: str

    def line(self, number: int) -> str:
        lines = self.text.splitlines()
        return lines[number - 1] if 0 < number <= len(lines) else ""


@dataclass(frozen=True)
class Diagnostic:
    """One problem: stable code, what is wrong, where, and what might fix it."""

    code: str
    reason: str
    span: Span | None = None
    hints: tuple[str, ...] = ()
    severity: Severity = "error"

    def to_dict(self, source: Source | None = None) -> dict[str, object]:
        out: dict[str, object] = {
            "code": self.code,
            "severity": self.severity,
            "reason": self.reason,
            "hints": list(self.hints),
        }
        if source is not None:
            out["file"] = source.name
        if self.span is not None:
            out["span"] = self.span.model_dump()
        return out


@dataclass
class FlowctlError(Exception):
    """Raised with the diagnostics of a failed stage; ``source`` is attached by the caller."""

    diagnostics: list[Diagnostic] = field(default_factory=list)
    source: Source | None = None

    def __post_init__(self) -> None:
        super().__init__(self.diagnostics[0].reason if self.diagnostics else "flowctl error")

    @classmethod
    def one(
        cls, code: str, reason: str, span: Span | None = None, hints: Iterable[str] = ()
    ) -> FlowctlError:
        return cls([Diagnostic(code, reason, span, tuple(hints))])

    def with_source(self, source: Source) -> FlowctlError:
        if self.source is None:
            self.source = source
        return self

    def render(self) -> str:
        return render_all(self.diagnostics, self.source)

    def to_json(self) -> str:
        return json.dumps(
            {"ok": False, "diagnostics": [d.to_dict(self.source) for d in self.diagnostics]},
            indent=2,
        )


def render(diag: Diagnostic, source: Source | None) -> str:
    """``file:line:col: error[FC101]: reason`` + the source line + carets + ``help:`` lines."""
    where = source.name if source else "<input>"
    if diag.span is not None:
        where += f":{diag.span.line}:{diag.span.column}"
    lines = [f"{where}: {diag.severity}[{diag.code}]: {diag.reason}"]
    if diag.span is not None and source is not None:
        text = source.line(diag.span.line)
        gutter = f"{diag.span.line:>4} | "
        lines.append(gutter + text)
        end = diag.span.end_column if diag.span.end_line == diag.span.line else len(text) + 1
        width = max(1, end - diag.span.column)
        lines.append(" " * (len(gutter) + diag.span.column - 1) + "^" * width)
    lines.extend(f"  help: {hint}" for hint in diag.hints)
    return "\n".join(lines)


def render_all(diags: Sequence[Diagnostic], source: Source | None) -> str:
    return "\n\n".join(render(d, source) for d in diags)


def did_you_mean(word: str, choices: Iterable[str], n: int = 3) -> list[str]:
    """Close matches for ``word`` (difflib), best first."""
    pool = sorted(set(choices))
    found = difflib.get_close_matches(word, pool, n=n, cutoff=0.6)
    if not found:
        found = [c for c in pool if c.startswith(word) or word.startswith(c)][:n]
    return found


def suggestion_hints(word: str, choices: Iterable[str], kind: str) -> list[str]:
    """``did you mean `x`?`` when something is close, else the list of what exists."""
    pool = sorted(set(choices))
    close = did_you_mean(word, pool)
    if close:
        return [f"did you mean {' or '.join(f'`{c}`' for c in close)}?"]
    shown = ", ".join(pool[:40]) + (", …" if len(pool) > 40 else "")
    return [f"available {kind}: {shown}"]
