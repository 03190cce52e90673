"""``filter``, ``select``, ``derive`` and ``limit`` as Beam transforms over record dicts."""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import apache_beam as beam
import pyarrow as pa

from flowctl_dsl import ir
from flowctl_dsl.checks.types import kind_of
from flowctl_dsl.transforms.expressions import Compiler, compile_predicate, get_path
from flowctl_dsl.transforms.records import Record, sort_key


class FilterRecords(beam.PTransform):
    """Keep the records for which the condition holds."""

    def __init__(self, expr: ir.Expr, schema: pa.Schema | None) -> None:
        super().__init__()
        self.expr = expr
        self.schema = schema

    def expand(self, records: beam.PCollection) -> beam.PCollection:
        return records | beam.Filter(compile_predicate(self.expr, self.schema))


def project(record: Record, paths: list[list[str]]) -> Record:
    return {"_".join(p): get_path(p)(record) for p in paths}


class SelectFields(beam.PTransform):
    def __init__(self, paths: list[list[str]]) -> None:
        super().__init__()
        self.paths = paths

    def expand(self, records: beam.PCollection) -> beam.PCollection:
        return records | beam.Map(project, self.paths)


class DeriveFields(beam.PTransform):
    """Add computed fields; decimal results are rounded to the derived column's scale."""

    def __init__(self, assignments: list[ir.Assignment], schema: pa.Schema) -> None:
        super().__init__()
        self.assignments = assignments
        self.schema = schema

    def function(self) -> Callable[[Record], Record]:
        """The per-record function."""
        compiler = Compiler(self.schema)
        fns = [(a.name, compiler.compile(a.expr)) for a in self.assignments]
        scales: dict[str, Decimal] = {}
        for name, _ in fns:
            if name in self.schema.names and kind_of(self.schema.field(name).type) == "decimal":
                scales[name] = Decimal(1).scaleb(-self.schema.field(name).type.scale)

        def derive(record: Record) -> Record:
            out = dict(record)
            for name, fn in fns:
                value: Any = fn(out)
                if name in scales and value is not None:
                    value = Decimal(value).quantize(scales[name], rounding=ROUND_HALF_EVEN)
                out[name] = value
            return out

        return derive

    def expand(self, records: beam.PCollection) -> beam.PCollection:
        return records | beam.Map(self.function())


class LimitRecords(beam.PTransform):
    """The first ``count`` records in key order (deterministic, whatever the bundling)."""

    def __init__(self, count: int, key_fields: list[str]) -> None:
        super().__init__()
        self.count = count
        self.key_fields = key_fields

    def expand(self, records: beam.PCollection) -> beam.PCollection:
        key = sort_key(self.key_fields)
        return (
            records
            | beam.combiners.Top.Of(self.count, key=key, reverse=True)
            | beam.FlatMap(lambda rows: rows)
        )
