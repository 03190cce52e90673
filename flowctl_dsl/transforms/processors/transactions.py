"""``transactions``: one record per transaction, in application order, failed ones included."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from stellar_sdk import xdr as sx

from flowctl_dsl.catalog.spec import Params
from flowctl_dsl.stellar.ledger import LedgerView
from flowctl_dsl.stellar.toid import toid


def records(ledger: LedgerView, params: Params | None = None) -> Iterator[dict[str, Any]]:
    """One ``transaction`` record per transaction of ``ledger``."""
    sequence = ledger.sequence
    closed_at = ledger.closed_at
    for tx in ledger.transactions():
        soroban = tx.soroban_data
        yield {
            "transaction_hash": tx.hash,
            "ledger_sequence": sequence,
            "closed_at": closed_at,
            "transaction_index": tx.index,
            "transaction_id": toid(sequence, tx.index),
            "account": tx.source_account,
            "account_muxed": tx.source_account_muxed,
            "account_sequence": tx.sequence_number,
            "fee_account": tx.fee_account,
            "fee_account_muxed": tx.fee_account_muxed,
            "fee_charged": tx.fee_charged,
            "max_fee": tx.max_fee,
            "new_max_fee": tx.fee_bump_fee,
            "inner_transaction_hash": tx.inner_hash,
            "operation_count": len(tx.operations),
            "successful": tx.successful,
            "result_code": sx.TransactionResultCode(tx.result_code).name,
            "memo_type": tx.memo_type,
            "memo": tx.memo_value,
            "is_fee_bump": tx.is_fee_bump,
            "is_soroban": soroban is not None,
            "resource_fee": soroban.resource_fee.int64 if soroban is not None else None,
        }
