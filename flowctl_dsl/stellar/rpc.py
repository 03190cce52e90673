"""A small Stellar RPC client: ``getLedgers`` pages, ``getLatestLedger``, ``getNetwork``.

Calls are JSON-RPC 2.0 over HTTP POST (stdlib ``urllib``). Transient failures — connection
errors and resets, timeouts, HTTP 429 and 5xx — are retried with exponential backoff and full
jitter (``Retry-After`` is honoured); anything else (other 4xx, a JSON-RPC error, a malformed
reply) raises :class:`RpcError` at once. ``on_retry`` is called once per retry and ``on_page``
once per getLedgers page, so callers can count them.
"""

from __future__ import annotations

import http.client
import json
import random
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flowctl_dsl.stellar.formats import LedgerBytes, iter_get_ledgers
from flowctl_dsl.stellar.lake import LakeError

#: Most ledgers one getLedgers call may return (stellar-rpc ``max-ledgers-limit``).
MAX_PAGE = 200


class RpcError(LakeError):
    """A permanent RPC failure (or a transient one that outlived its retries).

    A :class:`~flowctl_dsl.stellar.lake.LakeError` so a run reports it as a coded input error.
    """

    def __init__(self, message: str, code: int | None = None, transient: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.transient = transient


class _Transient(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class Page:
    """One getLedgers reply: its ledgers and the server's window."""

    ledgers: list[LedgerBytes]
    close_times: list[datetime]
    latest: int
    oldest: int
    cursor: str | None


@dataclass
class RpcClient:
    """Calls to one RPC endpoint; picklable (no open connections are kept)."""

    url: str
    retries: int = 8
    timeout: float = 30.0
    backoff: float = 0.25
    max_backoff: float = 20.0
    headers: dict[str, str] = field(default_factory=dict)
    on_retry: Callable[[str], None] | None = None
    on_page: Callable[[int], None] | None = None
    sleep: Callable[[float], None] = time.sleep
    _ids: int = 0

    def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        """``result`` of one JSON-RPC call, retrying transient failures."""
        attempt = 0
        while True:
            try:
                return self._call_once(method, params or {})
            except _Transient as exc:
                if attempt >= self.retries:
                    raise RpcError(
                        f"{method} on {self.url} failed after {attempt + 1} attempts: {exc}",
                        transient=True,
                    ) from None
                delay = random.uniform(0, min(self.max_backoff, self.backoff * 2**attempt))
                if exc.retry_after is not None:
                    delay = max(delay, min(exc.retry_after, self.max_backoff))
                attempt += 1
                if self.on_retry is not None:
                    self.on_retry(str(exc))
                self.sleep(delay)

    def _call_once(self, method: str, params: dict[str, Any]) -> Any:
        self._ids += 1
        body = json.dumps({"jsonrpc": "2.0", "id": self._ids, "method": method, "params": params})
        request = urllib.request.Request(
            self.url,
            data=body.encode(),
            headers={"Content-Type": "application/json", **self.headers},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as reply:
                raw = reply.read()
        except urllib.error.HTTPError as exc:
            status = exc.code
            if status == 429 or status >= 500:
                after = exc.headers.get("Retry-After") if exc.headers else None
                raise _Transient(f"HTTP {status}", _seconds(after)) from None
            detail = exc.read()[:200].decode("utf-8", "replace")
            raise RpcError(f"{method} on {self.url}: HTTP {status} {detail}", status) from None
        except (
            urllib.error.URLError,
            http.client.HTTPException,
            ConnectionError,
            TimeoutError,
        ) as exc:
            raise _Transient(f"{type(exc).__name__}: {exc}") from None
        try:
            doc = json.loads(raw)
        except ValueError:
            raise _Transient(f"not JSON: {raw[:80]!r}") from None
        if doc.get("error"):
            err = doc["error"]
            raise RpcError(
                f"{method} on {self.url}: {err.get('message', err)} (code {err.get('code')})",
                err.get("code"),
            )
        if "result" not in doc:
            raise RpcError(f"{method} on {self.url}: reply has no result")
        return doc["result"]

    # --- methods -------------------------------------------------------------------------

    def latest_ledger(self) -> int:
        return int(self.call("getLatestLedger")["sequence"])

    def network_passphrase(self) -> str:
        return str(self.call("getNetwork")["passphrase"])

    def get_ledgers(
        self, start: int | None = None, cursor: str | None = None, limit: int = MAX_PAGE
    ) -> Page:
        """One page: from ``start`` or after ``cursor`` (exactly one of them)."""
        pagination: dict[str, Any] = {"limit": max(1, min(limit, MAX_PAGE))}
        params: dict[str, Any] = {"pagination": pagination, "xdrFormat": "base64"}
        if cursor is not None:
            pagination["cursor"] = cursor
        else:
            params["startLedger"] = start
        result = self.call("getLedgers", params)
        if self.on_page is not None:
            self.on_page(len(result.get("ledgers") or ()))
        try:
            ledgers = list(iter_get_ledgers(result))
            closes = [
                datetime.fromtimestamp(int(e.get("ledgerCloseTime", 0)), UTC)
                for e in result["ledgers"]
            ]
            return Page(
                ledgers,
                closes,
                int(result["latestLedger"]),
                int(result.get("oldestLedger", 0)),
                result.get("cursor") or None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise RpcError(f"getLedgers on {self.url}: malformed reply ({exc})") from None

    def iter_range(self, start: int, end: int, page_size: int = MAX_PAGE) -> Iterator[LedgerBytes]:
        """Ledgers ``start..end`` in order: ``startLedger`` once, then ``cursor`` pages.

        Raises :class:`RpcError` when the server skips a ledger or runs out before ``end``.
        """
        expected = start
        page = self.get_ledgers(start=start, limit=min(page_size, end - start + 1))
        while True:
            for item in page.ledgers:
                if item.sequence > end:
                    return
                if item.sequence != expected:
                    raise RpcError(
                        f"getLedgers on {self.url} returned ledger {item.sequence}, "
                        f"expected {expected}"
                    )
                expected += 1
                yield item
            if expected > end:
                return
            if not page.ledgers or page.cursor is None:
                raise RpcError(
                    f"ledger {expected} is not available from {self.url} "
                    f"(it serves {page.oldest}..{page.latest})"
                )
            page = self.get_ledgers(cursor=page.cursor, limit=min(page_size, end - expected + 1))


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class RpcClock:
    """A :class:`~flowctl_dsl.stellar.time_ranges.LedgerClock` over ``getLedgers(limit=1)``."""

    step = 1

    def __init__(self, client: RpcClient) -> None:
        self.client = client
        self.reads = 0
        self._oldest: int | None = None

    def latest(self) -> int | None:
        return self.client.latest_ledger()

    def earliest(self) -> int | None:
        if self._oldest is None:
            self._oldest = self.client.get_ledgers(
                start=self.client.latest_ledger(), limit=1
            ).oldest
        return self._oldest

    def probe(self, sequence: int) -> tuple[int, datetime] | None:
        self.reads += 1
        try:
            page = self.client.get_ledgers(start=sequence, limit=1)
        except RpcError as exc:
            if exc.transient:
                raise
            return None  # outside the server's window
        if not page.ledgers:
            return None
        self._oldest = page.oldest
        return page.ledgers[0].sequence, page.close_times[0]

    def close_times(self, sequence: int) -> list[tuple[int, datetime]]:
        found = self.probe(sequence)
        return [] if found is None else [found]
