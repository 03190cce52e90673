"""Sinks fed ``pyarrow.RecordBatch`` elements write exactly what they write from records.

Each case runs the same sink twice on Beam's DirectRunner: once on the records of real fixture
ledgers (``ctx.batches=False``) and once on one batch per ledger built from those records with
:func:`~flowctl_dsl.transforms.columnar.rows.from_records` (``ctx.batches=True``, plus empty
batches), and compares the bytes written.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flowctl_dsl.catalog import catalog
from flowctl_dsl.catalog.sinks import JsonlParams, StdoutParams
from flowctl_dsl.catalog.warehouse_sinks import DuckdbParams, ParquetParams
from flowctl_dsl.stellar.formats import read_ledger_file
from flowctl_dsl.stellar.ledger import LedgerView
from flowctl_dsl.stellar.networks import MAINNET_PASSPHRASE, TESTNET_PASSPHRASE
from flowctl_dsl.transforms.columnar.rows import from_records
from flowctl_dsl.transforms.context import BuildContext
from flowctl_dsl.transforms.records import Record, sort_key, to_json
from flowctl_dsl.transforms.sinks import duckdb as duckdb_sink
from flowctl_dsl.transforms.sinks import jsonl, parquet, stdout

#: Testnet 997..999 (one day) and a pubnet ledger (another day, far-away ledger range).
LEDGER_FILES = {
    "testnet/datalake-testbucket/FFFFFC1A--997.xdr.zstd": TESTNET_PASSPHRASE,
    "testnet/datalake-testbucket/FFFFFC19--998.xdr.zstd": TESTNET_PASSPHRASE,
    "testnet/datalake-testbucket/FFFFFC18--999.xdr.zstd": TESTNET_PASSPHRASE,
    "pubnet/FCD285FF--53312000.xdr.zstd": MAINNET_PASSPHRASE,
}
PROCESSORS = ("token_transfers", "payments")

Ledgers = list[list[Record]]


@pytest.fixture(scope="module")
def views(stellar_fixtures: Path) -> list[LedgerView]:
    return [
        LedgerView.from_xdr(lb.xdr, passphrase)
        for name, passphrase in LEDGER_FILES.items()
        for lb in read_ledger_file(stellar_fixtures / name)
    ]


@pytest.fixture(scope="module", params=PROCESSORS)
def processor(request: pytest.FixtureRequest, views: list[LedgerView]) -> tuple[str, Ledgers]:
    """A processor's name and its reference records, one list per ledger."""
    spec = catalog().get("processor", request.param)
    assert spec is not None
    extract = spec.load()
    return request.param, [list(extract(view, spec.params())) for view in views]


def spec_of(name: str) -> tuple[pa.Schema, tuple[str, ...]]:
    spec = catalog().get("processor", name)
    assert spec is not None and spec.schema is not None
    return spec.schema, spec.key_fields


def run_sink(
    build: Callable[[Any, BuildContext], beam.PTransform],
    params: Any,
    processor: tuple[str, Ledgers],
    batches: bool,
    options: dict[str, object] | None = None,
    keep_ledgers: Callable[[int], bool] = lambda _: True,
) -> None:
    """Run the sink on the processor's records, or on one batch per ledger (and empty ones)."""
    name, ledgers = processor
    schema, key = spec_of(name)
    ledgers = [rs for rs in ledgers if rs and keep_ledgers(rs[0]["ledger_sequence"])]
    elements: list[Any]
    if batches:
        empty = from_records([], schema)
        elements = [empty, *(from_records(rs, schema) for rs in ledgers), empty]
    else:
        elements = [r for rs in ledgers for r in rs]
    ctx = BuildContext(
        pipeline="test", schema=schema, key_fields=key, options=options or {}, batches=batches
    )
    with beam.Pipeline(runner="DirectRunner") as p:
        _ = p | beam.Create(elements, reshuffle=False) | build(params, ctx)


def test_the_fixture_records_have_what_the_cases_need(processor: tuple[str, Ledgers]) -> None:
    name, ledgers = processor
    records = [r for rs in ledgers for r in rs]
    assert len({r["ledger_sequence"] for r in records}) == 4, "four ledgers with rows"
    assert any(v is None for r in records for v in r.values()), "nulls"
    assert any(isinstance(v, Decimal) for r in records for v in r.values()), "decimals"
    assert all(r["closed_at"].tzinfo is UTC for r in records), "timestamps"


def test_stdout_prints_the_same_lines(
    processor: tuple[str, Ledgers], capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = []
    for batches in (False, True):
        run_sink(stdout.build, StdoutParams(), processor, batches)
        outputs.append(capsys.readouterr().out)
    assert outputs[0].count("\n") == sum(map(len, processor[1]))
    assert outputs[1] == outputs[0]


def test_stdout_prints_an_unbounded_batch_as_its_records(
    processor: tuple[str, Ledgers], capsys: pytest.CaptureFixture[str]
) -> None:
    name, ledgers = processor
    schema, _ = spec_of(name)
    for rs in ledgers:
        for record in rs:
            stdout.print_now(record)
    expected = capsys.readouterr().out
    stdout.print_batch_now(from_records([], schema))
    for rs in ledgers:
        stdout.print_batch_now(from_records(rs, schema))
    assert capsys.readouterr().out == expected


@pytest.mark.parametrize("gzip_", [False, True])
def test_jsonl_writes_the_same_bytes(
    processor: tuple[str, Ledgers], tmp_path: Path, gzip_: bool
) -> None:
    written = []
    for batches in (False, True):
        path = tmp_path / f"{batches}.jsonl"
        run_sink(jsonl.build, JsonlParams(path=str(path), gzip=gzip_), processor, batches)
        written.append(path.read_bytes())
    assert written[1] == written[0]
    text = gzip.decompress(written[0]) if gzip_ else written[0]
    assert text.count(b"\n") == sum(map(len, processor[1]))


def test_jsonl_resumed_run_keeps_the_same_earlier_lines(
    processor: tuple[str, Ledgers], tmp_path: Path
) -> None:
    written = []
    for batches in (False, True):
        path = tmp_path / f"{batches}.jsonl"
        params = JsonlParams(path=str(path))
        run_sink(jsonl.build, params, processor, False, keep_ledgers=lambda s: s < 999)
        resume: dict[str, object] = {
            "keep_ledgers_before": 998
        }  # keeps 997's lines, rewrites 998 onwards
        run_sink(jsonl.build, params, processor, batches, resume, lambda s: s >= 998)
        written.append(path.read_bytes())
    assert written[1] == written[0]
    assert b'"ledger_sequence":997' in written[0]


@pytest.mark.parametrize(
    "params",
    [
        {"ledgers_per_file": 2},
        {"partition_by": "day", "ledgers_per_file": 2, "row_group_size": 7},
        {"partition_by": "none", "compression": "snappy"},
    ],
    ids=["ledger_range", "day", "none"],
)
def test_parquet_writes_the_same_files(
    processor: tuple[str, Ledgers], tmp_path: Path, params: dict[str, Any]
) -> None:
    name, _ = processor
    schema, _ = spec_of(name)
    roots = [tmp_path / "records", tmp_path / "batches"]
    for root, batches in zip(roots, (False, True), strict=True):
        sink = ParquetParams(path=str(root), **params)
        # a run of all ledgers, then a replay of all but 999: its file keeps 999's rows
        run_sink(parquet.build, sink, processor, batches)
        run_sink(parquet.build, sink, processor, batches, keep_ledgers=lambda s: s != 999)
    files = [sorted(p.relative_to(r) for p in r.rglob("*") if p.is_file()) for r in roots]
    assert files[1] == files[0]
    assert len(files[0]) == (2 if params.get("partition_by") == "none" else 3)
    for relative in files[0]:
        want, got = (pq.read_table(root / relative) for root in roots)
        assert got.equals(want, check_metadata=True), relative
        assert (roots[1] / relative).read_bytes() == (roots[0] / relative).read_bytes()
        declared = pq.read_table(roots[1] / relative, schema=schema).schema
        assert declared.equals(schema, check_metadata=True)


@pytest.mark.parametrize("mode", ["upsert", "append"])
def test_duckdb_ends_with_the_same_table(
    processor: tuple[str, Ledgers], tmp_path: Path, mode: str
) -> None:
    duckdb = pytest.importorskip("duckdb")
    name, _ = processor
    _, key = spec_of(name)
    tables = []
    for batches in (False, True):
        db = tmp_path / f"{batches}.duckdb"
        params = DuckdbParams(path=str(db), table="t", mode=mode)  # type: ignore[arg-type]
        run_sink(duckdb_sink.build, params, processor, batches, keep_ledgers=lambda s: s < 999)
        run_sink(duckdb_sink.build, params, processor, batches)  # overlaps the first run
        with duckdb.connect(str(db), read_only=True) as con:
            order = ", ".join(f'"{c}"' for c in (*key, "amount"))
            tables.append(con.sql(f"SELECT * FROM t ORDER BY {order}").to_arrow_table())
    assert tables[1].equals(tables[0])
    rows = sum(map(len, processor[1]))
    assert tables[0].num_rows > rows if mode == "append" else tables[0].num_rows == rows


# ---- ordering and deduplication on made-up rows: ties, null keys, fallbacks --------------------

TIES = pa.schema(
    [
        pa.field("ledger_sequence", pa.int64()),
        pa.field("name", pa.string()),
        pa.field("weight", pa.float64()),
        pa.field("amount", pa.decimal128(20, 2)),
    ]
)
TIE_ROWS: list[Record] = [
    {"ledger_sequence": 2, "name": "b", "weight": 0.5, "amount": Decimal("1.50")},
    {"ledger_sequence": None, "name": "z", "weight": None, "amount": None},
    {"ledger_sequence": 2, "name": "ä", "weight": -1.0, "amount": Decimal("-3.00")},
    {"ledger_sequence": 1, "name": "b", "weight": 2.0, "amount": Decimal("9.99")},
    {"ledger_sequence": 2, "name": "b", "weight": 0.25, "amount": Decimal("1.50")},
    {"ledger_sequence": 2, "name": None, "weight": 1.0, "amount": Decimal("0.00")},
    {"ledger_sequence": 1, "name": "b", "weight": 2.0, "amount": Decimal("9.99")},
]


@pytest.mark.parametrize(
    "key",
    [("ledger_sequence", "name"), ("ledger_sequence",), (), ("weight",), ("missing", "name")],
)
def test_ordered_lines_are_the_record_order(key: Sequence[str]) -> None:
    expected = [to_json(r) for r in sorted(TIE_ROWS, key=sort_key(key))]
    batches = [from_records(TIE_ROWS[:3], TIES), from_records(TIE_ROWS[3:], TIES)]
    assert list(jsonl.ordered_lines(jsonl.gather(batches), key)) == expected
    assert list(jsonl.ordered_lines(jsonl.gather([]), key)) == []


def test_parquet_splits_a_batch_across_files_and_days() -> None:
    layout = parquet.Layout("day", "ledger_sequence", "closed_at", 10)
    rows = [
        {"ledger_sequence": seq, "closed_at": datetime(2024, 9, day, 23, 59, 59, tzinfo=UTC)}
        for seq, day in [(9, 1), (10, 1), (9, 2), (19, 1), (10, 1)]
    ]
    schema = pa.schema([("ledger_sequence", pa.int64()), ("closed_at", pa.timestamp("s", "UTC"))])
    parts = dict(layout.split(from_records(rows, schema)))
    assert {f: b.num_rows for f, b in parts.items()} == {
        "day=2024-09-01/ledgers-0-9.parquet": 1,
        "day=2024-09-02/ledgers-0-9.parquet": 1,
        "day=2024-09-01/ledgers-10-19.parquet": 3,
    }
    for file, part in parts.items():
        assert all(layout.file_of(r) == file for r in part.to_pylist())
    assert list(layout.split(from_records([], schema))) == []


def test_parquet_batches_get_the_declared_nullability_and_metadata(tmp_path: Path) -> None:
    declared = pa.schema(
        [
            pa.field("ledger_sequence", pa.int64(), nullable=False, metadata={"d": "ledger"}),
            pa.field("amount", pa.decimal128(38, 7)),
        ],
        metadata={"m": "1"},
    )
    loose = pa.schema([(f.name, f.type) for f in declared])
    rows: list[Record] = [{"ledger_sequence": 7, "amount": Decimal("1.5")}]
    writer = parquet.FileWriter(str(tmp_path), declared, ("ledger_sequence",), None, "zstd", 10)
    writer(("records.parquet", rows))
    want = (tmp_path / "records.parquet").read_bytes()
    writer.write_batches(("records.parquet", [from_records(rows, loose)]))
    assert (tmp_path / "records.parquet").read_bytes() == want


def test_duckdb_dedupes_batches_as_it_dedupes_records() -> None:
    schema = pa.schema([("k", pa.int64()), ("v", pa.string())])
    table = duckdb_sink.DuckTable("db", "t", schema, ("k",), True)
    rows: list[Record] = [
        {"k": 1, "v": "a"},
        {"k": 2, "v": "b"},
        {"k": 1, "v": "c"},
        {"k": None, "v": "d"},
        {"k": None, "v": "e"},
        {"k": 3, "v": "f"},
    ]
    got = table.dedupe_table(pa.Table.from_pylist(rows, schema=schema)).to_pylist()
    assert got == table.dedupe(rows)
