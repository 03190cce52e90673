"""Applying classic operations to a :class:`~flowctl_dsl.stellar.localnet.state.View`.

Each ``apply_*`` reads the operation straight from its XDR, mutates the view, and returns the
``OperationResult`` plus the CAP-67 events of the value it moved. Offers cross best price first
(then oldest), the taker paying ``ceil(bought × price)`` so rounding favours the resting offer.
Liabilities, sub-entry counts, reserves and the offer id pool are kept consistent.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction

from stellar_sdk import StrKey
from stellar_sdk import xdr as sx

from flowctl_dsl.stellar.localnet import events as ev
from flowctl_dsl.stellar.localnet.state import (
    AUTHORIZED_FLAG,
    BASE_RESERVE,
    NATIVE,
    Account,
    Offer,
    TrustLine,
    View,
    account_xdr,
    asset_key,
    asset_xdr,
    ceil_div,
    issuer_of,
)

OpType = sx.OperationType


class OpFailed(Exception):
    """An operation failed with ``result`` (the transaction then fails as a whole)."""

    def __init__(self, result: sx.OperationResult) -> None:
        super().__init__(result.tr.type if result.tr else result.code)
        self.result = result


@dataclass
class OpContext:
    """What an operation needs besides its body: where it runs and who its source is."""

    view: View
    source: str
    passphrase: str
    ledger_seq: int
    id_pool: list[int]  # one-element box, rolled back with the transaction
    memo: sx.Memo | None = None
    events: list[sx.ContractEvent] = field(default_factory=list)

    def next_offer_id(self) -> int:
        self.id_pool[0] += 1
        return self.id_pool[0]

    def move(self, asset: str, sender: str, receiver: str, amount: int) -> None:
        self.events.append(ev.movement(asset, sender, receiver, amount, self.passphrase))

    def move_to_destination(self, asset: str, sender: str, receiver: str, amount: int) -> None:
        """A movement to an op's destination: carries the tx memo as ``to_muxed_id`` (CAP-67)."""
        event = ev.movement(asset, sender, receiver, amount, self.passphrase)
        muxed = _memo_scval(self.memo)
        body = event.body.v0
        assert body is not None
        if muxed is not None and body.topics[0] != ev.symbol("burn"):
            body.data = sx.SCVal(
                type=sx.SCValType.SCV_MAP,
                map=sx.SCMap(
                    [
                        sx.SCMapEntry(key=ev.symbol("amount"), val=body.data),
                        sx.SCMapEntry(key=ev.symbol("to_muxed_id"), val=muxed),
                    ]
                ),
            )
        self.events.append(event)


def _memo_scval(memo: sx.Memo | None) -> sx.SCVal | None:
    if memo is None or memo.type == sx.MemoType.MEMO_NONE:
        return None
    if memo.type == sx.MemoType.MEMO_ID:
        assert memo.id is not None
        return sx.SCVal(type=sx.SCValType.SCV_U64, u64=memo.id)
    if memo.type == sx.MemoType.MEMO_TEXT:
        assert memo.text is not None
        return sx.SCVal(type=sx.SCValType.SCV_STRING, str=sx.SCString(memo.text))
    value = memo.hash if memo.type == sx.MemoType.MEMO_HASH else memo.ret_hash
    assert value is not None
    return sx.SCVal(type=sx.SCValType.SCV_BYTES, bytes=sx.SCBytes(value.hash))


def muxed_to_account(muxed: sx.MuxedAccount) -> str:
    if muxed.ed25519 is not None:
        return StrKey.encode_ed25519_public_key(muxed.ed25519.uint256)
    assert muxed.med25519 is not None
    return StrKey.encode_ed25519_public_key(muxed.med25519.ed25519.uint256)


def account_id_str(account: sx.AccountID) -> str:
    assert account.account_id.ed25519 is not None
    return StrKey.encode_ed25519_public_key(account.account_id.ed25519.uint256)


# --- results --------------------------------------------------------------------------------------

_RESULT_FIELD = {
    OpType.CREATE_ACCOUNT: (
        "create_account_result",
        sx.CreateAccountResult,
        sx.CreateAccountResultCode,
    ),
    OpType.PAYMENT: ("payment_result", sx.PaymentResult, sx.PaymentResultCode),
    OpType.CHANGE_TRUST: ("change_trust_result", sx.ChangeTrustResult, sx.ChangeTrustResultCode),
    OpType.PATH_PAYMENT_STRICT_RECEIVE: (
        "path_payment_strict_receive_result",
        sx.PathPaymentStrictReceiveResult,
        sx.PathPaymentStrictReceiveResultCode,
    ),
    OpType.PATH_PAYMENT_STRICT_SEND: (
        "path_payment_strict_send_result",
        sx.PathPaymentStrictSendResult,
        sx.PathPaymentStrictSendResultCode,
    ),
    OpType.MANAGE_SELL_OFFER: (
        "manage_sell_offer_result",
        sx.ManageSellOfferResult,
        sx.ManageSellOfferResultCode,
    ),
    OpType.MANAGE_BUY_OFFER: (
        "manage_buy_offer_result",
        sx.ManageBuyOfferResult,
        sx.ManageBuyOfferResultCode,
    ),
}

_PREFIX = {
    OpType.CREATE_ACCOUNT: "CREATE_ACCOUNT_",
    OpType.PAYMENT: "PAYMENT_",
    OpType.CHANGE_TRUST: "CHANGE_TRUST_",
    OpType.PATH_PAYMENT_STRICT_RECEIVE: "PATH_PAYMENT_STRICT_RECEIVE_",
    OpType.PATH_PAYMENT_STRICT_SEND: "PATH_PAYMENT_STRICT_SEND_",
    OpType.MANAGE_SELL_OFFER: "MANAGE_SELL_OFFER_",
    OpType.MANAGE_BUY_OFFER: "MANAGE_BUY_OFFER_",
}


def op_result(op_type: sx.OperationType, code: str, **success: object) -> sx.OperationResult:
    """``OperationResult`` of ``op_type`` with result code ``<PREFIX><code>`` (e.g. ``SUCCESS``)."""
    attr, cls, codes = _RESULT_FIELD[op_type]
    inner = cls(code=getattr(codes, _PREFIX[op_type] + code), **success)
    tr = sx.OperationResultTr(type=op_type, **{attr: inner})
    return sx.OperationResult(code=sx.OperationResultCode.opINNER, tr=tr)


def _fail(op_type: sx.OperationType, code: str) -> OpFailed:
    return OpFailed(op_result(op_type, code))


# --- balances -------------------------------------------------------------------------------------


def debit(view: View, account: str, asset: str, amount: int) -> str | None:
    """Take ``amount`` from ``account``; an error code suffix when it cannot."""
    if asset == NATIVE:
        acc = view.account(account)
        assert acc is not None
        if acc.available() < amount:
            return "UNDERFUNDED"
        view.put(replace(acc, balance=acc.balance - amount))
        return None
    if issuer_of(asset) == account:
        return None  # the issuer sends: minted
    line = view.trustline(account, asset)
    if line is None:
        return "SRC_NO_TRUST"
    if line.available() < amount:
        return "UNDERFUNDED"
    view.put(replace(line, balance=line.balance - amount))
    return None


def credit(view: View, account: str, asset: str, amount: int) -> str | None:
    """Give ``amount`` to ``account``; an error code suffix when it cannot."""
    if asset == NATIVE:
        acc = view.account(account)
        if acc is None:
            return "NO_DESTINATION"
        view.put(replace(acc, balance=acc.balance + amount))
        return None
    if issuer_of(asset) == account:
        return None  # back to the issuer: burned
    line = view.trustline(account, asset)
    if line is None:
        return "NO_TRUST"
    if line.room() < amount:
        return "LINE_FULL"
    view.put(replace(line, balance=line.balance + amount))
    return None


def _adjust_liabilities(view: View, account: str, asset: str, buying: int, selling: int) -> None:
    """Add ``buying``/``selling`` liabilities on ``account``'s holding of ``asset``."""
    if asset == NATIVE:
        acc = view.account(account)
        assert acc is not None
        view.put(
            replace(
                acc,
                buying_liabilities=acc.buying_liabilities + buying,
                selling_liabilities=acc.selling_liabilities + selling,
                ext_level=max(acc.ext_level, 1),
            )
        )
    elif issuer_of(asset) != account:
        line = view.trustline(account, asset)
        assert line is not None
        view.put(
            replace(
                line,
                buying_liabilities=line.buying_liabilities + buying,
                selling_liabilities=line.selling_liabilities + selling,
                ext_v1=True,
            )
        )


def _offer_liabilities(view: View, offer: Offer, sign: int) -> None:
    _adjust_liabilities(view, offer.seller_id, offer.selling, 0, sign * offer.amount)
    _adjust_liabilities(view, offer.seller_id, offer.buying, sign * offer.buying_liabilities(), 0)


def _sub_entries(view: View, account: str, delta: int) -> Account:
    acc = view.account(account)
    assert acc is not None
    return view.put(replace(acc, num_sub_entries=acc.num_sub_entries + delta))  # type: ignore[return-value]


# --- order book -------------------------------------------------------------------------------------


@dataclass
class Crossing:
    """What a taker got from the book: totals, claim atoms and the per-trade events."""

    sold: int = 0
    bought: int = 0
    atoms: list[sx.ClaimAtom] = field(default_factory=list)
    events: list[sx.ContractEvent] = field(default_factory=list)


def cross(
    view: View,
    taker: str,
    sell: str,
    buy: str,
    passphrase: str,
    *,
    max_sell: int | None = None,
    want_buy: int | None = None,
    limit: Fraction | None = None,
    exact_send: bool = False,
) -> Crossing | str:
    """Trade ``sell`` for ``buy`` against resting offers; ``CROSS_SELF`` if the taker's own is hit.

    Stops when ``max_sell`` is spent, ``want_buy`` is bought, the book is empty or an offer is
    priced worse than ``limit`` (units of ``sell`` per unit of ``buy``). With ``exact_send`` (path
    payment strict send) the last partial trade takes all that is left of ``max_sell``. Only makers
    are updated: the caller settles the taker's own balances.
    """
    out = Crossing()
    for offer in view.offers(selling=buy, buying=sell):
        if limit is not None and offer.price > limit:
            break
        if offer.seller_id == taker:
            return "CROSS_SELF"
        if want_buy is not None:
            b = min(offer.amount, want_buy - out.bought)
            a = ceil_div(b * offer.price_n, offer.price_d)
        else:
            assert max_sell is not None
            left = max_sell - out.sold
            b = min(offer.amount, left * offer.price_d // offer.price_n)
            a = ceil_div(b * offer.price_n, offer.price_d)
            if exact_send and b < offer.amount:
                a = left
        if b <= 0:
            break
        _fill(view, offer, sold=b, received=a)
        out.sold += a
        out.bought += b
        out.atoms.append(
            sx.ClaimAtom(
                type=sx.ClaimAtomType.CLAIM_ATOM_TYPE_ORDER_BOOK,
                order_book=sx.ClaimOfferAtom(
                    seller_id=account_xdr(offer.seller_id),
                    offer_id=sx.Int64(offer.offer_id),
                    asset_sold=asset_xdr(buy),
                    amount_sold=sx.Int64(b),
                    asset_bought=asset_xdr(sell),
                    amount_bought=sx.Int64(a),
                ),
            )
        )
        out.events.append(ev.movement(sell, taker, offer.seller_id, a, passphrase))
        out.events.append(ev.movement(buy, offer.seller_id, taker, b, passphrase))
        if (want_buy is not None and out.bought >= want_buy) or (
            max_sell is not None and out.sold >= max_sell
        ):
            break
    return out


def _fill(view: View, offer: Offer, sold: int, received: int) -> None:
    """The maker of ``offer`` sells ``sold`` and receives ``received``."""
    _offer_liabilities(view, offer, -1)
    err = debit(view, offer.seller_id, offer.selling, sold)
    assert err is None, f"maker {offer.seller_id} cannot deliver: {err}"
    err = credit(view, offer.seller_id, offer.buying, received)
    assert err is None, f"maker {offer.seller_id} cannot receive: {err}"
    left = offer.amount - sold
    if left > 0:
        updated = replace(offer, amount=left)
        view.put(updated)
        _offer_liabilities(view, updated, +1)
    else:
        view.delete(offer.key)
        _sub_entries(view, offer.seller_id, -1)


# --- operations -----------------------------------------------------------------------------------


def apply_operation(ctx: OpContext, op: sx.Operation) -> sx.OperationResult:
    """Apply one classic operation; raises :class:`OpFailed` with the failure result."""
    body = op.body
    handler = _HANDLERS.get(body.type)
    if handler is None:
        raise NotImplementedError(f"localnet cannot apply {body.type.name}")
    return handler(ctx, body)


def _create_account(ctx: OpContext, body: sx.OperationBody) -> sx.OperationResult:
    op = body.create_account_op
    assert op is not None
    t = OpType.CREATE_ACCOUNT
    dest = account_id_str(op.destination)
    amount = op.starting_balance.int64
    if ctx.view.account(dest) is not None:
        raise _fail(t, "ALREADY_EXIST")
    if amount < 2 * BASE_RESERVE:
        raise _fail(t, "LOW_RESERVE")
    if debit(ctx.view, ctx.source, NATIVE, amount):
        raise _fail(t, "UNDERFUNDED")
    ctx.view.put(Account(dest, amount, ctx.ledger_seq << 32))
    ctx.move_to_destination(NATIVE, ctx.source, dest, amount)
    return op_result(t, "SUCCESS")


def _payment(ctx: OpContext, body: sx.OperationBody) -> sx.OperationResult:
    op = body.payment_op
    assert op is not None
    t = OpType.PAYMENT
    dest = muxed_to_account(op.destination)
    asset = asset_key(op.asset)
    amount = op.amount.int64
    if ctx.view.account(dest) is None:
        raise _fail(t, "NO_DESTINATION")
    err = debit(ctx.view, ctx.source, asset, amount) or credit(ctx.view, dest, asset, amount)
    if err:
        raise _fail(t, err)
    ctx.move_to_destination(asset, ctx.source, dest, amount)
    return op_result(t, "SUCCESS")


def _change_trust(ctx: OpContext, body: sx.OperationBody) -> sx.OperationResult:
    op = body.change_trust_op
    assert op is not None
    t = OpType.CHANGE_TRUST
    line_asset = op.line
    if line_asset.type == sx.AssetType.ASSET_TYPE_POOL_SHARE:
        raise _fail(t, "MALFORMED")
    asset = asset_key(sx.Asset.from_xdr_bytes(line_asset.to_xdr_bytes()))
    limit = op.limit.int64
    issuer = issuer_of(asset)
    if issuer == ctx.source:
        raise _fail(t, "SELF_NOT_ALLOWED")
    line = ctx.view.trustline(ctx.source, asset)
    if line is not None:
        if limit == 0:
            if line.balance or line.buying_liabilities or line.selling_liabilities:
                raise _fail(t, "CANNOT_DELETE")
            ctx.view.delete(line.key)
            _sub_entries(ctx.view, ctx.source, -1)
        else:
            if limit < line.balance + line.buying_liabilities:
                raise _fail(t, "INVALID_LIMIT")
            ctx.view.put(replace(line, limit=limit))
        return op_result(t, "SUCCESS")
    if limit == 0:
        raise _fail(t, "TRUST_LINE_MISSING")
    assert issuer is not None
    if ctx.view.account(issuer) is None:
        raise _fail(t, "NO_ISSUER")
    acc = ctx.view.account(ctx.source)
    assert acc is not None
    if acc.balance - acc.selling_liabilities < acc.min_balance() + BASE_RESERVE:
        raise _fail(t, "LOW_RESERVE")
    ctx.view.put(TrustLine(ctx.source, asset, limit=limit, flags=AUTHORIZED_FLAG))
    _sub_entries(ctx.view, ctx.source, +1)
    return op_result(t, "SUCCESS")


def _path_assets(send: str, path: list[sx.Asset], dest: str) -> list[str]:
    hops = [send, *(asset_key(a) for a in path), dest]
    return [a for i, a in enumerate(hops) if i == 0 or a != hops[i - 1]]


def _path_payment(ctx: OpContext, body: sx.OperationBody) -> sx.OperationResult:
    strict_send = body.type == OpType.PATH_PAYMENT_STRICT_SEND
    t = body.type
    if strict_send:
        ss = body.path_payment_strict_send_op
        assert ss is not None
        send, dest_asset = asset_key(ss.send_asset), asset_key(ss.dest_asset)
        dest, path = muxed_to_account(ss.destination), ss.path
    else:
        sr = body.path_payment_strict_receive_op
        assert sr is not None
        send, dest_asset = asset_key(sr.send_asset), asset_key(sr.dest_asset)
        dest, path = muxed_to_account(sr.destination), sr.path
    view = ctx.view
    if view.account(dest) is None:
        raise _fail(t, "NO_DESTINATION")
    if dest_asset != NATIVE and issuer_of(dest_asset) != dest:
        if view.trustline(dest, dest_asset) is None:
            raise _fail(t, "NO_TRUST")
    if send != NATIVE and issuer_of(send) != ctx.source:
        if view.trustline(ctx.source, send) is None:
            raise _fail(t, "SRC_NO_TRUST")
    hops = _path_assets(send, path, dest_asset)
    crossings: list[Crossing] = []
    if strict_send:
        assert ss is not None
        sent = amount = ss.send_amount.int64
        for a, b in zip(hops, hops[1:], strict=False):
            got = cross(view, ctx.source, a, b, ctx.passphrase, max_sell=amount, exact_send=True)
            if isinstance(got, str):
                raise _fail(t, "OFFER_" + got)
            if got.sold < amount or got.bought == 0:
                raise _fail(t, "TOO_FEW_OFFERS")
            crossings.append(got)
            amount = got.bought
        if amount < ss.dest_min.int64:
            raise _fail(t, "UNDER_DESTMIN")
        received = amount
    else:
        assert sr is not None
        received = amount = sr.dest_amount.int64
        for a, b in reversed(list(zip(hops, hops[1:], strict=False))):
            got = cross(view, ctx.source, a, b, ctx.passphrase, want_buy=amount)
            if isinstance(got, str):
                raise _fail(t, "OFFER_" + got)
            if got.bought < amount:
                raise _fail(t, "TOO_FEW_OFFERS")
            crossings.insert(0, got)
            amount = got.sold
        sent = amount
        if sent > sr.send_max.int64:
            raise _fail(t, "OVER_SENDMAX")
    err = debit(view, ctx.source, send, sent)
    if err:
        raise _fail(t, err)
    err = credit(view, dest, dest_asset, received)
    if err:
        raise _fail(t, err)
    for c in crossings:
        ctx.events.extend(c.events)
    ctx.move_to_destination(dest_asset, ctx.source, dest, received)
    last = sx.SimplePaymentResult(
        destination=account_xdr(dest), asset=asset_xdr(dest_asset), amount=sx.Int64(received)
    )
    atoms = [a for c in crossings for a in c.atoms]
    if strict_send:
        success: object = sx.PathPaymentStrictSendResultSuccess(offers=atoms, last=last)
    else:
        success = sx.PathPaymentStrictReceiveResultSuccess(offers=atoms, last=last)
    return op_result(t, "SUCCESS", success=success)


def _manage_offer(ctx: OpContext, body: sx.OperationBody) -> sx.OperationResult:
    t = body.type
    buy_side = t == OpType.MANAGE_BUY_OFFER
    if buy_side:
        mb = body.manage_buy_offer_op
        assert mb is not None
        selling, buying = asset_key(mb.selling), asset_key(mb.buying)
        amount, n, d, offer_id = (
            mb.buy_amount.int64,
            mb.price.n.int32,
            mb.price.d.int32,
            mb.offer_id.int64,
        )
    else:
        ms = body.manage_sell_offer_op
        assert ms is not None
        selling, buying = asset_key(ms.selling), asset_key(ms.buying)
        amount, n, d, offer_id = (
            ms.amount.int64,
            ms.price.n.int32,
            ms.price.d.int32,
            ms.offer_id.int64,
        )
    view, me = ctx.view, ctx.source
    existing: Offer | None = None
    if offer_id:
        found = view.get(("offer", me, str(offer_id)))
        if not isinstance(found, Offer):
            raise _fail(t, "NOT_FOUND")
        existing = found
        _offer_liabilities(view, existing, -1)
        if amount == 0:
            view.delete(existing.key)
            _sub_entries(view, me, -1)
            return _offer_success(t, [], "MANAGE_OFFER_DELETED", None)
    for asset, code in ((selling, "SELL_NO_TRUST"), (buying, "BUY_NO_TRUST")):
        if asset != NATIVE and issuer_of(asset) != me and view.trustline(me, asset) is None:
            raise _fail(t, code)
    if buy_side:
        # price n/d = units of selling per unit bought; stored as a sell offer at d/n.
        got = cross(
            view, me, selling, buying, ctx.passphrase, want_buy=amount, limit=Fraction(n, d)
        )
    else:
        # price n/d = units of buying per unit sold; a resting offer is worth it up to d/n.
        if _holding(view, me, selling) < amount:
            raise _fail(t, "UNDERFUNDED")
        got = cross(
            view, me, selling, buying, ctx.passphrase, max_sell=amount, limit=Fraction(d, n)
        )
    if isinstance(got, str):
        raise _fail(t, got)
    if _holding(view, me, selling) < got.sold:
        raise _fail(t, "UNDERFUNDED")
    err = debit(view, me, selling, got.sold) or credit(view, me, buying, got.bought)
    if err:
        raise _fail(t, "LINE_FULL" if err in ("NO_TRUST", "LINE_FULL") else err)
    ctx.events.extend(got.events)
    if buy_side:
        rest_buy = amount - got.bought
        rest, price_n, price_d = ceil_div(rest_buy * n, d), d, n
    else:
        rest, price_n, price_d = amount - got.sold, n, d
    if rest <= 0:
        if existing is not None:
            view.delete(existing.key)
            _sub_entries(view, me, -1)
        return _offer_success(t, got.atoms, "MANAGE_OFFER_DELETED", None)
    if _holding(view, me, selling) < rest:
        raise _fail(t, "UNDERFUNDED")
    if existing is not None:
        offer = replace(existing, amount=rest, price_n=price_n, price_d=price_d)
        effect = "MANAGE_OFFER_UPDATED"
    else:
        acc = view.account(me)
        assert acc is not None
        if acc.balance - acc.selling_liabilities < acc.min_balance() + BASE_RESERVE:
            raise _fail(t, "LOW_RESERVE")
        offer = Offer(me, ctx.next_offer_id(), selling, buying, rest, price_n, price_d)
        _sub_entries(view, me, +1)
        effect = "MANAGE_OFFER_CREATED"
    offer = view.put(offer)  # type: ignore[assignment]
    _offer_liabilities(view, offer, +1)
    return _offer_success(t, got.atoms, effect, offer)


def _holding(view: View, account: str, asset: str) -> int:
    """What ``account`` can still commit of ``asset`` (its own issued asset: unlimited)."""
    if asset == NATIVE:
        acc = view.account(account)
        assert acc is not None
        return acc.available()
    if issuer_of(asset) == account:
        return 2**62
    line = view.trustline(account, asset)
    return 0 if line is None else line.available()


def _offer_success(
    t: sx.OperationType, atoms: list[sx.ClaimAtom], effect: str, offer: Offer | None
) -> sx.OperationResult:
    result_offer = sx.ManageOfferSuccessResultOffer(
        effect=getattr(sx.ManageOfferEffect, effect),
        offer=offer.to_xdr().data.offer if offer is not None else None,
    )
    success = sx.ManageOfferSuccessResult(offers_claimed=atoms, offer=result_offer)
    return op_result(t, "SUCCESS", success=success)


_HANDLERS = {
    OpType.CREATE_ACCOUNT: _create_account,
    OpType.PAYMENT: _payment,
    OpType.CHANGE_TRUST: _change_trust,
    OpType.PATH_PAYMENT_STRICT_RECEIVE: _path_payment,
    OpType.PATH_PAYMENT_STRICT_SEND: _path_payment,
    OpType.MANAGE_SELL_OFFER: _manage_offer,
    OpType.MANAGE_BUY_OFFER: _manage_offer,
}
