"""``GenerateLocalnet``: the deterministic synthetic localnet as a PCollection of ``RawLedger``.

Generation is sequential by nature (each ledger depends on the state the previous ones left), so
one element carries the whole range and a single ``FlatMap`` simulates it from genesis.
"""

from __future__ import annotations

from collections.abc import Iterator

import apache_beam as beam
from apache_beam.metrics import Metrics

from flowctl_dsl.stellar.localnet.generate import iter_ledgers
from flowctl_dsl.stellar.raw import RawLedger

_LEDGERS = Metrics.counter("flowctl.localnet", "ledgers_generated")


def generate_range(bounds: tuple[int, int], seed: int, txs_per_ledger: int) -> Iterator[RawLedger]:
    """Every ledger of ``bounds`` (inclusive) of localnet ``seed``."""
    for ledger in iter_ledgers(bounds[0], bounds[1], seed, txs_per_ledger):
        _LEDGERS.inc()
        yield ledger


class GenerateLocalnet(beam.PTransform):
    """Ledgers ``ledgers`` (inclusive, from 2) of the localnet with ``seed``."""

    def __init__(self, ledgers: tuple[int, int], seed: int = 0, txs_per_ledger: int = 10) -> None:
        super().__init__()
        start, end = ledgers
        if start < 2 or end < start:
            raise ValueError(f"localnet ledgers must satisfy 2 <= start <= end, got {start}..{end}")
        self.ledgers = (start, end)
        self.seed = seed
        self.txs_per_ledger = txs_per_ledger

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.PCollection:
        return (
            pbegin
            | "Range" >> beam.Create([self.ledgers])
            | "Generate"
            >> beam.FlatMap(generate_range, seed=self.seed, txs_per_ledger=self.txs_per_ledger)
        )
