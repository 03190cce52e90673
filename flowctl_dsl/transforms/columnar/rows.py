"""The edges between batches and records: what a record-at-a-time stage or sink sees.

``to_records(from_records(rs, schema)) == rs`` for every processor's records, with the same key
order and the same Python types, so a pipeline gives the same output whichever way its records
travel (``tests/unit/columnar/test_rows_roundtrip.py``: every catalog processor on the fixture and
localnet ledgers, and synthetic records of every column type the schemas use).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

Record = dict[str, Any]


def from_records(records: Sequence[Record], schema: pa.Schema) -> pa.RecordBatch:
    """Records (as the reference processors build them) as one batch with ``schema``.

    Lossless only for records that match ``schema``, as the processors' do: exactly its columns
    in its order (``from_pylist`` drops other keys), ``int`` for integer and ``decimal128(p, 0)``
    columns, ``Decimal`` with exactly the column's scale, ``float`` for floating columns and
    whole-second ``datetime`` in UTC for the ``timestamp("s", "UTC")`` columns (other values
    are coerced: ``1`` becomes ``1.0``, ``Decimal("1.5")`` ``Decimal("1.5000000")``, sub-second
    parts are cut and other time zones converted)."""
    return pa.RecordBatch.from_pylist(list(records), schema=schema)


def to_records(batch: pa.RecordBatch) -> list[Record]:
    """The batch's rows as the reference processors build them: ``int`` for
    ``decimal128(p, 0)`` (not ``Decimal``), ``datetime`` in ``datetime.UTC`` for UTC second
    timestamps (not ``ZoneInfo("UTC")``)."""
    columns: list[list[Any]] = []
    for field, column in zip(batch.schema, batch.columns, strict=True):
        kind = field.type
        if pa.types.is_decimal(kind) and kind.scale == 0:
            try:
                columns.append(column.cast(pa.int64()).to_pylist())
            except pa.ArrowInvalid:  # beyond int64
                columns.append([None if v is None else int(v) for v in column.to_pylist()])
        elif pa.types.is_timestamp(kind) and kind.tz == "UTC" and kind.unit == "s":
            seen: dict[int, datetime] = {}
            columns.append(
                [
                    None if v is None else seen.get(v) or seen.setdefault(v, _utc(v))
                    for v in column.cast(pa.int64()).to_pylist()
                ]
            )
        else:
            columns.append(column.to_pylist())
    names = batch.schema.names
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def _utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
