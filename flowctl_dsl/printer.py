"""IR → canonical ``.flow`` text, in the pipe form or the key form.

``parse(print(ir))`` gives back the same IR for every IR (a hypothesis property test checks it),
so ``flowctl fmt`` is idempotent and can convert between the two forms.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Literal

from flowctl_dsl import ir
from flowctl_dsl.catalog import Catalog
from flowctl_dsl.catalog import catalog as default_catalog

Form = Literal["pipe", "key"]
LINE_WIDTH = 100

# Precedence levels, loosest first (matching the grammar).
OR, AND, NOT, CMP, SUM, PRODUCT, UNARY, ATOM = range(8)


def string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def decimal(value: Decimal) -> str:
    text = format(value, "f")
    return text if "." in text else text + ".0"


def value(v: ir.Value) -> str:
    match v:
        case ir.StrV():
            return string(v.value)
        case ir.IntV():
            return str(v.value)
        case ir.DecV():
            return decimal(v.value)
        case ir.BoolV():
            return "true" if v.value else "false"
        case ir.NullV():
            return "null"
        case ir.RangeV():
            return f"{v.start}..{'' if v.end is None else v.end}"
        case ir.NameV():
            return v.value
        case ir.EnvV():
            return "${" + v.name + ("" if v.default is None else ":-" + v.default) + "}"
        case ir.ListV():
            return "[" + ", ".join(value(i) for i in v.items) + "]"
        case ir.MapV():
            return "{" + ", ".join(f"{k}: {value(i)}" for k, i in v.items.items()) + "}"
        case ir.CallV():
            return f"{v.name}({args(v.args)})"
    raise AssertionError(v)


def args(items: list[ir.Arg]) -> str:
    return ", ".join(
        value(a.value) if a.name is None else f"{a.name}={value(a.value)}" for a in items
    )


def component(c: ir.Component) -> str:
    return f"{c.name}({args(c.args)})" if c.args else c.name


def precedence(e: ir.Expr) -> int:
    match e:
        case ir.BoolOp(op="or"):
            return OR
        case ir.BoolOp():
            return AND
        case ir.Not():
            return NOT
        case ir.Compare() | ir.InList():
            return CMP
        case ir.Arith(op="+" | "-"):
            return SUM
        case ir.Arith():
            return PRODUCT
        case ir.Neg():
            return UNARY
        case ir.Const(value=ir.IntV() | ir.DecV() as num) if num.value < 0:
            return UNARY
    return ATOM


def wrap(e: ir.Expr, minimum: int) -> str:
    """``e`` printed, in parentheses when it binds looser than ``minimum``."""
    text = expr(e)
    return f"({text})" if precedence(e) < minimum else text


def expr(e: ir.Expr) -> str:
    match e:
        case ir.Const():
            return value(e.value)
        case ir.FieldRef():
            return ".".join(e.path)
        case ir.BoolOp():
            level = precedence(e)
            return f"{wrap(e.left, level)} {e.op} {wrap(e.right, level + 1)}"
        case ir.Not():
            return f"not {wrap(e.operand, NOT)}"
        case ir.Compare():
            return f"{wrap(e.left, SUM)} {e.op} {wrap(e.right, SUM)}"
        case ir.InList():
            op = "not in" if e.negated else "in"
            return f"{wrap(e.left, SUM)} {op} [{', '.join(expr(i) for i in e.items)}]"
        case ir.Arith():
            level = precedence(e)
            return f"{wrap(e.left, level)} {e.op} {wrap(e.right, level + 1)}"
        case ir.Neg():
            return f"-{wrap(e.operand, UNARY)}"
    raise AssertionError(e)


def stage(s: ir.Stage, in_flow_list: bool = False) -> str:
    match s:
        case ir.Process():
            return component(s)
        case ir.Filter(expr=ir.Compare(left=ir.FieldRef(path=[]), op=op, right=right)):
            return f"filter {op} {wrap(right, SUM)}"
        case ir.Filter():
            return f"filter {expr(s.expr)}"
        case ir.Select():
            fields = ", ".join(".".join(f.path) for f in s.fields)
            return f"select({fields})" if in_flow_list else f"select {fields}"
        case ir.Derive():
            body = ", ".join(f"{a.name} = {expr(a.expr)}" for a in s.assignments)
            return f"derive({body})" if in_flow_list else f"derive {body}"
        case ir.Limit():
            return f"limit {s.count}"
    raise AssertionError(s)


def sinks(items: list[ir.Sink]) -> str:
    if len(items) == 1:
        return component(items[0])
    return "[" + ", ".join(component(s) for s in items) + "]"


def pipe_form(p: ir.Pipeline, catalog: Catalog | None = None) -> str:
    cat = catalog or default_catalog()
    parts = [component(p.source), *(stage(s) for s in p.stages)]
    bare = len(p.sinks) == 1 and not p.sinks[0].args
    if bare and cat.get("sink", p.sinks[0].name) and not cat.get("processor", p.sinks[0].name):
        parts.append(p.sinks[0].name)
    elif p.sinks:
        parts.append("save_to " + sinks(p.sinks))
    settings = ", ".join(f"{k}={value(v)}" for k, v in ordered_settings(p))
    one_line = " | ".join(parts) + (f" with {settings}" if settings else "")
    if len(one_line) <= LINE_WIDTH:
        return one_line + "\n"
    text = parts[0] + "".join(f"\n  | {part}" for part in parts[1:])
    if settings:
        text += "\n  with " + ",\n       ".join(f"{k}={value(v)}" for k, v in ordered_settings(p))
    return text + "\n"


def ordered_settings(p: ir.Pipeline) -> list[tuple[str, ir.Value]]:
    """Settings in the canonical order: on_error, checkpoint, retry."""
    order = ("on_error", "checkpoint", "retry")
    return sorted(
        p.settings.items(), key=lambda kv: (order.index(kv[0]) if kv[0] in order else 99, kv[0])
    )


def key_form(p: ir.Pipeline, default_name: str | None = None) -> str:
    lines = []
    if p.name != default_name:
        lines.append(f"name: {p.name}")
    lines.append(f"source: {component(p.source)}")
    if p.stages:
        lines.append("process:")
        lines.extend(f"  - {stage(s)}" for s in p.stages)
    if p.sinks:
        lines.append(f"save_to: {sinks(p.sinks)}")
    lines.extend(f"{k}: {value(v)}" for k, v in ordered_settings(p))
    return "\n".join(lines) + "\n"


def print_pipeline(
    p: ir.Pipeline,
    form: Form = "pipe",
    default_name: str | None = None,
    catalog: Catalog | None = None,
) -> str:
    """Canonical text of ``p``; the key form names the pipeline unless it is ``default_name``."""
    return key_form(p, default_name) if form == "key" else pipe_form(p, catalog)
