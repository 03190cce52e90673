"""contract_events: counts on the Soroban fixture ledgers (PROVENANCE) and decoded content."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from flowctl_dsl.catalog.event_processors import ContractEventsParams
from flowctl_dsl.stellar.formats import read_transaction_meta
from flowctl_dsl.stellar.ledger import LedgerView
from flowctl_dsl.transforms.processors import contract_events

LoadLedgers = Callable[..., list[LedgerView]]
DIAGNOSTIC = ContractEventsParams(include_diagnostic=True)

# file, ledgers to read, contract events, diagnostic events (PROVENANCE.md)
COUNTS = [
    ("standalone/galexie-load-test-ledgers-v23-standalone.xdr.zstd", None, 2000, 10200),
    ("standalone/horizon-load-test-ledgers-v22.xdr.zstd", None, 2000, 10200),
    ("standalone/horizon-load-test-ledgers-v23.xdr.zstd", None, 2000, 10200),
    ("standalone/rpc-load-test-ledgers-v25.xdr.zstd", 1, 37200 // 30, 0),
    ("pubnet/FCD285FF--53312000.xdr.zstd", None, 0, 21),
    ("pubnet/ttp-ledgers-base64.txt", None, 0, 0),
]


@pytest.mark.parametrize(
    "relative,limit,n_events,n_diagnostic", COUNTS, ids=[c[0].split("/")[-1] for c in COUNTS]
)
def test_event_counts(
    relative: str, limit: int | None, n_events: int, n_diagnostic: int, load_ledgers: LoadLedgers
) -> None:
    events = diagnostic = 0
    for ledger in load_ledgers(relative, limit):
        records = list(contract_events.records(ledger, DIAGNOSTIC))
        from_diagnostic = [r["in_successful_contract_call"] is not None for r in records]
        diagnostic += sum(from_diagnostic)
        events += len(records) - sum(from_diagnostic)
        assert len(list(contract_events.records(ledger))) == len(records) - sum(from_diagnostic)
        for r, diag in zip(records, from_diagnostic, strict=True):
            assert r["operation_index"] == (None if diag else 1)
            assert diag or r["type"] == "contract"
            assert len(r["topics_xdr"]) == len(json.loads(r["topics"]))
    assert (events, diagnostic) == (n_events, n_diagnostic)


def test_sac_transfer_event_decoded(load_ledgers: LoadLedgers) -> None:
    ledger = load_ledgers("standalone/galexie-load-test-ledgers-v23-standalone.xdr.zstd")[1]
    first = next(contract_events.records(ledger))
    topics = json.loads(first["topics"])
    assert topics[0] == "transfer" and topics[3] == "native"
    assert topics[1].startswith("G") and topics[2][0] in "GC"
    assert json.loads(first["data"]) == "10000000"
    assert first["contract_id"].startswith("C") and first["in_successful_transaction"]
    assert [
        r["event_index"] for r in contract_events.tx_records(ledger, ledger.transactions()[0])
    ] == list(range(10))


def test_failed_soroban_tx_has_only_diagnostics(stellar_fixtures: Path) -> None:
    meta = read_transaction_meta((stellar_fixtures / "pubnet-txmeta/failed_tx.b64").read_text())
    assert contract_events.meta_events(meta) == []
    found = contract_events.meta_events(meta, include_diagnostic=True)
    assert len(found) == 24 and all(f.op_index is None for f in found)


@pytest.mark.parametrize(
    "name,op_events,tx_events",
    [
        ("amm_swap_sac", 4, 2),
        ("bespoke_swap", 7, 2),
        ("path_payment", 9, 1),
        ("tx_0a120260_meta_v4", 1, 2),
        ("create_account", 0, 0),
    ],
)
def test_v4_meta_events(stellar_fixtures: Path, name: str, op_events: int, tx_events: int) -> None:
    meta = read_transaction_meta((stellar_fixtures / f"pubnet-txmeta/{name}.b64").read_text())
    found = contract_events.meta_events(meta)
    assert sum(f.op_index is not None for f in found) == op_events
    staged = [f for f in found if f.stage is not None]
    assert len(staged) == tx_events
    # charge before all transactions, refund after: fee events frame the operation events
    if tx_events:
        assert found[0].stage == "before_all_txs"
        columns = contract_events.event_columns(found[0])
        assert json.loads(columns["topics"])[0] == "fee"
    if tx_events == 2:
        assert found[-1].stage == "after_all_txs"
