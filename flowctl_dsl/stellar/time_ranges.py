"""Ledger ranges given by time: ``since``/``until`` instants and ``last`` durations.

:func:`parse_time` and :func:`parse_duration` validate the text (the checker calls them, no
I/O). :func:`resolve` turns times into ledger sequences by a galloping then binary search over a
:class:`LedgerClock`, whose probes are header-only reads (:class:`LakeClock`: the first ~1 KiB of
XDR of one object each) or one-ledger RPC calls. ``since`` is inclusive, ``until`` exclusive, and
``last`` counts back from the close time of the newest ledger (not the wall clock), so a range
over a lake is reproducible.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple, Protocol

if TYPE_CHECKING:
    from flowctl_dsl.stellar.lake import Lake

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^(?:\d+[smhdw])+$")
_PART = re.compile(r"(\d+)([smhdw])")
#: Seconds between Stellar ledgers, used only to guess where a gallop starts.
TYPICAL_CLOSE_SECONDS = 5.5


class TimeRangeError(ValueError):
    """A malformed time or duration, or a time range that cannot be resolved."""


def parse_time(text: str) -> datetime:
    """An ISO 8601 instant (``2024-09-01T00:00Z``, ``2024-09-01``, ``…+02:00``) as aware UTC.

    A time without an offset is UTC.
    """
    value = text.strip()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise TimeRangeError(
            f"`{text}` is not an ISO 8601 time; write e.g. 2024-09-01T00:00Z or 2024-09-01"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_duration(text: str) -> timedelta:
    """``30d``, ``12h``, ``90s``, ``1w``, ``1d12h`` (units s, m, h, d, w) as a positive timedelta."""
    value = text.strip().lower()
    if not _DURATION.match(value):
        raise TimeRangeError(
            f"`{text}` is not a duration; write a number and a unit s, m, h, d or w, e.g. 30d, 1d12h"
        )
    seconds = sum(int(n) * _UNITS[u] for n, u in _PART.findall(value))
    if seconds <= 0:
        raise TimeRangeError(f"`{text}` is an empty duration")
    return timedelta(seconds=seconds)


class LedgerClock(Protocol):
    """Close times of a ledger store, probed at object granularity (``step`` ledgers)."""

    step: int

    def latest(self) -> int | None: ...

    def earliest(self) -> int | None: ...

    def probe(self, sequence: int) -> tuple[int, datetime] | None:
        """First ledger and its close time of the object holding ``sequence``; None if absent."""
        ...

    def close_times(self, sequence: int) -> list[tuple[int, datetime]]:
        """``(sequence, close time)`` of every ledger of the object holding ``sequence``."""
        ...


class LakeClock:
    """A :class:`LedgerClock` over a lake: header-only reads, counted in ``reads``."""

    def __init__(self, lake: Lake) -> None:
        self.lake = lake
        self.step = lake.schema.ledgers_per_file
        self.reads = 0
        self._earliest: int | None = None

    def latest(self) -> int | None:
        return self.lake.latest()

    def earliest(self) -> int | None:
        if self._earliest is None:
            self._earliest = self.lake.earliest()
        return self._earliest

    def probe(self, sequence: int) -> tuple[int, datetime] | None:
        from flowctl_dsl.stellar.lake import MissingLedgerError

        self.reads += 1
        try:
            header = self.lake.layout.read_header(sequence)
        except MissingLedgerError:
            return None
        return header.sequence, header.closed_at

    def close_times(self, sequence: int) -> list[tuple[int, datetime]]:
        from flowctl_dsl.stellar.decode import header_only
        from flowctl_dsl.stellar.lake import MissingLedgerError

        if self.step == 1:
            found = self.probe(sequence)
            return [] if found is None else [found]
        self.reads += 1
        try:
            ledgers = self.lake.layout.read_object(sequence)
        except MissingLedgerError:
            return []
        return [(b.sequence, header_only(b.xdr).closed_at) for b in ledgers]


class Resolved(NamedTuple):
    """Ledgers of a time range: ``end`` None when ``until`` lies after the newest ledger."""

    start: int | None
    end: int | None
    tip: int | None


@dataclass
class _Search:
    clock: LedgerClock

    def start_of(self, sequence: int) -> int:
        return (sequence // self.clock.step) * self.clock.step

    def near(self, mid: int, lo: int, hi: int) -> tuple[int, int, datetime] | None:
        """The existing object nearest ``mid`` strictly between ``lo`` and ``hi``."""
        step = self.clock.step
        for candidate in (*range(mid, hi, step), *range(mid - step, lo, -step)):
            found = self.clock.probe(candidate)
            if found is not None:
                return candidate, *found
        return None

    def first_at_or_after(self, when: datetime, tip: int) -> int:
        """Smallest ledger closed at or after ``when`` (the tip + 1 when none has yet)."""
        clock = self.clock
        last = clock.close_times(tip)
        if not last or last[-1][1] < when:
            return (last[-1][0] if last else tip) + 1
        hi = self.start_of(tip)
        hi_seq, hi_time = last[0]
        if hi_time < when:  # inside the newest object
            return next(s for s, t in last if t >= when)
        # Gallop back from the tip, starting near where the close cadence puts `when`.
        distance = max(clock.step, int((hi_time - when).total_seconds() / TYPICAL_CLOSE_SECONDS))
        lo: int | None = None
        while lo is None:
            probe = self.start_of(max(hi - distance, 0))
            found = clock.probe(probe)
            if found is None:  # before the store's first ledger, or a gap: start from the first
                first = clock.earliest()
                if first is None or self.start_of(first) >= hi:
                    return hi_seq
                times = clock.close_times(first)
                if times and times[0][1] >= when:
                    return times[0][0]
                lo = self.start_of(first)
            elif found[1] < when:
                lo = probe
            else:
                hi, hi_seq = probe, found[0]
                if probe == 0:
                    return hi_seq
                distance *= 4
        # Invariant: close time(lo) < when <= close time(hi), both object starts.
        while hi - lo > clock.step:
            hit = self.near(self.start_of(lo + (hi - lo) // 2), lo, hi)
            if hit is None:
                break  # every object in between is missing: the answer is hi's first ledger
            probe, first_seq, probe_time = hit
            if probe_time < when:
                lo = probe
            else:
                hi, hi_seq = probe, first_seq
        if clock.step > 1:
            for sequence, closed in clock.close_times(lo):
                if closed >= when:
                    return sequence
        return hi_seq


def resolve(
    clock: LedgerClock,
    since: datetime | None = None,
    until: datetime | None = None,
    last: timedelta | None = None,
) -> Resolved:
    """Ledgers closed in ``[since, until)`` (or the ``last`` duration before the newest ledger).

    ``start`` is None when neither ``since`` nor ``last`` is given; ``end`` is None when ``until``
    is absent or after the newest ledger's close time. Raises :class:`TimeRangeError` on an empty
    store.
    """
    tip = clock.latest()
    if tip is None:
        raise TimeRangeError("the ledger store is empty: no ledger to resolve times against")
    times = clock.close_times(tip)
    if not times:
        raise TimeRangeError(f"cannot read the newest ledger {tip}")
    tip = times[-1][0]
    search = _Search(clock)
    if last is not None:
        since = times[-1][1] - last
    start = search.first_at_or_after(since, tip) if since is not None else None
    end = None
    if until is not None:
        after = search.first_at_or_after(until, tip)
        end = after - 1 if after <= tip else None
    return Resolved(start, end, tip)
