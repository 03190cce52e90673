"""``jsonl(path)``: JSON lines in one file, ordered by record key, replaced atomically.

A resumed run (``keep_ledgers_before`` in the build options, set by the checkpointing runner for
every segment after the first ledger of the range) keeps the existing lines of earlier ledgers
and replaces the rest, so the file ends up as an uninterrupted run writes it.

With ``ctx.batches`` the elements are ``pyarrow.RecordBatch``: they are gathered as Arrow, sorted
by Arrow and turned into records a chunk at a time while the file is written (same bytes).
"""

from __future__ import annotations

import gzip
import itertools
import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.types as pat

from flowctl_dsl.catalog.sinks import JsonlParams
from flowctl_dsl.transforms.columnar.rows import to_records
from flowctl_dsl.transforms.context import BuildContext
from flowctl_dsl.transforms.records import Record, sort_key, to_json
from flowctl_dsl.transforms.sinks.files import local_path, write_lines_atomically

LEDGER_COLUMNS = ("ledger_sequence", "sequence")
#: Rows turned into records at a time when writing from batches.
CHUNK_ROWS = 8192


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


def gather(batches: Iterable[pa.RecordBatch]) -> pa.Table | None:
    """The batches as one table (None when there are none)."""
    batches = list(batches)
    return pa.Table.from_batches(batches) if batches else None


def orders_like_python(kind: pa.DataType) -> bool:
    """Whether Arrow sorts values of ``kind`` as Python sorts their record values."""
    return any(
        test(kind)
        for test in (
            pat.is_integer,
            pat.is_boolean,
            pat.is_string,
            pat.is_large_string,
            pat.is_binary,
            pat.is_large_binary,
            pat.is_decimal,
            pat.is_timestamp,
            pat.is_date,
        )
    )


def ordered_lines(table: pa.Table | None, key_fields: Sequence[str]) -> Iterator[str]:
    """The rows' JSON lines in the order of ``sorted(records, key=sort_key(key_fields))``.

    Arrow sorts by the key (nulls first); rows with equal keys are then ordered by their JSON
    text. Key types Arrow may order differently (floats, nested) fall back to a Python sort.
    """
    if table is None:
        return
    keys = [k for k in key_fields if k in table.column_names]
    if not all(orders_like_python(table.schema.field(k).type) for k in keys):
        records = [r for b in table.to_batches() for r in to_records(b)]
        yield from (to_json(r) for r in sorted(records, key=sort_key(key_fields)))
        return
    if keys:
        table = table.sort_by([(k, "ascending", "at_start") for k in keys])
    run: list[str] = []
    run_key: tuple[Any, ...] = ()
    for batch in table.to_batches(max_chunksize=CHUNK_ROWS):
        for record in to_records(batch):
            key = tuple(record[k] for k in keys)
            if run and key != run_key:
                yield from sorted(run)
                run = []
            run_key = key
            run.append(to_json(record))
    yield from sorted(run)


def write_lines(
    lines: Iterable[str], path: str, compress: bool, keep: tuple[str, int] | None = None
) -> int:
    """Write ``lines`` (after the kept lines of a resumed run) atomically; returns the count."""
    target = local_path(path)
    if keep is not None:
        # streamed: the old file is read while the new one is written beside it, then renamed
        earlier = kept_lines(target, keep[0], keep[1], compress)
        return write_lines_atomically(target, itertools.chain(earlier, lines), compress)
    return write_lines_atomically(target, lines, compress)


def write_file(
    records: list[Record],
    path: str,
    key_fields: tuple[str, ...],
    compress: bool,
    keep: tuple[str, int] | None = None,
) -> int:
    ordered = sorted(records, key=sort_key(key_fields))
    return write_lines((to_json(r) for r in ordered), path, compress, keep)


def write_batches(
    batches: list[pa.RecordBatch],
    path: str,
    key_fields: tuple[str, ...],
    compress: bool,
    keep: tuple[str, int] | None = None,
) -> int:
    return write_lines(ordered_lines(gather(batches), key_fields), path, compress, keep)


class WriteJsonl(beam.PTransform):
    def __init__(
        self,
        path: str,
        key_fields: tuple[str, ...],
        compress: bool = False,
        keep: tuple[str, int] | None = None,
        batches: bool = False,
    ) -> None:
        super().__init__()
        self.path = path
        self.key_fields = key_fields
        self.compress = compress
        self.keep = keep
        self.batches = batches

    def expand(self, records: beam.PCollection) -> Any:
        write = write_batches if self.batches else write_file
        return (
            records
            | "Gather" >> beam.combiners.ToList()
            | "Write" >> beam.Map(write, self.path, self.key_fields, self.compress, self.keep)
        )


def build(params: JsonlParams, ctx: BuildContext) -> beam.PTransform:
    keep = None
    before = ctx.options.get("keep_ledgers_before")
    names = ctx.schema.names if ctx.schema is not None else []
    column = next((c for c in LEDGER_COLUMNS if c in names), None)
    if isinstance(before, int) and column is not None:
        keep = (column, before)
    return WriteJsonl(params.path, ctx.key_fields, params.gzip, keep, ctx.batches)
