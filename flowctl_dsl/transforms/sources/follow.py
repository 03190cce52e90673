"""``FollowLedgers``: an unbounded source that tails a ledger store from a sequence on.

A splittable DoFn whose restriction is ``[start, stop)`` of ledger sequences (``stop`` is
effectively infinite unless ``stop_after`` is given). Each call reads the ledgers the
:class:`Feed` has now, claiming each sequence before emitting it, in order; when the next
ledger is not there yet it sleeps ``poll`` seconds and checkpoints with ``defer_remainder``, so
the runner calls it again with the rest of the range. A ledger that stays missing while newer
ones exist is a gap: an error naming it unless ``skip_gaps``.

Guarantees: every ledger from ``start`` is emitted once, in sequence order, with no gaps (or the
run fails); nothing is buffered (downstream steps are fused, so records leave as ledgers
arrive). SIGINT/SIGTERM stop it at a ledger boundary: the run then finishes normally (exit 0),
every emitted ledger fully processed and its records written. The deferred residual is lost by FnApiRunner with more than one worker
(apache/beam#19842), so :class:`FollowLedgers` forces the direct runner to one worker.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import apache_beam as beam
from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker
from apache_beam.metrics import Metrics
from apache_beam.transforms.core import RestrictionProvider
from apache_beam.utils.timestamp import Duration

from flowctl_dsl.stellar.lake import (
    KEY_PATTERN,
    LakeLayout,
    MissingLedgerError,
)
from flowctl_dsl.stellar.raw import RawLedger

_LOG = logging.getLogger(__name__)
#: The end of an open range: beyond any ledger sequence (uint32).
FOREVER = 1 << 40
#: Polls a ledger may be missing, while newer ones exist, before it counts as a gap.
GAP_POLLS = 3

_FOLLOWED = Metrics.counter("flowctl.follow", "ledgers_read")
_POLLS = Metrics.counter("flowctl.follow", "empty_polls")
_GAPS = Metrics.counter("flowctl.follow", "gaps_skipped")


class Feed(Protocol):
    """Where a follower reads ledgers (picklable)."""

    @property
    def name(self) -> str: ...

    def fetch(self, sequence: int) -> list[RawLedger] | None:
        """Ledgers from ``sequence`` on that exist now (at least ``sequence``), or None."""
        ...

    def next_after_gap(self, sequence: int) -> int | None:
        """First existing ledger after ``sequence`` when newer ledgers exist, else None."""
        ...


@dataclass(frozen=True)
class LakeFeed:
    """A lake's objects, one per fetch; gaps are found by listing the partition."""

    layout: LakeLayout

    @property
    def name(self) -> str:
        return self.layout.root

    def fetch(self, sequence: int) -> list[RawLedger] | None:
        try:
            items = self.layout.read_object(sequence)
        except MissingLedgerError:
            return None
        passphrase = self.layout.network_passphrase or ""
        return [RawLedger(i.sequence, i.xdr, passphrase) for i in items if i.sequence >= sequence]

    def next_after_gap(self, sequence: int) -> int | None:
        from flowctl_dsl.stellar.lake import LocalStore

        store = self.layout.store or LocalStore(self.layout.root)
        schema = self.layout.schema
        span = schema.ledgers_per_file * max(1, schema.files_per_partition)
        for part_start in (
            schema.partition_start(sequence),
            schema.partition_start(sequence) + span,
        ):
            part = schema.partition_dir(part_start) if self.layout.partitioned else ""
            prefix = f"{part}/" if part else ""
            newer = [
                int(m["start"])
                for key in store.list(prefix)
                if (m := KEY_PATTERN.match(key[len(prefix) :])) and int(m["start"]) > sequence
            ]
            if newer:
                return min(newer)
        return None


class _Provider(RestrictionProvider):
    def initial_restriction(self, element: tuple[int, int]) -> OffsetRange:
        return OffsetRange(element[0], element[1])

    def create_tracker(self, restriction: OffsetRange) -> OffsetRestrictionTracker:
        return OffsetRestrictionTracker(restriction)

    def restriction_size(self, element: Any, restriction: OffsetRange) -> int:
        return 1

    def split(self, element: Any, restriction: OffsetRange) -> Iterator[OffsetRange]:
        yield restriction  # one reader: ledgers come out in order

    def truncate(self, element: Any, restriction: OffsetRange) -> None:
        return None  # on drain, stop reading


class _FollowFn(beam.DoFn):
    def __init__(
        self, feed: Feed, poll: float, skip_gaps: bool, until: datetime | None = None
    ) -> None:
        self.feed = feed
        self.poll = poll
        self.skip_gaps = skip_gaps
        self.until = until
        self._missing: dict[int, int] = {}

    @beam.DoFn.unbounded_per_element()
    def process(
        self,
        element: tuple[int, int],
        tracker: Any = beam.DoFn.RestrictionParam(_Provider()),  # noqa: B008
    ) -> Iterator[RawLedger]:
        position = tracker.current_restriction().start
        stop = tracker.current_restriction().stop
        started = time.monotonic()
        while time.monotonic() - started < max(self.poll, 1.0):
            if STOP.is_set():
                tracker.try_claim(stop - 1)  # stopped by a signal: end the range here
                return
            ledgers = self.feed.fetch(position)
            if not ledgers:
                jump = self._gap(position)
                if jump is None:
                    break
                if not tracker.try_claim(position):
                    return
                position = jump
                continue
            self._missing.pop(position, None)
            for ledger in ledgers:
                if ledger.sequence < position:
                    continue
                if STOP.is_set() or (self.until is not None and _closed_at(ledger) >= self.until):
                    tracker.try_claim(stop - 1)  # stopped, or the time range is over
                    return
                if not tracker.try_claim(ledger.sequence):
                    return
                _FOLLOWED.inc()
                yield ledger
                position = ledger.sequence + 1
            if position >= stop:
                return
        else:
            tracker.defer_remainder(Duration(0))
            return
        _POLLS.inc()
        STOP.wait(self.poll)  # FnApiRunner re-runs deferred work at once: wait here
        tracker.defer_remainder(Duration.of(self.poll))

    def _gap(self, position: int) -> int | None:
        """Where to go on when ``position`` is missing; None: wait for it."""
        polls = self._missing[position] = self._missing.get(position, 0) + 1
        if polls < GAP_POLLS:
            return None
        following = self.feed.next_after_gap(position)
        if following is None:
            self._missing[position] = 0
            return None
        if not self.skip_gaps:
            raise MissingLedgerError(position, self.feed.name)
        _GAPS.inc()
        self._missing.pop(position, None)
        _LOG.warning(
            "ledgers %d..%d are missing from %s: skipped", position, following - 1, self.feed.name
        )
        return following


def _closed_at(ledger: RawLedger) -> datetime:
    from flowctl_dsl.stellar.decode import header_only

    return header_only(ledger.xdr).closed_at


#: Set by SIGINT/SIGTERM while a followed run is going: readers stop at the next ledger boundary.
STOP = threading.Event()


def _request_stop(signum: int, frame: Any) -> None:
    if STOP.is_set():  # a second signal: stop hard
        raise KeyboardInterrupt
    _LOG.warning("stopping: finishing the current ledger (signal again to abort)")
    STOP.set()


def install_stop_handlers() -> None:
    """Make SIGINT and SIGTERM drain a followed run (exit 0) instead of killing it mid-bundle.

    A KeyboardInterrupt raised inside a DoFn reaches the CLI as a wrapped RuntimeError, so the
    signal only sets :data:`STOP`; the reader claims the rest of its range and the pipeline
    finishes normally, sinks flushed. Installed from the main thread at construction only.
    """
    STOP.clear()
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGINT, signal.SIGTERM):
        current = signal.getsignal(sig)
        if current in (signal.SIG_DFL, signal.default_int_handler, _request_stop):
            signal.signal(sig, _request_stop)


def force_one_worker(options: Any) -> None:
    """Run the direct runner in one in-memory worker (deferred residuals need it)."""
    from apache_beam.options.pipeline_options import DirectOptions

    direct = options.view_as(DirectOptions)
    if (direct.direct_num_workers or 1) != 1 or direct.direct_running_mode not in (
        None,
        "in_memory",
    ):
        _LOG.warning("an unbounded source runs on one worker (apache/beam#19842)")
        direct.direct_num_workers = 1
        direct.direct_running_mode = "in_memory"


class FollowLedgers(beam.PTransform):
    """Ledgers from ``start`` on, from ``feed``, as they appear (an unbounded PCollection).

    ``stop_after`` ends the run after that many ledgers; ``until`` at the first ledger closed at
    or after it.
    """

    def __init__(
        self,
        feed: Feed,
        start: int,
        poll: float = 1.0,
        skip_gaps: bool = False,
        stop_after: int | None = None,
        until: datetime | None = None,
    ) -> None:
        super().__init__()
        self.feed = feed
        self.start = start
        self.stop = start + stop_after if stop_after else FOREVER
        self.poll = poll
        self.skip_gaps = skip_gaps
        self.until = until

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.PCollection:
        force_one_worker(pbegin.pipeline.options)
        install_stop_handlers()
        return (
            pbegin
            | "Start" >> beam.Create([(self.start, self.stop)])
            | "Follow" >> beam.ParDo(_FollowFn(self.feed, self.poll, self.skip_gaps, self.until))
        )
