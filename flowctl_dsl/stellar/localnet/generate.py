"""Public API of the localnet: deterministic synthetic ledgers and a galexie data lake of them.

Every run simulates from genesis (ledger 1, never emitted) so any range is byte-identical to the
same ledgers of a longer run with the same ``seed`` and ``txs_per_ledger``. Nothing reads the
clock or the OS random source: keys come from ``sha256(seed ‖ name)``, ed25519 signatures are
deterministic, and close times are ``2025-01-01T00:00:00Z + 5 s × sequence``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from stellar_sdk import xdr as sx

from flowctl_dsl.stellar.lake import LakeSchema, write_manifest, write_object
from flowctl_dsl.stellar.localnet.builder import Chain, close_ledger, genesis
from flowctl_dsl.stellar.localnet.scenario import Scenario
from flowctl_dsl.stellar.localnet.state import LedgerState
from flowctl_dsl.stellar.raw import RawLedger

NETWORK_PASSPHRASE = "Standalone Network ; February 2017"
GENESIS_LEDGER = 2  # ledger 1 exists only as the genesis state; lakes start at 2


class Localnet:
    """One simulated network, advanced a ledger at a time from genesis."""

    def __init__(self, seed: int = 0, txs_per_ledger: int = 10) -> None:
        self.passphrase = NETWORK_PASSPHRASE
        self.state = LedgerState()
        self.scenario = Scenario(seed, txs_per_ledger, self.passphrase)
        self.chain: Chain = genesis(
            self.state, self.scenario.root.public_key, self.scenario.validator, self.passphrase
        )
        self.sequence = 1
        #: Transactions and operations of the last closed ledger.
        self.counts = (0, 0)

    def close(self) -> sx.LedgerCloseMeta:
        """Plan, apply and seal the next ledger."""
        self.sequence += 1
        txs = self.scenario.plan(self.sequence, self.state)
        self.counts = (len(txs), sum(len(t.tx.operations) for t in txs))
        return close_ledger(
            self.state, self.chain, self.sequence, txs, self.scenario.validator, self.passphrase
        )


def iter_ledgers(
    start: int = 2, end: int = 101, seed: int = 0, txs_per_ledger: int = 10
) -> Iterator[RawLedger]:
    """``RawLedger`` for each of ledgers ``start..end`` (inclusive) of the localnet ``seed``."""
    for raw, _, _ in _generate(start, end, seed, txs_per_ledger):
        yield raw


def _generate(
    start: int, end: int, seed: int, txs_per_ledger: int
) -> Iterator[tuple[RawLedger, int, int]]:
    if start < GENESIS_LEDGER or end < start:
        raise ValueError(f"localnet ledgers must satisfy 2 <= start <= end, got {start}..{end}")
    net = Localnet(seed, txs_per_ledger)
    while net.sequence < end:
        lcm = net.close()
        if net.sequence >= start:
            raw = RawLedger(net.sequence, lcm.to_xdr_bytes(), NETWORK_PASSPHRASE)
            yield raw, *net.counts


def _range(ledgers: int | tuple[int, int]) -> tuple[int, int]:
    if isinstance(ledgers, int):
        if ledgers < 1:
            raise ValueError(f"need at least one ledger, got {ledgers}")
        return GENESIS_LEDGER, GENESIS_LEDGER + ledgers - 1
    start, end = ledgers
    return start, end


def generate_lake(
    root: Path | str,
    ledgers: int | tuple[int, int],
    seed: int = 0,
    ledgers_per_file: int = 1,
    files_per_partition: int = 64000,
    txs_per_ledger: int = 10,
) -> dict[str, int | str]:
    """Write a galexie lake (``.config.json`` + zstd ``LedgerCloseMetaBatch`` objects) under ``root``.

    ``ledgers`` is a count from ledger 2 or an inclusive ``(start, end)``. Objects at the ends of
    the range hold only the ledgers inside it. Returns a summary: first/last ledger, ledgers,
    objects, transactions, operations, XDR bytes and bytes written.
    """
    start, end = _range(ledgers)
    schema = LakeSchema(ledgers_per_file, files_per_partition)
    write_manifest(root, NETWORK_PASSPHRASE, schema)
    summary: dict[str, int | str] = {
        "root": str(root),
        "first": start,
        "last": end,
        "ledgers": 0,
        "objects": 0,
        "transactions": 0,
        "operations": 0,
        "xdr_bytes": 0,
        "bytes": 0,
    }
    batch: list[bytes] = []
    batch_start = start

    def flush(last: int) -> None:
        path = write_object(root, schema, batch, batch_start, last)
        summary["objects"] = int(summary["objects"]) + 1
        summary["bytes"] = int(summary["bytes"]) + path.stat().st_size
        batch.clear()

    for raw, txs, ops in _generate(start, end, seed, txs_per_ledger):
        if batch and schema.file_start(raw.sequence) != schema.file_start(batch_start):
            flush(raw.sequence - 1)
            batch_start = raw.sequence
        batch.append(raw.xdr)
        summary["ledgers"] = int(summary["ledgers"]) + 1
        summary["transactions"] = int(summary["transactions"]) + txs
        summary["operations"] = int(summary["operations"]) + ops
        summary["xdr_bytes"] = int(summary["xdr_bytes"]) + len(raw.xdr)
    if batch:
        flush(end)
    return summary
