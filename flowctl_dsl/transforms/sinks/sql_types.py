"""Column types for warehouse tables, mapped from the records' pyarrow schema.

One function per target (PostgreSQL, DuckDB, BigQuery). Unknown types raise TypeError naming the
column, so a table is never created with a guessed type.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.types as pat


class UnsupportedType(TypeError):
    """A pyarrow type that a target cannot store."""


def _int_pg(t: pa.DataType) -> str | None:
    if pat.is_int8(t) or pat.is_int16(t) or pat.is_uint8(t):
        return "smallint"
    if pat.is_int32(t) or pat.is_uint16(t):
        return "integer"
    if pat.is_int64(t) or pat.is_uint32(t):
        return "bigint"
    if pat.is_uint64(t):
        return "numeric(20,0)"
    return None


def postgres_type(t: pa.DataType) -> str:
    """The PostgreSQL type storing values of ``t`` without loss (nested values become jsonb)."""
    if pat.is_boolean(t):
        return "boolean"
    if (name := _int_pg(t)) is not None:
        return name
    if pat.is_float16(t) or pat.is_float32(t):
        return "real"
    if pat.is_float64(t):
        return "double precision"
    if pat.is_decimal(t):
        return f"numeric({t.precision},{t.scale})"
    if pat.is_string(t) or pat.is_large_string(t) or pat.is_string_view(t):
        return "text"
    if pat.is_binary(t) or pat.is_large_binary(t) or pat.is_fixed_size_binary(t):
        return "bytea"
    if pat.is_date(t):
        return "date"
    if pat.is_timestamp(t):
        return "timestamptz" if t.tz is not None else "timestamp"
    if pat.is_time(t):
        return "time"
    if pat.is_duration(t):
        return "interval"
    if pat.is_list(t) or pat.is_large_list(t) or pat.is_fixed_size_list(t):
        inner = t.value_type
        if pat.is_nested(inner) or pat.is_dictionary(inner):
            return "jsonb"
        return postgres_type(inner) + "[]"
    if pat.is_struct(t) or pat.is_map(t):
        return "jsonb"
    if pat.is_null(t):
        return "text"
    if pat.is_dictionary(t):
        return postgres_type(t.value_type)
    raise UnsupportedType(f"no PostgreSQL type for {t}")


def is_json(t: pa.DataType) -> bool:
    """Whether :func:`postgres_type` stores ``t`` as jsonb (the value must be wrapped)."""
    return postgres_type(t) == "jsonb"


_DUCK_INTS = {
    pa.int8(): "TINYINT",
    pa.int16(): "SMALLINT",
    pa.int32(): "INTEGER",
    pa.int64(): "BIGINT",
    pa.uint8(): "UTINYINT",
    pa.uint16(): "USMALLINT",
    pa.uint32(): "UINTEGER",
    pa.uint64(): "UBIGINT",
}


def duckdb_type(t: pa.DataType) -> str:
    """The DuckDB type of ``t`` (nested types map to LIST, STRUCT and MAP)."""
    if pat.is_boolean(t):
        return "BOOLEAN"
    if t in _DUCK_INTS:
        return _DUCK_INTS[t]
    if pat.is_float16(t) or pat.is_float32(t):
        return "FLOAT"
    if pat.is_float64(t):
        return "DOUBLE"
    if pat.is_decimal(t):
        if t.precision > 38:
            raise UnsupportedType(f"DuckDB decimals hold at most 38 digits, not {t}")
        return f"DECIMAL({t.precision},{t.scale})"
    if pat.is_string(t) or pat.is_large_string(t) or pat.is_string_view(t):
        return "VARCHAR"
    if pat.is_binary(t) or pat.is_large_binary(t) or pat.is_fixed_size_binary(t):
        return "BLOB"
    if pat.is_date(t):
        return "DATE"
    if pat.is_timestamp(t):
        return "TIMESTAMPTZ" if t.tz is not None else "TIMESTAMP"
    if pat.is_time(t):
        return "TIME"
    if pat.is_duration(t):
        return "INTERVAL"
    if pat.is_list(t) or pat.is_large_list(t) or pat.is_fixed_size_list(t):
        return duckdb_type(t.value_type) + "[]"
    if pat.is_struct(t):
        inner = ", ".join(f'"{f.name}" {duckdb_type(f.type)}' for f in t)
        return f"STRUCT({inner})"
    if pat.is_map(t):
        return f"MAP({duckdb_type(t.key_type)}, {duckdb_type(t.item_type)})"
    if pat.is_dictionary(t):
        return duckdb_type(t.value_type)
    raise UnsupportedType(f"no DuckDB type for {t}")


def _bq_decimal(t: pa.DataType) -> dict[str, Any]:
    """NUMERIC(P,S) holds 1 ≤ P−S ≤ 29 and S ≤ 9; anything else needs BIGNUMERIC."""
    p, s = t.precision, t.scale
    if s <= 9 and 1 <= p - s <= 29:
        return {"type": "NUMERIC", "precision": str(p), "scale": str(s)}
    if s <= 38 and p - s <= 38:
        return {"type": "BIGNUMERIC", "precision": str(p), "scale": str(s)}
    raise UnsupportedType(f"no BigQuery type for {t}")


def bigquery_field(field: pa.Field) -> dict[str, Any]:
    """``field`` as a BigQuery API ``TableFieldSchema`` (``SchemaField.from_api_repr`` input)."""
    t = field.type
    mode = "NULLABLE" if field.nullable else "REQUIRED"
    out: dict[str, Any] = {"name": field.name}
    description = (field.metadata or {}).get(b"description")
    if description:
        out["description"] = description.decode()[:1024]
    if pat.is_list(t) or pat.is_large_list(t) or pat.is_fixed_size_list(t):
        inner = bigquery_field(pa.field(field.name, t.value_type))
        if inner["mode"] == "REPEATED":
            raise UnsupportedType(f"BigQuery has no arrays of arrays ({field.name}: {t})")
        inner.pop("description", None)
        return {**out, **inner, "mode": "REPEATED"}
    if pat.is_struct(t):
        return {**out, "type": "RECORD", "mode": mode, "fields": [bigquery_field(f) for f in t]}
    if pat.is_map(t):
        return {**out, "type": "JSON", "mode": mode}
    if pat.is_decimal(t):
        return {**out, **_bq_decimal(t), "mode": mode}
    if pat.is_uint64(t):
        return {**out, "type": "NUMERIC", "precision": "20", "scale": "0", "mode": mode}
    if pat.is_dictionary(t):
        return {**bigquery_field(pa.field(field.name, t.value_type, field.nullable)), **out}
    return {**out, "type": _bq_scalar(t, field.name), "mode": mode}


def _bq_scalar(t: pa.DataType, name: str) -> str:
    if pat.is_boolean(t):
        return "BOOL"
    if pat.is_integer(t):
        return "INT64"
    if pat.is_floating(t):
        return "FLOAT64"
    if pat.is_string(t) or pat.is_large_string(t) or pat.is_string_view(t):
        return "STRING"
    if pat.is_binary(t) or pat.is_large_binary(t) or pat.is_fixed_size_binary(t):
        return "BYTES"
    if pat.is_date(t):
        return "DATE"
    if pat.is_timestamp(t):
        return "TIMESTAMP" if t.tz is not None else "DATETIME"
    if pat.is_time(t):
        return "TIME"
    if pat.is_null(t):
        return "STRING"
    raise UnsupportedType(f"no BigQuery type for {name}: {t}")


def bigquery_schema(schema: pa.Schema) -> list[dict[str, Any]]:
    """Every column of ``schema`` as BigQuery API field dicts, in order."""
    return [bigquery_field(f) for f in schema]
