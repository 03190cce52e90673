"""The checker's view of values: pyarrow types folded into a few comparable kinds."""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa

from flowctl_dsl import ir

NUMERIC = frozenset({"int", "decimal", "float"})

#: The pyarrow type a derived column of each kind gets.
ARROW_OF_KIND: dict[str, pa.DataType] = {
    "bool": pa.bool_(),
    "int": pa.int64(),
    "decimal": pa.decimal128(38, 9),
    "float": pa.float64(),
    "string": pa.string(),
    "timestamp": pa.timestamp("s", tz="UTC"),
    "binary": pa.binary(),
    "null": pa.null(),
}


def kind_of(t: pa.DataType) -> str:
    """``int``, ``decimal``, ``float``, ``string``, ``bool``, ``timestamp``, ``binary``, …"""
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_decimal(t):
        return "decimal"
    if pa.types.is_floating(t):
        return "float"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "string"
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        return "timestamp"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return "binary"
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return "list"
    if pa.types.is_struct(t):
        return "struct"
    if pa.types.is_null(t):
        return "null"
    return str(t)


def kind_of_literal(v: ir.Value) -> str:
    return {"str": "string", "int": "int", "dec": "decimal", "bool": "bool", "null": "null"}.get(
        v.t, v.t
    )


def is_timestamp_text(text: str) -> bool:
    """Whether a string literal can stand for a timestamp (ISO 8601, ``Z`` allowed)."""
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def comparable(op: str, left: str, right: str) -> bool:
    """Whether ``left op right`` makes sense for these kinds."""
    if "null" in (left, right):
        return op in ("==", "!=")
    if left in NUMERIC and right in NUMERIC:
        return True
    if left != right:
        return False
    if op in ("==", "!="):
        return True
    return left in ("string", "timestamp", "binary")


def arithmetic_result(op: str, left: str, right: str) -> str | None:
    """The kind of ``left op right``, or None when it is not arithmetic on numbers."""
    if left not in NUMERIC or right not in NUMERIC:
        return None
    if "float" in (left, right):
        return "float"
    if "decimal" in (left, right) or op == "/":
        return "decimal"
    return "int"


def field_names(schema: pa.Schema) -> list[str]:
    return list(schema.names)


def lookup(schema: pa.Schema, path: list[str]) -> pa.DataType | None:
    """The type at a dotted field path, descending into structs; None when absent."""
    if not path or path[0] not in schema.names:
        return None
    t: pa.DataType = schema.field(path[0]).type
    for part in path[1:]:
        if not pa.types.is_struct(t) or t.get_field_index(part) < 0:
            return None
        t = t.field(part).type
    return t
