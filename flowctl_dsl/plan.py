"""Checked IR → plan: the stages to build, each with its parameters, record type and schema.

The plan is what ``compile`` writes as ``plan.json`` and what ``explain`` shows; the compiler
builds Beam transforms from it. Typed facts the compiler needs (parameter models, pyarrow schemas)
ride along as private attributes and are not serialised.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, PrivateAttr

from flowctl_dsl import ir
from flowctl_dsl.catalog.dead_letter import DEAD_LETTER_SCHEMA
from flowctl_dsl.catalog.settings import CheckpointConfig, RetryConfig
from flowctl_dsl.catalog.spec import Params, Spec
from flowctl_dsl.checks.context import Checked, StageInfo

StepKind = Literal["source", "processor", "filter", "select", "derive", "limit", "sink"]


class Column(BaseModel):
    name: str
    type: str
    nullable: bool = True


class Step(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    id: str
    kind: StepKind
    name: str
    impl: str | None = None
    params: dict[str, Any] = {}
    record_type: str | None = None
    columns: list[Column] = []
    key_fields: list[str] = []
    notes: list[str] = []
    guarantee: str | None = None
    expr: ir.Expr | None = None
    fields: list[list[str]] | None = None
    assignments: list[ir.Assignment] | None = None
    count: int | None = None

    _spec: Spec | None = PrivateAttr(default=None)
    _params: Params | None = PrivateAttr(default=None)
    _schema: pa.Schema | None = PrivateAttr(default=None)
    _input_schema: pa.Schema | None = PrivateAttr(default=None)

    @property
    def spec(self) -> Spec | None:
        return self._spec

    @property
    def typed_params(self) -> Params | None:
        return self._params

    @property
    def arrow_schema(self) -> pa.Schema | None:
        """The pyarrow schema of the records this step emits."""
        return self._schema

    @property
    def input_schema(self) -> pa.Schema | None:
        return self._input_schema


class Plan(BaseModel):
    pipeline: str
    ir_sha256: str
    source: Step
    stages: list[Step]
    sinks: list[Step]
    #: Where records that a stage cannot handle go (``on_error: dead_letter(…)``); None = fail fast.
    dead_letter: Step | None = None
    max_error_ratio: float | None = None
    checkpoint: CheckpointConfig | None = None
    retry: RetryConfig = RetryConfig()

    @property
    def steps(self) -> list[Step]:
        return [self.source, *self.stages, *self.sinks]


def columns(schema: pa.Schema | None) -> list[Column]:
    if schema is None:
        return []
    return [Column(name=f.name, type=str(f.type), nullable=f.nullable) for f in schema]


def effective_params(spec: Spec | None, params: Params | None) -> dict[str, Any]:
    """The parameters a component runs with: given values over defaults (spec and model)."""
    out: dict[str, Any] = dict(spec.defaults) if spec else {}
    if params is not None:
        for key, value in params.model_dump(mode="json").items():
            if value is not None or key not in out:
                out[key] = value
    return out


def step_from(info: StageInfo, index: int, kind: StepKind, input_schema: pa.Schema | None) -> Step:
    spec = info.spec
    step = Step(
        id=f"{index:02d}_{info.label}",
        kind=kind,
        name=spec.name if spec else info.label,
        impl=spec.impl if spec else None,
        params=effective_params(spec, info.params),
        record_type=info.record_type,
        columns=columns(info.schema),
        key_fields=list(info.key_fields),
        notes=list(info.notes),
        guarantee=spec.guarantee if spec else None,
    )
    step._spec = spec
    step._params = info.params
    step._schema = info.schema
    step._input_schema = input_schema
    return step


def resolve_primary(expr: ir.Expr, info: StageInfo, primary: str | None) -> ir.Expr:
    if isinstance(expr, ir.Compare) and isinstance(expr.left, ir.FieldRef) and not expr.left.path:
        assert primary is not None
        return expr.model_copy(update={"left": ir.FieldRef(path=[primary])})
    return expr


def build_plan(checked: Checked) -> Plan:
    p = checked.pipeline
    source = step_from(checked.source, 0, "source", None)
    stages: list[Step] = []
    schema = checked.source.schema
    primary: str | None = None
    for index, (stage, info) in enumerate(zip(p.stages, checked.stages, strict=True), start=1):
        kind: StepKind = "processor" if isinstance(stage, ir.Process) else stage.stage
        step = step_from(info, index, kind, schema)
        match stage:
            case ir.Process():
                primary = info.spec.primary_field if info.spec else None
            case ir.Filter():
                step.expr = resolve_primary(stage.expr, info, primary)
            case ir.Select():
                step.fields = [f.path for f in stage.fields]
                primary = primary if primary in (info.schema.names if info.schema else []) else None
            case ir.Derive():
                step.assignments = stage.assignments
            case ir.Limit():
                step.count = stage.count
        stages.append(step)
        schema = info.schema
    start = len(stages) + 1
    sinks = [step_from(info, start + i, "sink", schema) for i, info in enumerate(checked.sinks)]
    digest = hashlib.sha256(ir.dump(p).encode()).hexdigest()
    dead_letter = None
    if checked.dead_letter is not None:
        dead_letter = step_from(checked.dead_letter, start + len(sinks), "sink", DEAD_LETTER_SCHEMA)
    return Plan(
        pipeline=p.name,
        ir_sha256=digest,
        source=source,
        stages=stages,
        sinks=sinks,
        dead_letter=dead_letter,
        max_error_ratio=checked.max_error_ratio,
        checkpoint=checked.checkpoint,
        retry=checked.retry,
    )
