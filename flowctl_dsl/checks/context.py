"""What the checker passes share: the pipeline, what each pass learned, and the diagnostics."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from flowctl_dsl import ir
from flowctl_dsl.catalog import Catalog
from flowctl_dsl.catalog.settings import CheckpointConfig, RetryConfig
from flowctl_dsl.catalog.spec import Params, Spec
from flowctl_dsl.errors import Diagnostic, Span


@dataclass
class StageInfo:
    """What the checker knows after one stage: the record type flowing out and its schema."""

    label: str
    record_type: str | None
    schema: pa.Schema | None
    spec: Spec | None = None
    params: Params | None = None
    notes: list[str] = field(default_factory=list)
    key_fields: tuple[str, ...] = ()


@dataclass
class Checked:
    """The result of a clean check: the IR plus the typed facts the planner needs."""

    pipeline: ir.Pipeline
    source: StageInfo
    stages: list[StageInfo]
    sinks: list[StageInfo]
    warnings: list[Diagnostic]
    dead_letter: StageInfo | None = None
    max_error_ratio: float | None = None
    checkpoint: CheckpointConfig | None = None
    retry: RetryConfig = field(default_factory=RetryConfig)


@dataclass
class Context:
    pipeline: ir.Pipeline
    catalog: Catalog
    diagnostics: list[Diagnostic] = field(default_factory=list)
    specs: dict[int, Spec] = field(default_factory=dict)
    params: dict[int, Params] = field(default_factory=dict)
    infos: dict[int, StageInfo] = field(default_factory=dict)
    failed: set[int] = field(default_factory=set)
    dead_letter: StageInfo | None = None
    max_error_ratio: float | None = None
    checkpoint: CheckpointConfig | None = None
    retry: RetryConfig = field(default_factory=RetryConfig)

    def error(
        self, code: str, reason: str, span: Span | None, hints: list[str] | None = None
    ) -> None:
        self.diagnostics.append(Diagnostic(code, reason, span, tuple(hints or ())))

    def warn(
        self, code: str, reason: str, span: Span | None, hints: list[str] | None = None
    ) -> None:
        self.diagnostics.append(Diagnostic(code, reason, span, tuple(hints or ()), "warning"))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    def components(self) -> list[ir.Component]:
        p = self.pipeline
        return [p.source, *(s for s in p.stages if isinstance(s, ir.Process)), *p.sinks]

    def result(self) -> Checked:
        p = self.pipeline
        return Checked(
            pipeline=p,
            source=self.infos[id(p.source)],
            stages=[self.infos[id(s)] for s in p.stages],
            sinks=[self.infos[id(s)] for s in p.sinks],
            warnings=[d for d in self.diagnostics if d.severity == "warning"],
            dead_letter=self.dead_letter,
            max_error_ratio=self.max_error_ratio,
            checkpoint=self.checkpoint,
            retry=self.retry,
        )
