"""``operations``: one record per operation, failed transactions included.

:func:`iter_operations` is the shared walk other operation-level processors build on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, NamedTuple

from stellar_sdk import xdr as sx

from flowctl_dsl.catalog.spec import Params
from flowctl_dsl.stellar.accounts import Account, muxed_account
from flowctl_dsl.stellar.ledger import LedgerView, TxView
from flowctl_dsl.stellar.toid import toid


class OpContext(NamedTuple):
    """One operation with its transaction, 1-based index, source and result (if applied)."""

    tx: TxView
    index: int
    op: sx.Operation
    source: Account
    result: sx.OperationResult | None

    @property
    def operation_id(self) -> int:
        return toid(self.tx.ledger.sequence, self.tx.index, self.index)

    @property
    def type_code(self) -> int:
        return self.op.body.type.value

    @property
    def type(self) -> str:
        """snake_case type name, e.g. ``path_payment_strict_send``."""
        return self.op.body.type.name.lower()


def iter_operations(ledger: LedgerView) -> Iterator[OpContext]:
    """Every operation of every transaction, in application order."""
    for tx in ledger.transactions():
        tx_source = None
        results = tx.operation_results
        for index, op in enumerate(tx.operations, start=1):
            if op.source_account is not None:
                source = muxed_account(op.source_account)
            else:
                if tx_source is None:
                    tx_source = Account(tx.source_account, tx.source_account_muxed)
                source = tx_source
            result = results[index - 1] if results and index <= len(results) else None
            yield OpContext(tx, index, op, source, result)


def inner_result(result: sx.OperationResult | None) -> Any | None:
    """The type-specific result (e.g. ``PaymentResult``) of an applied operation, else ``None``."""
    if result is None or result.tr is None:
        return None
    for name, value in vars(result.tr).items():
        if name != "type" and value is not None:
            return value
    return None


def result_code(result: sx.OperationResult | None) -> str | None:
    """The inner code name (``PAYMENT_SUCCESS``) or the outer one (``opNO_ACCOUNT``)."""
    if result is None:
        return None
    inner = inner_result(result)
    code = getattr(inner, "code", None)
    return code.name if code is not None else result.code.name


def details(op: sx.Operation) -> str:
    """JSON of the operation body's arm (``{}`` for bodiless operations such as inflation)."""
    doc = op.body.to_json_dict()
    value = next(iter(doc.values())) if isinstance(doc, dict) and len(doc) == 1 else {}
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def records(ledger: LedgerView, params: Params | None = None) -> Iterator[dict[str, Any]]:
    """One ``operation`` record per operation of ``ledger``."""
    sequence = ledger.sequence
    closed_at = ledger.closed_at
    for ctx in iter_operations(ledger):
        yield {
            "operation_id": ctx.operation_id,
            "transaction_hash": ctx.tx.hash,
            "ledger_sequence": sequence,
            "closed_at": closed_at,
            "transaction_index": ctx.tx.index,
            "operation_index": ctx.index,
            "type": ctx.type,
            "type_code": ctx.type_code,
            "source_account": ctx.source.account,
            "source_account_muxed": ctx.source.muxed,
            "successful": ctx.tx.successful,
            "operation_result_code": result_code(ctx.result),
            "details": details(ctx.op),
        }
