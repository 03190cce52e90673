"""Builders for lake sources (``datastore`` and the network aliases), local or remote.

A builder opens the lake (manifest + top-level listing), turns the range parameters into ledger
sequences — ``since``/``until``/``last`` by a header-only search (:mod:`flowctl_dsl.stellar.time_ranges`)
— and returns either a bounded :class:`~flowctl_dsl.transforms.sources.datastore.ReadDatastore`
(chunks → Reshuffle → read, for parallel backfills) or an unbounded
:class:`~flowctl_dsl.transforms.sources.follow.FollowLedgers` when the range follows the tip.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime

import apache_beam as beam

from flowctl_dsl.catalog.sources import DatastoreParams, NetworkSourceParams, RangeParams
from flowctl_dsl.stellar.lake import Lake, LakeError
from flowctl_dsl.stellar.networks import network
from flowctl_dsl.stellar.time_ranges import (
    LedgerClock,
    TimeRangeError,
    parse_duration,
    parse_time,
    resolve,
)
from flowctl_dsl.transforms.context import BuildContext

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Window:
    """Resolved ledgers: ``end`` None follows the tip; ``until`` ends a followed range by time."""

    start: int
    end: int | None
    until: datetime | None = None


def resolve_window(
    params: RangeParams, clock: LedgerClock, earliest: int | None = None
) -> Window | None:
    """Ledgers of ``params`` (``ledgers`` or times) against ``clock``; None when nothing exists.

    A missing start is the tip when following, else the store's first ledger (``earliest`` or
    the clock's); a missing end is the tip unless following.
    """
    ledgers = getattr(params, "ledgers", None)
    since = getattr(params, "since", None)
    until = getattr(params, "until", None)
    last = getattr(params, "last", None)
    stop_after = getattr(params, "stop_after", None)
    follow = params.follows()
    start = ledgers.start if ledgers is not None else None
    end = ledgers.end if ledgers is not None else None
    until_time: datetime | None = None
    if since or until or last:
        began = time.perf_counter()
        try:
            found = resolve(
                clock,
                parse_time(since) if since else None,
                parse_time(until) if until else None,
                parse_duration(last) if last else None,
            )
        except TimeRangeError as exc:
            raise LakeError(f"cannot resolve the time range: {exc}") from exc
        _LOG.info(
            "time range since=%s until=%s last=%s → ledgers %s..%s (%d header reads, %.3f s)",
            since,
            until,
            last,
            found.start,
            found.end,
            getattr(clock, "reads", -1),
            time.perf_counter() - began,
        )
        start = found.start if found.start is not None else start
        if until:
            end = found.end
            if end is None:  # `until` is after the newest ledger
                end, until_time = (None, parse_time(until)) if follow else (found.tip, None)
    tip = None
    if start is None:
        tip = clock.latest()
        if tip is None:
            return None
        start = tip if follow else (earliest if earliest is not None else clock.earliest())
        assert start is not None
    if end is None and not follow and until_time is None:
        tip = tip if tip is not None else clock.latest()
        if tip is None:
            return None
        end = tip
    if stop_after is not None and not follow:
        end = start + stop_after - 1 if end is None else min(end, start + stop_after - 1)
    return Window(start, end, until_time)


def lake_source(
    params: DatastoreParams | NetworkSourceParams,
    url: str,
    passphrase: str | None,
    region: str | None,
) -> beam.PTransform:
    """The Beam source for a lake at ``url`` with the range parameters of ``params``."""
    from flowctl_dsl.stellar.remote_lake import open_lake
    from flowctl_dsl.stellar.time_ranges import LakeClock
    from flowctl_dsl.transforms.sources.datastore import ReadDatastore
    from flowctl_dsl.transforms.sources.follow import FollowLedgers, LakeFeed

    lake: Lake = open_lake(url, passphrase, region, params.endpoint_url, params.anonymous)
    if lake.network_passphrase is None:
        raise LakeError(
            f"data lake {url} has no .config.json with a networkPassphrase; "
            "give the network or its passphrase"
        )
    window = resolve_window(params, LakeClock(lake))
    if window is None:
        if params.follows():
            raise LakeError(f"data lake {url} is empty: give ledgers=A.. to wait for ledger A")
        return ReadDatastore(url, None, lake=lake, skip_gaps=params.skip_gaps)
    if window.end is None:
        return FollowLedgers(
            LakeFeed(lake.layout),
            window.start,
            poll=parse_duration(params.poll).total_seconds(),
            skip_gaps=params.skip_gaps,
            stop_after=params.stop_after,
            until=window.until,
        )
    return ReadDatastore(url, (window.start, window.end), lake=lake, skip_gaps=params.skip_gaps)


def build_datastore(params: DatastoreParams, ctx: BuildContext) -> beam.PTransform:
    passphrase = params.network_passphrase
    if passphrase is None and params.network is not None:
        passphrase = network(params.network).passphrase
    return lake_source(params, params.url, passphrase, params.region)


def build_network_source(params: NetworkSourceParams, ctx: BuildContext) -> beam.PTransform:
    net = network(ctx.component)
    url = params.url or net.lake_url
    if url is None:
        raise ValueError(f"{net.name} has no public data lake; give url=…")
    region = params.region or (net.lake_region if url == net.lake_url else None)
    return lake_source(params, url, net.passphrase, region)
