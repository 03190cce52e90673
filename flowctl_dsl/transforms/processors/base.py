"""The one Beam DoFn every processor runs in: decode a ledger, call the processor function.

A processor is a plain function ``records(ledger: LedgerView, params) -> Iterable[dict]`` named by
its catalog spec's ``impl``; it knows Stellar and pyarrow, never Beam.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics

from flowctl_dsl.catalog.spec import Params, Spec
from flowctl_dsl.observability import logging as obs_logging
from flowctl_dsl.observability import tracing
from flowctl_dsl.observability.metrics import Recorder, error_code
from flowctl_dsl.stellar.decode import decode_ledger
from flowctl_dsl.stellar.ledger import LedgerView
from flowctl_dsl.stellar.raw import RawLedger

Extract = Callable[[LedgerView, Any], Iterable[dict[str, Any]]]


class ProcessLedgers(beam.DoFn):  # type: ignore[misc]
    """Decode each ``RawLedger`` and emit the processor's records."""

    def __init__(self, spec: Spec, params: Params) -> None:
        self.spec_name = spec.name
        self.impl = spec.impl
        self.params = params
        self.fn: Extract | None = None
        self.ledgers = Metrics.counter("flowctl.processor", f"{spec.name}_ledgers")
        self.records = Metrics.counter("flowctl.processor", f"{spec.name}_records")
        self.rec = Recorder(stage=spec.name)  # flowctl_* metrics (observability)

    def setup(self) -> None:
        module, _, attr = self.impl.partition(":")
        import importlib

        self.fn = getattr(importlib.import_module(module), attr)

    def process(self, raw: RawLedger) -> Iterator[dict[str, Any]]:
        if self.fn is None:
            self.setup()
        assert self.fn is not None
        # observability: the decode and the processor are timed per ledger (downstream stages
        # run inside ``yield``, so the records are gathered first), traced and failures counted.
        started = time.perf_counter()
        with (
            obs_logging.bind(stage=self.spec_name, ledger=raw.sequence),
            tracing.span("flowctl.stage", stage=self.spec_name, ledger=raw.sequence),
        ):
            try:
                view = LedgerView(decode_ledger(raw.xdr), raw.network_passphrase)
                records = list(self.fn(view, self.params))
            except Exception as err:
                self.rec.inc("flowctl_records_failed_total", code=error_code(err))
                raise
        self.rec.observe("flowctl_stage_duration_seconds", time.perf_counter() - started)
        yield from records
        self.ledgers.inc()
        self.records.inc(len(records))
        self.rec.inc("flowctl_ledgers_processed_total")
        self.rec.inc("flowctl_records_total", len(records))


def build(spec: Spec, params: Params) -> beam.PTransform:
    return beam.ParDo(ProcessLedgers(spec, params))
