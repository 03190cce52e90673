"""Where a run starts and how it is cut: resuming from the checkpoint, segments of ``every`` ledgers.

A bounded run over a closed range ``A..B`` is executed as consecutive Beam runs over segments
aligned to multiples of ``checkpoint.every``; each one ends by persisting the cursor through its
last ledger once its sinks committed (see :mod:`.checkpoint`). Without a ``checkpoint`` setting
the whole range is one segment, except on a runner with a ``default_segment`` (the direct
runner: its memory would otherwise grow with the range). A run resumes after the stored cursor when the previous run of
the same pipeline (same ``ir_sha256``) did not complete — only if every sink replays per ledger
(files merged by ledger, tables upserted) and no stage counts across the range (``limit``);
otherwise it starts over from ``A``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any

from flowctl_dsl import __version__
from flowctl_dsl.plan import Plan, Step
from flowctl_dsl.transforms.reliability.errors import CheckpointMismatch
from flowctl_dsl.transforms.reliability.retry import RetryPolicy
from flowctl_dsl.transforms.reliability.store import (
    Checkpoint,
    CheckpointStore,
    Guarded,
    open_store,
)

_LOG = logging.getLogger(__name__)

#: Sinks that replay per ledger whatever the segment: upserts (append mode: at-least-once).
TABLE_SINKS = ("postgres", "duckdb", "bigquery")
#: File sinks that merge by ledger when their records have a ledger column.
FILE_SINKS = ("parquet", "jsonl")
LEDGER_COLUMNS = ("ledger_sequence", "sequence")
#: Sources whose ``ledgers=A..B`` filters what their files hold rather than naming ledgers to
#: read: a wide range there is no measure of the data, so a runner's default segments don't apply.
FILTERING_SOURCES = ("xdr_file",)


@dataclass(frozen=True)
class RunWindow:
    """What one Beam run of a checkpointed pipeline needs: its ledgers and the cursor's context."""

    pipeline: str
    ir_sha256: str
    source: str
    store: Any  # a Guarded CheckpointStore
    first_ledger: int | None  # the whole run's range (None: unknown until read)
    last_ledger: int | None
    lo: int | None = None  # this segment's ledgers (None: all the source gives)
    hi: int | None = None
    every: int = 1_000_000_000
    prior_ledgers: int = 0
    prior_dead_letters: int = 0
    max_error_ratio: float | None = None
    sinks: tuple[str, ...] = ()
    checkpointing: bool = True

    @property
    def resumed(self) -> bool:
        """Whether earlier ledgers of the range are already committed (files keep them)."""
        return self.lo is not None and self.first_ledger is not None and self.lo > self.first_ledger

    @property
    def is_last(self) -> bool:
        return self.hi is None or self.last_ledger is None or self.hi >= self.last_ledger

    def sink_options(self) -> dict[str, object]:
        """Options the sinks' builders read (``BuildContext.options``)."""
        return {"keep_ledgers_before": self.lo} if self.resumed else {}

    def checkpoint(
        self, through: int, first: int, ledgers: int, dead: int, finished: bool = False
    ) -> Checkpoint:
        """The checkpoint through ``through``; ``finished``: the source read all it had to
        (what completes a run whose range was not known in advance)."""
        from flowctl_dsl.transforms.reliability.store import now

        last = self.last_ledger
        done = through >= last if last is not None else finished and self.is_last
        return Checkpoint(
            pipeline=self.pipeline,
            ir_sha256=self.ir_sha256,
            source=self.source,
            first_ledger=first,
            last_ledger=last,
            committed_through=through,
            complete=done,
            ledgers=self.prior_ledgers + ledgers,
            dead_letters=self.prior_dead_letters + dead,
            updated_at=now(),
            flowctl_version=__version__,
        )


@dataclass
class Resumption:
    """The segments a run will execute, and what it resumes from."""

    windows: list[RunWindow]
    resumed_from: int | None = None
    previous: Checkpoint | None = None
    notes: list[str] = field(default_factory=list)
    store: Any = None


def closed_range(plan: Plan) -> tuple[int, int] | None:
    """``(A, B)`` when the source reads exactly ledgers ``A..B`` (no times, no following)."""
    params = plan.source.params
    if params.get("bounded", True) is False:
        return None
    if any(params.get(k) for k in ("since", "until", "last", "stop_after")):
        return None
    ledgers = params.get("ledgers")
    if isinstance(ledgers, dict):
        start, end = ledgers.get("start"), ledgers.get("end")
        if isinstance(start, int) and isinstance(end, int):
            return start, end
    return None


def _has_ledger_column(step: Step) -> bool:
    schema = step.input_schema
    return schema is not None and any(c in schema.names for c in LEDGER_COLUMNS)


def segment_blockers(plan: Plan) -> list[str]:
    """Why the run cannot be cut into segments or resumed (empty: it can)."""
    out: list[str] = []
    sinks = [*plan.sinks, *([plan.dead_letter] if plan.dead_letter is not None else [])]
    for step in sinks:
        if step.name in TABLE_SINKS:
            continue
        if step.name in FILE_SINKS and _has_ledger_column(step):
            continue
        if step.name in FILE_SINKS:
            out.append(f"`{step.name}` records have no ledger column to merge a resumed file by")
        else:
            out.append(f"sink `{step.name}` cannot be written in parts")
    for stage in plan.stages:
        if stage.kind == "limit":
            out.append("`limit` counts over the whole run")
    return out


def aligned(lo: int, hi: int, every: int) -> list[tuple[int, int]]:
    """``lo..hi`` cut at multiples of ``every``: ``2..401`` by 100 → 2..99, 100..199, …"""
    out = []
    start = lo
    while start <= hi:
        end = min(hi, (start // every + 1) * every - 1)
        out.append((start, end))
        start = end + 1
    return out


def store_for(plan: Plan) -> CheckpointStore:
    return Guarded(open_store(plan.checkpoint), RetryPolicy.of(plan.retry))


def prepare(
    plan: Plan,
    from_scratch: bool = False,
    checkpointing: bool = True,
    default_every: int | None = None,
) -> Resumption:
    """Decide where the run starts and how it is cut; raises FC408 for a changed pipeline.

    ``default_every``: the segment length when the pipeline sets no ``checkpoint`` (a runner
    that holds a segment's data in memory cuts long ranges so its memory does not grow with
    them); None: one segment."""
    config = plan.checkpoint
    enabled = checkpointing and (config is None or config.enabled)
    window = RunWindow(
        pipeline=plan.pipeline,
        ir_sha256=plan.ir_sha256,
        source=plan.source.name,
        store=None,
        first_ledger=None,
        last_ledger=None,
        max_error_ratio=plan.max_error_ratio,
        sinks=tuple(s.name for s in plan.sinks),
        checkpointing=False,
    )
    if not enabled or plan.source.params.get("bounded", True) is False:
        return Resumption([window])
    store = store_for(plan)
    rng = closed_range(plan)
    blockers = segment_blockers(plan)
    window = replace(window, store=store, checkpointing=True)
    if rng is None:
        return Resumption([window], store=store)
    first, last = rng
    window = replace(window, first_ledger=first, last_ledger=last)
    previous = None if from_scratch else store.load(plan.pipeline)
    start, notes = first, []
    prior = (0, 0)
    if previous is not None and not previous.complete and previous.committed_through < last:
        if previous.ir_sha256 != plan.ir_sha256:
            raise CheckpointMismatch(
                f"the checkpoint of `{plan.pipeline}` (committed through ledger "
                f"{previous.committed_through}) was written by a different version of the "
                f"pipeline (ir {previous.ir_sha256[:12]}, now {plan.ir_sha256[:12]})",
                (
                    "run with --from-scratch to start over from the first ledger",
                    f"or inspect it: flowctl state show {plan.pipeline}",
                ),
            )
        if previous.first_ledger != first:
            notes.append(f"the checkpoint starts at ledger {previous.first_ledger}: not resumed")
        elif blockers:
            notes.append(f"not resumed ({'; '.join(blockers)}): starting at ledger {first}")
        else:
            start = min(previous.next_ledger, last)
            prior = (previous.ledgers, previous.dead_letters)
    if plan.source.name in FILTERING_SOURCES:
        default_every = None
    every = None if blockers else config.every if config is not None else default_every
    cuts = aligned(start, last, every) if every else [(start, last)]
    windows = [replace(window, lo=lo, hi=hi, every=every or (last - first + 1)) for lo, hi in cuts]
    windows[0] = replace(windows[0], prior_ledgers=prior[0], prior_dead_letters=prior[1])
    for note in notes:
        _LOG.warning(note)
    return Resumption(
        windows,
        resumed_from=start if start > first else None,
        previous=previous,
        notes=notes,
        store=store,
    )
