"""pyarrow → PostgreSQL, DuckDB and BigQuery column types."""

from __future__ import annotations

import pyarrow as pa
import pytest

from flowctl_dsl.catalog import catalog
from flowctl_dsl.transforms.sinks.sql_types import (
    UnsupportedType,
    bigquery_field,
    bigquery_schema,
    duckdb_type,
    postgres_type,
)

UTC_S = pa.timestamp("s", tz="UTC")

CASES = [
    # arrow type, PostgreSQL, DuckDB, BigQuery
    (pa.bool_(), "boolean", "BOOLEAN", "BOOL"),
    (pa.int8(), "smallint", "TINYINT", "INT64"),
    (pa.int16(), "smallint", "SMALLINT", "INT64"),
    (pa.int32(), "integer", "INTEGER", "INT64"),
    (pa.int64(), "bigint", "BIGINT", "INT64"),
    (pa.uint32(), "bigint", "UINTEGER", "INT64"),
    (pa.uint64(), "numeric(20,0)", "UBIGINT", "NUMERIC"),
    (pa.float32(), "real", "FLOAT", "FLOAT64"),
    (pa.float64(), "double precision", "DOUBLE", "FLOAT64"),
    (pa.decimal128(38, 7), "numeric(38,7)", "DECIMAL(38,7)", "BIGNUMERIC"),
    (pa.decimal128(18, 7), "numeric(18,7)", "DECIMAL(18,7)", "NUMERIC"),
    (pa.string(), "text", "VARCHAR", "STRING"),
    (pa.large_string(), "text", "VARCHAR", "STRING"),
    (pa.binary(), "bytea", "BLOB", "BYTES"),
    (pa.binary(32), "bytea", "BLOB", "BYTES"),
    (pa.date32(), "date", "DATE", "DATE"),
    (UTC_S, "timestamptz", "TIMESTAMPTZ", "TIMESTAMP"),
    (pa.timestamp("us"), "timestamp", "TIMESTAMP", "DATETIME"),
    (pa.list_(pa.string()), "text[]", "VARCHAR[]", "STRING"),
    (pa.list_(pa.int64()), "bigint[]", "BIGINT[]", "INT64"),
]


@pytest.mark.parametrize(("arrow", "pg", "duck", "bq"), CASES, ids=[str(c[0]) for c in CASES])
def test_scalar_and_list_types(arrow: pa.DataType, pg: str, duck: str, bq: str) -> None:
    assert postgres_type(arrow) == pg
    assert duckdb_type(arrow) == duck
    assert bigquery_field(pa.field("c", arrow))["type"] == bq


def test_nested_types() -> None:
    struct = pa.struct([pa.field("code", pa.string()), pa.field("amount", pa.int64(), False)])
    assert postgres_type(struct) == "jsonb"
    assert postgres_type(pa.map_(pa.string(), pa.int64())) == "jsonb"
    assert postgres_type(pa.list_(struct)) == "jsonb"
    assert duckdb_type(struct) == 'STRUCT("code" VARCHAR, "amount" BIGINT)'
    assert duckdb_type(pa.map_(pa.string(), pa.int64())) == "MAP(VARCHAR, BIGINT)"
    record = bigquery_field(pa.field("s", struct, nullable=False))
    assert record == {
        "name": "s",
        "type": "RECORD",
        "mode": "REQUIRED",
        "fields": [
            {"name": "code", "type": "STRING", "mode": "NULLABLE"},
            {"name": "amount", "type": "INT64", "mode": "REQUIRED"},
        ],
    }


def test_bigquery_modes_decimals_and_descriptions() -> None:
    amount = pa.field("amount", pa.decimal128(38, 7), metadata={"description": "Amount."})
    assert bigquery_field(amount) == {
        "name": "amount",
        "description": "Amount.",
        "type": "BIGNUMERIC",
        "precision": "38",
        "scale": "7",
        "mode": "NULLABLE",
    }
    assert bigquery_field(pa.field("n", pa.int64(), nullable=False))["mode"] == "REQUIRED"
    tags = bigquery_field(pa.field("tags", pa.list_(pa.string())))
    assert (tags["type"], tags["mode"]) == ("STRING", "REPEATED")


@pytest.mark.parametrize("arrow", [pa.list_(pa.list_(pa.int64())), pa.decimal256(76, 40)], ids=str)
def test_bigquery_rejects_what_it_cannot_store(arrow: pa.DataType) -> None:
    with pytest.raises(UnsupportedType):
        bigquery_field(pa.field("c", arrow))


def test_unknown_types_raise() -> None:
    with pytest.raises(UnsupportedType):
        postgres_type(pa.dense_union([pa.field("a", pa.int8())]))
    with pytest.raises(UnsupportedType):
        duckdb_type(pa.decimal256(60, 2))


def test_every_catalog_schema_maps_to_every_target() -> None:
    schemas = [s for s in catalog().specs if s.schema is not None]
    assert schemas
    for spec in schemas:
        for field in spec.schema:  # type: ignore[union-attr]
            postgres_type(field.type)
            duckdb_type(field.type)
        assert [f["name"] for f in bigquery_schema(spec.schema)] == spec.schema.names  # type: ignore[union-attr]
