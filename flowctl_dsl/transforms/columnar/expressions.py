"""IR expressions → ``pyarrow.compute`` expressions, with the record-at-a-time semantics of
:mod:`flowctl_dsl.transforms.expressions` (the reference) kept exactly.

Only what provably gives the reference's values is vectorised; anything else raises
:class:`Unsupported` at compile time and runs row by row through the reference compiler. Two
things are only known per batch: int64 overflow (Python ints are unbounded) and Decimal results
beyond 28 digits (Python rounds them). Vectorised plans use checked kernels and safe casts for
those, so such a batch raises ``ArrowInvalid`` and is evaluated row by row instead.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, DefaultContext
from typing import Any

import pyarrow as pa
import pyarrow.acero as acero
import pyarrow.compute as pc

from flowctl_dsl import ir
from flowctl_dsl.checks.types import lookup
from flowctl_dsl.transforms import expressions as reference
from flowctl_dsl.transforms.columnar.rows import to_records

#: Significant digits of a Python Decimal result (the default context the reference runs in).
DIGITS = DefaultContext.prec
INT64, FLOAT64, BOOL = pa.int64(), pa.float64(), pa.bool_()
TIMESTAMP = pa.timestamp("s", tz="UTC")
TRUE, FALSE = pc.scalar(True), pc.scalar(False)
#: Arrow types whose Python values (as ``rows.to_records`` gives them) have these kinds.
SIMPLE = {pa.string(): "str", BOOL: "bool", pa.binary(): "bytes", TIMESTAMP: "ts"}
NUMERIC = ("int", "dec", "float")
ORDER = {"<": pc.less, "<=": pc.less_equal, ">": pc.greater, ">=": pc.greater_equal}
CHECKED = {"+": pc.add_checked, "-": pc.subtract_checked, "*": pc.multiply_checked}
FLOAT_OPS = {"+": pc.add, "-": pc.subtract, "*": pc.multiply}
_NONE = object()


class Unsupported(Exception):
    """The expression has no ``pc.Expression`` known to give the reference's values."""


@dataclass(frozen=True)
class Term:
    """A compiled operand: its expression, the kind of Python value the reference sees
    (``int``, ``dec``, ``float``, ``str``, ``bool``, ``bytes``, ``ts``, ``null``), its Arrow
    type, whether it can be null, and its value when it is a literal."""

    expr: pc.Expression
    kind: str
    type: pa.DataType
    nullable: bool = True
    value: Any = _NONE


def decimal_type(precision: int, scale: int) -> pa.DataType:
    if scale < 0 or precision > 76:
        raise Unsupported(f"decimal({precision}, {scale}) is beyond decimal256")
    precision = max(precision, scale, 1)
    return pa.decimal128(precision, scale) if precision <= 38 else pa.decimal256(precision, scale)


def as_decimal(t: Term) -> pa.DataType:
    """The decimal type holding ``t`` exactly (int64 → decimal(19, 0))."""
    return t.type if pa.types.is_decimal(t.type) else pa.decimal128(19, 0)


def literal(value: Any, kind: str, type_: pa.DataType) -> Term:
    return Term(pc.scalar(pa.scalar(value, type_)), kind, type_, value is None, value)


def cast(t: Term, type_: pa.DataType, kind: str | None = None) -> Term:
    if t.type == type_:
        return t
    if t.value is not _NONE:
        return literal(t.value, kind or t.kind, type_)
    return Term(t.expr.cast(type_), kind or t.kind, type_, t.nullable)


def boolean(expr: pc.Expression) -> Term:
    return Term(expr, "bool", BOOL, nullable=False)


def truthy(t: Term) -> pc.Expression:
    """``bool(value)`` as the reference applies it (None → False); never null."""
    if t.kind == "null":
        return FALSE
    if t.kind == "ts":
        return pc.is_valid(t.expr)
    if t.kind == "bool":
        x = t.expr
    elif t.kind in NUMERIC:
        zero = Decimal(0) if pa.types.is_decimal(t.type) else 0
        x = pc.not_equal(t.expr, pc.scalar(pa.scalar(zero, t.type)))
    elif t.kind in ("str", "bytes"):
        x = pc.greater(pc.binary_length(t.expr), pc.scalar(0))
    else:
        raise Unsupported(f"truth value of {t.kind}")
    return pc.coalesce(x, FALSE) if t.nullable else x


def as_float(t: Term) -> Term:
    """``t`` as float64 when every value converts exactly (else a safe cast raises)."""
    if t.kind == "float":
        return t
    if t.value is not _NONE and t.kind in ("int", "dec") and exact_float(t.value):
        return literal(float(t.value), "float", FLOAT64)
    if t.kind == "int" and t.type == INT64 and t.value is _NONE:
        return cast(t, FLOAT64, "float")  # a safe cast raises beyond 2**53
    raise Unsupported(f"{t.kind} compared or combined with float is exact in Python")


def exact_float(value: int | Decimal) -> bool:
    try:
        return Decimal(float(value)) == value
    except OverflowError:
        return False


def numeric_pair(a: Term, b: Term) -> tuple[Term, Term]:
    """Both operands in one Arrow type that compares them exactly."""
    if "float" in (a.kind, b.kind):
        return as_float(a), as_float(b)
    if a.type == INT64 and b.type == INT64:
        return a, b
    ta, tb = as_decimal(a), as_decimal(b)
    scale = max(ta.scale, tb.scale)
    common = decimal_type(max(ta.precision - ta.scale, tb.precision - tb.scale) + scale, scale)
    return cast(a, common), cast(b, common)


def python_equal(a: Term, b: Term) -> pc.Expression:
    """``a == b`` for values of one type, as Python: ``None == None`` is true."""
    x = pc.equal(a.expr, b.expr)
    if not (a.nullable or b.nullable):
        return x
    x = pc.coalesce(x, FALSE)
    if a.nullable and b.nullable:
        x = pc.or_kleene(x, pc.and_kleene(pc.is_null(a.expr), pc.is_null(b.expr)))
    return x


class Compiler:
    """Compiles IR expressions to :class:`Term` against a schema (raises :class:`Unsupported`)."""

    def __init__(self, schema: pa.Schema) -> None:
        self.schema = schema
        self.reference = reference.Compiler(schema)

    def compile(self, e: ir.Expr) -> Term:
        match e:
            case ir.Const():
                return self.const(e.value)
            case ir.FieldRef():
                return self.field(e.path)
            case ir.Compare():
                return self.compare(
                    e.op, self.operand(e.left, e.right), self.operand(e.right, e.left)
                )
            case ir.InList():
                return self.member(e)
            case ir.BoolOp():
                op = pc.and_kleene if e.op == "and" else pc.or_kleene
                return boolean(op(truthy(self.compile(e.left)), truthy(self.compile(e.right))))
            case ir.Not():
                return boolean(pc.invert(truthy(self.compile(e.operand))))
            case ir.Arith():
                return self.arith(e.op, self.compile(e.left), self.compile(e.right))
            case ir.Neg():
                return self.neg(self.compile(e.operand))
        raise Unsupported(f"cannot compile {type(e).__name__}")

    def field(self, path: list[str]) -> Term:
        t = lookup(self.schema, path)
        name = ".".join(path)
        if t is None:
            raise Unsupported(f"no field {name!r} in the schema")
        ref = pc.field(*path)
        if pa.types.is_integer(t) and t != pa.uint64():
            return cast(Term(ref, "int", t), INT64)
        if pa.types.is_decimal(t) and t.scale >= 0:
            # rows.to_records gives top-level decimal(p, 0) as int, everything else as Decimal
            return Term(ref, "int" if t.scale == 0 and len(path) == 1 else "dec", t)
        if t in (pa.float32(), FLOAT64):
            return cast(Term(ref, "float", t), FLOAT64)
        if t in SIMPLE:
            return Term(ref, SIMPLE[t], t)
        raise Unsupported(f"{name} is {t}")

    def const(self, v: ir.Value) -> Term:
        match v:
            case ir.StrV() | ir.NameV():
                return literal(v.value, "str", pa.string())
            case ir.BoolV():
                return literal(v.value, "bool", BOOL)
            case ir.NullV():
                return literal(None, "null", pa.null())
            case ir.IntV():
                fits = -(2**63) <= v.value < 2**63
                return literal(
                    v.value, "int", INT64 if fits else decimal_type(len(str(abs(v.value))), 0)
                )
            case ir.DecV() if v.value.is_finite():
                _, digits, exp = v.value.as_tuple()
                assert isinstance(exp, int)
                scale = max(-exp, 0)
                return literal(v.value, "dec", decimal_type(len(digits) + max(exp, 0), scale))
        raise Unsupported(f"{v.t} literal")

    def operand(self, e: ir.Expr, other: ir.Expr) -> Term:
        """As the reference: a string literal compared with a timestamp field is a timestamp."""
        if (
            isinstance(e, ir.Const)
            and isinstance(e.value, ir.StrV)
            and self.reference.is_timestamp(other)
        ):
            moment = reference.timestamp(e.value.value)
            if moment.microsecond:
                raise Unsupported("timestamp literal with a fraction of a second")
            return literal(int(moment.timestamp()), "ts", TIMESTAMP)
        return self.compile(e)

    def compare(self, op: str, a: Term, b: Term) -> Term:
        if "null" in (a.kind, b.kind):
            if op not in ("==", "!="):
                return boolean(FALSE)
            other = b if a.kind == "null" else a
            eq = TRUE if other.kind == "null" else pc.is_null(other.expr)
            return boolean(eq if op == "==" else pc.invert(eq))
        if a.kind in NUMERIC and b.kind in NUMERIC:
            a, b = numeric_pair(a, b)
        elif a.kind != b.kind or a.type != b.type or (a.kind == "bool" and op in ORDER):
            raise Unsupported(f"{a.kind} {op} {b.kind}")
        if op in ORDER:
            x = ORDER[op](a.expr, b.expr)
            return boolean(pc.coalesce(x, FALSE) if a.nullable or b.nullable else x)
        eq = python_equal(a, b)
        return boolean(eq if op == "==" else pc.invert(eq))

    def member(self, e: ir.InList) -> Term:
        left = self.compile(e.left)
        items = [self.operand(i, e.left) for i in e.items]
        literals = all(i.value is not _NONE and i.type in (left.type, pa.null()) for i in items)
        if items and literals and left.kind != "float":  # is_in would match -0.0 != 0.0, NaN
            values = pa.array([i.value for i in items], left.type)
            return self.negate(boolean(pc.is_in(left.expr, value_set=values)), e.negated)
        found = [self.compare("==", left, item).expr for item in items] or [FALSE]
        return self.negate(boolean(functools.reduce(pc.or_kleene, found)), e.negated)

    @staticmethod
    def negate(t: Term, negated: bool) -> Term:
        return boolean(pc.invert(t.expr)) if negated else t

    def arith(self, op: str, a: Term, b: Term) -> Term:
        if a.kind not in NUMERIC or b.kind not in NUMERIC:
            raise Unsupported(f"{a.kind} {op} {b.kind}")
        nullable = a.nullable or b.nullable
        if "float" in (a.kind, b.kind):
            if "dec" in (a.kind, b.kind):
                raise Unsupported("Decimal with float (a TypeError in Python)")
            a, b = as_float(a), as_float(b)
            if op == "/":  # the reference gives None for a zero divisor
                null = pc.scalar(pa.scalar(None, FLOAT64))
                expr = pc.if_else(pc.equal(b.expr, 0.0), null, pc.divide(a.expr, b.expr))
                return Term(expr, "float", FLOAT64)
            expr = FLOAT_OPS[op](a.expr, b.expr)
            if op != "-":  # Arrow reassociates chains of + and *: a cast keeps Python's order
                expr = expr.cast(FLOAT64)
            return Term(expr, "float", FLOAT64, nullable)
        if op == "/":
            raise Unsupported("division of ints/decimals is Decimal division to 28 digits")
        if a.type == INT64 and b.type == INT64:  # checked: overflow → row by row
            return Term(CHECKED[op](a.expr, b.expr), "int", INT64, nullable)
        ta, tb = as_decimal(a), as_decimal(b)
        if op == "*":
            scale, precision = ta.scale + tb.scale, ta.precision + tb.precision + 1
        else:
            scale = max(ta.scale, tb.scale)
            precision = max(ta.precision - ta.scale, tb.precision - tb.scale) + scale + 1
        wide = pa.types.is_decimal256(decimal_type(precision, scale))
        a, b = (
            cast(t, pa.decimal256(d.precision, d.scale) if wide else d)
            for t, d in ((a, ta), (b, tb))
        )
        result = Term(CHECKED[op](a.expr, b.expr), "int", decimal_type(precision, scale), nullable)
        return self.rounded(result) if "dec" in (a.kind, b.kind) else result

    def neg(self, t: Term) -> Term:
        if t.kind not in NUMERIC:
            raise Unsupported(f"-{t.kind}")
        negated = Term(pc.negate_checked(t.expr), t.kind, t.type, t.nullable)
        return self.rounded(negated) if t.kind == "dec" else negated

    @staticmethod
    def rounded(t: Term) -> Term:
        """A Decimal result: Python keeps only 28 significant digits, so a batch with a longer
        one fails the safe cast (and runs row by row)."""
        if t.type.precision <= DIGITS:
            return Term(t.expr, "dec", t.type, t.nullable)
        if t.type.scale > DIGITS:
            raise Unsupported(f"Decimal result with {t.type.scale} places")
        return cast(t, pa.decimal128(DIGITS, t.type.scale), "dec")


def compile_expr(e: ir.Expr, schema: pa.Schema) -> pc.Expression:
    """The ``pc.Expression`` computing ``e`` as the reference does; raises :class:`Unsupported`."""
    return bound(Compiler(schema).compile(e).expr, schema)


def bound(expr: pc.Expression, schema: pa.Schema) -> pc.Expression:
    """``expr`` once Arrow has bound it to ``schema`` (kernels and casts exist)."""
    try:
        project(schema.empty_table(), expr)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as ex:
        raise Unsupported(f"Arrow cannot evaluate it: {ex}") from ex
    return expr


def describe(e: ir.Expr, schema: pa.Schema, out_type: pa.DataType | None = None) -> str:
    """The vectorised expression's text (converted to ``out_type`` when given, as a derived
    column is), else ``row by row: <reason>``."""
    try:
        term = Compiler(schema).compile(e)
        text = str(bound(term.expr if out_type is None else converted(term, out_type), schema))
    except Unsupported as ex:
        return f"row by row: {ex}"
    return CAST_OPTIONS.sub(r"\1", text)


#: ``{to_type=decimal128(28, 7), allow_int_overflow=false, …}`` → ``decimal128(28, 7)``.
CAST_OPTIONS = re.compile(
    r"\{to_type=((?:(?!, allow_)[^{}])*)(?:, allow_[a-z0-9_]+=(?:true|false))*\}"
)


def project(data: pa.Table | pa.RecordBatch, expr: pc.Expression) -> pa.Array:
    table = data if isinstance(data, pa.Table) else pa.Table.from_batches([data])
    plan = acero.Declaration.from_sequence(
        [
            acero.Declaration("table_source", acero.TableSourceNodeOptions(table)),
            acero.Declaration("project", acero.ProjectNodeOptions([expr])),
        ]
    )
    return plan.to_table(use_threads=False).column(0).combine_chunks()


class _Compiled:
    """Keeps the IR and schema (they pickle); compiles again after unpickling."""

    def __init__(self, expr: ir.Expr, schema: pa.Schema) -> None:
        self.expr, self.schema = expr, schema
        self._build()

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k in ("expr", "schema", "out_type")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._build()

    def _build(self) -> None:
        raise NotImplementedError

    @property
    def vectorised(self) -> bool:
        return self.reason is None

    reason: str | None


class BatchPredicate(_Compiled):
    """A ``filter`` over batches: ``pc.Expression`` when possible, else the reference per row."""

    def _build(self) -> None:
        self.condition: pc.Expression | None = None
        self.reason = None
        try:
            self.condition = bound(truthy(Compiler(self.schema).compile(self.expr)), self.schema)
        except Unsupported as ex:
            self.reason = str(ex)
        self.predicate = reference.compile_predicate(self.expr, self.schema)

    def __call__(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        if self.condition is not None:
            try:  # a mask from Acero then RecordBatch.filter: cheaper than batch.filter(expr)
                return batch.filter(project(batch, self.condition))
            except pa.ArrowInvalid:  # an int64 overflow or a Decimal beyond 28 digits
                pass
        return self.rows(batch)

    def rows(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        mask = pa.array([self.predicate(r) for r in to_records(batch)], BOOL)
        return batch.filter(mask)


class BatchColumn(_Compiled):
    """A ``derive`` column over batches, converted to ``out_type`` as ``DeriveFields`` does."""

    def __init__(self, expr: ir.Expr, schema: pa.Schema, out_type: pa.DataType) -> None:
        self.out_type = out_type
        super().__init__(expr, schema)

    def _build(self) -> None:
        self.column: pc.Expression | None = None
        self.reason = None
        try:
            term = Compiler(self.schema).compile(self.expr)
            self.column = bound(converted(term, self.out_type), self.schema)
        except Unsupported as ex:
            self.reason = str(ex)
        self.fn = reference.Compiler(self.schema).compile(self.expr)
        scale = self.out_type.scale if pa.types.is_decimal(self.out_type) else None
        self.quantum = None if scale is None else Decimal(1).scaleb(-scale)

    def __call__(self, batch: pa.RecordBatch) -> pa.Array:
        if self.column is not None:
            try:
                return project(batch, self.column)
            except pa.ArrowInvalid:  # overflow, or a Decimal the reference would round
                pass
        return self.rows(batch)

    def rows(self, batch: pa.RecordBatch) -> pa.Array:
        values = [self.fn(r) for r in to_records(batch)]
        if self.quantum is not None:
            q = self.quantum
            values = [
                None if v is None else Decimal(v).quantize(q, ROUND_HALF_EVEN) for v in values
            ]
        return pa.array(values, self.out_type)


#: Python kinds a derived column of each Arrow kind takes without conversion.
OUT_KINDS: dict[str, Callable[[pa.DataType], bool]] = {
    "int": pa.types.is_integer,
    "float": pa.types.is_floating,
    "str": pa.types.is_string,
    "bool": pa.types.is_boolean,
    "bytes": pa.types.is_binary,
    "ts": lambda t: t == TIMESTAMP,
}


def converted(t: Term, out_type: pa.DataType) -> pc.Expression:
    """``t`` as ``pa.array`` would store the reference's values in ``out_type`` (decimals
    quantized half-even; Python's quantize needs the result to fit 28 digits)."""
    if pa.types.is_decimal(out_type):
        if t.kind not in ("int", "dec") or out_type.scale > DIGITS:
            raise Unsupported(f"{t.kind} into {out_type}")
        expr = t.expr
        if as_decimal(t).scale > out_type.scale:
            expr = pc.round(expr, ndigits=out_type.scale, round_mode="half_to_even")
        return expr.cast(pa.decimal128(DIGITS, out_type.scale)).cast(out_type)
    if not OUT_KINDS.get(t.kind, lambda _: False)(out_type):
        raise Unsupported(f"{t.kind} into {out_type}")
    return t.expr if t.type == out_type else t.expr.cast(out_type)


def derived_columns(
    assignments: list[ir.Assignment], schema: pa.Schema
) -> list[tuple[ir.Assignment, pa.Schema, pa.Field]]:
    """Each assignment of a ``derive`` whose output ``schema`` ends with its columns, with the
    schema its expression sees (the input and the columns derived before it) and its field."""
    start = len(schema) - len(assignments)
    return [
        (a, pa.schema(list(schema)[: start + n]), schema.field(start + n))
        for n, a in enumerate(assignments)
    ]


def compile_filter(e: ir.Expr, schema: pa.Schema) -> BatchPredicate:
    """``batch → rows of batch where e holds``."""
    return BatchPredicate(e, schema)


def compile_column(e: ir.Expr, schema: pa.Schema, out_type: pa.DataType) -> BatchColumn:
    """``batch → e's values as an array of out_type``."""
    return BatchColumn(e, schema, out_type)
