"""Counting branches added to a built pipeline: ledgers out of the source, records into each sink.

They hang off existing PCollections (a fan-out Beam fuses with the producer), so sources and
sinks need no metrics code of their own and the counts are the same on every runner.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import apache_beam as beam
import pyarrow as pa
from apache_beam.pipeline import PipelineVisitor

from flowctl_dsl.observability.metrics import Recorder
from flowctl_dsl.plan import Plan
from flowctl_dsl.stellar.raw import RawLedger


class CountLedgers(beam.DoFn):  # type: ignore[misc]
    """Ledgers, XDR bytes and the highest sequence a source emitted; emits nothing.

    For a source that ``follows`` the tip it also records the lag behind the network clock.
    """

    def __init__(self, stage: str, follows: bool = False) -> None:
        self.rec = Recorder(stage=stage)
        self.follows = follows

    def process(self, ledger: Any) -> Iterator[Any]:
        if not isinstance(ledger, RawLedger):  # e.g. an unreadable object's dead letter
            return iter(())
        self.rec.inc("flowctl_ledgers_read_total")
        self.rec.inc("flowctl_bytes_read_total", len(ledger.xdr))
        self.rec.set("flowctl_last_read_ledger", ledger.sequence)
        if self.follows:
            from flowctl_dsl.stellar.decode import header_only

            closed = header_only(ledger.xdr).closed_at.timestamp()
            self.rec.set("flowctl_source_lag_seconds", max(0.0, time.time() - closed))
        return iter(())


class CountSinkRecords(beam.DoFn):  # type: ignore[misc]
    """Records delivered to one sink (the rows of a ``pyarrow.RecordBatch`` element); emits
    nothing."""

    def __init__(self, sink: str) -> None:
        self.rec = Recorder(sink=sink)

    def process(self, record: Any) -> Iterator[Any]:
        rows = record.num_rows if isinstance(record, pa.RecordBatch) else 1
        self.rec.inc("flowctl_sink_records_total", rows)
        return iter(())


class _Find(PipelineVisitor):  # type: ignore[misc]
    def __init__(self, labels: set[str]) -> None:
        self.labels = labels
        self.found: dict[str, Any] = {}

    def enter_composite_transform(self, node: Any) -> None:
        self.visit_transform(node)

    def visit_transform(self, node: Any) -> None:
        if node.full_label in self.labels:
            self.found[node.full_label] = node


def instrument(pipeline: beam.Pipeline, plan: Plan) -> None:
    """Attach the counting branches to the source output and every sink input of ``pipeline``.

    The dead-letter sink (``on_error``) counts as ``sink="dead_letter"``.
    """
    dead_letter = getattr(plan, "dead_letter", None)
    sinks = [(s, s.name) for s in plan.sinks]
    if dead_letter is not None:
        sinks.append((dead_letter, "dead_letter"))
    finder = _Find({plan.source.id, *(s.id for s, _ in sinks)})
    pipeline.visit(finder)
    source = finder.found.get(plan.source.id)
    if source is not None and None in source.outputs:
        follows = plan.source.params.get("bounded") is False
        _ = source.outputs[None] | f"observe_{plan.source.id}" >> beam.ParDo(
            CountLedgers(plan.source.name, follows)
        )
    for sink, name in sinks:
        node = finder.found.get(sink.id)
        if node is not None and node.inputs:
            _ = node.inputs[0] | f"observe_{sink.id}" >> beam.ParDo(CountSinkRecords(name))
