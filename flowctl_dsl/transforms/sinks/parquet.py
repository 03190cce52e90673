"""``parquet(path, partition_by, compression, row_group_size, ledgers_per_file)``.

Layout: ``<path>/<ledger_range=A-B | day=YYYY-MM-DD>/ledgers-A-B.parquet``, where ``A-B`` is the
bucket of ``ledgers_per_file`` ledgers holding the rows. Records are grouped by file in Beam and each
file is written by one worker: to a hidden temp name beside it, then renamed over the final name.

Replays are idempotent: rewriting a file keeps its rows of ledgers this run did not produce and
replaces the rest (a ledger's records never change). Without a ledger column a file is replaced
whole. Files are written with the declared schema and sorted by the records' key.

With ``ctx.batches`` the elements are ``pyarrow.RecordBatch``: each is split by file with
``pyarrow.compute`` (no per-row Python), the parts are grouped by file and concatenated, and the
file is written exactly as from records (same rows, order, schema and bytes).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pyarrow.types as pat

from flowctl_dsl.catalog.warehouse_sinks import ParquetParams
from flowctl_dsl.transforms.context import BuildContext
from flowctl_dsl.transforms.records import Record
from flowctl_dsl.transforms.sinks.files import local_path
from flowctl_dsl.transforms.sinks.targets import cannot_write

LEDGER_COLUMNS = ("ledger_sequence", "sequence")
DAY_COLUMNS = ("closed_at", "ledger_closed_at")
EPOCH = date(1970, 1, 1)
UNITS_PER_DAY = {"s": 86_400, "ms": 86_400_000, "us": 86_400_000_000, "ns": 86_400_000_000_000}


def floor_div(values: pa.Array, divisor: int) -> pa.Array:
    """``values // divisor`` as Python floors it (Arrow's integer division truncates)."""
    quotient = pc.divide(values, divisor)
    inexact = pc.and_(pc.less(values, 0), pc.not_equal(pc.multiply(quotient, divisor), values))
    return pc.subtract(quotient, pc.cast(inexact, pa.int64()))


@dataclass(frozen=True)
class Layout:
    """Where a record goes: partition folder and file name from its ledger (and day)."""

    partition_by: str
    ledger_column: str | None
    day_column: str | None
    ledgers_per_file: int

    @classmethod
    def of(cls, params: ParquetParams, schema: pa.Schema) -> Layout:
        names = set(schema.names)
        ledger = next((c for c in LEDGER_COLUMNS if c in names), None)
        day = next(
            (c for c in DAY_COLUMNS if c in names and pat.is_timestamp(schema.field(c).type)),
            next((f.name for f in schema if pat.is_timestamp(f.type)), None),
        )
        if params.partition_by == "ledger_range" and ledger is None:
            raise cannot_write(
                "partition_by=ledger_range needs a ledger_sequence or sequence column",
                ["keep the column in `select`, or use partition_by=day or none"],
            )
        if params.partition_by == "day" and day is None:
            raise cannot_write(
                "partition_by=day needs a timestamp column such as closed_at",
                ["keep closed_at in `select`, or use partition_by=ledger_range or none"],
            )
        return cls(params.partition_by, ledger, day, params.ledgers_per_file)

    def bucket(self, sequence: int) -> tuple[int, int]:
        start = sequence // self.ledgers_per_file * self.ledgers_per_file
        return start, start + self.ledgers_per_file - 1

    def name(self, ledger: int | None, day: date | None) -> str:
        """The file of ``ledger``'s bucket (with a ledger column) and ``day`` (partition_by=day)."""
        name = "records.parquet"
        folder = ""
        if ledger is not None:
            start, end = self.bucket(ledger)
            name = f"ledgers-{start}-{end}.parquet"
            if self.partition_by == "ledger_range":
                folder = f"ledger_range={start}-{end}/"
        if self.partition_by == "day":
            assert day is not None
            folder = f"day={day.isoformat()}/"
        return folder + name

    def file_of(self, record: Record) -> str:
        """The file's path relative to the output folder, e.g. ``day=2024-02-06/ledgers-0-999.parquet``."""
        ledger = None
        if self.ledger_column is not None:
            ledger = int(record[self.ledger_column])
        day = None
        if self.partition_by == "day":
            assert self.day_column is not None
            value = record[self.day_column]
            if not isinstance(value, datetime):
                raise ValueError(f"{self.day_column} is {value!r}, not a timestamp")
            day = (value.astimezone(UTC) if value.tzinfo else value).date()
        return self.name(ledger, day)

    def split(self, batch: pa.RecordBatch) -> Iterator[tuple[str, pa.RecordBatch]]:
        """The batch's rows by file: ``(file_of(row), rows)``, computed column-wise."""
        if not batch.num_rows:
            return
        parts: dict[str, pa.Array] = {}
        if self.ledger_column is not None:
            ledgers = batch.column(self.ledger_column)
            if ledgers.null_count:
                raise ValueError(f"{self.ledger_column} is None in some rows")
            n = self.ledgers_per_file
            parts["start"] = pc.multiply(floor_div(ledgers.cast(pa.int64()), n), n)
        if self.partition_by == "day":
            assert self.day_column is not None
            stamps = batch.column(self.day_column)
            if stamps.null_count:
                raise ValueError(f"{self.day_column} is None, not a timestamp, in some rows")
            parts["day"] = floor_div(stamps.cast(pa.int64()), UNITS_PER_DAY[stamps.type.unit])
        files = pa.table(parts).group_by(list(parts)).aggregate([]).to_pylist() if parts else [{}]
        for part in files:
            start, days = part.get("start"), part.get("day")
            name = self.name(start, None if days is None else EPOCH + timedelta(days=days))
            if len(files) == 1:
                yield name, batch
                continue
            mask = [pc.equal(parts[k], v) for k, v in part.items()]
            yield name, batch.filter(mask[0] if len(mask) == 1 else pc.and_(*mask))


@dataclass(frozen=True)
class FileWriter:
    """Writes one file's records (merged with the rows it keeps) atomically."""

    root: str
    schema: pa.Schema
    key_fields: tuple[str, ...]
    ledger_column: str | None
    compression: str
    row_group_size: int

    def sort(self, table: pa.Table) -> pa.Table:
        keys = [k for k in self.key_fields if k in table.column_names]
        return table.sort_by([(k, "ascending") for k in keys]) if keys else table

    def merged(self, path: Path, new: pa.Table) -> pa.Table:
        if self.ledger_column is None or not path.exists():
            return new
        try:
            old = pq.read_table(path, schema=self.schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as err:
            raise ValueError(
                f"{path}: the existing file does not have this pipeline's schema ({err}); "
                "delete it or write to another path"
            ) from err
        written = pc.unique(new[self.ledger_column])
        keep = old.filter(pc.invert(pc.is_in(old[self.ledger_column], value_set=written)))
        return pa.concat_tables([keep, new]) if keep.num_rows else new

    def write(self, relative: str, new: pa.Table) -> tuple[str, int]:
        path = local_path(self.root) / relative
        table = self.sort(self.merged(path, new))
        write_atomically(path, table, self.compression, self.row_group_size)
        return str(path), table.num_rows

    def __call__(self, item: tuple[str, Iterable[Record]]) -> tuple[str, int]:
        relative, records = item
        return self.write(relative, pa.Table.from_pylist(list(records), schema=self.schema))

    def write_batches(self, item: tuple[str, Iterable[pa.RecordBatch]]) -> tuple[str, int]:
        """One file from its batches (one chunk, as from records, so the bytes are the same)."""
        relative, batches = item
        declared = [b if b.schema.equals(self.schema) else b.cast(self.schema) for b in batches]
        table = pa.Table.from_batches(declared, schema=self.schema).combine_chunks()
        return self.write(relative, table)


def write_atomically(path: Path, table: pa.Table, compression: str, row_group_size: int) -> None:
    """Write ``table`` to a hidden temp file beside ``path``, fsync, then rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            pq.write_table(
                table,
                out,
                compression=None if compression == "none" else compression,
                row_group_size=row_group_size,
            )
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class WriteParquet(beam.PTransform):
    """Key records (or batches split by file) by output file, group them, write each file once."""

    def __init__(self, layout: Layout, writer: FileWriter, batches: bool = False) -> None:
        super().__init__()
        self.layout = layout
        self.writer = writer
        self.batches = batches

    def expand(self, records: beam.PCollection) -> Any:
        if self.batches:
            keyed = records | "KeyByFile" >> beam.FlatMap(self.layout.split).with_output_types(
                beam.typehints.Tuple[str, pa.RecordBatch]
            )
            return (
                keyed
                | "GroupByFile" >> beam.GroupByKey()
                | "WriteFile" >> beam.Map(self.writer.write_batches)
            )
        return (
            records
            | "KeyByFile" >> beam.Map(lambda r, layout: (layout.file_of(r), r), self.layout)
            | "GroupByFile" >> beam.GroupByKey()
            | "WriteFile" >> beam.Map(self.writer)
        )


def build(params: ParquetParams, ctx: BuildContext) -> beam.PTransform:
    if ctx.schema is None:
        raise cannot_write("the records have no declared schema")
    layout = Layout.of(params, ctx.schema)
    root = params.path.replace("{pipeline}", ctx.pipeline)
    try:
        local_path(root)
    except ValueError as err:
        raise cannot_write(str(err)) from None
    writer = FileWriter(
        root=root,
        schema=ctx.schema,
        key_fields=ctx.key_fields,
        ledger_column=layout.ledger_column,
        compression=params.compression,
        row_group_size=params.row_group_size,
    )
    return WriteParquet(layout, writer, ctx.batches)
