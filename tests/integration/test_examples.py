"""Every example in examples/ checks, and runs (outputs sent to a temp dir)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest_pg import PgServer, pg  # noqa: F401

from flowctl_dsl.cli import main
from flowctl_dsl.driver import Input, checked

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(REPO.glob("examples/**/*.flow"))


@pytest.mark.parametrize(
    "path", EXAMPLES, ids=[str(p.relative_to(REPO / "examples")) for p in EXAMPLES]
)
def test_example_checks_and_runs(
    path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    if "../shared" in path.read_text() and not (REPO.parent / "shared").is_dir():
        pytest.skip("needs ../shared")
    monkeypatch.chdir(REPO)
    plan = checked(Input.from_file(str(path)))
    sets: list[str] = []
    for sink in plan.sinks:
        if sink.params is not None and "path" in type(sink.params).model_fields:
            sets.append(f"{sink.label}.path={json.dumps(str(tmp_path / (sink.label + '.out')))}")
    if any(s.label in ("postgres", "bigquery") for s in plan.sinks):
        pytest.skip("database targets run in test_postgres_example / are checked only (bigquery)")
    assert main(["run", "-q", str(path), *[a for s in sets for a in ("--set", s)]]) == 0
    out = capsys.readouterr().out
    written = [p for p in tmp_path.iterdir()] if tmp_path.exists() else []
    assert out.strip() or written, "the example produced no output"


def test_readme_starts_with_the_two_commands() -> None:
    lines = [
        ln for ln in (REPO / "README.md").read_text().splitlines() if ln.startswith("scripts/")
    ]
    assert lines[0].startswith(
        "scripts/setup && .venv/bin/flowctl run examples/localnet_payments.flow"
    )
    assert lines[1].startswith("scripts/test")


def test_postgres_example_runs_against_a_real_server(
    pg: PgServer,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """examples/sinks/postgres.flow into the test server; twice, leaving one run's rows."""
    import psycopg

    if not (REPO.parent / "shared").is_dir():
        pytest.skip("needs ../shared")
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("FLOWCTL_PG_DSN", pg.dsn)
    example = REPO / "examples" / "sinks" / "postgres.flow"
    with psycopg.connect(pg.dsn) as conn:
        conn.execute("DROP TABLE IF EXISTS public.testnet_payments")
    for _ in range(2):
        assert main(["run", "-q", str(example)]) == 0
    capsys.readouterr()
    assert main(["run", "-q", "-e", example.read_text().split("| save_to")[0] + "| stdout"]) == 0
    expected = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    with psycopg.connect(pg.dsn) as conn:
        rows = conn.execute(
            "SELECT ledger_sequence, transaction_index, operation_index, amount_raw "
            "FROM public.testnet_payments ORDER BY 1, 2, 3"
        ).fetchall()
    assert len(expected) > 0
    assert rows == [
        (r["ledger_sequence"], r["transaction_index"], r["operation_index"], r["amount_raw"])
        for r in expected
    ]


def test_bigquery_example_checks() -> None:
    """No BigQuery emulator builds here (see the sinks notes): the example is checked, not run."""
    assert main(["check", str(REPO / "examples" / "sinks" / "bigquery.flow")]) == 0
