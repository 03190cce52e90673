"""``rpc(url, …)``: ledgers from a Stellar RPC server's ``getLedgers``.

A bounded range is split into chunks of ``chunk`` ledgers (Create → Reshuffle → read), each read
as one ``startLedger`` call and then ``cursor`` pages of up to ``page_size`` ledgers. An open
range follows the tip with :class:`~flowctl_dsl.transforms.sources.follow.FollowLedgers`. Every
retry of a call (429, 5xx, connection errors) increments the ``flowctl.rpc/retries`` counter.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import apache_beam as beam
from apache_beam.metrics import Metrics

from flowctl_dsl.catalog.sources import RpcParams
from flowctl_dsl.stellar.raw import RawLedger
from flowctl_dsl.stellar.rpc import RpcClient, RpcClock, RpcError
from flowctl_dsl.stellar.time_ranges import parse_duration
from flowctl_dsl.transforms.context import BuildContext

_RETRIES = Metrics.counter("flowctl.rpc", "retries")
_PAGES = Metrics.counter("flowctl.rpc", "pages")
_LEDGERS = Metrics.counter("flowctl.rpc", "ledgers_read")


def count_retry(reason: str) -> None:
    """``RpcClient.on_retry`` hook: one Beam counter increment per retry."""
    _RETRIES.inc()


def count_page(ledgers: int) -> None:
    """``RpcClient.on_page`` hook: one Beam counter increment per getLedgers page."""
    _PAGES.inc()


def read_rpc_chunk(
    bounds: tuple[int, int], client: RpcClient, passphrase: str, page_size: int
) -> Iterator[RawLedger]:
    """Ledgers ``bounds`` (inclusive) from ``client``, in order."""
    start, end = bounds
    for item in client.iter_range(start, end, page_size):
        _LEDGERS.inc()
        yield RawLedger(item.sequence, item.xdr, passphrase)


class ReadRpc(beam.PTransform):
    """Ledgers ``start..end`` of an RPC server, ``chunk`` ledgers per parallel task."""

    def __init__(
        self,
        client: RpcClient,
        passphrase: str,
        start: int,
        end: int,
        page_size: int = 200,
        chunk: int = 1000,
    ) -> None:
        super().__init__()
        self.client = client
        self.passphrase = passphrase
        self.bounds = (start, end)
        self.page_size = page_size
        self.chunk = max(1, chunk)

    def chunks(self) -> list[tuple[int, int]]:
        start, end = self.bounds
        return [(lo, min(end, lo + self.chunk - 1)) for lo in range(start, end + 1, self.chunk)]

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.PCollection:
        return (
            pbegin
            | "Chunks" >> beam.Create(self.chunks())
            | "Spread" >> beam.Reshuffle()
            | "Read"
            >> beam.FlatMap(
                read_rpc_chunk,
                client=self.client,
                passphrase=self.passphrase,
                page_size=self.page_size,
            )
        )


@dataclass(frozen=True)
class RpcFeed:
    """A :class:`~flowctl_dsl.transforms.sources.follow.Feed` over ``getLedgers``."""

    client: RpcClient
    passphrase: str
    page_size: int = 200

    @property
    def name(self) -> str:
        return self.client.url

    def fetch(self, sequence: int) -> list[RawLedger] | None:
        try:
            page = self.client.get_ledgers(start=sequence, limit=self.page_size)
        except RpcError as exc:
            if exc.transient or sequence <= self.client.latest_ledger():
                raise
            return None  # not closed yet
        ledgers = [RawLedger(i.sequence, i.xdr, self.passphrase) for i in page.ledgers]
        return [item for item in ledgers if item.sequence >= sequence] or None

    def next_after_gap(self, sequence: int) -> int | None:
        return None  # an RPC server has no holes inside its window


def build_rpc(params: RpcParams, ctx: BuildContext) -> beam.PTransform:
    from flowctl_dsl.transforms.sources.follow import FollowLedgers
    from flowctl_dsl.transforms.sources.remote import resolve_window

    client = RpcClient(
        params.url,
        retries=params.retries,
        timeout=float(params.timeout),
        headers=dict(params.headers or {}),
        on_retry=count_retry,
        on_page=count_page,
    )
    passphrase = params.passphrase() or client.network_passphrase()
    clock = RpcClock(client)
    window = resolve_window(params, clock)
    if window is None:
        raise RpcError(f"{params.url} serves no ledgers")
    if window.end is None:
        feed = RpcFeed(client, passphrase, params.page_size)
        return FollowLedgers(
            feed,
            window.start,
            poll=parse_duration(params.poll).total_seconds(),
            stop_after=params.stop_after,
            until=window.until,
        )
    return ReadRpc(client, passphrase, window.start, window.end, params.page_size, params.chunk)
