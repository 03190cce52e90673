"""Pass: resolve every source, processor and sink name against the catalog (FC101–FC103)."""

from __future__ import annotations

from flowctl_dsl import ir
from flowctl_dsl.catalog.spec import Kind
from flowctl_dsl.checks.context import Context
from flowctl_dsl.errors import suggestion_hints

CODES: dict[Kind, str] = {"source": "FC101", "processor": "FC102", "sink": "FC103"}
PLURAL: dict[Kind, str] = {"source": "sources", "processor": "processors", "sink": "sinks"}


def run(ctx: Context) -> None:
    p = ctx.pipeline
    lookups: list[tuple[ir.Component, Kind]] = [(p.source, "source")]
    lookups += [(s, "processor") for s in p.stages if isinstance(s, ir.Process)]
    lookups += [(s, "sink") for s in p.sinks]
    for comp, kind in lookups:
        spec = ctx.catalog.get(kind, comp.name)
        if spec is not None:
            ctx.specs[id(comp)] = spec
            continue
        ctx.failed.add(id(comp))
        span = comp.name_span or comp.span
        elsewhere = [s for s in ctx.catalog.find(comp.name) if s.kind != kind]
        if elsewhere:
            other = elsewhere[0]
            ctx.error(
                "FC211",
                f"`{comp.name}` is a {other.kind}, not a {kind}",
                span,
                [_placement_hint(other.kind, other.name)],
            )
            continue
        ctx.error(
            CODES[kind],
            f"unknown {kind} `{comp.name}`",
            span,
            suggestion_hints(comp.name, ctx.catalog.names(kind), PLURAL[kind]),
        )


def _placement_hint(kind: Kind, name: str) -> str:
    if kind == "source":
        return f"a source comes first: `{name} | … | stdout`"
    if kind == "sink":
        return f"a sink comes last: `… | save_to {name}(…)`"
    return f"a processor goes between the source and the sink: `mainnet | {name} | stdout`"
