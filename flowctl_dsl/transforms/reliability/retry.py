"""Retries of transient source and sink errors: exponential backoff with full jitter.

:func:`is_transient` sorts failures: connection resets, timeouts, HTTP 429/5xx, throttling and
unavailable-service replies of S3 and GCS, broken database connections, and anything carrying
``transient=True`` are worth another attempt; everything else (bad bytes, missing objects,
permission and schema errors, bugs) fails at once. Every retry increments the Beam counter
``flowctl.reliability/retries`` and ``flowctl_retries_total{stage,code}``.
"""

from __future__ import annotations

import http.client
import logging
import random
import socket
import time
import urllib.error
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from apache_beam.metrics import Metrics

from flowctl_dsl.catalog.settings import RetryConfig
from flowctl_dsl.observability.metrics import Recorder

T = TypeVar("T")
_LOG = logging.getLogger(__name__)
RETRIES = Metrics.counter("flowctl.reliability", "retries")

#: HTTP statuses worth retrying.
RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
#: Error codes S3/GCS use for throttling and unavailability.
RETRY_CODES = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "RequestTimeout",
        "RequestTimeTooSkewed",
        "InternalError",
        "ServiceUnavailable",
        "503",
        "500",
    }
)
#: Exception class names (from optional libraries) that are transient by nature.
TRANSIENT_NAMES = frozenset(
    {
        "EndpointConnectionError",
        "ConnectionClosedError",
        "ReadTimeoutError",
        "ConnectTimeoutError",
        "ServiceUnavailable",
        "InternalServerError",
        "TooManyRequests",
        "BadGateway",
        "GatewayTimeout",
        "OperationalError",  # psycopg: the connection failed or broke
    }
)


class TransientError(Exception):
    """Raise (or chain) this to mark a failure as worth retrying."""

    transient = True


def _is_transient_one(err: BaseException) -> bool:
    flag = getattr(err, "transient", None)
    if isinstance(flag, bool):
        return flag
    if isinstance(err, urllib.error.HTTPError):
        return err.code in RETRY_STATUS
    if isinstance(
        err,
        ConnectionError
        | TimeoutError
        | socket.timeout
        | http.client.IncompleteRead
        | http.client.RemoteDisconnected,
    ):
        return True
    if isinstance(err, urllib.error.URLError):
        return isinstance(err.reason, OSError | TimeoutError)
    if type(err).__name__ in TRANSIENT_NAMES:
        return True
    response = getattr(err, "response", None)
    if isinstance(response, dict):  # botocore ClientError
        code = str(response.get("Error", {}).get("Code", ""))
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return code in RETRY_CODES or status in RETRY_STATUS
    status = getattr(err, "code", None)  # google.api_core errors carry the HTTP status
    return type(err).__module__.startswith("google.") and status in RETRY_STATUS


def is_transient(err: BaseException) -> bool:
    """Whether ``err`` (or an error it was raised from) is worth another attempt."""
    seen: list[BaseException] = []
    current: BaseException | None = err
    while current is not None and current not in seen:
        if _is_transient_one(current):
            return True
        seen.append(current)
        current = current.__cause__ or current.__context__
    return False


@dataclass(frozen=True)
class RetryPolicy:
    """At most ``max_attempts`` tries; before try n+1 sleep U(0, min(max, base·2ⁿ⁻¹))."""

    max_attempts: int = 5
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 60.0

    @classmethod
    def of(cls, config: RetryConfig | None) -> RetryPolicy:
        if config is None:
            return cls()
        return cls(config.max_attempts, config.backoff_seconds, config.max_backoff_seconds)

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """The jittered wait after failed attempt ``attempt`` (1-based)."""
        cap = min(self.max_backoff_seconds, self.backoff_seconds * 2 ** (attempt - 1))
        return (rng or random).uniform(0, cap)


def call(
    action: Callable[[], T],
    policy: RetryPolicy,
    stage: str,
    *,
    transient: Callable[[BaseException], bool] = is_transient,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> T:
    """``action()``; transient failures are retried per ``policy``, the last one re-raised."""
    recorder = Recorder(stage=stage)
    attempt = 1
    while True:
        try:
            return action()
        except Exception as err:  # noqa: BLE001 - sorted by ``transient``
            if attempt >= policy.max_attempts or not transient(err):
                raise
            wait = policy.delay(attempt, rng)
            _LOG.info(
                "%s: attempt %d/%d failed (%s: %s); retrying in %.2fs",
                stage,
                attempt,
                policy.max_attempts,
                type(err).__name__,
                str(err).splitlines()[0] if str(err) else "",
                wait,
            )
            RETRIES.inc()
            recorder.inc("flowctl_retries_total", code=type(err).__name__)
            sleep(wait)
            attempt += 1
