"""``rpc(url, …)`` against a Stellar-RPC-shaped JSON-RPC server on 127.0.0.1 (stdlib http.server).

The server serves localnet ledgers 2..451 as ``getLedgers`` pages (the shape of
``pubnet/getLedgers-derived-53312000.json``), ``getLatestLedger`` and ``getNetwork``; a flaky
variant answers a share of calls with 503, 429 or a dropped connection.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from flowctl_dsl.cli import main
from flowctl_dsl.driver import Input, planned
from flowctl_dsl.runners.base import RunSettings
from flowctl_dsl.runners.direct import DirectRunner
from flowctl_dsl.stellar.decode import header_only
from flowctl_dsl.stellar.localnet.generate import NETWORK_PASSPHRASE, iter_ledgers
from flowctl_dsl.stellar.rpc import RpcClient, RpcClock, RpcError
from flowctl_dsl.stellar.time_ranges import resolve

pytestmark = pytest.mark.integration

FIRST, LAST = 2, 451
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
#: What the flaky server does on call n (cycled): a share of failures of every transient kind.
FLAKY = ("503", "ok", "reset", "ok", "429", "ok", "500", "ok", "ok")


class FakeRpc:
    """State of the fake server: ledgers, the visible tip, a failure schedule, counters."""

    def __init__(self, ledgers: dict[int, bytes]) -> None:
        self.ledgers = ledgers
        self.latest = max(ledgers)
        self.oldest = min(ledgers)
        self.schedule: tuple[str, ...] = ("ok",)
        self.calls = 0
        self.failures = 0
        self.methods: list[str] = []
        self.lock = threading.Lock()

    def entry(self, seq: int) -> dict[str, Any]:
        meta = self.ledgers[seq]
        info = header_only(meta)
        return {
            "hash": info.ledger_hash,
            "sequence": seq,
            "ledgerCloseTime": str(int(info.closed_at.timestamp())),
            "headerXdr": "",
            "metadataXdr": base64.b64encode(meta).decode(),
        }

    def answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "getNetwork":
            return {"result": {"passphrase": NETWORK_PASSPHRASE, "protocolVersion": 23}}
        if method == "getLatestLedger":
            return {"result": {"id": "00", "protocolVersion": 23, "sequence": self.latest}}
        if method != "getLedgers":
            return {"error": {"code": -32601, "message": "method not found"}}
        page = params.get("pagination") or {}
        limit = int(page.get("limit", 50))
        if limit > 200:
            return {"error": {"code": -32602, "message": "limit must not exceed 200"}}
        if "cursor" in page:
            start = int(page["cursor"]) + 1
        else:
            start = int(params["startLedger"])
            if not self.oldest <= start <= self.latest:
                return {
                    "error": {
                        "code": -32600,
                        "message": f"start ledger must be between the oldest ledger: {self.oldest} "
                        f"and the latest ledger: {self.latest} for this rpc instance.",
                    }
                }
        seqs = [s for s in range(start, min(self.latest, start + limit - 1) + 1)]
        return {
            "result": {
                "ledgers": [self.entry(s) for s in seqs],
                "latestLedger": self.latest,
                "latestLedgerCloseTime": 0,
                "oldestLedger": self.oldest,
                "oldestLedgerCloseTime": 0,
                "cursor": str(seqs[-1] if seqs else start - 1),
            }
        }


def _handler(state: FakeRpc) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            if self.path != "/rpc":
                self.send_error(404)
                return
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with state.lock:
                action = state.schedule[state.calls % len(state.schedule)]
                state.calls += 1
                state.failures += action != "ok"
                state.methods.append(body["method"])
            if action == "reset":
                self.close_connection = True
                self.connection.close()
                return
            if action in ("503", "500", "429"):
                self.send_response(int(action))
                if action == "429":
                    self.send_header("Retry-After", "0")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            reply = {
                "jsonrpc": "2.0",
                "id": body["id"],
                **state.answer(body["method"], body.get("params") or {}),
            }
            data = json.dumps(reply).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


@pytest.fixture(scope="module")
def ledgers() -> dict[int, bytes]:
    return {r.sequence: r.xdr for r in iter_ledgers(FIRST, LAST, txs_per_ledger=1)}


@pytest.fixture
def rpc(ledgers: dict[int, bytes]) -> Iterator[tuple[str, FakeRpc]]:
    state = FakeRpc(dict(ledgers))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/rpc", state
    server.shutdown()
    server.server_close()


def _run(text: str) -> tuple[dict[str, int], float]:
    began = time.perf_counter()
    report = DirectRunner().run(planned(Input.inline(text)), RunSettings())
    return report.metrics, time.perf_counter() - began


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_client_pages_with_cursor(rpc: tuple[str, FakeRpc], ledgers: dict[int, bytes]) -> None:
    url, state = rpc
    client = RpcClient(url)
    got = list(client.iter_range(10, 420, page_size=200))
    assert [g.sequence for g in got] == list(range(10, 421))
    assert all(g.xdr == ledgers[g.sequence] for g in got)
    assert state.methods == ["getLedgers"] * 3  # startLedger, then two cursor pages
    assert client.network_passphrase() == NETWORK_PASSPHRASE and client.latest_ledger() == LAST


def test_permanent_errors_are_not_retried(rpc: tuple[str, FakeRpc]) -> None:
    url, state = rpc
    retries: list[str] = []
    client = RpcClient(url, on_retry=retries.append)
    with pytest.raises(RpcError, match="start ledger must be between") as info:
        client.get_ledgers(start=LAST + 5)
    assert info.value.code == -32600 and not info.value.transient
    with pytest.raises(RpcError, match="limit"):
        client.call("getLedgers", {"startLedger": 5, "pagination": {"limit": 500}})
    with pytest.raises(RpcError, match="HTTP 404"):
        RpcClient(url.replace("/rpc", "/nope"), on_retry=retries.append).call("x")
    assert retries == [] and state.calls == 2  # the 404 never reached the RPC handler


def test_transient_errors_are_retried_with_backoff(rpc: tuple[str, FakeRpc]) -> None:
    url, state = rpc
    state.schedule = ("503", "reset", "429", "ok")
    delays: list[float] = []
    retries: list[str] = []
    client = RpcClient(url, backoff=0.1, on_retry=retries.append, sleep=delays.append)
    assert client.latest_ledger() == LAST
    assert len(retries) == 3 and "HTTP 503" in retries[0] and "HTTP 429" in retries[2]
    assert all(0 <= d <= 0.1 * 2**i for i, d in enumerate(delays))
    state.schedule = ("503",)
    with pytest.raises(RpcError, match="after 3 attempts") as info:
        RpcClient(url, retries=2, sleep=delays.append).latest_ledger()
    assert info.value.transient
    dead = RpcClient("http://127.0.0.1:9/rpc", retries=1, timeout=2, sleep=delays.append)
    with pytest.raises(RpcError, match="after 2 attempts"):
        dead.latest_ledger()


def test_pipeline_reads_a_range(rpc: tuple[str, FakeRpc], tmp_path: Path) -> None:
    url, state = rpc
    out = tmp_path / "out.jsonl"
    metrics, elapsed = _run(
        f'rpc("{url}", ledgers=2..451, chunk=150) | latest_ledger | select sequence, hash '
        f'| save_to jsonl("{out}")'
    )
    rows = _rows(out)
    assert sorted(r["sequence"] for r in rows) == list(range(2, 452))
    assert metrics["flowctl.rpc/ledgers_read"] == 450
    assert metrics["flowctl.rpc/pages"] == 3 * 1  # 3 chunks of 150: one page each
    assert metrics.get("flowctl.rpc/retries", 0) == 0
    print(f"rpc: 450 ledgers in {elapsed:.2f} s")


def test_pipeline_survives_a_flaky_server(
    rpc: tuple[str, FakeRpc], tmp_path: Path, ledgers: dict[int, bytes]
) -> None:
    url, state = rpc
    clean = tmp_path / "clean.jsonl"
    _run(f'rpc("{url}", ledgers=2..451, page_size=40) | latest_ledger | save_to jsonl("{clean}")')
    state.schedule = FLAKY
    state.failures = 0
    flaky = tmp_path / "flaky.jsonl"
    metrics, elapsed = _run(
        f'rpc("{url}", network=localnet, ledgers=2..451, page_size=40, chunk=100) '
        f"| latest_ledger "
        f'| save_to jsonl("{flaky}")'
    )
    key = lambda r: r["sequence"]  # noqa: E731
    assert sorted(_rows(flaky), key=key) == sorted(_rows(clean), key=key)
    assert state.failures > 10
    assert metrics["flowctl.rpc/retries"] == state.failures
    assert metrics["flowctl.rpc/pages"] == 4 * 3 + 2  # chunks of 100 (+ one of 50) in pages of 40
    print(f"flaky rpc: {state.failures} failures retried, {elapsed:.2f} s")


def test_time_range_over_rpc(rpc: tuple[str, FakeRpc], tmp_path: Path) -> None:
    url, state = rpc
    clock = RpcClock(RpcClient(url))
    got = resolve(
        clock, since=EPOCH + timedelta(seconds=5 * 100), until=EPOCH + timedelta(seconds=5 * 300)
    )
    assert (got.start, got.end, got.tip) == (100, 299, LAST)
    assert clock.reads < 30
    out = tmp_path / "t.jsonl"
    _run(
        f'rpc("{url}", since="2025-01-01T00:10:00Z", until="2025-01-01T00:11:00Z") '
        f'| latest_ledger | select sequence | save_to jsonl("{out}")'
    )
    assert sorted(r["sequence"] for r in _rows(out)) == list(range(120, 132))


def test_follows_the_tip(rpc: tuple[str, FakeRpc], capsys: pytest.CaptureFixture) -> None:
    """An open range polls getLedgers as the server's tip advances; stop_after ends the run."""
    url, state = rpc
    state.latest = 300
    stop = threading.Event()

    def advance() -> None:
        while not stop.is_set() and state.latest < LAST:
            time.sleep(0.2)
            state.latest += 1

    threading.Thread(target=advance, daemon=True).start()
    try:
        code = main(
            [
                "run",
                "-q",
                "-e",
                f'rpc("{url}", poll="1s", stop_after=12) | latest_ledger | select sequence | stdout',
            ]
        )
    finally:
        stop.set()
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    seqs = [json.loads(line)["sequence"] for line in out]
    assert len(seqs) == 12 and seqs == list(range(seqs[0], seqs[0] + 12))
    assert seqs[0] >= 300 and seqs[-1] > 302  # started at the tip, then waited for new ledgers
