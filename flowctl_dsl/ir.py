"""The IR: one canonical, versioned, JSON-serialisable model of a pipeline.

Both surface forms lower to it (:mod:`flowctl_dsl.lower`); the checker, printer, planner and
compiler read it. Nodes are small frozen pydantic models; spans ride along for diagnostics but are
left out of equality-relevant dumps (``model_dump`` excludes them).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from flowctl_dsl.errors import Span

IR_VERSION: Literal[1] = 1


class Node(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    span: Span | None = Field(default=None, exclude=True, repr=False)


# ---- values -------------------------------------------------------------------------------------
class StrV(Node):
    t: Literal["str"] = "str"
    value: str


class IntV(Node):
    t: Literal["int"] = "int"
    value: int


class DecV(Node):
    t: Literal["dec"] = "dec"
    value: Decimal


class BoolV(Node):
    t: Literal["bool"] = "bool"
    value: bool


class NullV(Node):
    t: Literal["null"] = "null"


class RangeV(Node):
    """A ledger range ``start..end`` (inclusive); ``end`` is None for an open range."""

    t: Literal["range"] = "range"
    start: int
    end: int | None = None


class NameV(Node):
    """A bare name used as a value: ``network=testnet``, ``compression=zstd``."""

    t: Literal["name"] = "name"
    value: str


class EnvV(Node):
    """``${NAME}`` kept unexpanded (only when formatting; checked pipelines never hold one)."""

    t: Literal["env"] = "env"
    name: str
    default: str | None = None


class ListV(Node):
    t: Literal["list"] = "list"
    items: list[Value]


class MapV(Node):
    t: Literal["map"] = "map"
    items: dict[str, Value]


class CallV(Node):
    """A call used as a value, e.g. ``secret("env:PGPASSWORD")``."""

    t: Literal["call"] = "call"
    name: str
    args: list[Arg]


Value = Annotated[
    StrV | IntV | DecV | BoolV | NullV | RangeV | NameV | EnvV | ListV | MapV | CallV,
    Field(discriminator="t"),
]


class Arg(Node):
    """A parameter as written: positional when ``name`` is None."""

    name: str | None = None
    value: Value
    name_span: Span | None = Field(default=None, exclude=True, repr=False)


# ---- expressions ----------------------------------------------------------------------------------
class Const(Node):
    e: Literal["const"] = "const"
    value: Value


class FieldRef(Node):
    """A field path; the empty path means the record type's primary field (``filter > 1000``)."""

    e: Literal["field"] = "field"
    path: list[str]


class Compare(Node):
    e: Literal["compare"] = "compare"
    op: Literal["==", "!=", "<", "<=", ">", ">="]
    left: Expr
    right: Expr


class InList(Node):
    e: Literal["in"] = "in"
    left: Expr
    items: list[Expr]
    negated: bool = False


class BoolOp(Node):
    e: Literal["bool_op"] = "bool_op"
    op: Literal["and", "or"]
    left: Expr
    right: Expr


class Not(Node):
    e: Literal["not"] = "not"
    operand: Expr


class Arith(Node):
    e: Literal["arith"] = "arith"
    op: Literal["+", "-", "*", "/"]
    left: Expr
    right: Expr


class Neg(Node):
    e: Literal["neg"] = "neg"
    operand: Expr


Expr = Annotated[
    Const | FieldRef | Compare | InList | BoolOp | Not | Arith | Neg, Field(discriminator="e")
]


# ---- stages ----------------------------------------------------------------------------------------
class Component(Node):
    """A source, processor or sink named in the pipeline, with its arguments as written."""

    name: str
    args: list[Arg] = []
    name_span: Span | None = Field(default=None, exclude=True, repr=False)


class Source(Component):
    pass


class Process(Component):
    stage: Literal["process"] = "process"


class Filter(Node):
    stage: Literal["filter"] = "filter"
    expr: Expr


class Select(Node):
    stage: Literal["select"] = "select"
    fields: list[FieldRef]


class Assignment(Node):
    name: str
    expr: Expr


class Derive(Node):
    stage: Literal["derive"] = "derive"
    assignments: list[Assignment]


class Limit(Node):
    stage: Literal["limit"] = "limit"
    count: int


Stage = Annotated[Process | Filter | Select | Derive | Limit, Field(discriminator="stage")]


class Sink(Component):
    pass


class Pipeline(Node):
    """A whole pipeline: one source, stages in order, one or more sinks (fan-out)."""

    version: Literal[1] = IR_VERSION
    name: str
    source: Source
    stages: list[Stage] = []
    sinks: list[Sink] = []
    #: ``on_error``, ``checkpoint``, ``retry``: checked by ``checks/settings.py``.
    settings: dict[str, Value] = {}


for _model in (ListV, MapV, CallV, Arg, Compare, InList, BoolOp, Not, Arith, Neg, Const):
    _model.model_rebuild()


def dump(pipeline: Pipeline) -> str:
    """The IR as versioned JSON (spans left out)."""
    return pipeline.model_dump_json(indent=2)


def load(text: str) -> Pipeline:
    return Pipeline.model_validate_json(text)
