"""``duckdb(path, table, mode)``: a table in an embedded DuckDB file, safe to replay.

DuckDB allows one writing process per file, so all records go to a single writer (one key,
GroupByKey). It creates the table from the records' pyarrow schema if missing (primary key on the
natural key in upsert mode) and inserts Arrow batches with ``INSERT OR REPLACE``, all in one
transaction: a failed run leaves the table as it was.

With ``ctx.batches`` the elements are ``pyarrow.RecordBatch``: they are inserted as they are,
concatenated to chunks of about ``CHUNK_ROWS`` rows and deduplicated with Arrow.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc

from flowctl_dsl.catalog.warehouse_sinks import DuckdbParams
from flowctl_dsl.transforms.context import BuildContext
from flowctl_dsl.transforms.records import Record
from flowctl_dsl.transforms.sinks import sql_types
from flowctl_dsl.transforms.sinks.files import local_path
from flowctl_dsl.transforms.sinks.targets import (
    SinkSchemaError,
    Target,
    cannot_write,
    check_identifier,
    key_for,
    with_retries,
)

CHUNK_ROWS = 50_000
BATCH_VIEW = "flowctl_batch"
ROW_COLUMN = "__flowctl_row"


def quote(name: str) -> str:
    """A checked identifier in double quotes (checked names contain no quotes)."""
    return '"' + check_identifier(name) + '"'


@dataclass(frozen=True)
class DuckTable:
    path: str
    name: str
    schema: pa.Schema
    key: tuple[str, ...]
    upsert: bool

    def create_sql(self) -> str:
        cols = [
            f"{quote(f.name)} {sql_types.duckdb_type(f.type)}{'' if f.nullable else ' NOT NULL'}"
            for f in self.schema
        ]
        if self.upsert:
            cols.append(f"PRIMARY KEY ({', '.join(quote(k) for k in self.key)})")
        return f"CREATE TABLE IF NOT EXISTS {quote(self.name)} ({', '.join(cols)})"

    def insert_sql(self) -> str:
        names = ", ".join(quote(c) for c in self.schema.names)
        verb = "INSERT OR REPLACE INTO" if self.upsert else "INSERT INTO"
        return f"{verb} {quote(self.name)} ({names}) SELECT {names} FROM {BATCH_VIEW}"

    def dedupe(self, records: list[Record]) -> list[Record]:
        """The last record of each key: one statement cannot update a row twice."""
        if not self.upsert:
            return records
        return list({tuple(r.get(k) for k in self.key): r for r in records}.values())

    def dedupe_table(self, rows: pa.Table) -> pa.Table:
        """:meth:`dedupe` with Arrow: each key's last row, placed where the key first occurs."""
        if not self.upsert or not rows.num_rows:
            return rows
        index = pc.indices_nonzero(pa.repeat(True, rows.num_rows))  # 0, 1, 2, ...
        keys = rows.select(list(self.key)).append_column(ROW_COLUMN, index)
        found = keys.group_by(list(self.key), use_threads=False).aggregate(
            [(ROW_COLUMN, "min"), (ROW_COLUMN, "max")]
        )
        if found.num_rows == rows.num_rows:
            return rows
        return rows.take(found.sort_by(f"{ROW_COLUMN}_min")[f"{ROW_COLUMN}_max"])

    def check_columns(self, con: Any) -> None:
        rows = con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "AND table_schema = current_schema()",
            [self.name],
        ).fetchall()
        missing = [c for c in self.schema.names if c not in {r[0] for r in rows}]
        if missing:
            raise SinkSchemaError(
                f"table {self.name} in {self.path} exists without the column(s) "
                f"{', '.join(missing)}",
                hints=("add the columns, drop the table, or write to another table",),
            )


def chunks(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    it = iter(records)
    while chunk := list(islice(it, size)):
        yield chunk


def open_database(path: str) -> Any:
    import duckdb

    target = Target("duckdb", path)
    local_path(path).parent.mkdir(parents=True, exist_ok=True)
    return with_retries(lambda: duckdb.connect(path), target, (duckdb.IOException,))


def table_chunks(batches: Iterable[pa.RecordBatch], schema: pa.Schema) -> Iterator[pa.Table]:
    """The non-empty batches concatenated into tables of at least ``CHUNK_ROWS`` rows (the
    last one smaller)."""
    pending: list[pa.RecordBatch] = []
    rows = 0
    for batch in batches:
        if batch.num_rows:
            pending.append(batch if batch.schema.equals(schema) else batch.cast(schema))
            rows += batch.num_rows
        if rows >= CHUNK_ROWS:
            yield pa.Table.from_batches(pending, schema=schema)
            pending, rows = [], 0
    if pending:
        yield pa.Table.from_batches(pending, schema=schema)


def write_tables(table: DuckTable, chunks: Iterable[pa.Table]) -> int:
    """Create/check the table, then insert every chunk in one transaction; returns the rows."""
    con = open_database(table.path)
    count = 0
    try:
        con.execute("BEGIN TRANSACTION")
        con.execute(table.create_sql())
        table.check_columns(con)
        insert = table.insert_sql()
        for batch in chunks:
            con.register(BATCH_VIEW, batch)
            con.execute(insert)
            con.unregister(BATCH_VIEW)
            count += batch.num_rows
        con.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(Exception):
            con.execute("ROLLBACK")
        raise
    finally:
        con.close()
    return count


def write_all(table: DuckTable, records: Iterable[Record]) -> int:
    """Insert every record (in chunks of ``CHUNK_ROWS``) in one transaction; returns the rows."""
    return write_tables(
        table,
        (
            pa.Table.from_pylist(table.dedupe(chunk), schema=table.schema)
            for chunk in chunks(records, CHUNK_ROWS)
        ),
    )


def write_batches(table: DuckTable, batches: Iterable[pa.RecordBatch]) -> int:
    """Insert every batch's rows in one transaction; returns the rows."""
    return write_tables(table, (table.dedupe_table(t) for t in table_chunks(batches, table.schema)))


class WriteDuckdb(beam.PTransform):
    def __init__(self, table: DuckTable, batches: bool = False) -> None:
        super().__init__()
        self.table = table
        self.batches = batches

    def expand(self, records: beam.PCollection) -> Any:
        if self.batches:  # no rows, no writer: the table is not even created, as from records
            return (
                records
                | "NonEmpty" >> beam.Filter(lambda b: b.num_rows > 0)
                | "OneWriter"
                >> beam.Map(lambda b: (0, b)).with_output_types(
                    beam.typehints.Tuple[int, pa.RecordBatch]
                )
                | "Gather" >> beam.GroupByKey()
                | "Upsert"
                >> beam.Map(lambda item, table: write_batches(table, item[1]), self.table)
            )
        return (
            records
            | "OneWriter" >> beam.Map(lambda r: (0, r))
            | "Gather" >> beam.GroupByKey()
            | "Upsert" >> beam.Map(lambda item, table: write_all(table, item[1]), self.table)
        )


def build(params: DuckdbParams, ctx: BuildContext) -> beam.PTransform:
    if ctx.schema is None:
        raise cannot_write("the records have no declared schema")
    try:
        local_path(params.path)
        for f in ctx.schema:
            check_identifier(f.name, "column name")
            sql_types.duckdb_type(f.type)
    except (ValueError, TypeError) as err:
        raise cannot_write(str(err)) from None
    key = key_for(params.mode, ctx)
    table = DuckTable(params.path, params.table, ctx.schema, key, params.mode == "upsert")
    return WriteDuckdb(table, ctx.batches)
