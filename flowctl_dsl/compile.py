"""Plan → ``beam.Pipeline``, by a dispatch table from step kind to builder."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from flowctl_dsl.plan import Plan, Step
from flowctl_dsl.transforms import relational
from flowctl_dsl.transforms.context import BuildContext
from flowctl_dsl.transforms.processors import base as processors

Builder = Callable[[Step, Plan], beam.PTransform]


def context(step: Step, plan: Plan) -> BuildContext:
    schema = step.arrow_schema if step.kind != "sink" else step.input_schema
    return BuildContext(
        pipeline=plan.pipeline,
        component=step.name,
        record_type=step.record_type,
        schema=schema,
        key_fields=tuple(step.key_fields),
    )


def build_component(step: Step, plan: Plan) -> beam.PTransform:
    assert step.spec is not None and step.typed_params is not None
    return step.spec.load()(step.typed_params, context(step, plan))


def build_processor(step: Step, plan: Plan) -> beam.PTransform:
    assert step.spec is not None and step.typed_params is not None
    return processors.build(step.spec, step.typed_params)


def build_filter(step: Step, plan: Plan) -> beam.PTransform:
    assert step.expr is not None
    return relational.FilterRecords(step.expr, step.input_schema)


def build_select(step: Step, plan: Plan) -> beam.PTransform:
    assert step.fields is not None
    return relational.SelectFields(step.fields)


def build_derive(step: Step, plan: Plan) -> beam.PTransform:
    assert step.assignments is not None and step.arrow_schema is not None
    return relational.DeriveFields(step.assignments, step.arrow_schema)


def build_limit(step: Step, plan: Plan) -> beam.PTransform:
    assert step.count is not None
    return relational.LimitRecords(step.count, step.key_fields)


BUILDERS: dict[str, Builder] = {
    "source": build_component,
    "processor": build_processor,
    "filter": build_filter,
    "select": build_select,
    "derive": build_derive,
    "limit": build_limit,
    "sink": build_component,
}


def label(step: Step) -> str:
    return f"{step.id}"


def build_pipeline(plan: Plan, options: PipelineOptions, runner: Any = None) -> beam.Pipeline:
    """A Beam pipeline for ``plan``; sinks fan out from the last stage."""
    pipeline = beam.Pipeline(runner=runner, options=options)
    pcoll = pipeline | label(plan.source) >> BUILDERS["source"](plan.source, plan)
    for step in plan.stages:
        pcoll = pcoll | label(step) >> BUILDERS[step.kind](step, plan)
    for step in plan.sinks:
        _ = pcoll | label(step) >> BUILDERS["sink"](step, plan)
    return pipeline
