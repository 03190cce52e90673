"""The parquet sink on the real testnet ledgers 997..999: replays replace files, types as declared."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flowctl_dsl import cli
from flowctl_dsl.catalog import catalog
from flowctl_dsl.transforms.records import to_json

pytestmark = pytest.mark.integration

LEDGERS = "997..999"


@pytest.fixture(scope="module")
def lake(stellar_fixtures: Path) -> Path:
    return stellar_fixtures / "testnet" / "datalake-testbucket"


@pytest.fixture(scope="module")
def expected(lake: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """Each processor's records for the ledgers, as canonical JSON (via the jsonl sink)."""
    out: dict[str, list[str]] = {}
    for processor in ("payments", "transactions"):
        path = tmp_path_factory.mktemp("expected") / f"{processor}.jsonl"
        text = f'datastore("{lake}", ledgers={LEDGERS}) | {processor} | save_to jsonl("{path}")'
        assert cli.main(["run", "-q", "-e", text]) == 0
        out[processor] = sorted(canonical(json.loads(ln)) for ln in path.read_text().splitlines())
    return out


def canonical(row: dict[str, Any]) -> str:
    return json.dumps(row, sort_keys=True)


def schema_of(processor: str) -> pa.Schema:
    spec = catalog().get("processor", processor)
    assert spec is not None and spec.schema is not None
    return spec.schema


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def read_rows(root: Path, schema: pa.Schema) -> list[str]:
    rows: list[str] = []
    for f in sorted(root.rglob("*.parquet")):
        rows.extend(
            canonical(json.loads(to_json(r))) for r in pq.read_table(f, schema=schema).to_pylist()
        )
    return sorted(rows)


def test_replay_replaces_files_and_keeps_declared_types(
    lake: Path, expected: dict[str, list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    text = f'datastore("{lake}", ledgers={LEDGERS}) | payments | save_to parquet'
    root = tmp_path / "out" / "inline"
    for _ in range(2):
        assert cli.main(["run", "-q", "-e", text]) == 0
        assert files_under(root) == ["ledger_range=0-999/ledgers-0-999.parquet"]
        assert read_rows(root, schema_of("payments")) == expected["payments"]

    path = root / "ledger_range=0-999" / "ledgers-0-999.parquet"
    declared = schema_of("payments")
    stored = pq.read_schema(path)
    assert stored.names == declared.names
    for got, want in zip(stored, declared, strict=True):
        assert got.nullable == want.nullable, got.name
        assert got.metadata == want.metadata, got.name
        if pa.types.is_timestamp(want.type):  # Parquet has no seconds unit: stored as ms, same tz
            assert (got.type.unit, got.type.tz) == ("ms", want.type.tz)
        else:
            assert got.type == want.type, got.name
    meta = pq.read_metadata(path)
    assert meta.row_group(0).column(0).compression == "ZSTD"
    table = pq.read_table(path)
    keys = list(
        zip(
            *(
                table[k].to_pylist()
                for k in ("ledger_sequence", "transaction_index", "operation_index")
            ),
            strict=True,
        )
    )
    assert keys == sorted(keys)


def test_day_partitions_small_files_and_partial_rerun(
    lake: Path, expected: dict[str, list[str]], tmp_path: Path
) -> None:
    out = tmp_path / "tx"
    sink = f'save_to parquet("{out}", partition_by=day, ledgers_per_file=2, compression=snappy, row_group_size=5)'
    full = f'datastore("{lake}", ledgers={LEDGERS}) | transactions | {sink}'
    assert cli.main(["run", "-q", "-e", full]) == 0
    files = files_under(out)
    assert files == [
        "day=2024-02-06/ledgers-996-997.parquet",
        "day=2024-02-06/ledgers-998-999.parquet",
    ]
    assert read_rows(out, schema_of("transactions")) == expected["transactions"]
    before = {f: (out / f).read_bytes() for f in files}

    partial = f'datastore("{lake}", ledgers=998..998) | transactions | {sink}'
    assert cli.main(["run", "-q", "-e", partial]) == 0
    assert files_under(out) == files
    assert read_rows(out, schema_of("transactions")) == expected["transactions"]
    assert (out / files[0]).read_bytes() == before[files[0]]  # ledger 997's file untouched
    assert pq.read_metadata(out / files[1]).row_group(0).num_rows <= 5


def test_select_without_the_ledger_column_is_fc405(
    lake: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = f'datastore("{lake}", ledgers={LEDGERS}) | payments | select amount | save_to parquet("{tmp_path}")'
    assert cli.main(["run", "-q", "-e", text]) == 1
    assert "FC405" in capsys.readouterr().err
    text = text.replace(f'parquet("{tmp_path}")', f'parquet("{tmp_path}", partition_by=none)')
    assert cli.main(["run", "-q", "-e", text]) == 0
    assert files_under(tmp_path) == ["records.parquet"]
