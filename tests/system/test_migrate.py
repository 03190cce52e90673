"""`flowctl migrate` end to end: every V1 fixture and its migrated .flow compile to the same IR."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from flowctl_dsl import ir
from flowctl_dsl.catalog import catalog
from flowctl_dsl.checks import check
from flowctl_dsl.cli import main
from flowctl_dsl.config import secrets
from flowctl_dsl.config.migrate import migrate
from flowctl_dsl.errors import Source
from flowctl_dsl.plan import build_plan

REPO = Path(__file__).resolve().parents[2]
FIXTURES = sorted((REPO / "tests" / "fixtures" / "v1").glob("*.yaml"))


@pytest.fixture(autouse=True)
def clean_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stellar_fixtures: Path) -> None:
    """No defaults files or FLOWCTL_* settings; the variables the fixtures use are set."""
    for name in list(os.environ):
        if name.startswith("FLOWCTL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr("flowctl_dsl.config.layers.SYSTEM_FILE", tmp_path / "none.toml")
    monkeypatch.chdir(tmp_path)
    lake = stellar_fixtures / "testnet" / "datalake-testbucket"
    monkeypatch.setenv("TESTNET_LAKE", str(lake))
    monkeypatch.setenv("RPC_API_KEY", "test-key")


def ir_dump(path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    assert main(["debug", "ir", str(path)]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def steps(pipeline: ir.Pipeline) -> list[dict[str, object]]:
    """What the plan runs (every step with its effective parameters), IR hash left out."""
    with secrets.offline():
        plan = build_plan(check(pipeline, catalog()))
    return [json.loads(s.model_dump_json()) for s in plan.steps]


def test_there_are_at_least_five_fixtures() -> None:
    assert len(FIXTURES) >= 5


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.stem for f in FIXTURES])
def test_fixture_and_migrated_file_compile_to_the_same_ir(
    fixture: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = migrate(Source(str(fixture), fixture.read_text()))
    out = tmp_path / "migrated"
    assert (
        main(["migrate", str(fixture), "-o", str(out) + ("/" if len(results) > 1 else ".flow")])
        == 0
    )
    capsys.readouterr()
    if len(results) == 1:
        written = [out.with_suffix(".flow")]
        # the V1 file itself runs through the compiler: its IR equals the migrated file's
        assert ir_dump(fixture, capsys) == ir_dump(written[0], capsys)
    else:
        written = sorted(out.glob("*.flow"))
        assert len(written) == len(results)
    # what `flowctl check old.yaml` would run, ${VAR} expanded, pipeline by pipeline
    expanded = migrate(Source(str(fixture), fixture.read_text()), env=os.environ, keep_env=False)
    by_name = {r.name: (r, e) for r, e in zip(results, expanded, strict=True)}
    for path in written:
        dumped = ir_dump(path, capsys)
        result, loaded = by_name[str(dumped["name"])]
        assert dumped == json.loads(ir.dump(loaded.pipeline))
        # dropping values equal to defaults changed nothing that runs
        assert steps(result.full) == steps(result.pipeline)


def test_v1_file_and_migrated_file_give_the_same_records(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = REPO / "tests" / "fixtures" / "v1" / "local_lake_latest_ledger.yaml"
    assert main(["run", "-q", str(fixture)]) == 0
    from_v1 = capsys.readouterr().out
    assert main(["migrate", str(fixture), "-o", str(tmp_path / "m.flow")]) == 0
    capsys.readouterr()
    assert main(["run", "-q", str(tmp_path / "m.flow")]) == 0
    from_flow = capsys.readouterr().out
    rows = [json.loads(line) for line in from_v1.splitlines() if line.startswith("{")]
    assert [r["sequence"] for r in rows] == [997, 998, 999]
    assert from_v1 == from_flow


def test_report_lists_what_was_not_carried_over_with_yaml_lines(
    capsys: pytest.CaptureFixture[str],
) -> None:
    fixture = REPO / "tests" / "fixtures" / "v1" / "contract_data_gcs_parquet.yaml"
    assert main(["migrate", str(fixture)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("name: ContractDataToGCS\nsource: mainnet(ledgers=50000000..50100000")
    assert (
        'save_to: parquet("out/stellar-data/contract_data/", compression=snappy, partition_by=day)'
        in out
    )
    assert f"{fixture}:10: pipelines.ContractDataToGCS.source.config.num_workers:" in err
    assert f"{fixture}:25: pipelines.ContractDataToGCS.consumers[0].config.storage_type: GCS" in err
    assert "10 V1 settings not carried over" in err
    assert main(["migrate", "--strict", str(fixture)]) == 1


def test_passwords_never_reach_the_migrated_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = REPO / "tests" / "fixtures" / "v1" / "payments_postgres.yaml"
    assert main(["migrate", str(fixture), "--to", "pipe"]) == 0
    out, err = capsys.readouterr()
    assert "password" not in out and "PG_PASSWORD" not in out
    assert 'export PGPASSWORD="$PG_PASSWORD"' in err
    assert "the pipe form has no name" in err


def test_unsupported_v1_type_is_a_coded_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    text = (REPO / "tests" / "fixtures" / "v1" / "payments_postgres.yaml").read_text()
    bad.write_text(text.replace("type: SaveToPostgreSQL", "type: SaveToPostgres"))
    assert main(["migrate", str(bad)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert (
        f"{bad}:23:15: error[FC511]: unsupported V1 consumer type `SaveToPostgres`" in captured.err
    )
    assert "did you mean `SaveToPostgreSQL`" in captured.err
    assert main(["check", str(bad)]) == 1  # the same error when the V1 file is checked directly
    assert "FC511" in capsys.readouterr().err


def test_several_pipelines_need_a_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = REPO / "tests" / "fixtures" / "v1" / "multi_pipeline.yaml"
    assert main(["migrate", str(fixture), "-o", str(tmp_path / "one.flow")]) == 1
    assert "FC513" in capsys.readouterr().err
    assert main(["check", str(fixture)]) == 1
    assert "FC513" in capsys.readouterr().err
    assert main(["migrate", str(fixture), "-o", str(tmp_path / "many")]) == 0
    assert sorted(p.name for p in (tmp_path / "many").iterdir()) == [
        "new_accounts.flow",
        "soroban_events.flow",
    ]
