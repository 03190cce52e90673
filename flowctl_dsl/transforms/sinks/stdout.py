"""``stdout``: one JSON object per line on standard output.

Bounded input is gathered and printed ordered by the record key. Unbounded input (a source that
follows the tip) cannot be gathered: each record is printed and flushed as it arrives, in the
order the source emits ledgers.
"""

from __future__ import annotations

import sys
from typing import Any

import apache_beam as beam

from flowctl_dsl.catalog.sinks import StdoutParams
from flowctl_dsl.transforms.context import BuildContext
from flowctl_dsl.transforms.records import Record, sort_key, to_json


def print_sorted(records: list[Record], key_fields: tuple[str, ...]) -> None:
    out = sys.stdout
    for record in sorted(records, key=sort_key(key_fields)):
        out.write(to_json(record) + "\n")
    out.flush()


def print_now(record: Record) -> None:
    out = sys.stdout
    out.write(to_json(record) + "\n")
    out.flush()


class WriteStdout(beam.PTransform):
    def __init__(self, key_fields: tuple[str, ...]) -> None:
        super().__init__()
        self.key_fields = key_fields

    def expand(self, records: beam.PCollection) -> Any:
        if not records.is_bounded:
            return records | "Print" >> beam.Map(print_now)
        return (
            records
            | "Gather" >> beam.combiners.ToList()
            | "Print" >> beam.Map(print_sorted, self.key_fields)
        )


def build(params: StdoutParams, ctx: BuildContext) -> beam.PTransform:
    return WriteStdout(ctx.key_fields)
