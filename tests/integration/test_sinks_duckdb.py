"""The duckdb sink on the real testnet ledgers 997..999: upserts on the key, types as declared."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from flowctl_dsl import cli
from flowctl_dsl.catalog import catalog
from flowctl_dsl.transforms.records import to_json
from flowctl_dsl.transforms.sinks.sql_types import duckdb_type

duckdb = pytest.importorskip("duckdb")

pytestmark = pytest.mark.integration

LEDGERS = "997..999"


@pytest.fixture(scope="module")
def lake(stellar_fixtures: Path) -> Path:
    return stellar_fixtures / "testnet" / "datalake-testbucket"


@pytest.fixture(scope="module")
def expected(lake: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for processor in ("payments", "transactions"):
        path = tmp_path_factory.mktemp("expected") / f"{processor}.jsonl"
        text = f'datastore("{lake}", ledgers={LEDGERS}) | {processor} | save_to jsonl("{path}")'
        assert cli.main(["run", "-q", "-e", text]) == 0
        out[processor] = sorted(canonical(json.loads(ln)) for ln in path.read_text().splitlines())
    return out


def canonical(row: dict[str, Any]) -> str:
    return json.dumps(row, sort_keys=True)


def table_rows(db: Path, table: str) -> list[str]:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.sql(f'SELECT * FROM "{table}"').to_arrow_table().to_pylist()
    return sorted(canonical(json.loads(to_json(r))) for r in rows)


@pytest.mark.parametrize("processor", ["payments", "transactions"])
def test_replay_leaves_exactly_one_runs_rows_with_declared_types(
    processor: str, lake: Path, expected: dict[str, list[str]], tmp_path: Path
) -> None:
    spec = catalog().get("processor", processor)
    assert spec is not None and spec.schema is not None
    db = tmp_path / "sub" / "stellar.duckdb"
    text = f'datastore("{lake}", ledgers={LEDGERS}) | {processor} | save_to duckdb("{db}", table={processor})'
    for _ in range(2):
        assert cli.main(["run", "-q", "-e", text]) == 0
        assert table_rows(db, processor) == expected[processor]
    with duckdb.connect(str(db), read_only=True) as con:
        described = con.execute(f'DESCRIBE "{processor}"').fetchall()
    assert [d[0] for d in described] == spec.schema.names
    aliases = {"TIMESTAMP WITH TIME ZONE": "TIMESTAMPTZ"}
    for (name, typ, null, key, *_), field in zip(described, spec.schema, strict=True):
        assert aliases.get(typ, typ) == duckdb_type(field.type), name
        assert (null == "YES") == field.nullable, name
        assert (key == "PRI") == (name in spec.key_fields), name


def test_overlapping_runs_and_append_mode(
    lake: Path, expected: dict[str, list[str]], tmp_path: Path
) -> None:
    db = tmp_path / "s.duckdb"
    for ledgers in ("997..998", "998..999"):
        text = (
            f'datastore("{lake}", ledgers={ledgers}) | payments | save_to duckdb("{db}", table=p)'
        )
        assert cli.main(["run", "-q", "-e", text]) == 0
    assert table_rows(db, "p") == expected["payments"]

    text = f'datastore("{lake}", ledgers={LEDGERS}) | payments | save_to duckdb("{db}", table=a, mode=append)'
    for _ in range(2):
        assert cli.main(["run", "-q", "-e", text]) == 0
    assert table_rows(db, "a") == sorted(expected["payments"] * 2)


def test_a_database_locked_by_another_process_is_fc404(
    lake: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("flowctl_dsl.transforms.sinks.targets.FIRST_DELAY_S", 0.01)
    db = tmp_path / "busy.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        text = (
            f'datastore("{lake}", ledgers={LEDGERS}) | payments | save_to duckdb("{db}", table=p)'
        )
        assert cli.main(["run", "-q", "-e", text]) == 1
    finally:
        holder.communicate("", timeout=30)
    err = capsys.readouterr().err
    line = next(ln for ln in err.splitlines() if "error[FC404]" in ln)
    assert f"cannot reach duckdb target {db} after 3 attempts" in line
    assert "lock" in line


HOLD_LOCK = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
print("locked", flush=True)
sys.stdin.read()
"""
