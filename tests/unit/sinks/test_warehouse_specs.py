"""Checker errors, ``explain`` and compiled artifacts of the warehouse sinks (nothing connects)."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowctl_dsl import cli
from flowctl_dsl.catalog import catalog

SOURCE = "mainnet(ledgers=1000..1001) | payments | "
PASSWORD = "Sup3r-s3cret-pw"
DSN = f"postgresql://flow:{PASSWORD}@127.0.0.1:5432/flow"
#: Pipelines name the DSN through the environment, as users should: a literal DSN is echoed back
#: in the caret excerpt of any error on its line, since it is the user's own text.
REF = '"${FLOWCTL_TEST_DSN}"'


@pytest.fixture(autouse=True)
def _dsn_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWCTL_TEST_DSN", DSN)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out + out.err


@pytest.mark.parametrize("sink", ["parquet", "postgres", "duckdb", "bigquery"])
def test_each_sink_is_in_the_catalog_with_a_guarantee(sink: str) -> None:
    spec = catalog().get("sink", sink)
    assert spec is not None and spec.guarantee
    assert spec.guarantee.startswith("idempotent replay")


def test_parquet_alone_is_a_valid_sink(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "check", "-e", SOURCE + "save_to parquet")
    assert code == 0, out


@pytest.mark.parametrize(
    "table", ["x; DROP TABLE y", '\\"a\\"', "1abc", "a-b", "payments--", "t$$x"]
)
@pytest.mark.parametrize("sink", ["postgres", "duckdb"])
def test_bad_table_names_are_checker_errors(
    capsys: pytest.CaptureFixture[str], sink: str, table: str
) -> None:
    first = REF if sink == "postgres" else '"out/x.duckdb"'
    code, out = run(capsys, "check", "-e", SOURCE + f'save_to {sink}({first}, table="{table}")')
    assert code == 1
    assert "FC105" in out and "not a plain identifier" in out
    assert PASSWORD not in out


def test_bad_schema_name_is_a_checker_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(
        capsys, "check", "-e", SOURCE + f'save_to postgres({REF}, table=t, schema="a;b")'
    )
    assert code == 1 and "FC105" in out and "schema name" in out


@pytest.mark.parametrize(
    "dsn",
    [
        f"postgresql://flow:{PASSWORD}@127.0.0.1:notaport/flow",
        f"mysql://flow:{PASSWORD}@127.0.0.1/flow",
        f"host=127.0.0.1 password={PASSWORD} bogus=1",
        f"just words {PASSWORD}",
        "",
    ],
)
def test_malformed_dsns_are_checker_errors_without_the_password(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, dsn: str
) -> None:
    monkeypatch.setenv("FLOWCTL_TEST_DSN", dsn)
    code, out = run(capsys, "check", "-e", SOURCE + f"save_to postgres({REF}, table=t)")
    assert code == 1
    assert "FC105" in out and "dsn" in out
    assert PASSWORD not in out


def test_a_literal_dsn_is_valid_too(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "check", "-e", SOURCE + f'save_to postgres("{DSN}", table=t)')
    assert code == 0, out


def test_unknown_compression_lists_the_choices(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "check", "-e", SOURCE + "save_to parquet(compression=lz5)")
    assert code == 1 and "FC105" in out
    for choice in ("zstd", "snappy", "gzip", "brotli", "lz4", "none"):
        assert choice in out


@pytest.mark.parametrize(
    "table",
    ["onlyonepart", "Project.dataset.table", "my-project.data set.t", "x.y.z.w", "my-project.d.t;"],
)
def test_bad_bigquery_tables_are_checker_errors(
    capsys: pytest.CaptureFixture[str], table: str
) -> None:
    code, out = run(capsys, "check", "-e", SOURCE + f'save_to bigquery("{table}")')
    assert code == 1 and "FC105" in out


@pytest.mark.parametrize("table", ["my-project.stellar.payments", "stellar.payments"])
def test_good_bigquery_tables_pass(capsys: pytest.CaptureFixture[str], table: str) -> None:
    code, out = run(capsys, "check", "-e", SOURCE + f'save_to bigquery("{table}")')
    assert code == 0, out


def test_explain_shows_guarantees_and_masks_the_dsn(capsys: pytest.CaptureFixture[str]) -> None:
    text = (
        SOURCE
        + f'save_to [postgres("{DSN}", table=payments), duckdb("out/x.duckdb", table=payments), '
        + 'parquet, bigquery("my-project.stellar.payments")]'
    )
    code, out = run(capsys, "explain", "-e", text)
    assert code == 0, out
    assert PASSWORD not in out
    assert "dsn=****" in out
    assert out.count("guarantee: idempotent replay") == 4
    assert "upsert on the natural key" in out


def test_plan_json_masks_the_dsn(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "debug", "plan", "-e", SOURCE + f'save_to postgres("{DSN}", table=t)')
    assert code == 0
    assert PASSWORD not in out and '"table": "t"' in out


def _compile(capsys: pytest.CaptureFixture[str], tmp_path: Path, fixtures: Path) -> Path:
    out_dir = tmp_path / "compiled"
    lake = fixtures / "testnet" / "datalake-testbucket"
    code, out = run(
        capsys,
        "compile",
        "-e",
        f'datastore("{lake}", ledgers=997..999) | payments | save_to postgres({REF}, table=p)',
        "-o",
        str(out_dir),
    )
    assert code == 0, out
    assert PASSWORD not in out
    return out_dir


def test_compiled_pipeline_and_plan_hold_no_password(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, stellar_fixtures: Path
) -> None:
    out_dir = _compile(capsys, tmp_path, stellar_fixtures)
    for name in ("plan.json", "pipeline.pb", "options.json", "beam_graph.txt", "manifest.json"):
        assert PASSWORD.encode() not in (out_dir / name).read_bytes(), name


def test_compiled_ir_holds_no_password(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, stellar_fixtures: Path
) -> None:
    out_dir = _compile(capsys, tmp_path, stellar_fixtures)
    assert PASSWORD.encode() not in (out_dir / "ir.json").read_bytes()
