"""Pass: the pipeline ends in at least one sink, and every sink gets records (FC204, FC201)."""

from __future__ import annotations

from flowctl_dsl.catalog.spec import LEDGER_CLOSE_META
from flowctl_dsl.checks.context import Context, StageInfo
from flowctl_dsl.errors import Span


def run(ctx: Context) -> None:
    p = ctx.pipeline
    last = ctx.infos[id(p.stages[-1])] if p.stages else ctx.infos[id(p.source)]
    if not p.sinks:
        end = p.stages[-1].span if p.stages else p.source.span
        span = Span.point(end.end_line, end.end_column) if end else None
        ctx.error(
            "FC204",
            "the pipeline has no sink",
            span,
            ['end it with a sink: `| stdout` or `| save_to jsonl("out.jsonl")`'],
        )
        return
    for sink in p.sinks:
        spec = ctx.specs.get(id(sink))
        if spec is not None and last.record_type == LEDGER_CLOSE_META:
            ctx.error(
                "FC201",
                f"`{spec.name}` saves records, but the source emits raw LedgerCloseMeta",
                sink.name_span or sink.span,
                ["put a processor before the sink, e.g. `| ledgers |` or `| transactions |`"],
            )
        ctx.infos[id(sink)] = StageInfo(
            spec.name if spec else sink.name,
            last.record_type,
            last.schema,
            spec=spec,
            params=ctx.params.get(id(sink)),
            key_fields=last.key_fields,
        )
