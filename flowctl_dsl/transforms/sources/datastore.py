"""``ReadDatastore``: read a galexie / SEP-54 data lake into a PCollection of ``RawLedger``.

The lake may be local, ``s3://`` or ``gs://`` (one reader over
:class:`~flowctl_dsl.stellar.lake.ObjectStore`). Planning happens at pipeline-construction time:
the range is resolved (open ends become the lake's first/last ledger), the partitions it touches
are listed to report gaps, and it is split into object-aligned chunks. Workers then read one
chunk each after a ``Reshuffle`` spreads them.
"""

from __future__ import annotations

from collections.abc import Iterator

import apache_beam as beam
from apache_beam.metrics import Metrics

from flowctl_dsl.observability import tracing
from flowctl_dsl.stellar.lake import Chunk, Lake, LakeError, LakeLayout, MissingLedgerError
from flowctl_dsl.stellar.raw import RawLedger
from flowctl_dsl.transforms.reliability import retry, shutdown
from flowctl_dsl.transforms.reliability.dead_letter import UnreadableLedger
from flowctl_dsl.transforms.reliability.retry import RetryPolicy

_LEDGERS_READ = Metrics.counter("flowctl.datastore", "ledgers_read")
_OBJECTS_SKIPPED = Metrics.counter("flowctl.datastore", "chunks_with_gaps")


def read_chunk(
    bounds: tuple[int, int],
    layout: LakeLayout,
    skip_gaps: bool = False,
    retry: RetryPolicy | None = None,
) -> Iterator[RawLedger | UnreadableLedger]:
    """Every ledger of the chunk ``bounds`` (inclusive) from the lake described by ``layout``.

    Object reads are retried on transient errors (``retry``); an object that cannot be decoded
    yields an :class:`UnreadableLedger` per ledger it holds (dead letters downstream). Reading
    stops at the next object once a shutdown is requested.
    """
    count = 0
    with tracing.span("flowctl.chunk", ledger_start=bounds[0], ledger_end=bounds[1]):
        for ledger in _read_objects(Chunk(*bounds), layout, skip_gaps, retry or RetryPolicy()):
            count += 1
            yield ledger
    _LEDGERS_READ.inc(count)
    if count < bounds[1] - bounds[0] + 1:
        _OBJECTS_SKIPPED.inc()


# -- reliability: retried object reads, unreadable objects as dead letters, stop on a signal
def _read_objects(
    chunk: Chunk, layout: LakeLayout, skip_gaps: bool, policy: RetryPolicy
) -> Iterator[RawLedger | UnreadableLedger]:
    from flowctl_dsl.stellar.formats import read_batch
    from flowctl_dsl.stellar.lake import LocalStore, object_starts

    if layout.network_passphrase is None:
        raise LakeError(f"no network passphrase for lake {layout.root} (none in its manifest)")
    passphrase = layout.network_passphrase
    store = layout.store or LocalStore(layout.root)
    per_file = layout.schema.ledgers_per_file
    for object_start in object_starts(layout.schema, chunk.start, chunk.end):
        if shutdown.requested():
            return

        def fetch(first: int = object_start) -> tuple[str, bytes]:
            keys = layout.candidates(first)
            for key in keys:
                data = store.get(key)
                if data is not None:
                    return key, data
            raise MissingLedgerError(max(first, chunk.start), layout.root, keys[0])

        try:
            key, data = retry.call(fetch, policy, "datastore")
        except MissingLedgerError:
            if skip_gaps:
                continue
            raise
        try:
            items = read_batch(data)
        except Exception as err:  # noqa: BLE001 - any decoding failure makes the object poison
            why = f"object {key} cannot be decoded: {type(err).__name__}: {err}"
            last = min(chunk.end, object_start + per_file - 1)
            for sequence in range(max(object_start, chunk.start), last + 1):
                raw = data if per_file == 1 else b""
                yield UnreadableLedger(sequence, raw, passphrase, why, stage="datastore")
            continue
        for item in items:
            if chunk.start <= item.sequence <= chunk.end:
                yield RawLedger(item.sequence, item.xdr, passphrase)


# -- end reliability


class ReadDatastore(beam.PTransform):
    """Ledgers ``ledgers`` (inclusive; ``None`` or an open end = all the lake holds) of a lake.

    ``url`` is a local path, ``file://``, ``s3://`` or ``gs://`` URL (``region``,
    ``endpoint_url`` and ``anonymous`` tune remote access; ``lake`` reuses an opened one). The
    passphrase is ``network_passphrase`` or else the manifest's. Missing objects raise
    :class:`~flowctl_dsl.stellar.lake.MissingLedgerError` at construction time unless
    ``skip_gaps``.
    """

    def __init__(
        self,
        url: str,
        ledgers: tuple[int, int | None] | None = None,
        network_passphrase: str | None = None,
        skip_gaps: bool = False,
        objects_per_chunk: int = 1,
        region: str | None = None,
        endpoint_url: str | None = None,
        anonymous: bool | None = None,
        lake: Lake | None = None,
    ) -> None:
        super().__init__()
        self.url = url
        self.ledgers = ledgers
        self.network_passphrase = network_passphrase
        self.skip_gaps = skip_gaps
        self.objects_per_chunk = objects_per_chunk
        self.remote = {"region": region, "endpoint_url": endpoint_url, "anonymous": anonymous}
        self.lake = lake
        # -- reliability: the run window (resume, segments) and the retry policy of reads
        self.window: tuple[int, int] | None = None
        self.retry = RetryPolicy()

    def plan(self) -> tuple[LakeLayout, list[Chunk]]:
        """List the lake and split the requested range into chunks."""
        from flowctl_dsl.stellar.remote_lake import open_lake

        lake = self.lake or open_lake(self.url, self.network_passphrase, **self.remote)  # type: ignore[arg-type]
        if lake.network_passphrase is None:
            raise LakeError(
                f"data lake {self.url} has no .config.json with a networkPassphrase; "
                "give the network or its passphrase"
            )
        resolved = lake.resolve(self.ledgers)
        if resolved is None:
            return lake.layout, []
        start, end = resolved
        if self.window is not None:  # reliability: only this segment's ledgers
            start, end = max(start, self.window[0]), min(end, self.window[1])
            if start > end:
                return lake.layout, []
        if not self.skip_gaps:
            gaps = lake.gaps(start, end)
            if gaps:
                raise MissingLedgerError(gaps[0], self.url)
        return lake.layout, lake.plan(start, end, self.objects_per_chunk)

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.PCollection:
        layout, chunks = self.plan()
        return (
            pbegin
            | "Chunks" >> beam.Create([(c.start, c.end) for c in chunks])
            | "Spread" >> beam.Reshuffle()
            | "Read"
            >> beam.FlatMap(read_chunk, layout=layout, skip_gaps=self.skip_gaps, retry=self.retry)
        )
