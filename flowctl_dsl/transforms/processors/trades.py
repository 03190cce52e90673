# mypy: disable-error-code="union-attr"
# (stellar-sdk models each XDR union arm as an Optional attribute; arms are read after checking
# the discriminant, so the None case cannot occur.)
"""``trades``: one record per offer or liquidity-pool claim of a successful operation.

Claims come from the results of manage buy/sell offer, create passive sell offer and both path
payments (``ClaimAtom`` V0, order book and liquidity pool). The *seller* is the owner of the
claimed offer (or the pool, ``L…``); the *buyer* is the operation's source account. ``base`` is
the asset the seller sold (the buyer received), ``counter`` the asset the seller received;
``price`` is counter per base. Claims with both amounts zero (offers core removed while crossing,
without a fill) are skipped, as Horizon does; ``trade_index`` keeps the claim's position.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any, NamedTuple

from stellar_sdk import xdr as sx

from flowctl_dsl.stellar.accounts import account_id, ed25519
from flowctl_dsl.stellar.amounts import to_decimal
from flowctl_dsl.stellar.assets import asset_parts
from flowctl_dsl.stellar.ledger import LedgerView, TxView
from flowctl_dsl.transforms.processors.ledger_changes import (
    operation_result_tr,
    operation_source,
)
from flowctl_dsl.transforms.processors.scval import pool_strkey

MANAGE_SELL_OFFER, CREATE_PASSIVE_SELL_OFFER, MANAGE_BUY_OFFER = 3, 4, 12
PATH_PAYMENT_STRICT_RECEIVE, PATH_PAYMENT_STRICT_SEND = 2, 13
TRADING_OPS = frozenset(
    {
        MANAGE_SELL_OFFER,
        CREATE_PASSIVE_SELL_OFFER,
        MANAGE_BUY_OFFER,
        PATH_PAYMENT_STRICT_RECEIVE,
        PATH_PAYMENT_STRICT_SEND,
    }
)


class Claim(NamedTuple):
    """One ``ClaimAtom`` with readable parties: ``seller`` is ``G…`` or a pool's ``L…``."""

    seller: str
    offer_id: int | None
    liquidity_pool_id: str | None
    asset_sold: sx.Asset
    amount_sold: int
    asset_bought: sx.Asset
    amount_bought: int


def claim(atom: sx.ClaimAtom) -> Claim:
    """Flatten any ``ClaimAtom`` version."""
    kind = atom.type.value
    a: sx.ClaimOfferAtomV0 | sx.ClaimOfferAtom | sx.ClaimLiquidityAtom | None
    if kind == 0:
        a = atom.v0
        seller, offer, pool = ed25519(a.seller_ed25519.uint256), a.offer_id.int64, None
    elif kind == 1:
        a = atom.order_book
        seller, offer, pool = account_id(a.seller_id), a.offer_id.int64, None
    elif kind == 2:
        a = atom.liquidity_pool
        pool = pool_strkey(a.liquidity_pool_id.pool_id.hash)
        seller, offer = pool, None
    else:
        raise ValueError(f"unknown ClaimAtom type {kind}")
    assert a is not None
    return Claim(
        seller,
        offer,
        pool,
        a.asset_sold,
        a.amount_sold.int64,
        a.asset_bought,
        a.amount_bought.int64,
    )


def claim_atoms(op_type: int, tr: sx.OperationResultTr | None) -> list[sx.ClaimAtom]:
    """The claims in a (successful) trading operation's result; ``[]`` for anything else."""
    if tr is None:
        return []
    if op_type in (MANAGE_SELL_OFFER, CREATE_PASSIVE_SELL_OFFER, MANAGE_BUY_OFFER):
        res = {
            MANAGE_SELL_OFFER: tr.manage_sell_offer_result,
            CREATE_PASSIVE_SELL_OFFER: tr.create_passive_sell_offer_result,
            MANAGE_BUY_OFFER: tr.manage_buy_offer_result,
        }[op_type]
        return res.success.offers_claimed if res is not None and res.success else []
    if op_type == PATH_PAYMENT_STRICT_RECEIVE:
        receive = tr.path_payment_strict_receive_result
        return receive.success.offers if receive is not None and receive.success else []
    if op_type == PATH_PAYMENT_STRICT_SEND:
        send = tr.path_payment_strict_send_result
        return send.success.offers if send is not None and send.success else []
    return []


def _asset_columns(prefix: str, asset: sx.Asset) -> dict[str, Any]:
    parts = asset_parts(asset)
    return {
        f"{prefix}_asset": parts.canonical,
        f"{prefix}_asset_type": parts.asset_type,
        f"{prefix}_asset_code": parts.asset_code,
        f"{prefix}_asset_issuer": parts.asset_issuer,
    }


def _tx_records(ledger: LedgerView, tx: TxView) -> Iterator[dict[str, Any]]:
    for i, op in enumerate(tx.operations):
        op_type = op.body.type.value
        if op_type not in TRADING_OPS:
            continue
        atoms = claim_atoms(op_type, operation_result_tr(tx, i))
        if not atoms:
            continue
        buyer = operation_source(tx, op).account
        for n, atom in enumerate(atoms):
            c = claim(atom)
            if c.amount_sold == 0 and c.amount_bought == 0:
                continue  # an offer core garbage-collected, not a fill (as Horizon)
            price = (
                float(Decimal(c.amount_bought) / Decimal(c.amount_sold)) if c.amount_sold else None
            )
            yield {
                "ledger_sequence": ledger.sequence,
                "closed_at": ledger.closed_at,
                "transaction_hash": tx.hash,
                "transaction_index": tx.index,
                "operation_index": i + 1,
                "trade_index": n,
                "trade_type": "liquidity_pool" if c.liquidity_pool_id else "orderbook",
                "seller": c.seller,
                "seller_offer_id": c.offer_id,
                "liquidity_pool_id": c.liquidity_pool_id,
                "buyer": buyer,
                **_asset_columns("base", c.asset_sold),
                "base_amount": to_decimal(c.amount_sold),
                "base_amount_raw": c.amount_sold,
                **_asset_columns("counter", c.asset_bought),
                "counter_amount": to_decimal(c.amount_bought),
                "counter_amount_raw": c.amount_bought,
                "price": price,
            }


def records(ledger: LedgerView, params: Any = None) -> Iterator[dict[str, Any]]:
    """Every claim of every successful trading operation of ``ledger``, in application order."""
    for tx in ledger.transactions():
        if tx.successful:
            yield from _tx_records(ledger, tx)
