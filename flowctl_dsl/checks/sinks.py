"""Pass: the pipeline ends in at least one sink, every sink gets records (FC204, FC201), and an
unbounded (followed) source only feeds stages and sinks that can stream (FC215)."""

from __future__ import annotations

from flowctl_dsl import ir
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
    unbounded = getattr(ctx.params.get(id(p.source)), "bounded", True) is False
    if unbounded:
        for stage in p.stages:
            if isinstance(stage, ir.Limit):
                ctx.error(
                    "FC215",
                    "`limit` needs a bounded range, but the source follows the network tip",
                    stage.span,
                    ["give the source a closed range, e.g. ledgers=A..B, or stop_after=N"],
                )
    for sink in p.sinks:
        spec = ctx.specs.get(id(sink))
        if spec is not None and unbounded and not spec.streaming:
            streaming = ", ".join(s.name for s in ctx.catalog.of_kind("sink") if s.streaming)
            ctx.warn(
                "FC215",
                f"`{spec.name}` writes once its input ends, but the source follows the network tip:"
                " nothing is written until the run is stopped",
                sink.name_span or sink.span,
                [
                    "give the source a closed range, e.g. ledgers=A..B, or stop_after=N",
                    f"sinks that write as records arrive: {streaming}",
                ],
            )
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
