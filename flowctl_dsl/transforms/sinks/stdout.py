"""``stdout``: one JSON object per line on standard output.

Bounded input is gathered and printed ordered by the record key. Unbounded input (a source that
follows the tip) cannot be gathered: each record is printed and flushed as it arrives, in the
order the source emits ledgers. With ``ctx.batches`` the elements are ``pyarrow.RecordBatch``
and the output is the same: gathered batches are sorted as in :mod:`.jsonl`, an unbounded
batch's rows are printed (then flushed) when it arrives.
"""

from __future__ import annotations

import sys
from typing import Any

import apache_beam as beam
import pyarrow as pa

from flowctl_dsl.catalog.sinks import StdoutParams
from flowctl_dsl.transforms.columnar.rows import to_records
from flowctl_dsl.transforms.context import BuildContext
from flowctl_dsl.transforms.records import Record, sort_key, to_json
from flowctl_dsl.transforms.sinks.jsonl import gather, ordered_lines


def print_sorted(records: list[Record], key_fields: tuple[str, ...]) -> None:
    out = sys.stdout
    for record in sorted(records, key=sort_key(key_fields)):
        out.write(to_json(record) + "\n")
    out.flush()


def print_now(record: Record) -> None:
    out = sys.stdout
    out.write(to_json(record) + "\n")
    out.flush()


def print_sorted_batches(batches: list[pa.RecordBatch], key_fields: tuple[str, ...]) -> None:
    out = sys.stdout
    for line in ordered_lines(gather(batches), key_fields):
        out.write(line + "\n")
    out.flush()


def print_batch_now(batch: pa.RecordBatch) -> None:
    if not batch.num_rows:
        return
    out = sys.stdout
    for record in to_records(batch):
        out.write(to_json(record) + "\n")
    out.flush()


class WriteStdout(beam.PTransform):
    def __init__(self, key_fields: tuple[str, ...], batches: bool = False) -> None:
        super().__init__()
        self.key_fields = key_fields
        self.batches = batches

    def expand(self, records: beam.PCollection) -> Any:
        if not records.is_bounded:
            return records | "Print" >> beam.Map(print_batch_now if self.batches else print_now)
        return (
            records
            | "Gather" >> beam.combiners.ToList()
            | "Print"
            >> beam.Map(print_sorted_batches if self.batches else print_sorted, self.key_fields)
        )


def build(params: StdoutParams, ctx: BuildContext) -> beam.PTransform:
    return WriteStdout(ctx.key_fields, ctx.batches)
