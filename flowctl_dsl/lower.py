"""Surface AST → IR. The pipe form and the key form meet here.

Also interpolates ``${VAR}`` / ``${VAR:-default}`` from the environment, and reports structural
mistakes (unknown or repeated keys, a stage after the sink) with spans.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from lark.exceptions import UnexpectedInput

from flowctl_dsl import ast, ir
from flowctl_dsl.catalog import Catalog
from flowctl_dsl.errors import Diagnostic, FlowctlError, Span, suggestion_hints
from flowctl_dsl.parse import parse_value

SETTINGS = ("on_error", "checkpoint", "retry")
KEYS = ("name", "source", "process", "save_to", *SETTINGS)
ENV_IN_STRING = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class Lowering:
    """One lowering run; collects diagnostics instead of stopping at the first."""

    def __init__(
        self, catalog: Catalog, env: Mapping[str, str], default_name: str, keep_env: bool = False
    ) -> None:
        self.catalog = catalog
        self.keep_env = keep_env
        self.env = env
        self.default_name = default_name
        self.errors: list[Diagnostic] = []

    def error(
        self, code: str, reason: str, span: Span | None, hints: list[str] | None = None
    ) -> None:
        self.errors.append(Diagnostic(code, reason, span, tuple(hints or ())))

    # ---- documents
    def document(self, doc: ast.Document) -> ir.Pipeline | None:
        result = self.pipe(doc) if isinstance(doc, ast.PipeDoc) else self.keys(doc)
        if self.errors:
            raise FlowctlError(self.errors)
        return result

    def pipe(self, doc: ast.PipeDoc) -> ir.Pipeline | None:
        source = self.source(doc.source)
        stages: list[ir.Stage] = []
        sinks: list[ir.Sink] = []
        for stage in doc.stages:
            if sinks:
                self.error(
                    "FC205",
                    "nothing can follow the sink",
                    stage.span,
                    [
                        "the sink (`save_to …`, `stdout`, …) is the last stage; "
                        "save to several sinks with `save_to [a, b]`"
                    ],
                )
                break
            if isinstance(stage, ast.SaveStage):
                sinks.extend(self.sink(call) for call in stage.sinks)
            elif isinstance(stage, ast.UseStage) and self.is_sink(stage.call.name):
                sinks.append(self.sink(stage.call))
            else:
                stages.append(self.stage(stage))
        settings: dict[str, ir.Value] = {}
        for setting in doc.settings:
            if setting.name not in SETTINGS:
                self.error(
                    "FC009",
                    f"unknown setting `{setting.name}`",
                    setting.name_span,
                    suggestion_hints(setting.name, SETTINGS, "settings"),
                )
            elif setting.name in settings:
                self.error("FC008", f"`{setting.name}` is given twice", setting.name_span)
            else:
                settings[setting.name] = self.value(setting.value)
        if source is None:
            return None
        return ir.Pipeline(
            name=self.default_name,
            source=source,
            stages=stages,
            sinks=sinks,
            settings=settings,
            span=doc.span,
        )

    def keys(self, doc: ast.KeyDoc) -> ir.Pipeline | None:
        seen: dict[str, ast.Entry] = {}
        for entry in doc.entries:
            if entry.key not in KEYS:
                self.error(
                    "FC009",
                    f"unknown key `{entry.key}`",
                    entry.key_span,
                    suggestion_hints(entry.key, KEYS, "keys"),
                )
            elif entry.key in seen:
                self.error(
                    "FC008",
                    f"`{entry.key}` is given twice",
                    entry.key_span,
                    [f"first given on line {seen[entry.key].key_span.line}; merge them"],
                )
            else:
                seen[entry.key] = entry
        if "source" not in seen:
            self.error(
                "FC010",
                "the pipeline has no `source`",
                doc.entries[0].key_span if doc.entries else None,
                ["add a line such as `source: mainnet`"],
            )
            return None
        name = self.default_name
        if "name" in seen:
            name = self.pipeline_name(seen["name"])
        src = seen["source"]
        source = self.source(self.single(src, "source"))
        stages = [self.stage(s) for s in self.items(seen.get("process"))]
        sinks: list[ir.Sink] = []
        for item in self.items(seen.get("save_to")):
            if isinstance(item, ast.UseStage):
                sinks.append(self.sink(item.call))
            elif isinstance(item, ast.Str | ast.Env):
                sinks.append(
                    self.sink(
                        ast.Call(
                            item.span,
                            "jsonl",
                            item.span,
                            (ast.Arg(item.span, None, None, item),),
                            True,
                        )
                    )
                )
            else:
                self.error(
                    "FC011",
                    '`save_to` takes sinks, e.g. `save_to: parquet("out/")`',
                    getattr(item, "span", None),
                )
        if source is None:
            return None
        settings = {key: self.setting_value(seen[key]) for key in SETTINGS if key in seen}
        return ir.Pipeline(
            name=name, source=source, stages=stages, sinks=sinks, settings=settings, span=doc.span
        )

    def setting_value(self, entry: ast.Entry) -> ir.Value:
        """A key-form setting's value: a call (``dead_letter(…)``), a mapping, a string…"""
        value = entry.value
        if isinstance(value, ast.UseStage):
            return self.value(value.call)
        if isinstance(value, ast.Str | ast.Env | ast.Mapping | ast.Num | ast.Bool | ast.Range):
            return self.value(value)
        self.error(
            "FC011", f"`{entry.key}` takes a value such as a call or a {{…}} mapping", entry.span
        )
        return ir.NullV(span=entry.span)

    def pipeline_name(self, entry: ast.Entry) -> str:
        value = entry.value
        if isinstance(value, ast.UseStage) and not value.call.parens:
            return value.call.name
        if isinstance(value, ast.Str):
            return value.value
        self.error("FC011", "`name` takes a plain name, e.g. `name: usdc_payments`", entry.span)
        return self.default_name

    def single(self, entry: ast.Entry, key: str) -> ast.SourceRef:
        value = entry.value
        if isinstance(value, ast.UseStage):
            return value.call
        if isinstance(value, ast.Str | ast.Env):
            return value
        self.error("FC011", f"`{key}` takes one source, e.g. `{key}: mainnet`", entry.span)
        return ast.Call(entry.span, "?", entry.key_span, (), False)

    def items(self, entry: ast.Entry | None) -> list[object]:
        if entry is None:
            return []
        if entry.block:
            return list(entry.value)  # type: ignore[call-overload]
        if isinstance(entry.value, ast.ListV):
            return list(entry.value.items)
        return [entry.value]

    def is_sink(self, name: str) -> bool:
        return (
            self.catalog.get("sink", name) is not None
            and self.catalog.get("processor", name) is None
        )

    # ---- components
    def source(self, ref: ast.SourceRef) -> ir.Source | None:
        if isinstance(ref, ast.Env) and self.keep_env:
            text = "${" + ref.name + ("" if ref.default is None else ":-" + ref.default) + "}"
            return ir.Source(name=text, span=ref.span, name_span=ref.span)
        if isinstance(ref, ast.Env):
            value = self.env_value(ref)
            if value is None:
                return None
            ref = (
                value
                if isinstance(value, ast.Call | ast.Str)
                else ast.Str(ref.span, str(self.value(value)))
            )
        if isinstance(ref, ast.Str):
            url = self.interpolate(ref.value, ref.span)
            return ir.Source(
                name="datastore",
                args=[ir.Arg(value=ir.StrV(value=url, span=ref.span), span=ref.span)],
                span=ref.span,
                name_span=ref.span,
            )
        return ir.Source(name=ref.name, args=self.args(ref), span=ref.span, name_span=ref.name_span)

    def sink(self, call: ast.Call) -> ir.Sink:
        return ir.Sink(
            name=call.name, args=self.args(call), span=call.span, name_span=call.name_span
        )

    def args(self, call: ast.Call) -> list[ir.Arg]:
        return [
            ir.Arg(name=a.name, value=self.value(a.value), span=a.span, name_span=a.name_span)
            for a in call.args
        ]

    def stage(self, stage: object) -> ir.Stage:
        match stage:
            case ast.UseStage(call=call):
                return ir.Process(
                    name=call.name, args=self.args(call), span=stage.span, name_span=call.name_span
                )
            case ast.FilterStage(expr=expr):
                return ir.Filter(expr=self.expr(expr), span=stage.span)
            case ast.FilterPrimary(op=op, value=value):
                primary = ir.FieldRef(path=[], span=stage.span)
                cmp = ir.Compare(op=op, left=primary, right=self.expr(value), span=stage.span)  # type: ignore[arg-type]
                return ir.Filter(expr=cmp, span=stage.span)
            case ast.SelectStage(fields=fields):
                return ir.Select(
                    fields=[ir.FieldRef(path=list(f.path), span=f.span) for f in fields],
                    span=stage.span,
                )
            case ast.DeriveStage(assignments=assignments):
                return ir.Derive(
                    assignments=[
                        ir.Assignment(name=a.name, expr=self.expr(a.expr), span=a.span)
                        for a in assignments
                    ],
                    span=stage.span,
                )
            case ast.LimitStage(count=count):
                return ir.Limit(count=count, span=stage.span)
            case ast.SaveStage():
                self.error(
                    "FC205",
                    "`save_to` must be the last stage",
                    stage.span,
                    ["in the key form, sinks go under `save_to:`"],
                )
            case _:
                span = getattr(stage, "span", None)
                self.error(
                    "FC011", "expected a stage (a processor, filter, select, derive or limit)", span
                )
        return ir.Limit(count=0, span=getattr(stage, "span", None))

    # ---- values
    def value(self, value: ast.Value) -> ir.Value:
        span = value.span
        match value:
            case ast.Str(value=text):
                return ir.StrV(value=self.interpolate(text, span), span=span)
            case ast.Num(value=num):
                return (
                    ir.IntV(value=num, span=span)
                    if isinstance(num, int)
                    else ir.DecV(value=num, span=span)
                )
            case ast.Range(start=start, end=end):
                return ir.RangeV(start=start, end=end, span=span)
            case ast.Bool(value=flag):
                return ir.BoolV(value=flag, span=span)
            case ast.Null():
                return ir.NullV(span=span)
            case ast.Env() if self.keep_env:
                return ir.EnvV(name=value.name, default=value.default, span=span)
            case ast.Env():
                inner = self.env_value(value)
                return ir.NullV(span=span) if inner is None else self.value(inner)
            case ast.ListV(items=items):
                return ir.ListV(items=[self.value(i) for i in items], span=span)  # type: ignore[arg-type]
            case ast.Mapping(pairs=pairs):
                return ir.MapV(items={p.key: self.value(p.value) for p in pairs}, span=span)
            case ast.Call(name=name, parens=parens):
                if not parens:
                    return ir.NameV(value=name, span=span)
                return ir.CallV(name=name, args=self.args(value), span=span)
        raise AssertionError(f"unhandled value {value!r}")

    def env_value(self, ref: ast.Env) -> ast.Value | None:
        raw = self.env.get(ref.name, ref.default)
        if raw is None:
            self.error(
                "FC006",
                f"environment variable `{ref.name}` is not set",
                ref.span,
                [
                    f"set it (`export {ref.name}=…` or `--set {ref.name}=…`) or give a default: "
                    f"${{{ref.name}:-value}}"
                ],
            )
            return None
        try:
            parsed = parse_value(raw)
        except UnexpectedInput:
            return ast.Str(ref.span, raw)
        if isinstance(parsed, ast.Env):  # a variable whose value is itself ${…}: keep the text
            return ast.Str(ref.span, raw)
        return _respan(parsed, ref.span)

    def interpolate(self, text: str, span: Span | None) -> str:
        if self.keep_env:
            return text

        def replace(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            value = self.env.get(name, default)
            if value is None:
                self.error(
                    "FC006",
                    f"environment variable `{name}` is not set",
                    span,
                    [f"set it or give a default: ${{{name}:-value}}"],
                )
                return ""
            return value

        return ENV_IN_STRING.sub(replace, text)

    # ---- expressions
    def expr(self, expr: ast.Expr) -> ir.Expr:
        span = expr.span
        match expr:
            case ast.Field(path=path):
                return ir.FieldRef(path=list(path), span=span)
            case ast.Compare(op=op, left=left, right=right):
                return ir.Compare(op=op, left=self.expr(left), right=self.expr(right), span=span)  # type: ignore[arg-type]
            case ast.InList(left=left, items=items, negated=negated):
                return ir.InList(
                    left=self.expr(left),
                    items=[self.expr(i) for i in items],
                    negated=negated,
                    span=span,
                )
            case ast.BoolOp(op=op, left=left, right=right):
                return ir.BoolOp(op=op, left=self.expr(left), right=self.expr(right), span=span)  # type: ignore[arg-type]
            case ast.Not(operand=operand):
                return ir.Not(operand=self.expr(operand), span=span)
            case ast.Arith(op=op, left=left, right=right):
                return ir.Arith(op=op, left=self.expr(left), right=self.expr(right), span=span)  # type: ignore[arg-type]
            case ast.Neg(operand=operand):
                inner = self.expr(operand)
                if isinstance(inner, ir.Const) and isinstance(inner.value, ir.IntV | ir.DecV):
                    lit = type(inner.value)(value=-inner.value.value, span=span)
                    return ir.Const(value=lit, span=span)
                return ir.Neg(operand=inner, span=span)
            case ast.Call(parens=False, name=name):
                return ir.FieldRef(path=[name], span=span)
            case _:
                return ir.Const(value=self.value(expr), span=span)  # type: ignore[arg-type]


def _respan(value: ast.Value, span: Span) -> ast.Value:
    """Give an interpolated value the span of the ``${VAR}`` it came from."""
    import dataclasses

    return dataclasses.replace(value, span=span)


def lower(
    doc: ast.Document,
    catalog: Catalog,
    env: Mapping[str, str],
    default_name: str = "pipeline",
    keep_env: bool = False,
) -> ir.Pipeline:
    """Lower a parsed document to the IR, raising :class:`FlowctlError` with every problem found."""
    result = Lowering(catalog, env, default_name, keep_env).document(doc)
    assert result is not None
    return result
