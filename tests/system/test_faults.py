"""Faults: a flaky RPC server, a flaky lake store, and every bundle replayed (bundle repeat).

- ``rpc`` against the loopback getLedgers server of ``tests/integration/test_sources_rpc.py``
  failing a share of calls (503, 429, 500, dropped connections), checkpointed every 100 ledgers
  and bounded by a ``retry`` setting: the output equals a clean run's, every failure is retried
  and counted.
- ``datastore`` over a local lake whose object reads fail transiently (connection resets) a third
  of the time: retried with backoff (``flowctl.reliability/retries``), exact output; a permanent
  read error is not retried and fails the run (FC402).
- Representative pipelines run twice on the DirectRunner, once with
  ``--direct_runner_bundle_repeat=1`` (every bundle processed again, side effects included): the
  outputs are identical and every ledger is counted once.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from flowctl_dsl.cli import main
from flowctl_dsl.driver import Input, planned
from flowctl_dsl.errors import FlowctlError
from flowctl_dsl.runners.base import RunSettings
from flowctl_dsl.runners.direct import DirectRunner
from flowctl_dsl.stellar.lake import LakeError, LocalStore
from flowctl_dsl.stellar.localnet.generate import generate_lake, iter_ledgers

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from test_sources_rpc import FLAKY, FakeRpc, _handler  # noqa: E402

pytestmark = pytest.mark.system

REPEAT = "--beam-arg=--direct_runner_bundle_repeat=1"


@pytest.fixture(autouse=True)
def _state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWCTL_STATE_DIR", str(tmp_path / "default-state"))


def rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def run(text: str) -> dict[str, int]:
    return DirectRunner().run(planned(Input.inline(text), ()), RunSettings()).metrics


# ---- a flaky RPC server ------------------------------------------------------------------------
@pytest.fixture
def rpc() -> Iterator[tuple[str, FakeRpc]]:
    state = FakeRpc({r.sequence: r.xdr for r in iter_ledgers(2, 451, txs_per_ledger=1)})
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/rpc", state
    server.shutdown()
    server.server_close()


def test_a_flaky_rpc_server(rpc: tuple[str, FakeRpc], tmp_path: Path) -> None:
    url, state = rpc
    source = f'rpc("{url}", network=localnet, ledgers=2..451, page_size=40, chunk=100)'
    clean = tmp_path / "clean.jsonl"
    run(f'{source} | latest_ledger | save_to jsonl("{clean}")')
    state.schedule, state.failures = FLAKY, 0
    flaky = tmp_path / "flaky.jsonl"
    metrics = run(
        f'{source} | latest_ledger | save_to jsonl("{flaky}") with '
        f'checkpoint={{store: file("{tmp_path}/state"), every: 100}}, '
        "retry={max_attempts: 8, backoff: 0.01, max_backoff: 0.05}"
    )
    assert rows(flaky) == rows(clean)
    assert [r["sequence"] for r in rows(flaky)] == list(range(2, 452))
    assert state.failures >= 8
    assert metrics["flowctl.rpc/retries"] == state.failures  # every failure retried, counted
    checkpoint = json.loads((tmp_path / "state" / "inline.json").read_text())
    assert (checkpoint["committed_through"], checkpoint["ledgers"]) == (451, 450)


# ---- a flaky lake store ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lake")
    generate_lake(root, (2, 61), txs_per_ledger=2)
    return root


def test_transient_lake_reads_are_retried(
    lake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = f'datastore("{lake}", ledgers=2..61) | payments | save_to jsonl("{tmp_path}/%s.jsonl")'
    run(text % "clean")
    real_get = LocalStore.get
    calls = {"objects": 0, "failed": 0}

    def flaky_get(self: LocalStore, key: str) -> bytes | None:
        if key.endswith(".xdr.zst"):
            calls["objects"] += 1
            if calls["objects"] % 3 == 1:  # the first read of every third object call
                calls["failed"] += 1
                raise ConnectionResetError(f"reset while reading {key}")
        return real_get(self, key)

    monkeypatch.setattr(LocalStore, "get", flaky_get)
    metrics = run(
        (text % "flaky") + " with retry={max_attempts: 4, backoff: 0.001, max_backoff: 0.01}"
    )
    assert rows(tmp_path / "flaky.jsonl") == rows(tmp_path / "clean.jsonl")
    assert calls["failed"] >= 20
    assert metrics["flowctl.reliability/retries"] == calls["failed"]


def test_permanent_lake_errors_are_not_retried(
    lake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_get = LocalStore.get
    denied: list[str] = []

    def get(self: LocalStore, key: str) -> bytes | None:
        if key.endswith("--30.xdr.zst"):
            denied.append(key)
            raise LakeError(f"access denied: {key}")
        return real_get(self, key)

    monkeypatch.setattr(LocalStore, "get", get)
    with pytest.raises(FlowctlError) as info:
        from flowctl_dsl.cli import run_guarded

        run_guarded(lambda: run(f'datastore("{lake}", ledgers=2..61) | payments | stdout'))
    assert info.value.diagnostics[0].code == "FC402"
    assert len(denied) == 1  # one attempt: a permanent error is not retried


# ---- every bundle replayed -----------------------------------------------------------------------
def outputs(root: Path) -> dict[str, Any]:
    import duckdb
    import pyarrow.parquet as pq

    parquet = sorted(
        (
            row
            for f in sorted((root / "pq").rglob("*.parquet"))
            for row in pq.read_table(f).to_pylist()
        ),
        key=lambda r: (r["ledger_sequence"], r["transaction_index"], r["operation_index"]),
    )
    with duckdb.connect(str(root / "db.duckdb"), read_only=True) as con:
        ledgers = con.execute("SELECT * FROM ledgers ORDER BY sequence").fetchall()
    dlq = [{k: v for k, v in d.items() if k != "failed_at"} for d in rows(root / "dlq.jsonl")]
    return {
        "payments.jsonl": (root / "payments.jsonl").read_text(),
        "parquet": parquet,
        "ledgers": ledgers,
        "dlq": dlq,
        "segmented.jsonl": (root / "segmented.jsonl").read_text(),
    }


def representative(root: Path, lake: Path) -> list[list[str]]:
    poisoned = root / "poisoned"
    if not poisoned.exists():
        import shutil

        shutil.copytree(lake, poisoned)
        target = next(poisoned.rglob("*--17.xdr.zst"))
        target.write_bytes(target.read_bytes()[:25])
    local = "localnet(ledgers=2..41, txs_per_ledger=3)"
    return [
        ["-e", f'{local} | payments | save_to jsonl("{root}/payments.jsonl")'],
        [
            "-e",
            f"{local} | payments | filter amount > 0 "
            f'| save_to parquet("{root}/pq", ledgers_per_file=16)',
        ],
        ["-e", f'{local} | ledgers | save_to duckdb("{root}/db.duckdb", table="ledgers")'],
        [
            "-e",
            f'datastore("{poisoned}", ledgers=2..61) | payments | save_to jsonl("{root}/p2.jsonl") '
            f'with on_error=dead_letter(jsonl("{root}/dlq.jsonl"))',
        ],
        [
            "-e",
            f'{local} | payments | save_to jsonl("{root}/segmented.jsonl") '
            f'with checkpoint={{store: file("{root}/state"), every: 8}}',
        ],
    ]


def test_bundle_repeat_gives_identical_outputs(lake: Path, tmp_path: Path) -> None:
    results = []
    for name, extra in (("plain", []), ("repeat", [REPEAT])):
        root = tmp_path / name
        root.mkdir()
        for args in representative(root, lake):
            assert main(["run", "-q", *args, *extra]) == 0, args
        results.append(outputs(root))
    plain, repeated = results
    for key in plain:
        assert repeated[key] == plain[key], key
    assert [row[0] for row in plain["ledgers"]] == list(range(2, 42))  # every ledger, once
    assert [d["ledger_sequence"] for d in plain["dlq"]] == [17]
    assert plain["parquet"] and plain["payments.jsonl"] == plain["segmented.jsonl"]
