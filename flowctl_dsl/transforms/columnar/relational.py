"""``filter``, ``select``, ``derive`` and ``limit`` over ``pyarrow.RecordBatch`` elements.

Each batch comes out with the plan's schema for the step. ``filter`` and ``derive`` use the
expressions compiled by :mod:`flowctl_dsl.transforms.columnar.expressions` (``pyarrow.compute``
when the semantics allow, else the reference evaluated row by row inside the batch).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc
from apache_beam.transforms.window import GlobalWindows
from apache_beam.utils.windowed_value import WindowedValue

from flowctl_dsl import ir
from flowctl_dsl.transforms import relational
from flowctl_dsl.transforms.columnar import coder as _coder  # noqa: F401 - registers the coder
from flowctl_dsl.transforms.columnar import expressions
from flowctl_dsl.transforms.columnar.rows import from_records, to_records

#: Rows a coalesced batch aims at: big enough that a compute kernel's fixed cost (~0.2 ms per
#: call through Acero) is small next to its per-row work, small enough to stay a few MB.
COALESCE_ROWS = 65_536


class CoalesceBatches(beam.DoFn):  # type: ignore[misc]
    """Join the per-ledger batches of a bundle into batches of about ``rows`` rows (bounded,
    globally windowed input: what is left is emitted when the bundle ends)."""

    def __init__(self, rows: int = COALESCE_ROWS) -> None:
        self.rows = rows
        self.pending: list[pa.RecordBatch] = []
        self.count = 0

    def start_bundle(self) -> None:
        self.pending, self.count = [], 0

    def process(self, batch: pa.RecordBatch) -> Iterator[pa.RecordBatch]:
        self.pending.append(batch)
        self.count += batch.num_rows
        if self.count >= self.rows:
            yield self.flush()

    def finish_bundle(self) -> Iterator[WindowedValue]:
        if self.pending:
            yield GlobalWindows.windowed_value_at_end_of_window(self.flush())

    def flush(self) -> pa.RecordBatch:
        pending, self.pending, self.count = self.pending, [], 0
        if len(pending) == 1:
            return pending[0]
        return pa.Table.from_batches(pending).combine_chunks().to_batches()[0]


class Coalesce(beam.PTransform):
    """Fewer, bigger batches for the stages after the processor (bounded input only; an
    unbounded stream keeps one batch per ledger so nothing waits for a bundle to end)."""

    def __init__(self, rows: int = COALESCE_ROWS) -> None:
        super().__init__()
        self.rows = rows

    def expand(self, batches: beam.PCollection) -> beam.PCollection:
        if not batches.is_bounded:
            return batches
        return batches | beam.ParDo(CoalesceBatches(self.rows)).with_output_types(pa.RecordBatch)


class CoalescedProcessor(beam.PTransform):
    """A processor's ParDo and the coalescing of its batches, as one step of the plan; with
    ``tagged`` (dead letters) the outputs are ``records`` and ``dead_letter``."""

    def __init__(self, process: beam.PTransform, tagged: bool, dead_letter_tag: str) -> None:
        super().__init__()
        self.process = process
        self.tagged = tagged
        self.tag = dead_letter_tag

    def expand(self, ledgers: beam.PCollection) -> Any:
        out = ledgers | "process" >> self.process
        if not self.tagged:
            return out | "coalesce" >> Coalesce()
        return {"records": out["records"] | "coalesce" >> Coalesce(), self.tag: out[self.tag]}


class FilterBatches(beam.PTransform):
    """Keep the rows for which the condition holds; batches left empty are dropped."""

    def __init__(self, expr: ir.Expr, schema: pa.Schema) -> None:
        super().__init__()
        self.expr = expr
        self.schema = schema

    def expand(self, batches: beam.PCollection) -> beam.PCollection:
        keep = expressions.compile_filter(self.expr, self.schema)

        def apply(batch: pa.RecordBatch) -> Iterator[pa.RecordBatch]:
            kept = keep(batch)
            if kept.num_rows:
                yield kept

        return batches | beam.FlatMap(apply).with_output_types(pa.RecordBatch)


def column_at(batch: pa.RecordBatch, path: list[str]) -> pa.Array:
    """The column at a field path; a field of a null struct is null."""
    column: Any = batch.column(path[0])
    for part in path[1:]:
        column = pc.struct_field(column, [column.type.get_field_index(part)])
    return column


def select(batch: pa.RecordBatch, paths: list[list[str]], schema: pa.Schema) -> pa.RecordBatch:
    columns = [column_at(batch, p) for p in paths]
    return pa.RecordBatch.from_arrays(columns, schema=schema)


class SelectColumns(beam.PTransform):
    def __init__(self, paths: list[list[str]], schema: pa.Schema) -> None:
        super().__init__()
        self.paths = paths
        self.schema = schema

    def expand(self, batches: beam.PCollection) -> beam.PCollection:
        return batches | beam.Map(select, self.paths, self.schema).with_output_types(pa.RecordBatch)


class DeriveColumns(beam.PTransform):
    """Append computed columns in order (a later one may use an earlier one)."""

    def __init__(self, assignments: list[ir.Assignment], schema: pa.Schema) -> None:
        super().__init__()
        self.assignments = assignments
        self.schema = schema

    def function(self) -> Callable[[pa.RecordBatch], pa.RecordBatch]:
        """The per-batch function (compiled here, once per worker)."""
        steps = [
            (out, expressions.compile_column(a.expr, seen, out.type))
            for a, seen, out in expressions.derived_columns(self.assignments, self.schema)
        ]

        def derive(batch: pa.RecordBatch) -> pa.RecordBatch:
            for out, column in steps:
                batch = batch.append_column(out, column(batch))
            return batch

        return derive

    def expand(self, batches: beam.PCollection) -> beam.PCollection:
        return batches | beam.Map(self.function()).with_output_types(pa.RecordBatch)


class LimitBatches(beam.PTransform):
    """The first ``count`` records in key order, as one batch (the reference on records)."""

    def __init__(self, count: int, key_fields: list[str], schema: pa.Schema) -> None:
        super().__init__()
        self.count = count
        self.key_fields = key_fields
        self.schema = schema

    def expand(self, batches: beam.PCollection) -> beam.PCollection:
        return (
            batches
            | "Rows" >> Unbatch()
            | "Limit" >> relational.LimitRecords(self.count, self.key_fields)
            | "Gather" >> beam.combiners.ToList()
            | "Batch" >> beam.FlatMap(rebatch, self.schema).with_output_types(pa.RecordBatch)
        )


def rebatch(records: list[dict[str, Any]], schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    if records:
        yield from_records(records, schema)


class AtRecordEdge(beam.PTransform):
    """A sink that takes records, fed from batches: the conversion and the sink as one step."""

    def __init__(self, sink: beam.PTransform) -> None:
        super().__init__()
        self.sink = sink

    def expand(self, batches: beam.PCollection) -> Any:
        return batches | "records" >> Unbatch() | "write" >> self.sink


class Unbatch(beam.PTransform):
    """Batches → the records the reference path has (the edge to record-at-a-time stages)."""

    def expand(self, batches: beam.PCollection) -> beam.PCollection:
        return batches | beam.FlatMap(to_records)
