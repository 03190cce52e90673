"""End to end through the CLI on the real testnet lake in ../shared (ledgers 997–999)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import zstandard
from stellar_sdk import xdr

from flowctl_dsl.cli import main


@pytest.fixture(scope="module")
def lake(stellar_fixtures: Path) -> Path:
    return stellar_fixtures / "testnet" / "datalake-testbucket"


def oracle(lake: Path, seq: int) -> dict[str, object]:
    """Counts read straight from the ledger XDR with stellar-sdk, independently of flowctl."""
    (path,) = lake.glob(f"*--{seq}.xdr.*")
    raw = zstandard.ZstdDecompressor().decompress(path.read_bytes(), max_output_size=1 << 30)
    lcm = xdr.LedgerCloseMetaBatch.from_xdr_bytes(raw).ledger_close_metas[0].v1
    header = lcm.ledger_header.header
    txs = lcm.tx_processing
    ops = 0
    for tp in txs:
        res = tp.result.result.result
        inner = res.inner_result_pair.result.result if res.inner_result_pair else res
        ops += len(inner.results or [])
    return {
        "sequence": header.ledger_seq.uint32,
        "closed_at": datetime.fromtimestamp(
            header.scp_value.close_time.time_point.uint64, UTC
        ).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "transaction_count": len(txs),
    }


def run_lines(args: list[str], capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    assert main(args) == 0
    out = capsys.readouterr().out
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_latest_ledger_prints_three_ledgers_matching_the_xdr(
    lake: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = f'source datastore("{lake}", network=testnet, ledgers=997..999) | latest_ledger | stdout'
    rows = run_lines(["run", "-q", "-e", text], capsys)
    assert [r["sequence"] for r in rows] == [997, 998, 999]
    for row in rows:
        expected = oracle(lake, int(row["sequence"]))  # type: ignore[arg-type]
        assert row["closed_at"] == expected["closed_at"]
        assert row["transaction_count"] == expected["transaction_count"]
    # operation counts and success counts as PROVENANCE.md lists them
    assert [
        (r["transaction_count"], r["successful_transaction_count"], r["operation_count"])
        for r in rows
    ] == [
        (7, 4, 10),
        (7, 2, 14),
        (3, 3, 7),
    ]


def test_flat_lake_via_file_url_and_filters(lake: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (
        f'"file://{lake}" | transactions | filter successful == false and fee_charged > 0 '
        "| select ledger_sequence, transaction_hash | stdout"
    )
    rows = run_lines(["run", "-q", "-e", text], capsys)
    assert len(rows) == (7 - 4) + (7 - 2) + 0
    assert all(set(r) == {"ledger_sequence", "transaction_hash"} for r in rows)
    assert all(len(str(r["transaction_hash"])) == 64 for r in rows)


def test_jsonl_output_derive_and_limit(
    lake: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ops" / "ops.jsonl"
    text = (
        f'datastore("{lake}") | operations | derive next_ledger = ledger_sequence + 1 '
        f'| limit 5 | save_to jsonl("{out}")'
    )
    assert main(["run", "-q", "-e", text]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 5
    assert all(r["next_ledger"] == r["ledger_sequence"] + 1 for r in rows)
    keys = [(r["ledger_sequence"], r["transaction_index"], r["operation_index"]) for r in rows]
    assert keys == sorted(keys) and keys[0][0] == 997
    # a re-run replaces the file rather than appending
    assert main(["run", "-q", "-e", text]) == 0
    assert len(out.read_text().splitlines()) == 5
    assert not [p for p in out.parent.iterdir() if p.name.endswith(".tmp")]


def test_set_overrides_a_source_parameter(lake: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = f'datastore("{lake}", ledgers=997..999) | ledgers | select sequence | stdout'
    rows = run_lines(["run", "-q", "-e", text, "--set", "source.ledgers=998..998"], capsys)
    assert rows == [{"sequence": 998}]


def test_env_interpolation_in_a_file(
    lake: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    flow = tmp_path / "p.flow"
    flow.write_text(
        'source: datastore("${LAKE}", ledgers=${RANGE:-999..999})\nprocess:\n  - ledgers\n  - select sequence\nsave_to: stdout\n'
    )
    monkeypatch.setenv("LAKE", str(lake))
    rows = run_lines(["run", "-q", str(flow)], capsys)
    assert rows == [{"sequence": 999}]
    rows = run_lines(["run", "-q", str(flow), "--set", "RANGE=997..998"], capsys)
    assert [r["sequence"] for r in rows] == [997, 998]


def test_missing_ledger_is_one_clean_error(lake: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = f'datastore("{lake}", ledgers=995..999) | ledgers | stdout'
    assert main(["run", "-q", "-e", text]) == 1
    err = capsys.readouterr().err
    assert "FC401" in err and "995" in err and "Traceback" not in err


def test_compile_writes_artifacts(
    lake: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = f'datastore("{lake}", ledgers=997..999) | payments | filter amount > 1 | stdout'
    out = tmp_path / "target"
    assert main(["compile", "-e", text, "--runner=direct", "-o", str(out)]) == 0
    names = {p.name for p in out.iterdir()}
    assert {
        "ir.json",
        "plan.json",
        "pipeline.pb",
        "beam_graph.txt",
        "options.json",
        "manifest.json",
    } <= names
    plan = json.loads((out / "plan.json").read_text())
    assert [s["kind"] for s in plan["stages"]] == ["processor", "filter"]
    assert plan["stages"][1]["expr"]["left"]["path"] == ["amount"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["runner"] == "direct" and len(manifest["ir_sha256"]) == 64
    from apache_beam.portability.api import beam_runner_api_pb2

    proto = beam_runner_api_pb2.Pipeline.FromString((out / "pipeline.pb").read_bytes())
    assert any("01_payments" in t.unique_name for t in proto.components.transforms.values())


def test_explain_names_the_primary_field_and_guarantee(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "-e", "testnet | payments | filter > 1000 | stdout"]) == 0
    out = capsys.readouterr().out
    assert "compares `amount`" in out
    assert "guarantee:" in out and "direct" in out
    assert "Test SDF Network ; September 2015" in out


def test_check_accepts_the_readme_examples_without_network(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["check", "-e", "mainnet | latest_ledger | stdout"]) == 0
    text = (
        'source datastore("file:///data/lake", network=testnet, ledgers=997..999)\n'
        "  | payments\n"
        '  | filter amount > 100 and asset_code == "USDC"\n'
        '  | save_to jsonl("out/payments.jsonl")\n'
    )
    assert main(["check", "-e", text]) == 0


def test_fmt_check_and_conversion(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flow = tmp_path / "x.flow"
    flow.write_text("mainnet|latest_ledger   |stdout")
    assert main(["fmt", "--check", str(flow)]) == 1
    assert main(["fmt", "-w", str(flow)]) == 0
    assert flow.read_text() == "mainnet | latest_ledger | stdout\n"
    assert main(["fmt", "--check", str(flow)]) == 0
    capsys.readouterr()
    assert main(["fmt", "--to", "key", str(flow)]) == 0
    assert (
        capsys.readouterr().out == "source: mainnet\nprocess:\n  - latest_ledger\nsave_to: stdout\n"
    )


def test_list_describe_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("datastore", "latest_ledger", "payments", "stdout", "jsonl", "direct"):
        assert name in out
    assert main(["describe", "latest-ledger"]) == 0
    out = capsys.readouterr().out
    assert "sequence: int64 (primary)" in out
    assert main(["describe", "paymnets"]) == 1
    assert "did you mean" in capsys.readouterr().err
    assert main(["version"]) == 0
    assert "apache-beam 2.77" in capsys.readouterr().out


def test_debug_dumps_each_stage(capsys: pytest.CaptureFixture[str]) -> None:
    for stage in ("ast", "ir", "plan"):
        assert main(["debug", stage, "-e", "mainnet | ledgers | stdout"]) == 0
        assert capsys.readouterr().out.strip()
