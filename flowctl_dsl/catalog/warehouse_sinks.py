"""Warehouse sinks: Parquet files, PostgreSQL, DuckDB and BigQuery — each safe to replay.

Identifiers and connection strings are validated here, so mistakes are checker errors (FC105)
before anything runs; a DSN is a :class:`~flowctl_dsl.transforms.sinks.targets.Dsn`, masked in
plans and ``explain``.
"""

from __future__ import annotations

import re
import warnings
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from flowctl_dsl.catalog.spec import Params, Spec
from flowctl_dsl.transforms.sinks.targets import Dsn, check_dsn, check_identifier

ANY_RECORD = "*"

Compression = Literal["zstd", "snappy", "gzip", "brotli", "lz4", "none"]
PartitionBy = Literal["ledger_range", "day", "none"]


def _table(name: str) -> str:
    return check_identifier(name, "table name")


def _schema(name: str) -> str:
    return check_identifier(name, "schema name")


TableName = Annotated[str, AfterValidator(_table)]
SchemaName = Annotated[str, AfterValidator(_schema)]
PostgresDsn = Annotated[Dsn, AfterValidator(check_dsn)]

#: ``project.dataset.table``: project ids allow letters, digits, dashes (and a ``domain:``
#: prefix); datasets and tables are plain identifiers here (tables may not use unicode).
_BQ_TABLE = re.compile(
    r"(?:(?P<project>(?:[a-z][a-z0-9.-]{0,62}:)?[a-z][a-z0-9-]{4,28}[a-z0-9])\.)?"
    r"(?P<dataset>[A-Za-z_][A-Za-z0-9_]{0,1023})\.(?P<table>[A-Za-z_][A-Za-z0-9_]{0,1023})"
)


def _bq_table(name: str) -> str:
    if not _BQ_TABLE.fullmatch(name):
        raise ValueError(
            f"{name!r} is not a BigQuery table id: project.dataset.table "
            "(project: 6–30 lowercase letters, digits, dashes; dataset, table: letters, digits, _)"
        )
    return name


BigQueryTable = Annotated[str, AfterValidator(_bq_table)]


class ParquetParams(Params):
    path: str = Field(
        "out/{pipeline}/",
        description="Output folder (local path or file:// URL); {pipeline} is the pipeline name.",
    )
    partition_by: PartitionBy = Field(
        "ledger_range",
        description="Folders: ledger_range (ledger_range=A-B/), day (day=YYYY-MM-DD/ from closed_at) "
        "or none.",
    )
    compression: Compression = Field(
        "zstd", description="Codec: zstd, snappy, gzip, brotli, lz4 or none."
    )
    row_group_size: int = Field(100_000, gt=0, description="Rows per Parquet row group.")
    ledgers_per_file: int = Field(
        1000, gt=0, description="Ledgers in one file; files are named by the range they cover."
    )


with warnings.catch_warnings():  # `schema` is the natural name; it shadows a deprecated method
    warnings.filterwarnings("ignore", message='Field name "schema"', category=UserWarning)

    class PostgresParams(Params):
        dsn: PostgresDsn = Field(
            description="libpq connection string or postgresql:// URI (use ${VAR} for secrets)."
        )
        table: TableName = Field(description="Table to write; created from the schema if missing.")
        schema: SchemaName = Field(  # type: ignore[assignment]
            "public", description="Database schema of the table."
        )
        mode: Literal["upsert", "append"] = Field(
            "upsert", description="upsert on the records' key (idempotent) or plain append."
        )
        batch_size: int = Field(
            5000, gt=0, le=1_000_000, description="Rows per COPY + merge transaction."
        )


class DuckdbParams(Params):
    path: str = Field(description="Database file (created if missing).")
    table: TableName = Field(description="Table to write; created from the schema if missing.")
    mode: Literal["upsert", "append"] = Field(
        "upsert", description="upsert on the records' key (idempotent) or plain append."
    )


class BigqueryParams(Params):
    table: BigQueryTable = Field(description="Target table, project.dataset.table.")
    method: Literal["load", "streaming"] = Field(
        "load",
        description="load: load job into a staging table + MERGE on the key (idempotent); "
        "streaming: insertAll with the key as insertId (best-effort dedupe).",
    )
    location: str | None = Field(None, description="Dataset location for jobs, e.g. EU or US.")


SPECS: tuple[Spec, ...] = (
    Spec(
        kind="sink",
        name="parquet",
        summary="Parquet files in Hive-style folders, one file per ledger range, replaced atomically.",
        params=ParquetParams,
        impl="flowctl_dsl.transforms.sinks.parquet:build",
        input_type=ANY_RECORD,
        positional=("path",),
        batches=True,
        guarantee=(
            "idempotent replay: a file holds one ledger range; rewriting it replaces the rows of "
            "the ledgers written again (temp file + atomic rename)"
        ),
        examples=(
            "save_to parquet",
            'save_to parquet("out/payments/", partition_by=day, compression=zstd)',
        ),
    ),
    Spec(
        kind="sink",
        name="postgres",
        aliases=("postgresql", "pg"),
        summary="A PostgreSQL table, created from the schema; batches COPied and merged on the key.",
        params=PostgresParams,
        impl="flowctl_dsl.transforms.sinks.postgres:build",
        input_type=ANY_RECORD,
        positional=("dsn",),
        streaming=True,
        guarantee=(
            "idempotent replay: upsert on the natural key (INSERT … ON CONFLICT DO UPDATE), "
            "one transaction per batch; mode=append is at-least-once"
        ),
        examples=('save_to postgres("${FLOWCTL_PG_DSN}", table="payments")',),
    ),
    Spec(
        kind="sink",
        name="duckdb",
        summary="A DuckDB table in an embedded database file, upserted in one transaction.",
        params=DuckdbParams,
        impl="flowctl_dsl.transforms.sinks.duckdb:build",
        input_type=ANY_RECORD,
        positional=("path",),
        batches=True,
        guarantee=(
            "idempotent replay: upsert on the natural key (INSERT OR REPLACE), all rows in one "
            "transaction; mode=append is at-least-once"
        ),
        examples=('save_to duckdb("out/stellar.duckdb", table="payments")',),
    ),
    Spec(
        kind="sink",
        name="bigquery",
        aliases=("bq",),
        summary="A BigQuery table partitioned by day on closed_at and clustered on the key.",
        params=BigqueryParams,
        impl="flowctl_dsl.transforms.sinks.bigquery:build",
        input_type=ANY_RECORD,
        positional=("table",),
        guarantee=(
            "idempotent replay with method=load: load into a staging table, then MERGE on the "
            "natural key; method=streaming is at-least-once (insertId dedupe is best effort)"
        ),
        examples=('save_to bigquery("my-project.stellar.payments")',),
    ),
)
