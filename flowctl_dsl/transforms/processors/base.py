"""The one Beam DoFn every processor runs in: decode a ledger, call the processor function.

A processor is a plain function ``records(ledger: LedgerView, params) -> Iterable[dict]`` named by
its catalog spec's ``impl``; it knows Stellar and pyarrow, never Beam.

A ledger the processor cannot handle (bad XDR, an exception in the function, an object the source
could not read) goes to the tagged output ``dead_letter`` when the pipeline declares one, with
the error and the raw ledger; otherwise the run stops with FC406 naming the ledger and stage.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import apache_beam as beam
import pyarrow as pa
from apache_beam.metrics import Metrics

from flowctl_dsl.catalog.spec import Params, Spec
from flowctl_dsl.observability import logging as obs_logging
from flowctl_dsl.observability import tracing
from flowctl_dsl.observability.metrics import Recorder, error_code
from flowctl_dsl.stellar.decode import decode_ledger
from flowctl_dsl.stellar.ledger import LedgerView
from flowctl_dsl.stellar.raw import RawLedger
from flowctl_dsl.transforms.columnar.rows import from_records, to_records
from flowctl_dsl.transforms.reliability import dead_letter as dlq
from flowctl_dsl.transforms.reliability.errors import DEAD_LETTER_HINT, StageFailedError

_DEAD_LETTERS = Metrics.counter("flowctl.reliability", "dead_letters")

Extract = Callable[[LedgerView, Any], Iterable[dict[str, Any]]]
#: A spec's ``native_impl``: ``(ledger XDRs, passphrase, params) -> pyarrow.RecordBatch``.
NativeExtract = Callable[[Sequence[bytes], str, Any], pa.RecordBatch]


def native_extract(native_impl: str | None) -> NativeExtract | None:
    """The native implementation to use, or ``None`` (none declared, not built, or
    ``FLOWCTL_DECODER=python``). Installs the native decoder in this process."""
    if native_impl is None:
        return None
    from flowctl_dsl.stellar import native

    if not native.enabled():
        return None
    native.install()
    return native.load(native_impl)


class ProcessLedgers(beam.DoFn):  # type: ignore[misc]
    """Decode each ``RawLedger`` and emit the processor's records: one ``pyarrow.RecordBatch``
    of the spec's schema per ledger with ``batches`` (none for a ledger without records), else
    one dict per record.

    When the spec has a ``native_impl`` and ``flowctl_native`` is enabled (see
    :mod:`flowctl_dsl.stellar.native`), the ledger is decoded and processed natively into one
    Arrow batch (turned into records only when records are asked for); a ledger the native code
    does not handle goes through the reference ``impl`` (same records, or the reference's error).
    """

    def __init__(
        self,
        spec: Spec,
        params: Params,
        pipeline: str = "",
        dead_letters: bool = False,
        batches: bool = False,
    ) -> None:
        assert not batches or spec.schema is not None, f"{spec.name} has no schema"
        self.spec_name = spec.name
        self.schema = spec.schema
        self.batches = batches
        self.impl = spec.impl
        self.native_impl = spec.native_impl
        self.native_fn: NativeExtract | None = None
        self.native_fallbacks = Metrics.counter(
            "flowctl.processor", f"{spec.name}_native_fallbacks"
        )
        self.params = params
        self.pipeline = pipeline
        self.dead_letters = dead_letters  # route failures to the tagged output, else fail fast
        self.fn: Extract | None = None
        self.ledgers = Metrics.counter("flowctl.processor", f"{spec.name}_ledgers")
        self.records = Metrics.counter("flowctl.processor", f"{spec.name}_records")
        self.rec = Recorder(stage=spec.name)  # flowctl_* metrics (observability)

    def setup(self) -> None:
        module, _, attr = self.impl.partition(":")
        import importlib

        self.fn = getattr(importlib.import_module(module), attr)
        self.native_fn = native_extract(self.native_impl)

    def extract(self, raw: RawLedger) -> pa.RecordBatch | list[dict[str, Any]]:
        """The records of one ledger (a batch or dicts, as asked): native when possible, else
        the reference."""
        if self.native_fn is not None:
            try:
                batch = self.native_fn([raw.xdr], raw.network_passphrase, self.params)
            except (NotImplementedError, ValueError):
                self.native_fallbacks.inc()  # the reference decides: records or its error
            else:
                return batch if self.batches else to_records(batch)
        assert self.fn is not None
        view = LedgerView(decode_ledger(raw.xdr), raw.network_passphrase)
        records = list(self.fn(view, self.params))
        if self.batches:
            assert self.schema is not None
            return from_records(records, self.schema)
        return records

    def process(self, raw: RawLedger) -> Iterator[Any]:
        if self.fn is None:
            self.setup()
        assert self.fn is not None
        if isinstance(raw, dlq.UnreadableLedger):  # the source could not read this ledger
            yield from self._failed(raw, None)
            return
        # observability: the decode and the processor are timed per ledger (downstream stages
        # run inside ``yield``, so the records are gathered first), traced and failures counted.
        started = time.perf_counter()
        with (
            obs_logging.bind(stage=self.spec_name, ledger=raw.sequence),
            tracing.span("flowctl.stage", stage=self.spec_name, ledger=raw.sequence),
        ):
            try:
                records = self.extract(raw)
            except Exception as err:  # noqa: BLE001 - a dead letter, or FC406
                yield from self._failed(raw, err)
                return
        self.rec.observe("flowctl_stage_duration_seconds", time.perf_counter() - started)
        count = len(records)
        if isinstance(records, pa.RecordBatch):
            if count:
                yield records
        else:
            yield from records
        self.ledgers.inc()
        self.records.inc(count)
        self.rec.inc("flowctl_ledgers_processed_total")
        self.rec.inc("flowctl_records_total", count)

    def _failed(self, raw: Any, err: BaseException | None) -> Iterator[Any]:
        """A dead letter for ``raw`` (tagged output), or FC406 when none is declared."""
        if err is None:
            stage = raw.stage
            letter = dlq.from_unreadable(self.pipeline, stage, raw)
            self.rec.inc("flowctl_records_failed_total", code="FC402")
        else:
            stage = self.spec_name
            letter = dlq.from_exception(self.pipeline, stage, raw.sequence, raw.xdr, err)
            self.rec.inc("flowctl_records_failed_total", code=error_code(err))
        code = str(letter["error_code"])
        if not self.dead_letters:
            if err is None:
                raise StageFailedError(
                    f"stage `{stage}` failed on ledger {raw.sequence}: {raw.error}",
                    (DEAD_LETTER_HINT,),
                )
            raise StageFailedError.of(stage, raw.sequence, err) from err
        _DEAD_LETTERS.inc()
        self.rec.inc("flowctl_dlq_records_total", code=code)
        yield beam.pvalue.TaggedOutput(dlq.TAG, letter)


def build(
    spec: Spec,
    params: Params,
    pipeline: str = "",
    dead_letters: bool = False,
    batches: bool = False,
) -> beam.PTransform:
    """The processor's ParDo; with ``dead_letters`` its outputs are ``records`` and
    ``dead_letter``; with ``batches`` it emits ``pyarrow.RecordBatch`` elements."""
    fn = beam.ParDo(ProcessLedgers(spec, params, pipeline, dead_letters, batches))
    if batches:
        fn = fn.with_output_types(pa.RecordBatch)
    return fn.with_outputs(dlq.TAG, main="records") if dead_letters else fn
