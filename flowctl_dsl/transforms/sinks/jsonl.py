"""``jsonl(path)``: JSON lines in one file, ordered by record key, replaced atomically."""

from __future__ import annotations

from typing import Any

import apache_beam as beam

from flowctl_dsl.catalog.sinks import JsonlParams
from flowctl_dsl.transforms.context import BuildContext
from flowctl_dsl.transforms.records import Record, sort_key, to_json
from flowctl_dsl.transforms.sinks.files import local_path, write_lines_atomically


def write_file(
    records: list[Record], path: str, key_fields: tuple[str, ...], compress: bool
) -> int:
    ordered = sorted(records, key=sort_key(key_fields))
    return write_lines_atomically(local_path(path), (to_json(r) for r in ordered), compress)


class WriteJsonl(beam.PTransform):
    def __init__(self, path: str, key_fields: tuple[str, ...], compress: bool = False) -> None:
        super().__init__()
        self.path = path
        self.key_fields = key_fields
        self.compress = compress

    def expand(self, records: beam.PCollection) -> Any:
        return (
            records
            | "Gather" >> beam.combiners.ToList()
            | "Write" >> beam.Map(write_file, self.path, self.key_fields, self.compress)
        )


def build(params: JsonlParams, ctx: BuildContext) -> beam.PTransform:
    return WriteJsonl(params.path, ctx.key_fields, params.gzip)
