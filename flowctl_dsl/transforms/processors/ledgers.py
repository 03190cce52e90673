"""``ledgers`` (stellar-etl history_ledgers-like) and ``latest_ledger`` (one compact record).

Counting rules are in :mod:`flowctl_dsl.catalog.ledger_processors`: ``transaction_count`` and
``operation_count`` cover every transaction of the set, failed ones included.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

from flowctl_dsl.catalog.spec import Params
from flowctl_dsl.stellar.accounts import account_id
from flowctl_dsl.stellar.ledger import LedgerView
from flowctl_dsl.stellar.toid import toid


def _counts(ledger: LedgerView) -> dict[str, int]:
    txs = ledger.transactions()
    ok = [t for t in txs if t.successful]
    operations = sum(len(t.operations) for t in txs)
    return {
        "transaction_count": len(txs),
        "successful_transaction_count": len(ok),
        "failed_transaction_count": len(txs) - len(ok),
        "operation_count": operations,
        "successful_operation_count": sum(len(t.operations) for t in ok),
        "tx_set_operation_count": operations,
        "soroban_transaction_count": sum(1 for t in txs if t.is_soroban),
    }


def records(ledger: LedgerView, params: Params | None = None) -> Iterator[dict[str, Any]]:
    """One ``ledger`` record."""
    body = ledger.body
    ext = getattr(body, "ext", None)
    fee_write = ext.v1.soroban_fee_write1_kb.int64 if ext is not None and ext.v == 1 else None
    live_state = getattr(body, "total_byte_size_of_live_soroban_state", None)
    node_id = signature = None
    sig = ledger.header.scp_value.ext.lc_value_signature
    if sig is not None:
        node_id = account_id(sig.node_id.node_id)
        signature = base64.b64encode(sig.signature.signature).decode()
    yield {
        "sequence": ledger.sequence,
        "ledger_id": toid(ledger.sequence),
        "ledger_hash": ledger.ledger_hash,
        "previous_ledger_hash": ledger.previous_ledger_hash,
        "closed_at": ledger.closed_at,
        "protocol_version": ledger.protocol_version,
        **_counts(ledger),
        "total_coins": ledger.total_coins,
        "fee_pool": ledger.fee_pool,
        "base_fee": ledger.base_fee,
        "base_reserve": ledger.base_reserve,
        "max_tx_set_size": ledger.max_tx_set_size,
        "lcm_version": ledger.lcm_version,
        "soroban_fee_write_1kb": fee_write,
        "total_byte_size_of_live_soroban_state": (
            live_state.uint64 if live_state is not None else None
        ),
        "node_id": node_id,
        "signature": signature,
    }


def latest_ledger(ledger: LedgerView, params: Params | None = None) -> Iterator[dict[str, Any]]:
    """One ``latest_ledger`` record: counts, fees and declared Soroban resources."""
    txs = ledger.transactions()
    ok = sum(1 for t in txs if t.successful)
    soroban = [d for t in txs if (d := t.soroban_data) is not None]
    yield {
        "sequence": ledger.sequence,
        "hash": ledger.ledger_hash,
        "closed_at": ledger.closed_at,
        "protocol_version": ledger.protocol_version,
        "transaction_count": len(txs),
        "successful_transaction_count": ok,
        "failed_transaction_count": len(txs) - ok,
        "operation_count": sum(len(t.operations) for t in txs),
        "total_fee_charged": sum(t.fee_charged for t in txs),
        "base_fee": ledger.base_fee,
        "soroban_transaction_count": len(soroban),
        "total_soroban_fees": sum(d.resource_fee.int64 for d in soroban),
        "total_resource_instructions": sum(d.resources.instructions.uint32 for d in soroban),
    }
