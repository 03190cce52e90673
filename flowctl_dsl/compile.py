"""Plan → ``beam.Pipeline``, by a dispatch table from step kind to builder.

Columnar execution (see :mod:`flowctl_dsl.transforms.columnar.execution`): from the processor
to the sinks the elements are ``pyarrow.RecordBatch`` (one per ledger), unless the plan or
``FLOWCTL_EXECUTION=records`` asks for one dict per record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from flowctl_dsl.plan import Plan, Step
from flowctl_dsl.transforms import relational
from flowctl_dsl.transforms.columnar import execution
from flowctl_dsl.transforms.columnar import relational as columnar
from flowctl_dsl.transforms.context import BuildContext
from flowctl_dsl.transforms.processors import base as processors
from flowctl_dsl.transforms.reliability import dead_letter, sources
from flowctl_dsl.transforms.reliability.checkpoint import CommitCheckpoint
from flowctl_dsl.transforms.reliability.retry import RetryPolicy
from flowctl_dsl.transforms.reliability.segments import RunWindow


def context(step: Step, plan: Plan, options: dict[str, object] | None = None) -> BuildContext:
    schema = step.arrow_schema if step.kind != "sink" else step.input_schema
    return BuildContext(
        pipeline=plan.pipeline,
        component=step.name,
        record_type=step.record_type,
        schema=schema,
        key_fields=tuple(step.key_fields),
        options=dict(options or {}),
    )


def build_component(
    step: Step, plan: Plan, options: dict[str, object] | None = None
) -> beam.PTransform:
    assert step.spec is not None and step.typed_params is not None
    return step.spec.load()(step.typed_params, context(step, plan, options))


def build_processor(step: Step, plan: Plan, batches: bool = False) -> beam.PTransform:
    assert step.spec is not None and step.typed_params is not None
    # reliability: with a dead-letter sink, failures leave on the tagged output `dead_letter`
    dead_letters = plan.dead_letter is not None
    process = processors.build(step.spec, step.typed_params, plan.pipeline, dead_letters, batches)
    if batches:  # fewer, bigger batches for the stages after it
        return columnar.CoalescedProcessor(process, dead_letters, dead_letter.TAG)
    return process


def build_filter(step: Step, plan: Plan, batches: bool = False) -> beam.PTransform:
    assert step.expr is not None
    if batches:
        assert step.input_schema is not None
        return columnar.FilterBatches(step.expr, step.input_schema)
    return relational.FilterRecords(step.expr, step.input_schema)


def build_select(step: Step, plan: Plan, batches: bool = False) -> beam.PTransform:
    assert step.fields is not None
    if batches:
        assert step.arrow_schema is not None
        return columnar.SelectColumns(step.fields, step.arrow_schema)
    return relational.SelectFields(step.fields)


def build_derive(step: Step, plan: Plan, batches: bool = False) -> beam.PTransform:
    assert step.assignments is not None and step.arrow_schema is not None
    if batches:
        return columnar.DeriveColumns(step.assignments, step.arrow_schema)
    return relational.DeriveFields(step.assignments, step.arrow_schema)


def build_limit(step: Step, plan: Plan, batches: bool = False) -> beam.PTransform:
    assert step.count is not None
    if batches:
        assert step.arrow_schema is not None
        return columnar.LimitBatches(step.count, step.key_fields, step.arrow_schema)
    return relational.LimitRecords(step.count, step.key_fields)


#: Stage builders: ``(step, plan, batches)``; with ``batches`` elements are RecordBatches.
STAGES: dict[str, Callable[[Step, Plan, bool], beam.PTransform]] = {
    "processor": build_processor,
    "filter": build_filter,
    "select": build_select,
    "derive": build_derive,
    "limit": build_limit,
}


def build_sink(
    step: Step, plan: Plan, pcoll: beam.PCollection, batches: bool, options: dict[str, object]
) -> Any:
    """The sink applied to ``pcoll``; batches are turned into records for a sink that only
    takes records."""
    assert step.spec is not None and step.typed_params is not None
    takes_batches = batches and step.spec.batches
    ctx = replace(context(step, plan, options), batches=takes_batches)
    sink = step.spec.load()(step.typed_params, ctx)
    if batches and not takes_batches:
        sink = columnar.AtRecordEdge(sink)
    return pcoll | label(step) >> sink


def label(step: Step) -> str:
    return f"{step.id}"


def build_pipeline(
    plan: Plan, options: PipelineOptions, runner: Any = None, run: RunWindow | None = None
) -> beam.Pipeline:
    """A Beam pipeline for ``plan``; sinks fan out from the last stage.

    Processor failures go to the dead-letter sink when the plan has one (else the run fails
    fast, FC406). ``run`` (from the runner) narrows the source to a segment of ledgers and adds
    the checkpoint stage after the sinks.
    """
    pipeline = beam.Pipeline(runner=runner, options=options)
    # -- reliability: the source narrowed to the run window, with the plan's retry policy
    window = None
    if run is not None and run.lo is not None and run.hi is not None:
        window = (run.lo, run.hi)
    source = build_component(plan.source, plan)
    source = sources.configure(source, window, RetryPolicy.of(plan.retry))  # type: ignore[arg-type]
    ledgers = pcoll = pipeline | label(plan.source) >> source
    if window is not None:
        lo, hi = window
        ledgers = pcoll = pcoll | "run_window" >> beam.Filter(sources.in_window, lo, hi)
    dead_letters: list[beam.PCollection] = []
    # -- end reliability
    batches = execution.why_not_columnar(plan) is None
    for step in plan.stages:
        pcoll = pcoll | label(step) >> STAGES[step.kind](step, plan, batches)
        if step.kind == "processor" and plan.dead_letter is not None:  # reliability
            dead_letters.append(pcoll[dead_letter.TAG])
            pcoll = pcoll["records"]
    sink_options = run.sink_options() if run is not None else {}
    committed = [build_sink(step, plan, pcoll, batches, sink_options) for step in plan.sinks]
    # -- reliability: dead letters to their sink; the cursor advances after every sink committed
    failed = None
    if plan.dead_letter is not None:
        failed = (
            dead_letters | "dead_letters" >> beam.Flatten()
            if dead_letters
            else pipeline | "no_dead_letters" >> beam.Create([])
        )
        step = plan.dead_letter
        committed.append(failed | label(step) >> build_component(step, plan, sink_options))
    if run is not None and run.checkpointing and ledgers.is_bounded:
        outputs = [c for c in committed if isinstance(c, beam.PCollection)]
        _ = ledgers | "checkpoint" >> CommitCheckpoint(run, outputs, failed)
    # -- end reliability
    return pipeline
