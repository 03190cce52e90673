"""Sources under a run window: read only the segment's ledgers, retry reads, stop on a signal.

:func:`configure` narrows a built source to ``lo..hi`` where it can skip work (data-lake chunks,
RPC ranges, localnet) and gives it the retry policy; the compiler also filters the source's output
to the window, so every source honours it. :class:`ResumableLocalnet` continues the simulation
between consecutive segments of one process instead of replaying it from genesis each time.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics

from flowctl_dsl.stellar.localnet.generate import NETWORK_PASSPHRASE, Localnet
from flowctl_dsl.stellar.raw import RawLedger
from flowctl_dsl.transforms.reliability import shutdown
from flowctl_dsl.transforms.reliability.retry import RetryPolicy
from flowctl_dsl.transforms.sources.localnet import GenerateLocalnet

_GENERATED = Metrics.counter("flowctl.localnet", "ledgers_generated")
_LIVE: dict[tuple[int, int], Localnet] = {}
_LIVE_LOCK = threading.Lock()


def clip(bounds: tuple[int, int], window: tuple[int, int]) -> tuple[int, int] | None:
    lo, hi = max(bounds[0], window[0]), min(bounds[1], window[1])
    return (lo, hi) if lo <= hi else None


def in_window(ledger: Any, lo: int, hi: int) -> bool:
    return lo <= int(ledger.sequence) <= hi


def configure(transform: Any, window: tuple[int, int] | None, policy: RetryPolicy) -> Any:
    """``transform`` narrowed to ``window`` (where it knows how) and given ``policy``."""
    from flowctl_dsl.transforms.sources.datastore import ReadDatastore
    from flowctl_dsl.transforms.sources.rpc import ReadRpc

    if isinstance(transform, ReadDatastore):
        transform.window = window
        transform.retry = policy
    elif isinstance(transform, ReadRpc):
        if window is not None:
            transform.bounds = clip(transform.bounds, window) or (window[0], window[0] - 1)
        if policy != RetryPolicy():  # a `retry:` setting bounds the client's own retries
            transform.client = dataclasses.replace(
                transform.client,
                retries=policy.max_attempts - 1,
                backoff=policy.backoff_seconds,
                max_backoff=policy.max_backoff_seconds,
            )
    elif isinstance(transform, GenerateLocalnet) and window is not None:
        narrowed = clip(transform.ledgers, window)
        if narrowed is not None:
            transform.ledgers = narrowed
    return transform


def localnet_ledgers(
    bounds: tuple[int, int], seed: int, txs_per_ledger: int
) -> Iterator[RawLedger]:
    """Ledgers ``bounds`` of localnet ``seed``; stops early when a shutdown is requested.

    A simulation left at ledger N by the previous call continues from there when the next call
    starts after N (consecutive segments); otherwise it restarts from genesis.
    """
    start, end = bounds
    key = (seed, txs_per_ledger)
    with _LIVE_LOCK:
        net = _LIVE.pop(key, None)
    if net is None or net.sequence >= start:
        net = Localnet(seed, txs_per_ledger)
    try:
        while net.sequence < end:
            if shutdown.requested():
                return
            lcm = net.close()
            if net.sequence >= start:
                _GENERATED.inc()
                yield RawLedger(net.sequence, lcm.to_xdr_bytes(), NETWORK_PASSPHRASE)
    finally:
        with _LIVE_LOCK:
            _LIVE.clear()
            _LIVE[key] = net


class ResumableLocalnet(GenerateLocalnet):  # type: ignore[misc]
    """:class:`GenerateLocalnet` that continues across segments and stops on a signal."""

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.PCollection:
        return (
            pbegin
            | "Range" >> beam.Create([self.ledgers])
            | "Generate"
            >> beam.FlatMap(localnet_ledgers, seed=self.seed, txs_per_ledger=self.txs_per_ledger)
        )
