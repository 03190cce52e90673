"""Parquet layout, merge-on-rewrite and atomic replacement (no Beam)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flowctl_dsl.catalog.warehouse_sinks import ParquetParams
from flowctl_dsl.errors import FlowctlError
from flowctl_dsl.transforms.context import BuildContext
from flowctl_dsl.transforms.sinks import parquet

SCHEMA = pa.schema(
    [
        pa.field("ledger_sequence", pa.int64(), nullable=False),
        pa.field("closed_at", pa.timestamp("s", tz="UTC"), nullable=False),
        pa.field("operation_index", pa.int32(), nullable=False),
        pa.field("amount", pa.decimal128(38, 7)),
    ]
)
KEY = ("ledger_sequence", "operation_index")


def rec(ledger: int, op: int, amount: str = "1", day: int = 2) -> dict[str, object]:
    return {
        "ledger_sequence": ledger,
        "closed_at": datetime(2024, 9, day, 23, 59, 59, tzinfo=UTC),
        "operation_index": op,
        "amount": Decimal(amount),
    }


def layout(**kw: object) -> parquet.Layout:
    return parquet.Layout.of(ParquetParams.model_validate(kw), SCHEMA)


def writer(root: Path) -> parquet.FileWriter:
    return parquet.FileWriter(str(root), SCHEMA, KEY, "ledger_sequence", "zstd", 1000)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, "ledger_range=53312000-53312999/ledgers-53312000-53312999.parquet"),
        ({"partition_by": "day"}, "day=2024-09-02/ledgers-53312000-53312999.parquet"),
        ({"partition_by": "none", "ledgers_per_file": 100}, "ledgers-53312300-53312399.parquet"),
    ],
)
def test_file_names_come_from_the_ledger_bucket(params: dict[str, object], expected: str) -> None:
    assert layout(**params).file_of(rec(53312345, 1)) == expected


def test_day_partition_uses_utc() -> None:
    record = rec(5, 1)
    record["closed_at"] = datetime.fromisoformat("2024-09-03T01:00:00+02:00")
    assert layout(partition_by="day").file_of(record).startswith("day=2024-09-02/")


def test_layout_needs_the_columns_it_partitions_by() -> None:
    no_ledger = pa.schema([pa.field("closed_at", pa.timestamp("s", tz="UTC"))])
    with pytest.raises(FlowctlError, match="FC405|ledger_sequence"):
        parquet.Layout.of(ParquetParams(), no_ledger)
    no_time = pa.schema([pa.field("ledger_sequence", pa.int64())])
    with pytest.raises(FlowctlError, match="timestamp"):
        parquet.Layout.of(ParquetParams(partition_by="day"), no_time)
    none = parquet.Layout.of(
        ParquetParams(partition_by="none"), no_time.remove(0).append(pa.field("x", pa.int64()))
    )
    assert none.file_of({"x": 1}) == "records.parquet"


def test_rewriting_a_file_replaces_only_the_ledgers_written_again(tmp_path: Path) -> None:
    write = writer(tmp_path)
    name = "ledgers-0-999.parquet"
    write((name, [rec(998, 1, "1"), rec(997, 2, "2"), rec(997, 1, "3")]))
    write((name, [rec(998, 1, "9"), rec(998, 2, "10")]))
    rows = pq.read_table(tmp_path / name, schema=SCHEMA).to_pylist()
    assert rows == [rec(997, 1, "3"), rec(997, 2, "2"), rec(998, 1, "9"), rec(998, 2, "10")]
    write((name, [rec(998, 1, "9"), rec(998, 2, "10")]))  # a replay changes nothing
    assert pq.read_table(tmp_path / name, schema=SCHEMA).to_pylist() == rows


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write = writer(tmp_path)
    name = "ledgers-0-999.parquet"
    write((name, [rec(997, 1)]))
    before = (tmp_path / name).read_bytes()

    def crash(table: pa.Table, where: object, **kw: object) -> None:
        where.write(b"PAR1 half a file")  # type: ignore[attr-defined]
        raise OSError("disk full")

    monkeypatch.setattr(parquet.pq, "write_table", crash)
    with pytest.raises(OSError, match="disk full"):
        write((name, [rec(998, 1)]))
    assert (tmp_path / name).read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_a_file_of_another_schema_is_not_silently_merged(tmp_path: Path) -> None:
    name = "ledgers-0-999.parquet"
    pq.write_table(pa.table({"ledger_sequence": ["not a number"]}), tmp_path / name)
    with pytest.raises(ValueError, match="does not have this pipeline's schema"):
        writer(tmp_path)((name, [rec(997, 1)]))


def test_build_fills_the_pipeline_name_into_the_default_path() -> None:
    ctx = BuildContext(pipeline="pay", schema=SCHEMA, key_fields=KEY)
    transform = parquet.build(ParquetParams(), ctx)
    assert transform.writer.root == "out/pay/"
    with pytest.raises(FlowctlError, match="only local paths"):
        parquet.build(ParquetParams(path="gs://bucket/x"), ctx)
