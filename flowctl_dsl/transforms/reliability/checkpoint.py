"""The checkpoint stage: the cursor advances only after every sink committed (the Airbyte rule).

Graph, after the sinks::

    source ─► Ledgers (sequence) ─► AfterSinks ─► (pipeline, ledger) ─► Advance (stateful) ─► store
      each sink's output (and the dead-letter sink's) ──┘ side inputs

``AfterSinks`` takes every sink's output as a side input, so the runner can only run it once all
sinks have finished writing: each ledger marker that passes it is committed everywhere.
``Advance`` is a stateful DoFn keyed by pipeline: its Beam state holds the contiguous "committed
through" ledger and the markers above it; it persists the cursor when it has moved ``every``
ledgers and, at the end of the window, through the segment's last ledger (only through the
contiguous prefix when a signal stopped the source early), after checking ``max_error_ratio``
over the run so far.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import apache_beam as beam
from apache_beam import typehints
from apache_beam.coders import PickleCoder
from apache_beam.metrics import Metrics
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec, TimerSpec, on_timer
from apache_beam.transforms.window import GlobalWindow

from flowctl_dsl.observability.metrics import Recorder
from flowctl_dsl.transforms.reliability import shutdown
from flowctl_dsl.transforms.reliability.errors import ErrorRatioExceeded
from flowctl_dsl.transforms.reliability.segments import RunWindow

_LOG = logging.getLogger(__name__)
_SAVED = Metrics.counter("flowctl.reliability", "checkpoints_saved")


def sequence_of(ledger: Any) -> int:
    return int(ledger.sequence)


def check_ratio(ratio: float | None, ledgers: int, dead: int, final: bool) -> None:
    """FC407 when dead letters exceed ``ratio`` of the ledgers read so far.

    Checked once the run has read enough ledgers for one failure to be within the ratio
    (``ledgers × ratio ≥ 1``), and always at the end of the range.
    """
    if ratio is None or dead == 0 or ledgers == 0:
        return
    if dead / ledgers > ratio and (final or ledgers * ratio >= 1):
        raise ErrorRatioExceeded(
            f"{dead} dead letter(s) in {ledgers} ledgers ({dead / ledgers:.2%}) exceed "
            f"max_error_ratio={ratio:g}",
            ("inspect the dead-letter output", "or raise max_error_ratio"),
        )


class AfterSinks(beam.DoFn):  # type: ignore[misc]
    """Passes ledger markers once every sink finished (its output is a side input)."""

    def __init__(self, window: RunWindow) -> None:
        self.window = window
        self._dead: int | None = None

    def start_bundle(self) -> None:
        self._dead = None

    def process(self, sequence: int, dead: Any, *done: Any) -> Iterator[Any]:
        if self._dead is None:
            self._dead = sum(1 for _ in dead) if dead is not None else 0
        yield self.window.pipeline, (sequence, self._dead)


@dataclass
class Cursor:
    """The Beam state of :class:`Advance`."""

    through: int | None = None  # every ledger up to this one is committed (None: not known yet)
    saved: int | None = None  # the cursor last persisted by this run
    low: int | None = None
    high: int | None = None
    pending: set[int] = field(default_factory=set)
    seen: int = 0
    dead: int = 0

    def add(self, sequence: int) -> None:
        self.low = sequence if self.low is None else min(self.low, sequence)
        self.high = sequence if self.high is None else max(self.high, sequence)
        if self.through is None or sequence > self.through:
            self.pending.add(sequence)
        self.advance()

    def advance(self) -> None:
        if self.through is None:
            return
        while self.through + 1 in self.pending:
            self.through += 1
        self.pending = {s for s in self.pending if s > self.through}


class Advance(beam.DoFn):  # type: ignore[misc]
    """Keyed by pipeline: tracks committed ledgers in Beam state and persists the cursor."""

    STATE = ReadModifyWriteStateSpec("cursor", PickleCoder())
    FLUSH = TimerSpec("flush", TimeDomain.WATERMARK)

    def __init__(self, window: RunWindow) -> None:
        self.window = window
        self.rec = Recorder()

    def _start(self) -> Cursor:
        lo = self.window.lo if self.window.lo is not None else self.window.first_ledger
        base = None if lo is None else lo - 1
        return Cursor(through=base, saved=base)

    def process(
        self,
        item: tuple[str, tuple[int, int]],
        state: Any = beam.DoFn.StateParam(STATE),  # noqa: B008
        flush: Any = beam.DoFn.TimerParam(FLUSH),  # noqa: B008
    ) -> Iterator[Any]:
        sequence, dead = item[1]
        cursor: Cursor = state.read() or self._start()
        cursor.add(sequence)
        cursor.seen += 1
        cursor.dead = dead
        if (
            cursor.through is not None
            and cursor.saved is not None
            and cursor.through - cursor.saved >= self.window.every
        ):
            yield from self._save(cursor)
        state.write(cursor)
        flush.set(GlobalWindow().max_timestamp())

    @on_timer(FLUSH)
    def finish(self, state: Any = beam.DoFn.StateParam(STATE)) -> Iterator[Any]:  # noqa: B008
        cursor: Cursor | None = state.read()
        if cursor is None or cursor.low is None or cursor.high is None:
            return
        w = self.window
        check_ratio(
            w.max_error_ratio,
            w.prior_ledgers + cursor.seen,
            w.prior_dead_letters + cursor.dead,
            w.is_last,
        )
        if cursor.through is None:  # the range was unknown: it starts at the lowest ledger read
            cursor.through = cursor.low - 1
            cursor.advance()
        finished = not shutdown.requested()
        if finished:
            # The source read all its ledgers: any hole is a gap it was told to skip.
            end = self.window.hi if self.window.hi is not None else cursor.high
            cursor.through = max(cursor.through, end)
        if cursor.through != cursor.saved or (finished and w.last_ledger is None):
            yield from self._save(cursor, finished)
        state.write(cursor)

    def _save(self, cursor: Cursor, finished: bool = False) -> Iterator[Any]:
        w = self.window
        first = w.first_ledger if w.first_ledger is not None else cursor.low
        if cursor.through is None or first is None or cursor.through < first:
            return
        checkpoint = w.checkpoint(cursor.through, first, cursor.seen, cursor.dead, finished)
        w.store.save(checkpoint)
        cursor.saved = cursor.through
        _SAVED.inc()
        self.rec.set("flowctl_checkpoint_timestamp_seconds", int(time.time()))
        for sink in w.sinks:
            self.rec.set("flowctl_last_committed_ledger", cursor.through, sink=sink)
        _LOG.debug("checkpoint: `%s` committed through ledger %d", w.pipeline, cursor.through)
        yield checkpoint.model_dump(mode="json")


class CommitCheckpoint(beam.PTransform):  # type: ignore[misc]
    """Persist the cursor of ``window`` once ``committed`` (each sink's output) are complete."""

    def __init__(
        self,
        window: RunWindow,
        committed: list[beam.PCollection],
        dead_letters: beam.PCollection | None,
    ) -> None:
        super().__init__()
        self.window = window
        self.committed = committed
        self.dead_letters = dead_letters

    def expand(self, ledgers: beam.PCollection) -> beam.PCollection:
        markers = ledgers | "Ledgers" >> beam.Map(sequence_of)
        dead = (
            beam.pvalue.AsIter(self.dead_letters)
            if self.dead_letters is not None
            else beam.pvalue.AsSingleton(markers.pipeline | "NoDeadLetters" >> beam.Create([()]))
        )
        done = [beam.pvalue.AsIter(c) for c in self.committed]
        return (
            markers
            | "AfterSinks"
            >> beam.ParDo(AfterSinks(self.window), dead, *done).with_output_types(
                typehints.KV[str, typehints.Tuple[int, int]]
            )
            | "Advance" >> beam.ParDo(Advance(self.window))
        )
