"""``jsonl(path)``: JSON lines in one file, ordered by record key, replaced atomically.

A resumed run (``keep_ledgers_before`` in the build options, set by the checkpointing runner for
every segment after the first ledger of the range) keeps the existing lines of earlier ledgers
and replaces the rest, so the file ends up as an uninterrupted run writes it.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import apache_beam as beam

from flowctl_dsl.catalog.sinks import JsonlParams
from flowctl_dsl.transforms.context import BuildContext
from flowctl_dsl.transforms.records import Record, sort_key, to_json
from flowctl_dsl.transforms.sinks.files import local_path, write_lines_atomically

LEDGER_COLUMNS = ("ledger_sequence", "sequence")


def kept_lines(path: Path, column: str, before: int, compress: bool) -> Iterator[str]:
    """Lines of the existing file whose ``column`` is below ``before`` (resumed runs)."""
    if not path.exists():
        return
    opener = gzip.open if compress else open
    with opener(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            line = line.rstrip("\n")
            value = json.loads(line).get(column) if line else None
            if isinstance(value, int) and value < before:
                yield line


def write_file(
    records: list[Record],
    path: str,
    key_fields: tuple[str, ...],
    compress: bool,
    keep: tuple[str, int] | None = None,
) -> int:
    ordered = sorted(records, key=sort_key(key_fields))
    target = local_path(path)
    lines = (to_json(r) for r in ordered)
    if keep is not None:
        earlier = list(kept_lines(target, keep[0], keep[1], compress))
        return write_lines_atomically(target, [*earlier, *lines], compress)
    return write_lines_atomically(target, lines, compress)


class WriteJsonl(beam.PTransform):
    def __init__(
        self,
        path: str,
        key_fields: tuple[str, ...],
        compress: bool = False,
        keep: tuple[str, int] | None = None,
    ) -> None:
        super().__init__()
        self.path = path
        self.key_fields = key_fields
        self.compress = compress
        self.keep = keep

    def expand(self, records: beam.PCollection) -> Any:
        return (
            records
            | "Gather" >> beam.combiners.ToList()
            | "Write" >> beam.Map(write_file, self.path, self.key_fields, self.compress, self.keep)
        )


def build(params: JsonlParams, ctx: BuildContext) -> beam.PTransform:
    keep = None
    before = ctx.options.get("keep_ledgers_before")
    names = ctx.schema.names if ctx.schema is not None else []
    column = next((c for c in LEDGER_COLUMNS if c in names), None)
    if isinstance(before, int) and column is not None:
        keep = (column, before)
    return WriteJsonl(params.path, ctx.key_fields, params.gzip, keep)
