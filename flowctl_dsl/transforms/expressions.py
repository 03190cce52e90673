"""IR expressions → Python callables over records (closures; nothing is ``eval``-ed).

Semantics: comparisons with a missing (None) value are false, except ``== null`` / ``!= null``;
arithmetic with None gives None, and division by zero gives None. Decimals stay exact.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import pyarrow as pa

from flowctl_dsl import ir
from flowctl_dsl.checks.types import kind_of, lookup

Record = dict[str, Any]
Fn = Callable[[Record], Any]

COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
ARITH: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
}


def literal(v: ir.Value) -> Any:
    match v:
        case ir.StrV() | ir.IntV() | ir.DecV() | ir.BoolV() | ir.NameV():
            return v.value
        case ir.NullV():
            return None
    raise TypeError(f"{v.t} cannot appear in an expression")


def timestamp(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def get_path(path: list[str]) -> Fn:
    if len(path) == 1:
        name = path[0]
        return lambda r: r.get(name)

    def get(record: Record) -> Any:
        value: Any = record
        for part in path:
            if not isinstance(value, dict):
                return None
            value = value.get(part)
        return value

    return get


class Compiler:
    """Compiles expressions against the schema of the records they will see."""

    def __init__(self, schema: pa.Schema | None) -> None:
        self.schema = schema

    def is_timestamp(self, e: ir.Expr) -> bool:
        if not isinstance(e, ir.FieldRef) or self.schema is None:
            return False
        t = lookup(self.schema, e.path)
        return t is not None and kind_of(t) == "timestamp"

    def operand(self, e: ir.Expr, other: ir.Expr) -> Fn:
        """``e`` compiled; a string literal compared with a timestamp field becomes a datetime."""
        if isinstance(e, ir.Const) and isinstance(e.value, ir.StrV) and self.is_timestamp(other):
            moment = timestamp(e.value.value)
            return lambda r: moment
        return self.compile(e)

    def compile(self, e: ir.Expr) -> Fn:
        match e:
            case ir.Const():
                value = literal(e.value)
                return lambda r: value
            case ir.FieldRef():
                return get_path(e.path)
            case ir.Compare():
                return self.compare(
                    e.op, self.operand(e.left, e.right), self.operand(e.right, e.left)
                )
            case ir.InList():
                left = self.compile(e.left)
                items = [self.operand(i, e.left) for i in e.items]
                negated = e.negated

                def member(r: Record) -> bool:
                    value = left(r)
                    found = any(value == item(r) for item in items)
                    return found != negated

                return member
            case ir.BoolOp(op="and"):
                a, b = self.compile(e.left), self.compile(e.right)
                return lambda r: bool(a(r)) and bool(b(r))
            case ir.BoolOp():
                a, b = self.compile(e.left), self.compile(e.right)
                return lambda r: bool(a(r)) or bool(b(r))
            case ir.Not():
                inner = self.compile(e.operand)
                return lambda r: not inner(r)
            case ir.Arith():
                return self.arith(e.op, self.compile(e.left), self.compile(e.right))
            case ir.Neg():
                inner = self.compile(e.operand)
                return lambda r: None if (v := inner(r)) is None else -v
        raise TypeError(f"cannot compile {e!r}")

    @staticmethod
    def compare(op: str, left: Fn, right: Fn) -> Fn:
        fn = COMPARE[op]
        if op in ("==", "!="):
            return lambda r: fn(left(r), right(r))

        def ordered(r: Record) -> bool:
            a, b = left(r), right(r)
            if a is None or b is None:
                return False
            return bool(fn(a, b))

        return ordered

    @staticmethod
    def arith(op: str, left: Fn, right: Fn) -> Fn:
        fn = ARITH[op]

        def apply(r: Record) -> Any:
            a, b = left(r), right(r)
            if a is None or b is None:
                return None
            if op == "/":
                if b == 0:
                    return None
                if not isinstance(a, float) and not isinstance(b, float):
                    a, b = Decimal(a), Decimal(b)
            elif (
                isinstance(a, Decimal) != isinstance(b, Decimal)
                and not isinstance(a, float)
                and not isinstance(b, float)
            ):
                a, b = Decimal(a), Decimal(b)
            try:
                return fn(a, b)
            except (InvalidOperation, ArithmeticError):
                return None

        return apply


def compile_predicate(e: ir.Expr, schema: pa.Schema | None) -> Callable[[Record], bool]:
    fn = Compiler(schema).compile(e)
    return lambda r: bool(fn(r))
