"""``payments``: movements of lumens and assets between accounts.

Covers ``payment``, ``path_payment_strict_send``, ``path_payment_strict_receive``,
``create_account`` and ``account_merge``. ``amount`` is what the recipient received:

- payment: the op amount; create_account: the starting balance (lumens);
- strict receive: ``destAmount``; its ``source_amount`` is what the payer spent, read from the
  result (the first hop's claimed amounts, or the delivered amount when no offer was crossed);
- strict send: the delivered amount from the result; ``source_amount`` is ``sendAmount``;
- account_merge: the merged balance from the result.

Values only a successful result carries are ``None`` for failed transactions.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from stellar_sdk import xdr as sx

from flowctl_dsl.catalog.ledger_processors import PaymentsParams
from flowctl_dsl.stellar.accounts import Account, account_id, muxed_account
from flowctl_dsl.stellar.amounts import to_decimal
from flowctl_dsl.stellar.assets import NATIVE, AssetParts, asset_parts
from flowctl_dsl.stellar.ledger import LedgerView
from flowctl_dsl.transforms.processors.operations import OpContext, inner_result, iter_operations

_NATIVE = AssetParts(NATIVE, None, None)
_T = sx.OperationType
PAYMENT_TYPES = frozenset(
    {
        _T.PAYMENT,
        _T.PATH_PAYMENT_STRICT_RECEIVE,
        _T.PATH_PAYMENT_STRICT_SEND,
        _T.CREATE_ACCOUNT,
        _T.ACCOUNT_MERGE,
    }
)


def _amount(stroops: int | None) -> Decimal | None:
    return to_decimal(stroops) if stroops is not None else None


def _strict_receive_sent(success: sx.PathPaymentStrictReceiveResultSuccess) -> int:
    """What the payer spent: the first hop's bought amounts (or ``last`` when no offers)."""
    if not success.offers:
        return success.last.amount.int64
    atoms = [a.v0 or a.order_book or a.liquidity_pool for a in success.offers]
    first = atoms[0].asset_bought
    total = 0
    for atom in atoms:
        if atom.asset_bought != first:
            break
        total += atom.amount_bought.int64
    return total


def _movement(ctx: OpContext) -> dict[str, Any] | None:
    """The type-specific columns of one payment-like operation, or ``None`` for other types."""
    body = ctx.op.body
    kind = body.type
    ok = ctx.tx.successful
    result = inner_result(ctx.result) if ok else None
    source_max = destination_min = None
    if kind == _T.PAYMENT:
        op = body.payment_op
        to = muxed_account(op.destination)
        asset = source_asset = asset_parts(op.asset)
        amount = source_amount = op.amount.int64
    elif kind == _T.CREATE_ACCOUNT:
        op = body.create_account_op
        to = Account(account_id(op.destination))
        asset = source_asset = _NATIVE
        amount = source_amount = op.starting_balance.int64
    elif kind == _T.ACCOUNT_MERGE:
        to = muxed_account(body.destination)
        asset = source_asset = _NATIVE
        balance = result.source_account_balance if result is not None else None
        amount = source_amount = balance.int64 if balance is not None else None
    elif kind == _T.PATH_PAYMENT_STRICT_RECEIVE:
        op = body.path_payment_strict_receive_op
        to = muxed_account(op.destination)
        asset, source_asset = asset_parts(op.dest_asset), asset_parts(op.send_asset)
        amount = op.dest_amount.int64
        success = result.success if result is not None else None
        source_amount = _strict_receive_sent(success) if success is not None else None
        source_max = to_decimal(op.send_max.int64)
    elif kind == _T.PATH_PAYMENT_STRICT_SEND:
        op = body.path_payment_strict_send_op
        to = muxed_account(op.destination)
        asset, source_asset = asset_parts(op.dest_asset), asset_parts(op.send_asset)
        success = result.success if result is not None else None
        amount = success.last.amount.int64 if success is not None else None
        source_amount = op.send_amount.int64
        destination_min = to_decimal(op.dest_min.int64)
    else:
        return None
    return {
        "to": to.account,
        "to_muxed": to.muxed,
        "asset": asset.canonical,
        "asset_type": asset.asset_type,
        "asset_code": asset.asset_code,
        "asset_issuer": asset.asset_issuer,
        "amount": _amount(amount),
        "amount_raw": amount,
        "source_asset": source_asset.canonical,
        "source_asset_type": source_asset.asset_type,
        "source_asset_code": source_asset.asset_code,
        "source_asset_issuer": source_asset.asset_issuer,
        "source_amount": _amount(source_amount),
        "source_amount_raw": source_amount,
        "source_max": source_max,
        "destination_min": destination_min,
    }


def _asset_matches(wanted: str, record: dict[str, Any]) -> bool:
    wanted = wanted.strip()
    if wanted.lower() in (NATIVE, "xlm"):
        return record["asset_type"] == NATIVE
    if ":" in wanted:
        return record["asset"] == wanted
    return record["asset_code"] == wanted


def _keep(params: PaymentsParams, record: dict[str, Any]) -> bool:
    if params.successful_only and not record["successful"]:
        return False
    if params.asset is not None and not _asset_matches(params.asset, record):
        return False
    if params.account is not None and params.account not in (record["from"], record["to"]):
        return False
    if params.min_amount is not None:
        amount = record["amount"]
        if amount is None or amount < params.min_amount:
            return False
    return True


def records(ledger: LedgerView, params: PaymentsParams | None = None) -> Iterator[dict[str, Any]]:
    """One ``payment`` record per payment-like operation of ``ledger`` that passes ``params``."""
    params = params or PaymentsParams()
    sequence = ledger.sequence
    closed_at = ledger.closed_at
    for ctx in iter_operations(ledger):
        if ctx.op.body.type not in PAYMENT_TYPES:
            continue
        movement = _movement(ctx)
        if movement is None:
            continue
        record = {
            "operation_id": ctx.operation_id,
            "transaction_hash": ctx.tx.hash,
            "ledger_sequence": sequence,
            "closed_at": closed_at,
            "transaction_index": ctx.tx.index,
            "operation_index": ctx.index,
            "type": ctx.type,
            "from": ctx.source.account,
            "from_muxed": ctx.source.muxed,
            **movement,
            "successful": ctx.tx.successful,
        }
        if _keep(params, record):
            yield record
