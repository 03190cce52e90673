"""Retries: which errors are transient, how long the waits are, and that permanent ones fail once."""

from __future__ import annotations

import random
import urllib.error
from typing import Any

import pytest

from flowctl_dsl.catalog.settings import RetryConfig
from flowctl_dsl.observability import metrics
from flowctl_dsl.stellar.lake import LakeError
from flowctl_dsl.stellar.rpc import RpcError
from flowctl_dsl.transforms.reliability.retry import RetryPolicy, TransientError, call, is_transient


class ClientError(Exception):
    """Shaped like botocore's: a ``response`` dict."""

    def __init__(self, code: str, status: int) -> None:
        super().__init__(code)
        self.response = {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}


def _chained(outer: Exception, inner: Exception) -> Exception:
    try:
        try:
            raise inner
        except Exception as err:
            raise outer from err
    except Exception as err:  # noqa: BLE001
        return err


@pytest.mark.parametrize(
    "err",
    [
        ConnectionResetError("reset by peer"),
        TimeoutError("timed out"),
        TransientError("flaky"),
        urllib.error.HTTPError("http://x", 503, "unavailable", {}, None),  # type: ignore[arg-type]
        urllib.error.URLError(ConnectionRefusedError("refused")),
        ClientError("SlowDown", 503),
        RpcError("after 3 attempts", transient=True),
        _chained(LakeError("data lake s3://b: S3 error InternalError"), ClientError("x", 500)),
    ],
)
def test_transient(err: Exception) -> None:
    assert is_transient(err)


@pytest.mark.parametrize(
    "err",
    [
        ValueError("bad xdr"),
        KeyError("x"),
        FileNotFoundError("gone"),
        PermissionError("denied"),
        urllib.error.HTTPError("http://x", 404, "not found", {}, None),  # type: ignore[arg-type]
        ClientError("AccessDenied", 403),
        RpcError("start ledger must be between", code=-32600),
        LakeError("no such directory"),
    ],
)
def test_permanent(err: Exception) -> None:
    assert not is_transient(err)


def test_backoff_is_exponential_jittered_and_capped() -> None:
    policy = RetryPolicy(max_attempts=8, backoff_seconds=0.5, max_backoff_seconds=3.0)
    rng = random.Random(1)
    caps = [0.5, 1.0, 2.0, 3.0, 3.0, 3.0]
    for attempt, cap in enumerate(caps, start=1):
        waits = [policy.delay(attempt, rng) for _ in range(200)]
        assert 0 <= min(waits) and max(waits) <= cap
        assert max(waits) > cap * 0.8  # full jitter spreads over the whole interval
    assert RetryPolicy.of(RetryConfig(max_attempts=2, backoff_seconds=0.1)) == RetryPolicy(
        2, 0.1, 60.0
    )


def test_transient_errors_are_retried_and_counted() -> None:
    calls: list[int] = []
    sleeps: list[float] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionResetError("reset")
        return "ok"

    store = metrics.MetricStore("p")
    metrics.activate(store)
    try:
        out = call(flaky, RetryPolicy(5, 1.0, 10.0), "datastore", sleep=sleeps.append)
    finally:
        metrics.deactivate()
    assert out == "ok" and len(calls) == 3 and len(sleeps) == 2
    assert sleeps[0] <= 1.0 and sleeps[1] <= 2.0
    assert store.value("flowctl_retries_total") == 2


def test_attempts_are_bounded() -> None:
    calls: list[int] = []

    def down() -> Any:
        calls.append(1)
        raise TimeoutError("still down")

    with pytest.raises(TimeoutError):
        call(down, RetryPolicy(3, 0.0, 0.0), "sink", sleep=lambda s: None)
    assert len(calls) == 3


def test_permanent_errors_are_not_retried() -> None:
    calls: list[int] = []

    def broken() -> Any:
        calls.append(1)
        raise ValueError("corrupt object")

    with pytest.raises(ValueError):
        call(broken, RetryPolicy(5, 1.0, 1.0), "datastore", sleep=lambda s: None)
    assert len(calls) == 1
