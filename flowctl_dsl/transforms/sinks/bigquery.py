"""``bigquery(table, method, location)``: a BigQuery table, partitioned by day and clustered.

The target is created if missing from the records' pyarrow schema (:func:`sql_types.bigquery_field`),
partitioned by DAY on ``closed_at`` (when present) and clustered on the natural key (first four).

``method=load`` (default, idempotent): one writer per run streams the records into a local
Parquet file, loads it into a fresh staging table (``WRITE_TRUNCATE``, expires in a day), then runs
one ``MERGE`` into the target on the natural key — matched rows are updated, new rows inserted, so
a replay or an overlapping backfill adds no duplicates and never deletes rows it did not write
(``WRITE_TRUNCATE`` on day partitions would drop the rest of a partially re-run day). The MERGE is
limited to the ``closed_at`` range of the batch so BigQuery prunes partitions. The staging table is
dropped afterwards.

``method=streaming``: ``insertAll`` with the natural key as ``insertId`` — BigQuery drops
duplicates only on a best-effort basis (about a minute), so replays are at-least-once.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import datetime as dt
import os
import secrets
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
import pyarrow.types as pat

from flowctl_dsl.catalog.warehouse_sinks import BigqueryParams
from flowctl_dsl.transforms.context import BuildContext
from flowctl_dsl.transforms.records import Record
from flowctl_dsl.transforms.sinks import sql_types
from flowctl_dsl.transforms.sinks.targets import (
    SinkUnreachableError,
    cannot_write,
    check_identifier,
    key_for,
)

PARTITION_COLUMN = "closed_at"
MAX_CLUSTERING = 4
CHUNK_ROWS = 50_000
STREAM_ROWS = 500
STAGING_TTL = dt.timedelta(days=1)


@dataclass(frozen=True)
class BqTable:
    """The target: id, schema, key, partitioning and clustering (picklable)."""

    table_id: str
    schema: pa.Schema
    key: tuple[str, ...]
    method: str
    location: str | None = None

    @property
    def fields(self) -> list[dict[str, Any]]:
        return sql_types.bigquery_schema(self.schema)

    @property
    def partition_field(self) -> str | None:
        names = self.schema.names
        if PARTITION_COLUMN in names and pat.is_timestamp(self.schema.field(PARTITION_COLUMN).type):
            return PARTITION_COLUMN
        return None

    @property
    def clustering(self) -> list[str]:
        return list(self.key[:MAX_CLUSTERING])

    @property
    def project(self) -> str | None:
        parts = self.table_id.split(".")
        return parts[0] if len(parts) == 3 else None

    def qualified(self, project: str) -> BqTable:
        """This table with ``project`` filled in when the id names only ``dataset.table``."""
        if self.project is not None:
            return self
        return dataclasses.replace(self, table_id=f"{project}.{self.table_id}")

    def staging_id(self, token: str) -> str:
        return f"{self.table_id}__flowctl_stage_{token}"


# ---- what is sent to BigQuery (pure functions, unit-tested with a fake client) ------------------
def table_resource(table: BqTable) -> Any:
    from google.cloud import bigquery

    resource = bigquery.Table(
        table.table_id, schema=[bigquery.SchemaField.from_api_repr(f) for f in table.fields]
    )
    if table.partition_field:
        resource.time_partitioning = bigquery.TimePartitioning(
            type_=bigquery.TimePartitioningType.DAY, field=table.partition_field
        )
    if table.clustering:
        resource.clustering_fields = table.clustering
    return resource


def staging_resource(table: BqTable, token: str, now: dt.datetime) -> Any:
    from google.cloud import bigquery

    resource = bigquery.Table(
        table.staging_id(token),
        schema=[bigquery.SchemaField.from_api_repr(f) for f in table.fields],
    )
    resource.expires = now + STAGING_TTL
    return resource


def load_job_config(table: BqTable) -> Any:
    """Parquet into the staging table, replacing whatever it held."""
    from google.cloud import bigquery

    return bigquery.LoadJobConfig(
        source_format=bigquery.SourceFormat.PARQUET,
        write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE,
        create_disposition=bigquery.CreateDisposition.CREATE_NEVER,
        schema=[bigquery.SchemaField.from_api_repr(f) for f in table.fields],
        decimal_target_types=["NUMERIC", "BIGNUMERIC"],
    )


def _q(table_id: str) -> str:
    return f"`{table_id}`"


def merge_sql(table: BqTable, staging_id: str) -> str:
    """MERGE the staging rows (one per key) into the target on the natural key."""
    cols = [check_identifier(c, "column name") for c in table.schema.names]
    keys = [check_identifier(k, "column name") for k in table.key]
    rest = [c for c in cols if c not in keys]
    on = " AND ".join(f"T.`{k}` = S.`{k}`" for k in keys)
    if table.partition_field:
        p = table.partition_field
        on += f" AND T.`{p}` BETWEEN @lo AND @hi"
    source = (
        f"(SELECT * EXCEPT(_flowctl_n) FROM (SELECT *, ROW_NUMBER() OVER "
        f"(PARTITION BY {', '.join(f'`{k}`' for k in keys)}) AS _flowctl_n "
        f"FROM {_q(staging_id)}) WHERE _flowctl_n = 1)"
    )
    sql = f"MERGE {_q(table.table_id)} T USING {source} S ON {on}"
    if rest:
        sets = ", ".join(f"`{c}` = S.`{c}`" for c in rest)
        sql += f" WHEN MATCHED THEN UPDATE SET {sets}"
    names = ", ".join(f"`{c}`" for c in cols)
    values = ", ".join(f"S.`{c}`" for c in cols)
    return sql + f" WHEN NOT MATCHED THEN INSERT ({names}) VALUES ({values})"


def merge_job_config(table: BqTable, lo: dt.datetime | None, hi: dt.datetime | None) -> Any:
    from google.cloud import bigquery

    params = []
    if table.partition_field:
        params = [
            bigquery.ScalarQueryParameter("lo", "TIMESTAMP", lo),
            bigquery.ScalarQueryParameter("hi", "TIMESTAMP", hi),
        ]
    return bigquery.QueryJobConfig(query_parameters=params)


def json_value(value: Any) -> Any:
    """A record value as insertAll JSON (decimals exact, times ISO 8601, bytes base64)."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: json_value(v) for k, v in value.items()}
    return value


def row_id(record: Record, key: tuple[str, ...]) -> str | None:
    return "/".join(str(record.get(k)) for k in key) if key else None


# ---- running it ---------------------------------------------------------------------------------
def default_client(table: BqTable) -> Any:
    from google.cloud import bigquery

    return bigquery.Client(project=table.project, location=table.location)


def _guard(table: BqTable, action: Callable[[], Any]) -> Any:
    """Call ``action``; API, transport and credential failures become one SinkUnreachableError.

    The client library already retries transient API errors with backoff.
    """
    from google.api_core import exceptions as api
    from google.auth import exceptions as auth

    try:
        return action()
    except (api.GoogleAPICallError, api.RetryError, auth.GoogleAuthError, OSError) as err:
        reason = " ".join(str(err).split()) or type(err).__name__
        raise SinkUnreachableError("bigquery", table.table_id, reason[:300], 1) from err


def load_and_merge(
    table: BqTable,
    records: Iterable[Record],
    client_factory: Callable[[BqTable], Any] = default_client,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> int:
    """The ``method=load`` writer: records → Parquet → staging table → MERGE; returns rows."""
    with tempfile.TemporaryDirectory(prefix="flowctl-bq-") as tmp:
        path = Path(tmp) / "rows.parquet"
        count, lo, hi = _write_parquet(table, records, path)
        if count == 0:
            return 0
        client = _guard(table, lambda: client_factory(table))
        table = table.qualified(client.project)
        token = secrets.token_hex(6)
        staging = table.staging_id(token)
        _guard(table, lambda: client.create_table(table_resource(table), exists_ok=True))
        _guard(table, lambda: client.create_table(staging_resource(table, token, now())))
        try:
            with path.open("rb") as f:
                job = _guard(
                    table,
                    lambda: client.load_table_from_file(
                        f, staging, job_config=load_job_config(table), location=table.location
                    ),
                )
                _guard(table, job.result)
            merge = merge_sql(table, staging)
            config = merge_job_config(table, lo, hi)
            _guard(
                table,
                lambda: client.query(merge, job_config=config, location=table.location).result(),
            )
        finally:
            with contextlib.suppress(Exception):
                client.delete_table(staging, not_found_ok=True)
    return count


def _write_parquet(
    table: BqTable, records: Iterable[Record], path: Path
) -> tuple[int, dt.datetime | None, dt.datetime | None]:
    count, lo, hi = 0, None, None
    part = table.partition_field
    it = iter(records)
    with pq.ParquetWriter(os.fspath(path), table.schema) as writer:
        while chunk := list(islice(it, CHUNK_ROWS)):
            writer.write_table(pa.Table.from_pylist(chunk, schema=table.schema))
            count += len(chunk)
            if part:
                stamps = [r[part] for r in chunk if r.get(part) is not None]
                if stamps:
                    lo = min([*stamps, lo] if lo else stamps)
                    hi = max([*stamps, hi] if hi else stamps)
    return count, lo, hi


class StreamFn(beam.DoFn):
    """``method=streaming``: insertAll in batches, the natural key as each row's insertId."""

    def __init__(
        self, table: BqTable, client_factory: Callable[[BqTable], Any] = default_client
    ) -> None:
        self.table = table
        self.client_factory = client_factory
        self.client: Any = None
        self.rows: list[Record] = []

    def setup(self) -> None:
        self.client = _guard(self.table, lambda: self.client_factory(self.table))
        self.table = self.table.qualified(self.client.project)
        _guard(
            self.table, lambda: self.client.create_table(table_resource(self.table), exists_ok=True)
        )

    def start_bundle(self) -> None:
        self.rows = []

    def process(self, record: Record) -> None:
        self.rows.append(record)
        if len(self.rows) >= STREAM_ROWS:
            self._flush()

    def finish_bundle(self) -> None:
        self._flush()

    def _flush(self) -> None:
        if not self.rows:
            return
        rows, self.rows = self.rows, []
        payload = [{k: json_value(v) for k, v in r.items()} for r in rows]
        ids = [row_id(r, self.table.key) for r in rows]
        errors = _guard(
            self.table,
            lambda: self.client.insert_rows_json(self.table.table_id, payload, row_ids=ids),
        )
        if errors:
            raise ValueError(f"BigQuery rejected rows of {self.table.table_id}: {errors[:3]}")

    def teardown(self) -> None:
        if self.client is not None:
            with contextlib.suppress(Exception):
                self.client.close()
            self.client = None


class WriteBigquery(beam.PTransform):
    def __init__(self, table: BqTable) -> None:
        super().__init__()
        self.table = table

    def expand(self, records: beam.PCollection) -> Any:
        if self.table.method == "streaming":
            return records | "InsertAll" >> beam.ParDo(StreamFn(self.table))
        return (
            records
            | "OneWriter" >> beam.Map(lambda r: (0, r))
            | "Gather" >> beam.GroupByKey()
            | "LoadAndMerge"
            >> beam.Map(lambda item, table: load_and_merge(table, item[1]), self.table)
        )


def build(params: BigqueryParams, ctx: BuildContext) -> beam.PTransform:
    if ctx.schema is None:
        raise cannot_write("the records have no declared schema")
    try:
        for f in ctx.schema:
            check_identifier(f.name, "column name")
        sql_types.bigquery_schema(ctx.schema)
    except (ValueError, TypeError) as err:
        raise cannot_write(str(err)) from None
    key = key_for("upsert", ctx) if params.method == "load" else tuple(ctx.key_fields)
    return WriteBigquery(BqTable(params.table, ctx.schema, key, params.method, params.location))
