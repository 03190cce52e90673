"""The postgres sink against a real PostgreSQL server (see conftest_pg.py for how it is found).

Replays of the real testnet ledgers 997..999 leave one run's rows with the declared column types;
hostile strings round-trip unchanged; the server's statement log shows only the intended SQL; an
unreachable server is one FC404 line without the password.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pytest
from conftest_pg import PgServer, free_port, pg  # noqa: F401

from flowctl_dsl import cli
from flowctl_dsl.catalog import catalog
from flowctl_dsl.catalog.warehouse_sinks import PostgresParams
from flowctl_dsl.errors import FlowctlError
from flowctl_dsl.transforms.context import BuildContext
from flowctl_dsl.transforms.records import to_json
from flowctl_dsl.transforms.sinks import postgres

psycopg = pytest.importorskip("psycopg")

pytestmark = pytest.mark.integration

LEDGERS = "997..999"


@pytest.fixture(scope="module")
def lake(stellar_fixtures: Path) -> Path:
    return stellar_fixtures / "testnet" / "datalake-testbucket"


@pytest.fixture(scope="module")
def expected(
    lake: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, list[dict[str, Any]]]:
    """What each processor emits for the ledgers, as JSON objects (via the jsonl sink)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for processor in ("payments", "transactions"):
        path = tmp_path_factory.mktemp("expected") / f"{processor}.jsonl"
        text = f'datastore("{lake}", ledgers={LEDGERS}) | {processor} | save_to jsonl("{path}")'
        assert cli.main(["run", "-q", "-e", text]) == 0
        out[processor] = [json.loads(line) for line in path.read_text().splitlines()]
        assert out[processor]
    return out


@pytest.fixture
def conn(pg: PgServer) -> Iterator[Any]:  # noqa: F811
    with psycopg.connect(pg.dsn, autocommit=True, application_name="pytest") as c:
        yield c


def fresh_table(conn: Any, name: str) -> str:
    conn.execute(f'DROP TABLE IF EXISTS public."{name}"')
    return name


def run(monkeypatch: pytest.MonkeyPatch, pg: PgServer, text: str) -> int:  # noqa: F811
    monkeypatch.setenv("FLOWCTL_TEST_PG", pg.dsn)
    return cli.main(["run", "-q", "-e", text])


def rows_as_json(conn: Any, table: str, order: tuple[str, ...]) -> list[dict[str, Any]]:
    cur = conn.execute(f'SELECT * FROM public."{table}" ORDER BY {", ".join(order)}')
    names = [d.name for d in cur.description]
    return [json.loads(to_json(dict(zip(names, row, strict=True)))) for row in cur.fetchall()]


def pg_type(row: tuple[Any, ...]) -> str:
    data_type, precision, scale = row
    names = {
        "timestamp with time zone": "timestamptz",
        "character varying": "text",
        "double precision": "double precision",
    }
    if data_type == "numeric":
        return f"numeric({precision},{scale})"
    return names.get(data_type, data_type)


@pytest.mark.parametrize("processor", ["payments", "transactions"])
def test_replay_leaves_exactly_one_runs_rows_with_declared_types(
    processor: str,
    pg: PgServer,  # noqa: F811
    conn: Any,
    lake: Path,
    expected: dict[str, list[dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = catalog().get("processor", processor)
    assert spec is not None and spec.schema is not None
    table = fresh_table(conn, f"{processor}_replay")
    text = (
        f'datastore("{lake}", ledgers={LEDGERS}) | {processor} '
        f'| save_to postgres("${{FLOWCTL_TEST_PG}}", table={table}, batch_size=7)'
    )
    for _ in range(2):
        assert run(monkeypatch, pg, text) == 0
        got = rows_as_json(conn, table, spec.key_fields)
        assert len(got) == len(expected[processor])
        assert sorted(got, key=json.dumps) == sorted(expected[processor], key=json.dumps)

    columns = conn.execute(
        "SELECT column_name, data_type, numeric_precision, numeric_scale, is_nullable "
        "FROM information_schema.columns WHERE table_schema = 'public' AND table_name = %s "
        "ORDER BY ordinal_position",
        (table,),
    ).fetchall()
    assert [c[0] for c in columns] == spec.schema.names
    for (name, *typ, nullable), field in zip(columns, spec.schema, strict=True):
        assert pg_type(tuple(typ)) == postgres.sql_types.postgres_type(field.type), name
        assert (nullable == "YES") == field.nullable, name
    key = conn.execute(
        "SELECT array_agg(a.attname::text ORDER BY array_position(i.indkey, a.attnum)) "
        "FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
        "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = %s::regclass AND i.indisprimary",
        (f'public."{table}"',),
    ).fetchone()[0]
    assert tuple(key) == spec.key_fields


def test_overlapping_runs_add_no_duplicates(
    pg: PgServer,  # noqa: F811
    conn: Any,
    lake: Path,
    expected: dict[str, list[dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    table = fresh_table(conn, "payments_overlap")
    for ledgers in ("997..998", "998..999"):
        text = (
            f'datastore("{lake}", ledgers={ledgers}) | payments '
            f'| save_to postgres("${{FLOWCTL_TEST_PG}}", table={table})'
        )
        assert run(monkeypatch, pg, text) == 0
    got = rows_as_json(conn, table, ("ledger_sequence", "transaction_index", "operation_index"))
    assert sorted(got, key=json.dumps) == sorted(expected["payments"], key=json.dumps)


def test_append_mode_appends(
    pg: PgServer,  # noqa: F811
    conn: Any,
    lake: Path,
    expected: dict[str, list[dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    table = fresh_table(conn, "payments_append")
    text = (
        f'datastore("{lake}", ledgers={LEDGERS}) | payments '
        f'| save_to postgres("${{FLOWCTL_TEST_PG}}", table={table}, mode=append)'
    )
    for _ in range(2):
        assert run(monkeypatch, pg, text) == 0
    count = conn.execute(f"SELECT count(*) FROM public.{table}").fetchone()[0]
    assert count == 2 * len(expected["payments"])


# ---- hostile values, and nothing but the intended statements -----------------------------------
HOSTILE = [
    "O'Brien",
    'say "hi"',
    "x'); DROP TABLE hostile_victim; --",
    "$$ LANGUAGE plpgsql $$",
    "$tag$ body $tag$",
    "-- comment",
    "/* block */ SELECT 1",
    "back\\slash \\N \\x00ff",
    "tab\there\nnew line\r\nCRLF",
    "日本語 ✓ 🚀 ñ",
    "%s %(name)s {0} {}",
    "E'\\''",
    "",
]
HOSTILE_SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64(), nullable=False),
        pa.field("from", pa.string()),
        pa.field("select", pa.binary()),
        pa.field("amount", pa.decimal128(38, 7)),
        pa.field("at", pa.timestamp("s", tz="UTC"), nullable=False),
        pa.field("ok", pa.bool_()),
    ]
)


def hostile_records() -> list[dict[str, Any]]:
    amounts = [Decimal("-0.0000001"), Decimal("922337203685.4775807"), Decimal("0"), None]
    return [
        {
            "id": i,
            "from": text,
            "select": text.encode() + b"\x00\xff'",
            "amount": amounts[i % len(amounts)],
            "at": datetime(2024, 2, 6, 19, 0, i, tzinfo=UTC),
            "ok": i % 2 == 0 if i % 3 else None,
        }
        for i, text in enumerate(HOSTILE)
    ] + [
        {
            "id": 99,
            "from": None,
            "select": None,
            "amount": None,
            "at": datetime(2024, 1, 1, tzinfo=UTC),
            "ok": None,
        }
    ]


def write_with_beam(pg: PgServer, table: str, records: list[dict[str, Any]]) -> None:  # noqa: F811
    ctx = BuildContext(pipeline="hostile", schema=HOSTILE_SCHEMA, key_fields=("id",))
    params = PostgresParams.model_validate(
        {"dsn": pg.dsn, "table": table, "batch_size": 4}, strict=True
    )
    with beam.Pipeline(runner="FnApiRunner") as p:
        _ = p | beam.Create(records) | postgres.build(params, ctx)


def test_hostile_values_round_trip_unchanged(pg: PgServer, conn: Any) -> None:  # noqa: F811
    table = fresh_table(conn, "hostile_values")
    conn.execute("CREATE TABLE IF NOT EXISTS hostile_victim (x int)")
    records = hostile_records()
    write_with_beam(pg, table, records)
    write_with_beam(pg, table, records)  # a replay: still one row per id
    cur = conn.execute(f'SELECT * FROM public."{table}" ORDER BY id')
    names = [d.name for d in cur.description]
    got = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    assert got == records
    assert conn.execute("SELECT to_regclass('public.hostile_victim')").fetchone()[0] is not None


ALLOWED = [
    r"BEGIN",
    r"COMMIT",
    r"ROLLBACK",
    r"SELECT pg_advisory_xact_lock\(hashtextextended\(\$1, 0\)\)",
    r"SELECT 1 FROM pg_namespace WHERE nspname = \$1",
    r'CREATE TABLE IF NOT EXISTS "public"\."hostile_log" \(.*\)',
    r"SELECT column_name FROM information_schema\.columns WHERE table_schema = \$1 AND table_name = \$2",
    r"SELECT array_agg\(a\.attname::text\) FROM pg_index .* GROUP BY i\.indexrelid",
    r'CREATE TEMP TABLE IF NOT EXISTS "flowctl_stage" \(LIKE "public"\."hostile_log" INCLUDING DEFAULTS\) ON COMMIT DELETE ROWS',
    r'COPY "flowctl_stage" \("id", "from", "select", "amount", "at", "ok"\) FROM STDIN',
    r'INSERT INTO "public"\."hostile_log" AS t \(.*\) SELECT .* FROM "flowctl_stage" ON CONFLICT \("id"\) DO UPDATE SET .* WHERE \(.*\) IS DISTINCT FROM \(.*\)',
]
LOG_ENTRY = re.compile(r"^\S+ \S+ \S+ \[\d+\] (\S+) (\S*) LOG:  (?:statement|execute [^:]+): (.*)$")


def test_only_the_intended_statements_ran(pg: PgServer, conn: Any) -> None:  # noqa: F811
    if pg.log is None:
        pytest.skip("the server's statement log is unknown (set FLOWCTL_TEST_PG_LOG)")
    table = fresh_table(conn, "hostile_log")
    start = pg.log_size()
    write_with_beam(pg, table, hostile_records())
    time.sleep(0.2)  # the server flushes its log line by line
    statements = []
    for line in pg.log_since(start).splitlines():
        m = LOG_ENTRY.match(line)
        if m and m.group(2) == "flowctl":
            statements.append(m.group(3))
    assert any(s.startswith("COPY") for s in statements)
    assert any(s.startswith("INSERT INTO") for s in statements)
    for statement in statements:
        assert any(re.fullmatch(p, statement) for p in ALLOWED), statement
        for text in HOSTILE:
            if len(text) > 3:
                assert text not in statement


def test_bad_column_names_are_refused_before_connecting() -> None:
    schema = pa.schema([pa.field('a"; DROP TABLE t; --', pa.int64())])
    ctx = BuildContext(pipeline="x", schema=schema, key_fields=())
    params = PostgresParams.model_validate(
        {"dsn": "postgresql://u@127.0.0.1:1/db", "table": "t", "mode": "append"}, strict=True
    )
    with pytest.raises(FlowctlError, match="not a plain identifier"):
        postgres.build(params, ctx)


# ---- failures --------------------------------------------------------------------------------------
def test_unreachable_server_is_one_fc404_line_without_the_password(
    lake: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("flowctl_dsl.transforms.sinks.targets.FIRST_DELAY_S", 0.05)
    password = "Tr0ub4dor-" + uuid.uuid4().hex[:8]
    port = free_port()
    monkeypatch.setenv("FLOWCTL_TEST_PG_DOWN", f"postgresql://bob:{password}@127.0.0.1:{port}/db")
    text = (
        f'datastore("{lake}", ledgers={LEDGERS}) | payments '
        '| save_to postgres("${FLOWCTL_TEST_PG_DOWN}", table=payments)'
    )
    started = time.monotonic()
    assert cli.main(["run", "-q", "-e", text]) == 1
    assert time.monotonic() - started < 30
    out = capsys.readouterr()
    assert password not in out.out + out.err
    errors = [ln for ln in out.err.splitlines() if "error[FC404]" in ln]
    assert len(errors) == 1
    assert errors[0].endswith(
        f"cannot reach postgres target postgresql://bob:****@127.0.0.1:{port}/db after 3 "
        f'attempts: connection failed: connection to server at "127.0.0.1", port {port} '
        "failed: Connection refused"
    )


def test_wrong_password_is_fc404_with_the_password_masked(
    pg: PgServer,  # noqa: F811
    lake: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not pg.password:
        pytest.skip("the test server has no password")
    monkeypatch.setattr("flowctl_dsl.transforms.sinks.targets.FIRST_DELAY_S", 0.05)
    wrong = pg.dsn.replace(pg.password, "Wr0ng-pass-" + uuid.uuid4().hex[:6])
    monkeypatch.setenv("FLOWCTL_TEST_PG_WRONG", wrong)
    text = (
        f'datastore("{lake}", ledgers={LEDGERS}) | payments '
        '| save_to postgres("${FLOWCTL_TEST_PG_WRONG}", table=payments)'
    )
    assert cli.main(["run", "-q", "-e", text]) == 1
    err = capsys.readouterr().err
    assert "Wr0ng-pass" not in err and pg.password not in err
    line = next(ln for ln in err.splitlines() if "error[FC404]" in ln)
    assert "password authentication failed" in line and ":****@" in line


def test_existing_table_without_the_key_constraint_is_fc405(
    pg: PgServer,  # noqa: F811
    conn: Any,
    lake: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    table = fresh_table(conn, "payments_nokey")
    spec = catalog().get("processor", "payments")
    assert spec is not None and spec.schema is not None
    keyless = postgres.Table.of("public", table, spec.schema, (), upsert=False)
    conn.execute(postgres.create_table_sql(keyless))
    text = (
        f'datastore("{lake}", ledgers={LEDGERS}) | payments '
        f'| save_to postgres("${{FLOWCTL_TEST_PG}}", table={table})'
    )
    assert run(monkeypatch, pg, text) == 1
    err = capsys.readouterr().err
    line = next(ln for ln in err.splitlines() if "error[FC405]" in ln)
    assert line.endswith(
        f"table public.{table} has no primary key or unique constraint on "
        "(ledger_sequence, transaction_index, operation_index), so upserts cannot find existing rows"
    )
    assert "ADD PRIMARY KEY" in err
    assert conn.execute(f"SELECT count(*) FROM public.{table}").fetchone()[0] == 0


def test_executemany_writer_matches_copy_and_merge(pg: PgServer, conn: Any) -> None:  # noqa: F811
    """The slower one-INSERT-per-row writer (kept for benchmarks) upserts the same rows."""
    results = []
    for name, write in (
        ("w_copy", postgres.write_batch),
        ("w_many", postgres.write_batch_executemany),
    ):
        fresh_table(conn, name)
        table = postgres.Table.of("public", name, HOSTILE_SCHEMA, ("id",), upsert=True)
        rows = [table.row(r) for r in hostile_records()]
        with psycopg.connect(pg.dsn) as c:
            postgres.ensure_table(c, table)
            postgres.create_stage(c, table)
            write(c, table, rows + rows[:3])  # duplicates in one batch: the last one wins
            write(c, table, rows)
        results.append(conn.execute(f"SELECT * FROM public.{name} ORDER BY id").fetchall())
    assert results[0] == results[1]
    assert len(results[0]) == len(hostile_records())
