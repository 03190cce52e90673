"""Pass: follow the record type and schema through every stage (FC201–FC210).

Processors must get the record type they read; ``filter``, ``select``, ``derive`` and ``limit``
work on records and must name fields that exist, compare compatible types, and (for ``filter``)
produce a boolean. ``filter > 1000`` is resolved to the record type's primary field here.
"""

from __future__ import annotations

import pyarrow as pa

from flowctl_dsl import ir
from flowctl_dsl.catalog.spec import LEDGER_CLOSE_META
from flowctl_dsl.checks.context import Context, StageInfo
from flowctl_dsl.checks.types import (
    ARROW_OF_KIND,
    arithmetic_result,
    comparable,
    is_timestamp_text,
    kind_of,
    kind_of_literal,
    lookup,
)
from flowctl_dsl.errors import Span, suggestion_hints


class Flow:
    """The record type, schema, primary field and key as they stand between two stages."""

    def __init__(self, record_type: str | None, schema: pa.Schema | None, label: str) -> None:
        self.record_type = record_type
        self.schema = schema
        self.primary: str | None = None
        self.key: tuple[str, ...] = ()
        self.producer = label

    def info(self, label: str, **kw: object) -> StageInfo:
        return StageInfo(label, self.record_type, self.schema, key_fields=self.key, **kw)  # type: ignore[arg-type]


def run(ctx: Context) -> None:
    p = ctx.pipeline
    spec = ctx.specs.get(id(p.source))
    flow = Flow(LEDGER_CLOSE_META if spec else None, None, p.source.name)
    ctx.infos[id(p.source)] = flow.info(
        p.source.name, spec=spec, params=ctx.params.get(id(p.source))
    )
    for stage in p.stages:
        ctx.infos[id(stage)] = step(ctx, flow, stage)


def step(ctx: Context, flow: Flow, stage: ir.Stage) -> StageInfo:
    if isinstance(stage, ir.Process):
        return process(ctx, flow, stage)
    label = stage.stage
    if flow.record_type == LEDGER_CLOSE_META:
        ctx.error(
            "FC201",
            f"`{label}` works on records, but `{flow.producer}` emits raw LedgerCloseMeta",
            stage.span,
            ["put a processor first, e.g. `| ledgers |`, `| transactions |` or `| payments |`"],
        )
        flow.record_type, flow.schema = None, None
        return flow.info(label)
    if flow.schema is None:  # unknown after an earlier error: check nothing more
        return flow.info(label)
    notes: list[str] = []
    match stage:
        case ir.Filter():
            filter_stage(ctx, flow, stage, notes)
        case ir.Select():
            select_stage(ctx, flow, stage)
        case ir.Derive():
            derive_stage(ctx, flow, stage)
        case ir.Limit():
            if stage.count < 1:
                ctx.error("FC210", "`limit` needs a count of at least 1", stage.span)
            notes.append(
                f"keeps the first {stage.count} records in key order ({', '.join(flow.key) or 'record content'})"
            )
    return flow.info(label, notes=notes)


def process(ctx: Context, flow: Flow, stage: ir.Process) -> StageInfo:
    spec = ctx.specs.get(id(stage))
    params = ctx.params.get(id(stage))
    if spec is None:
        flow.record_type, flow.schema, flow.producer = None, None, stage.name
        return flow.info(stage.name)
    if flow.record_type is not None and spec.input_type != flow.record_type:
        got = (
            "raw LedgerCloseMeta"
            if flow.record_type == LEDGER_CLOSE_META
            else f"`{flow.record_type}` records"
        )
        ctx.error(
            "FC201",
            f"`{spec.name}` reads {spec.input_type}, but it gets {got} from `{flow.producer}`",
            stage.name_span or stage.span,
            [f"`{spec.name}` goes right after the source: `source | {spec.name} | …`"],
        )
    flow.record_type, flow.schema, flow.producer = spec.output_type, spec.schema, spec.name
    flow.primary = spec.primary_field
    flow.key = spec.key_fields
    return flow.info(spec.name, spec=spec, params=params)


def filter_stage(ctx: Context, flow: Flow, stage: ir.Filter, notes: list[str]) -> None:
    expr = stage.expr
    if isinstance(expr, ir.Compare) and isinstance(expr.left, ir.FieldRef) and not expr.left.path:
        if flow.primary is None or flow.schema is None or flow.primary not in flow.schema.names:
            fields = ", ".join(flow.schema.names) if flow.schema is not None else ""
            ctx.error(
                "FC206",
                f"`filter {expr.op} …` needs a field: `{flow.record_type}` records have no primary field here",
                stage.span,
                [f"name the field: `filter <field> {expr.op} …`", f"fields: {fields}"],
            )
            return
        notes.append(
            f"`filter {expr.op} …` compares `{flow.primary}`, the primary field of {flow.record_type} records"
        )
        expr = expr.model_copy(update={"left": ir.FieldRef(path=[flow.primary], span=stage.span)})
    kind = type_of(ctx, flow, expr)
    if kind is not None and kind != "bool":
        ctx.error(
            "FC207",
            f"`filter` needs a condition, but this expression gives {_kind_name(kind)}",
            expr.span or stage.span,
            ["compare it: `filter amount > 100`, `filter successful == true`"],
        )


def select_stage(ctx: Context, flow: Flow, stage: ir.Select) -> None:
    assert flow.schema is not None
    fields: list[pa.Field] = []
    seen: set[str] = set()
    for ref in stage.fields:
        t = field_type(ctx, flow, ref)
        name = "_".join(ref.path)
        if name in seen:
            ctx.error("FC208", f"`{'.'.join(ref.path)}` is selected twice", ref.span)
            continue
        seen.add(name)
        if t is not None:
            fields.append(pa.field(name, t))
    flow.schema = pa.schema(fields)
    flow.key = tuple(k for k in flow.key if k in seen)
    if flow.primary not in seen:
        flow.primary = None


def derive_stage(ctx: Context, flow: Flow, stage: ir.Derive) -> None:
    assert flow.schema is not None
    schema = flow.schema
    for a in stage.assignments:
        if a.name in schema.names:
            ctx.error(
                "FC209",
                f"`derive` would overwrite the field `{a.name}`",
                a.span,
                [f"give the new field another name, e.g. `{a.name}_2`"],
            )
            continue
        kind = type_of(ctx, Flow(flow.record_type, schema, flow.producer), a.expr)
        schema = schema.append(pa.field(a.name, ARROW_OF_KIND.get(kind or "null", pa.null())))
    flow.schema = schema


def field_type(ctx: Context, flow: Flow, ref: ir.FieldRef) -> pa.DataType | None:
    assert flow.schema is not None
    t = lookup(flow.schema, ref.path)
    if t is None:
        name = ".".join(ref.path)
        ctx.error(
            "FC202",
            f"`{flow.record_type}` records have no field `{name}`",
            ref.span,
            hints_for_field(ref.path[-1], flow.schema.names),
        )
    return t


def hints_for_field(name: str, fields: list[str]) -> list[str]:
    hints = suggestion_hints(name, fields, "fields")
    if hints[0].startswith("did you mean"):
        hints.append(f"fields: {', '.join(fields)}")
    return hints


def type_of(ctx: Context, flow: Flow, e: ir.Expr) -> str | None:
    """The kind of an expression, reporting mistakes; None when unknown (already reported)."""
    match e:
        case ir.Const():
            return kind_of_literal(e.value)
        case ir.FieldRef():
            t = field_type(ctx, flow, e)
            return None if t is None else kind_of(t)
        case ir.Compare():
            left, right = type_of(ctx, flow, e.left), type_of(ctx, flow, e.right)
            check_comparison(ctx, e.op, e.left, left, e.right, right, e.span)
            return "bool"
        case ir.InList():
            left = type_of(ctx, flow, e.left)
            for item in e.items:
                check_comparison(ctx, "==", e.left, left, item, type_of(ctx, flow, item), item.span)
            return "bool"
        case ir.BoolOp():
            for side in (e.left, e.right):
                expect_bool(ctx, flow, side, f"`{e.op}`")
            return "bool"
        case ir.Not():
            expect_bool(ctx, flow, e.operand, "`not`")
            return "bool"
        case ir.Arith():
            left, right = type_of(ctx, flow, e.left), type_of(ctx, flow, e.right)
            if left is None or right is None:
                return None
            result = arithmetic_result(e.op, left, right)
            if result is None:
                ctx.error(
                    "FC203",
                    f"cannot apply `{e.op}` to {_kind_name(left)} and {_kind_name(right)}",
                    e.span,
                    ["arithmetic works on numbers only"],
                )
            return result
        case ir.Neg():
            kind = type_of(ctx, flow, e.operand)
            if kind is not None and kind not in ("int", "decimal", "float"):
                ctx.error("FC203", f"cannot negate {_kind_name(kind)}", e.span)
                return None
            return kind
    return None


def expect_bool(ctx: Context, flow: Flow, e: ir.Expr, where: str) -> None:
    kind = type_of(ctx, flow, e)
    if kind is not None and kind != "bool":
        ctx.error(
            "FC207",
            f"{where} needs conditions on both sides, but this gives {_kind_name(kind)}",
            e.span,
            ["write a comparison, e.g. `amount > 100`"],
        )


def check_comparison(
    ctx: Context,
    op: str,
    left_expr: ir.Expr,
    left: str | None,
    right_expr: ir.Expr,
    right: str | None,
    span: Span | None,
) -> None:
    if left is None or right is None:
        return
    for a, b, other in ((left, right, right_expr), (right, left, left_expr)):
        if a == "timestamp" and b == "string":
            if isinstance(other, ir.Const) and isinstance(other.value, ir.StrV):
                if is_timestamp_text(other.value.value):
                    return
                ctx.error(
                    "FC203",
                    f"`{other.value.value}` is not a timestamp",
                    other.span or span,
                    ['write an ISO 8601 time, e.g. "2024-09-01T00:00:00Z"'],
                )
                return
    if not comparable(op, left, right):
        hints = []
        if {left, right} == {"string", "int"} or {left, right} == {"string", "decimal"}:
            hints.append("quote numbers only when the field is a string; compare numbers unquoted")
        ctx.error(
            "FC203",
            f"cannot compare {_kind_name(left)} with {_kind_name(right)} using `{op}`",
            span,
            hints,
        )


def _kind_name(kind: str) -> str:
    return {
        "int": "a whole number",
        "decimal": "a decimal",
        "float": "a number",
        "string": "a string",
        "bool": "a boolean",
        "timestamp": "a timestamp",
        "binary": "bytes",
        "null": "null",
        "list": "a list",
        "struct": "a struct",
    }.get(kind, kind)
