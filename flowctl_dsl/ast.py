"""The surface AST: what the user wrote, in either form, with a span on every node.

Small frozen dataclasses built by :mod:`flowctl_dsl.parse`; :mod:`flowctl_dsl.lower` turns them into
the IR, where the two surface forms meet.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from flowctl_dsl.errors import Span


@dataclass(frozen=True)
class Node:
    span: Span


# ---- values -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Str(Node):
    value: str


@dataclass(frozen=True)
class Num(Node):
    value: int | Decimal


@dataclass(frozen=True)
class Range(Node):
    start: int
    end: int | None


@dataclass(frozen=True)
class Bool(Node):
    value: bool


@dataclass(frozen=True)
class Null(Node):
    pass


@dataclass(frozen=True)
class Env(Node):
    """``${NAME}`` or ``${NAME:-default}``."""

    name: str
    default: str | None


@dataclass(frozen=True)
class ListV(Node):
    items: tuple[Value, ...]


@dataclass(frozen=True)
class Pair(Node):
    key: str
    value: Value


@dataclass(frozen=True)
class Mapping(Node):
    pairs: tuple[Pair, ...]


@dataclass(frozen=True)
class Arg(Node):
    name: str | None
    name_span: Span | None
    value: Value


@dataclass(frozen=True)
class Call(Node):
    """``name`` or ``name(args…)``; also a value (``network=testnet``, ``secret("env:X")``)."""

    name: str
    name_span: Span
    args: tuple[Arg, ...]
    parens: bool


Value = Str | Num | Range | Bool | Null | Env | ListV | Mapping | Call


# ---- expressions --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Field(Node):
    path: tuple[str, ...]


@dataclass(frozen=True)
class Compare(Node):
    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class InList(Node):
    left: Expr
    items: tuple[Expr, ...]
    negated: bool


@dataclass(frozen=True)
class BoolOp(Node):
    op: str  # "and" | "or"
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Not(Node):
    operand: Expr


@dataclass(frozen=True)
class Arith(Node):
    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Neg(Node):
    operand: Expr


Expr = Str | Num | Bool | Null | Env | Field | Compare | InList | BoolOp | Not | Arith | Neg


# ---- stages ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class UseStage(Node):
    """A processor or sink named by a call: ``payments``, ``jsonl("out.jsonl")``."""

    call: Call


@dataclass(frozen=True)
class FilterStage(Node):
    expr: Expr


@dataclass(frozen=True)
class FilterPrimary(Node):
    """``filter > 1000``: compare the record type's primary field."""

    op: str
    value: Expr


@dataclass(frozen=True)
class SelectStage(Node):
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class Assignment(Node):
    name: str
    expr: Expr


@dataclass(frozen=True)
class DeriveStage(Node):
    assignments: tuple[Assignment, ...]


@dataclass(frozen=True)
class LimitStage(Node):
    count: int


@dataclass(frozen=True)
class SaveStage(Node):
    sinks: tuple[Call, ...]


Stage = UseStage | FilterStage | FilterPrimary | SelectStage | DeriveStage | LimitStage | SaveStage
SourceRef = Call | Str | Env


# ---- documents ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Setting(Node):
    """``name=value`` after ``with`` in the pipe form."""

    name: str
    name_span: Span
    value: Value


@dataclass(frozen=True)
class PipeDoc(Node):
    source: SourceRef
    stages: tuple[Stage, ...]
    settings: tuple[Setting, ...] = ()


@dataclass(frozen=True)
class Entry(Node):
    """``key: value`` of the key form; ``value`` is a stage, a value, or a list of them."""

    key: str
    key_span: Span
    value: object
    block: bool


@dataclass(frozen=True)
class KeyDoc(Node):
    entries: tuple[Entry, ...]


Document = PipeDoc | KeyDoc
