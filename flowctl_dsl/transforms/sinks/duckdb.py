"""``duckdb(path, table, mode)``: a table in an embedded DuckDB file, safe to replay.

DuckDB allows one writing process per file, so all records go to a single writer (one key,
GroupByKey). It creates the table from the records' pyarrow schema if missing (primary key on the
natural key in upsert mode) and inserts Arrow batches with ``INSERT OR REPLACE``, all in one
transaction: a failed run leaves the table as it was.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

import apache_beam as beam
import pyarrow as pa

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


def write_all(table: DuckTable, records: Iterable[Record]) -> int:
    """Create/check the table, then insert every record in one transaction; returns the rows."""
    con = open_database(table.path)
    count = 0
    try:
        con.execute("BEGIN TRANSACTION")
        con.execute(table.create_sql())
        table.check_columns(con)
        insert = table.insert_sql()
        for chunk in chunks(records, CHUNK_ROWS):
            batch = pa.Table.from_pylist(table.dedupe(chunk), schema=table.schema)
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


class WriteDuckdb(beam.PTransform):
    def __init__(self, table: DuckTable) -> None:
        super().__init__()
        self.table = table

    def expand(self, records: beam.PCollection) -> Any:
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
    return WriteDuckdb(table)
