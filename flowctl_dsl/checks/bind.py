"""Pass: bind each component's arguments to its typed parameter model (FC104–FC108).

Positional arguments take the names the spec lists in ``positional``; values are validated by the
spec's pydantic model in strict mode, so ``gzip="yes"`` is an error rather than ``True``.
"""

from __future__ import annotations

from typing import Any, Literal, get_args, get_origin

from pydantic import ValidationError

from flowctl_dsl import ir
from flowctl_dsl.catalog.spec import Spec
from flowctl_dsl.checks.context import Context
from flowctl_dsl.config import secrets
from flowctl_dsl.errors import Span, suggestion_hints


def python_value(v: ir.Value) -> Any:
    """The plain Python value a parameter model validates."""
    match v:
        case ir.StrV() | ir.IntV() | ir.DecV() | ir.BoolV() | ir.NameV():
            return v.value
        case ir.NullV():
            return None
        case ir.EnvV():
            return "${" + v.name + "}"
        case ir.RangeV():
            return {"start": v.start, "end": v.end}
        case ir.ListV():
            return [python_value(i) for i in v.items]
        case ir.MapV():
            return {k: python_value(i) for k, i in v.items.items()}
        case ir.CallV():
            return {"call": v.name, "args": [python_value(a.value) for a in v.args]}
    raise AssertionError(v)


def describe_value(v: ir.Value) -> str:
    return {
        "str": "a string",
        "int": "a whole number",
        "dec": "a decimal number",
        "bool": "a boolean",
        "null": "null",
        "range": "a ledger range",
        "name": "a bare name",
        "env": "a ${VAR}",
        "list": "a list",
        "map": "a mapping",
        "call": "a call",
    }[v.t]


def run(ctx: Context) -> None:
    for comp in ctx.components():
        spec = ctx.specs.get(id(comp))
        if spec is None:
            continue
        params = bind(ctx, comp, spec)
        if params is None:
            ctx.failed.add(id(comp))
        else:
            ctx.params[id(comp)] = params


def bind(ctx: Context, comp: ir.Component, spec: Spec) -> Any:
    fields = spec.params.model_fields
    data: dict[str, Any] = {}
    where: dict[str, ir.Arg] = {}
    ok = True
    positional = [a for a in comp.args if a.name is None]
    for index, arg in enumerate(positional):
        if index >= len(spec.positional):
            allowed = len(spec.positional)
            named = ", ".join(f"{n}=…" for n in fields if n not in spec.positional) or "none"
            ctx.error(
                "FC107",
                f"`{spec.name}` takes {allowed or 'no'} positional argument{'s' if allowed != 1 else ''}",
                arg.span,
                [f"name the parameter: {named}"],
            )
            ok = False
            continue
        name = spec.positional[index]
        data[name] = python_value(arg.value)
        where[name] = arg
    for arg in comp.args:
        if arg.name is None:
            continue
        if arg.name in where:
            ctx.error(
                "FC108",
                f"parameter `{arg.name}` is given twice",
                arg.name_span or arg.span,
                [f"`{spec.name}` already has `{arg.name}` (line {_line(where[arg.name].span)})"],
            )
            ok = False
            continue
        if arg.name not in fields:
            known = list(fields)
            hints = (
                suggestion_hints(arg.name, known, f"parameters of `{spec.name}`")
                if known
                else [f"`{spec.name}` takes no parameters"]
            )
            ctx.error(
                "FC104",
                f"`{spec.name}` has no parameter `{arg.name}`",
                arg.name_span or arg.span,
                hints,
            )
            ok = False
            continue
        data[arg.name] = python_value(arg.value)
        where[arg.name] = arg
    # -- secret("…") values: resolved into the parameter's secret type (flowctl_dsl.config.secrets)
    for name, arg in where.items():
        if secrets.is_secret(arg.value):
            try:
                data[name] = secrets.bind(arg.value, fields[name].annotation, name, spec.name)  # type: ignore[arg-type]
            except secrets.SecretError as err:
                ctx.error(err.code, err.reason, arg.value.span or arg.span, list(err.hints))
                ok = False
    # -- end secret values
    if not ok:
        return None
    try:
        return spec.params.model_validate(data, strict=True)
    except ValidationError as err:
        for e in err.errors():
            name = str(e["loc"][0]) if e["loc"] else ""
            given = where.get(name)
            if e["type"] == "missing":
                ctx.error(
                    "FC106",
                    f"`{spec.name}` needs the parameter `{name}`",
                    comp.span,
                    [f"e.g. {spec.examples[0]}" if spec.examples else f"add {name}=…"],
                )
                continue
            span = given.value.span if given is not None and given.value.span else comp.span
            field = fields.get(name)
            expected = _expected(field.annotation) if field else ""
            got = f" (got {describe_value(given.value)})" if given is not None else ""
            msg = str(e["msg"]).removeprefix("Value error, ")
            hints = [f"`{name}` takes {expected}"] if expected else []
            if field is not None and field.description:
                hints.append(f"{name}: {field.description}")
            ctx.error("FC105", f"bad value for `{name}`: {msg}{got}", span, hints)
        return None


def _line(span: Span | None) -> str:
    return str(span.line) if span else "?"


def _expected(annotation: Any) -> str:
    if get_origin(annotation) is Literal:
        return "one of " + ", ".join(f"`{v}`" for v in get_args(annotation))
    text = getattr(annotation, "__name__", None) or str(annotation)
    text = text.replace("typing.", "").replace("flowctl_dsl.catalog.params.", "")
    words = {
        "str": "a string",
        "int": "a whole number",
        "bool": "true or false",
        "LedgerRange": "a ledger range like 100..200",
        "Decimal": "a number",
        "float": "a number",
    }
    return words.get(text, f"`{text}`")
