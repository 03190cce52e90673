# mypy: disable-error-code="union-attr"
# (stellar-sdk models each XDR union arm as an Optional attribute; arms are read after checking
# the discriminant, so the None case cannot occur.)
"""``contract_events``: one record per Soroban contract event.

Sources per ``TransactionMeta`` version: v3 ``sorobanMeta.events`` (attributed to the single
operation) and, with ``include_diagnostic``, ``sorobanMeta.diagnosticEvents``; v4
``operations[i].events``, the transaction-level ``events`` (CAP-67 fee events; ``stage`` set,
``operation_index`` null) and ``diagnosticEvents``. v0–v2 metas carry no events.

Diagnostic-list entries keep the type of the event they wrap (in diagnostic mode core repeats
the contract events there, type ``contract``); they are the records whose
``in_successful_contract_call`` is set.

Order within a transaction: stage ``before_all_txs`` events, operation events, other
transaction-level events, diagnostic events; ``event_index`` counts within the transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

from stellar_sdk import xdr as sx

from flowctl_dsl.stellar.ledger import LedgerView, TxView
from flowctl_dsl.transforms.processors.scval import contract_strkey, dumps, to_json, xdr_b64

EVENT_TYPES = {0: "system", 1: "contract", 2: "diagnostic"}
STAGES = {0: "before_all_txs", 1: "after_tx", 2: "after_all_txs"}


class MetaEvent(NamedTuple):
    """One event found in a ``TransactionMeta``.

    ``op_index`` is 0-based (``None`` for transaction-level and diagnostic events); ``stage`` is
    set for v4 transaction-level events; ``in_successful_contract_call`` for diagnostic events.
    """

    op_index: int | None
    stage: str | None
    event: sx.ContractEvent
    in_successful_contract_call: bool | None = None


def operation_events(meta: sx.TransactionMeta) -> list[tuple[int, sx.ContractEvent]]:
    """``(op_index, event)`` for the contract events of each operation (0-based index)."""
    if meta.v == 3:
        soroban = meta.v3.soroban_meta
        return [(0, e) for e in soroban.events] if soroban is not None else []
    if meta.v == 4:
        return [(i, e) for i, op in enumerate(meta.v4.operations) for e in op.events]
    return []


def transaction_events(meta: sx.TransactionMeta) -> list[sx.TransactionEvent]:
    """The v4 transaction-level events (fees); ``[]`` before v4."""
    return list(meta.v4.events) if meta.v == 4 else []


def meta_events(meta: sx.TransactionMeta, include_diagnostic: bool = False) -> list[MetaEvent]:
    """All events of a transaction meta in the documented order."""
    tx_events = transaction_events(meta)
    out = [MetaEvent(None, STAGES[e.stage.value], e.event) for e in tx_events if e.stage.value == 0]
    out += [MetaEvent(i, None, e) for i, e in operation_events(meta)]
    out += [MetaEvent(None, STAGES[e.stage.value], e.event) for e in tx_events if e.stage.value]
    if include_diagnostic:
        diagnostic: list[sx.DiagnosticEvent] = []
        if meta.v == 3 and meta.v3.soroban_meta is not None:
            diagnostic = meta.v3.soroban_meta.diagnostic_events
        elif meta.v == 4:
            diagnostic = meta.v4.diagnostic_events
        out += [MetaEvent(None, None, d.event, d.in_successful_contract_call) for d in diagnostic]
    return out


def event_columns(found: MetaEvent) -> dict[str, Any]:
    """The event-specific columns of a record (everything but ledger/transaction context)."""
    event = found.event
    body = event.body.v0
    topics = body.topics if body is not None else []
    return {
        "operation_index": found.op_index + 1 if found.op_index is not None else None,
        "stage": found.stage,
        "contract_id": (
            contract_strkey(event.contract_id.contract_id.hash) if event.contract_id else None
        ),
        "type": EVENT_TYPES.get(event.type.value, str(event.type.value)),
        "topics": dumps([to_json(t) for t in topics]),
        "data": dumps(to_json(body.data)) if body is not None else None,
        "topics_xdr": [xdr_b64(t) for t in topics],
        "data_xdr": xdr_b64(body.data) if body is not None else None,
        "in_successful_contract_call": found.in_successful_contract_call,
    }


def tx_records(
    ledger: LedgerView, tx: TxView, include_diagnostic: bool = False
) -> Iterator[dict[str, Any]]:
    """The records of one transaction."""
    for n, found in enumerate(meta_events(tx.meta, include_diagnostic)):
        columns = event_columns(found)
        yield {
            "ledger_sequence": ledger.sequence,
            "closed_at": ledger.closed_at,
            "transaction_hash": tx.hash,
            "transaction_index": tx.index,
            "operation_index": columns.pop("operation_index"),
            "event_index": n,
            **columns,
            "in_successful_transaction": tx.successful,
        }


def records(ledger: LedgerView, params: Any = None) -> Iterator[dict[str, Any]]:
    """Every contract (and optionally diagnostic) event of ``ledger``, in application order."""
    include_diagnostic = bool(getattr(params, "include_diagnostic", False))
    for tx in ledger.transactions():
        if tx.meta.v >= 3:
            yield from tx_records(ledger, tx, include_diagnostic)
