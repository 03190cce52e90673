"""``xdr_file``: every ledger file format of the fixtures, format and network detection, globs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from flowctl_dsl.cli import main
from flowctl_dsl.stellar.formats import read_ledger_file
from flowctl_dsl.stellar.networks import (
    MAINNET_PASSPHRASE,
    STANDALONE_PASSPHRASE,
    TESTNET_PASSPHRASE,
)
from flowctl_dsl.transforms.sources.xdr_file import XdrFileError, plan_files

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("name", "fmt", "passphrase"),
    [
        ("standalone/rpc-load-test-ledgers-v25.xdr.zstd", "framed", STANDALONE_PASSPHRASE),
        (
            "standalone/galexie-load-test-ledgers-v23-standalone.xdr.zstd",
            "framed",
            STANDALONE_PASSPHRASE,
        ),
        ("pubnet/ttp-ledgers-base64.txt", "b64lines", MAINNET_PASSPHRASE),
        ("pubnet/ttp/mint-ledger-7320888", "b64lines", MAINNET_PASSPHRASE),
        ("pubnet/getLedgers-derived-53312000.json", "getledgers", MAINNET_PASSPHRASE),
        ("pubnet/FCD285FF--53312000.xdr.zstd", "batch", MAINNET_PASSPHRASE),
        ("testnet/datalake-testbucket/FFFFFC19--998.xdr.zstd", "batch", TESTNET_PASSPHRASE),
    ],
)
def test_detects_format_and_network(
    stellar_fixtures: Path, name: str, fmt: str, passphrase: str
) -> None:
    [(path, got_fmt, got_passphrase)] = plan_files(str(stellar_fixtures / name), None, None)
    assert (got_fmt, got_passphrase) == (fmt, passphrase)


def test_unknown_network_needs_the_passphrase(stellar_fixtures: Path) -> None:
    name = str(stellar_fixtures / "standalone" / "horizon-load-test-ledgers-v22.xdr.zstd")
    with pytest.raises(XdrFileError, match="network_passphrase"):
        plan_files(name, None, None)
    assert plan_files(name, "framed", "load test network")[0][2] == "load test network"
    with pytest.raises(XdrFileError, match="no file matches"):
        plan_files(str(stellar_fixtures / "nope" / "*.xdr"), None, None)


def _run(text: str, out: Path, capsys: pytest.CaptureFixture) -> list[dict]:
    code = main(["run", "-q", "-e", text])
    assert code == 0, capsys.readouterr().err
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_formats_through_pipelines(
    stellar_fixtures: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "a.jsonl"
    rows = _run(
        f'xdr_file("{stellar_fixtures}/testnet/datalake-testbucket/*.xdr.zstd") | latest_ledger '
        f'| select sequence | save_to jsonl("{out}")',
        out,
        capsys,
    )
    assert sorted(r["sequence"] for r in rows) == [997, 998, 999]

    out = tmp_path / "b.jsonl"
    rows = _run(
        f'xdr_file("{stellar_fixtures}/pubnet/ttp-ledgers-base64.txt", format=b64lines, '
        f"network=mainnet, ledgers=16154623..36154623) | latest_ledger "
        f'| select sequence, transaction_count | save_to jsonl("{out}")',
        out,
        capsys,
    )
    expected = [
        b.sequence for b in read_ledger_file(stellar_fixtures / "pubnet" / "ttp-ledgers-base64.txt")
    ]
    assert sorted(r["sequence"] for r in rows) == [s for s in expected if 16154623 <= s <= 36154623]
    assert {r["sequence"]: r["transaction_count"] for r in rows}[26154623] == 19

    out = tmp_path / "c.jsonl"
    rows = _run(
        f'xdr_file("{stellar_fixtures}/standalone/horizon-load-test-ledgers-v22.xdr.zstd", '
        f'network_passphrase="load test network") | latest_ledger | select sequence '
        f'| save_to jsonl("{out}")',
        out,
        capsys,
    )
    assert sorted(r["sequence"] for r in rows) == [95, 98]


def test_contract_events_of_the_apply_load_file(stellar_fixtures: Path) -> None:
    """The issue's example, as a user runs it: 30 p25 ledgers, 37,200 contract events."""
    path = stellar_fixtures / "standalone" / "rpc-load-test-ledgers-v25.xdr.zstd"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "flowctl_dsl.cli",
            "run",
            "-q",
            "-e",
            f'xdr_file("{path}") | contract_events | stdout',
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert len(lines) == 37200
    seqs = {json.loads(line)["ledger_sequence"] for line in lines[::100]}
    assert seqs <= set(range(10048, 10078)) and len(seqs) == 30
