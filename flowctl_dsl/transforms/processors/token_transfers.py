# mypy: disable-error-code="union-attr"
# (stellar-sdk models each XDR union arm as an Optional attribute; arms are read after checking
# the discriminant, so the None case cannot occur.)
"""``token_transfers``: one unified stream of transfer, mint, burn, clawback and fee events.

Semantics follow stellar/go's token-transfer processor (``processors/token_transfer``; SEP-41
events, CAP-67):

* **Fees** (every transaction, failed ones too): classic → ``feeCharged`` from the fee account
  (the fee-bump payer when bumped); Soroban → the amount debited in ``feeProcessing`` plus, when
  part of the resource fee came back, a second (negative) ``fee`` event for the refund.
* **Operations** (successful transactions only) are derived from operations, results and ledger
  entry changes: payments, path payments (one transfer pair per offer/pool claim plus the final
  delivery), create account, merge, claimable balances, liquidity pools, clawbacks, trustline
  revocations that drain pool shares into claimable balances, inflation payouts and offer
  claims. A movement from an asset's issuer is a ``mint``, to its issuer a ``burn``.
  ``invoke_host_function`` yields its SEP-41 contract events (``transfer``/``mint``/``burn``/
  ``clawback``); for Stellar Asset Contracts the asset is recovered and checked against the
  contract id, v3 SAC transfers from/to the issuer become mint/burn.
* **Unified events** (TransactionMeta v4 carrying CAP-67 fee events, i.e. core emitting classic
  events): fee and operation events are read from the meta instead of being derived.
* Before protocol 8 an operation whose source's XLM balance change is not explained by the
  derived events gets a reconciling XLM ``mint`` (before) or ``burn`` (after), as in CAP-67's
  retroactive events (early-network XLM bugs).

Account addresses are ``G…`` (a muxed destination's id goes to ``to_muxed_info``); claimable
balances are ``B…``, pools ``L…``, contracts ``C…``. Order in a ledger: every transaction's fee
event first, then each transaction's operation events (before protocol 23 followed directly by its
refund; from protocol 23 all refunds come last). ``event_index`` counts within a transaction:
fee, operation events, refund.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

from stellar_sdk import xdr as sx
from stellar_sdk.strkey import StrKey

from flowctl_dsl.catalog.event_processors import TokenTransfersParams
from flowctl_dsl.stellar.accounts import account_id, muxed_account
from flowctl_dsl.stellar.amounts import to_decimal
from flowctl_dsl.stellar.assets import NATIVE, asset_parts
from flowctl_dsl.stellar.ledger import LedgerView, TxView
from flowctl_dsl.transforms.processors.contract_events import operation_events
from flowctl_dsl.transforms.processors.ledger_changes import (
    ACCOUNT,
    CLAIMABLE_BALANCE,
    CREATED,
    LIQUIDITY_POOL,
    REMOVED,
    Change,
    address_of,
    operation_changes,
    operation_result_tr,
    operation_source,
    pair_changes,
)
from flowctl_dsl.transforms.processors.scval import (
    address,
    claimable_balance_strkey,
    contract_strkey,
    int128,
    pool_strkey,
    string,
    symbol,
)
from flowctl_dsl.transforms.processors.trades import TRADING_OPS, claim, claim_atoms

TRANSFER, MINT, BURN, CLAWBACK, FEE = "transfer", "mint", "burn", "clawback", "fee"
SEP41_EVENTS = frozenset({TRANSFER, MINT, BURN, CLAWBACK})
NATIVE_ASSET = sx.Asset(sx.AssetType.ASSET_TYPE_NATIVE)
#: Operation types with derived events (Go reconciles only these before protocol 8).
_DERIVED_OPS = frozenset({0, 1, 2, 3, 4, 7, 8, 9, 12, 13, 14, 15, 19, 20, 21, 22, 23, 24})
#: decimal128(38, 7) holds at most 31 integer digits.
_MAX_DECIMAL_RAW = 10**38 - 1


class Event(NamedTuple):
    """One token movement before it becomes a record. ``op_index`` is 0-based."""

    kind: str
    op_index: int | None
    from_: str | None
    to: str | None
    amount: int
    asset: sx.Asset | None
    contract_id: str | None
    to_muxed_info: tuple[str, str] | None = None


# --- small helpers (candidates for flowctl_dsl.stellar) ----------------------------------------


@lru_cache(maxsize=4096)
def _asset_contract_id(asset_xdr: bytes, passphrase: str) -> str:
    """``C…`` id of an asset's Stellar Asset Contract on a network."""
    preimage = sx.HashIDPreimage(
        sx.EnvelopeType.ENVELOPE_TYPE_CONTRACT_ID,
        contract_id=sx.HashIDPreimageContractID(
            network_id=sx.Hash(hashlib.sha256(passphrase.encode()).digest()),
            contract_id_preimage=sx.ContractIDPreimage(
                sx.ContractIDPreimageType.CONTRACT_ID_PREIMAGE_FROM_ASSET,
                from_asset=sx.Asset.from_xdr_bytes(asset_xdr),
            ),
        ),
    )
    return contract_strkey(hashlib.sha256(preimage.to_xdr_bytes()).digest())


def asset_contract_id(asset: sx.Asset, passphrase: str) -> str:
    """``C…`` id of ``asset``'s Stellar Asset Contract (cached)."""
    return _asset_contract_id(asset.to_xdr_bytes(), passphrase)


def parse_asset(text: str) -> sx.Asset | None:
    """``native`` or ``CODE:ISSUER`` (SEP-11) → XDR asset; ``None`` if malformed."""
    if text == NATIVE:
        return NATIVE_ASSET
    code, _, issuer = text.partition(":")
    if not code or len(code) > 12 or not StrKey.is_valid_ed25519_public_key(issuer):
        return None
    try:
        raw = code.encode("ascii")
    except UnicodeEncodeError:
        return None
    key = sx.AccountID(
        sx.PublicKey(
            sx.PublicKeyType.PUBLIC_KEY_TYPE_ED25519,
            sx.Uint256(StrKey.decode_ed25519_public_key(issuer)),
        )
    )
    if len(raw) <= 4:
        a4 = sx.AlphaNum4(sx.AssetCode4(raw.ljust(4, b"\0")), key)
        return sx.Asset(sx.AssetType.ASSET_TYPE_CREDIT_ALPHANUM4, alpha_num4=a4)
    a12 = sx.AlphaNum12(sx.AssetCode12(raw.ljust(12, b"\0")), key)
    return sx.Asset(sx.AssetType.ASSET_TYPE_CREDIT_ALPHANUM12, alpha_num12=a12)


def _split_account(addr: str) -> tuple[str, int | None] | None:
    """``G…`` → (G, None); ``M…`` → (G, id); anything else → ``None``."""
    if addr.startswith("G"):
        return addr, None
    if addr.startswith("M"):
        raw = StrKey.decode_med25519_public_key(addr)
        return StrKey.encode_ed25519_public_key(raw[:32]), int.from_bytes(raw[32:], "big")
    return None


def _memo_info(memo: sx.Memo) -> tuple[str, str] | None:
    kind = memo.type.value
    if kind == 1:
        return "text", memo.text.decode("utf-8", errors="replace")
    if kind == 2:
        return "id", str(memo.id.uint64)
    if kind == 3:
        return "hash", memo.hash.hash.hex()
    if kind == 4:
        return "hash", memo.ret_hash.hash.hex()
    return None


def _account_balance_delta(changes: list[Change], account: str) -> tuple[int, int]:
    """(start, end) XLM balance of ``account`` across ``state``/``updated`` changes (Go's
    ``getAccountBalanceFromLedgerEntryChanges``)."""
    start = end = 0
    for c in changes:
        if c.entry_type != ACCOUNT or c.change_type != 1:
            continue
        if account_id(c.post.data.account.account_id) == account:
            end = c.post.data.account.balance.int64
            if c.pre is not None:
                start = c.pre.data.account.balance.int64
    return start, end


# --- the per-transaction derivation -------------------------------------------------------------


class _Tx:
    """Derives the events of one transaction."""

    def __init__(self, tx: TxView, passphrase: str) -> None:
        self.tx = tx
        self.passphrase = passphrase

    # generic classification (Go: mintOrBurnOrTransferEvent)
    def move(
        self,
        op_index: int,
        asset: sx.Asset,
        from_: str,
        to: str,
        amount: int,
        include_mux: bool,
    ) -> Event:
        parts = asset_parts(asset)
        issuer = parts.asset_issuer
        src, dst = _split_account(from_), _split_account(to)
        from_out = src[0] if src else from_
        to_out = dst[0] if dst else to
        from_issuer = issuer is not None and src is not None and src[0] == issuer
        to_issuer = issuer is not None and dst is not None and dst[0] == issuer
        contract = asset_contract_id(asset, self.passphrase)
        mux = self._mux_info(to) if include_mux else None
        if from_issuer and not to_issuer:
            return Event(MINT, op_index, None, to_out, amount, asset, contract, mux)
        if to_issuer and not from_issuer:
            return Event(BURN, op_index, from_out, None, amount, asset, contract)
        return Event(TRANSFER, op_index, from_out, to_out, amount, asset, contract, mux)

    def _mux_info(self, to: str) -> tuple[str, str] | None:
        split = _split_account(to)
        if split is None:
            return None
        if split[1] is not None:
            return "id", str(split[1])
        return _memo_info(self.tx.memo)

    # fees
    def fee_events(self, split: bool = True) -> list[Event]:
        tx = self.tx
        payer = tx.fee_account or tx.source_account
        native = asset_contract_id(NATIVE_ASSET, self.passphrase)
        if not tx.is_soroban or not split:
            return [Event(FEE, None, payer, None, tx.fee_charged, NATIVE_ASSET, native)]
        start, end = _account_balance_delta(pair_changes(tx.fee_changes), payer)
        events = [Event(FEE, None, payer, None, start - end, NATIVE_ASSET, native)]
        after: list[sx.LedgerEntryChange] = []
        meta = tx.meta
        if meta.v in (3, 4):
            after += (meta.v3 or meta.v4).tx_changes_after.ledger_entry_changes
        if tx.post_apply_fee_changes is not None:
            after += tx.post_apply_fee_changes.ledger_entry_changes
        start, end = _account_balance_delta(pair_changes(after), payer)
        if end - start > 0:
            events.append(Event(FEE, None, payer, None, start - end, NATIVE_ASSET, native))
        return events

    def unified_fee_events(self) -> list[Event]:
        native = asset_contract_id(NATIVE_ASSET, self.passphrase)
        out = []
        for tx_event in self.tx.meta.v4.events:
            event = tx_event.event
            body = event.body.v0
            if body is None or not body.topics or symbol(body.topics[0]) != FEE:
                continue
            if event.contract_id is None:
                continue
            if contract_strkey(event.contract_id.contract_id.hash) != native:
                continue
            payer = address(body.topics[1]) if len(body.topics) == 2 else None
            if payer is None or body.data.type.value != 10:
                continue
            out.append(Event(FEE, None, payer, None, int128(body.data.i128), NATIVE_ASSET, native))
        return out

    # operations
    def operation_events(self, unified: bool) -> list[Event]:
        tx = self.tx
        if unified:
            return [
                ev
                for i, e in operation_events(tx.meta)
                if (ev := self.contract_event(i, e)) is not None
            ]
        out: list[Event] = []
        for i, op in enumerate(tx.operations):
            events = self.derive(i, op)
            if tx.ledger.protocol_version < 8 and op.body.type.value in _DERIVED_OPS:
                events = self.reconcile(i, op, events)
            out += events
        return out

    def derive(self, i: int, op: sx.Operation) -> list[Event]:
        body = op.body
        kind = body.type.value
        src = address_of(operation_source(self.tx, op))
        tr = operation_result_tr(self.tx, i)
        if kind == 0:  # create account
            create = body.create_account_op
            dest = account_id(create.destination)
            return [self.move(i, NATIVE_ASSET, src, dest, create.starting_balance.int64, True)]
        if kind == 1:  # payment
            pay = body.payment_op
            dest = address_of(muxed_account(pay.destination))
            return [self.move(i, pay.asset, src, dest, pay.amount.int64, True)]
        if kind == 8:  # account merge
            res = tr.account_merge_result if tr else None
            if res is None or res.source_account_balance is None:
                return []
            assert body.destination is not None
            dest = address_of(muxed_account(body.destination))
            amount = res.source_account_balance.int64
            return [self.move(i, NATIVE_ASSET, src, dest, amount, True)]
        if kind == 9:  # inflation
            native = asset_contract_id(NATIVE_ASSET, self.passphrase)
            payouts = (tr.inflation_result.payouts if tr and tr.inflation_result else None) or []
            return [
                Event(
                    MINT, i, None, account_id(p.destination), p.amount.int64, NATIVE_ASSET, native
                )
                for p in payouts
            ]
        if kind in TRADING_OPS:
            return self.trade_events(i, kind, op, src, tr)
        if kind == 14:  # create claimable balance
            cb = body.create_claimable_balance_op
            balance = claimable_balance_strkey(tr.create_claimable_balance_result.balance_id)
            return [self.move(i, cb.asset, src, balance, cb.amount.int64, False)]
        if kind == 15:  # claim claimable balance
            entry = self._removed_balance(i)
            balance = claimable_balance_strkey(body.claim_claimable_balance_op.balance_id)
            return [self.move(i, entry.asset, balance, src, entry.amount.int64, True)]
        if kind == 19:  # clawback
            claw = body.clawback_op
            holder = muxed_account(claw.from_).account
            contract = asset_contract_id(claw.asset, self.passphrase)
            return [Event(CLAWBACK, i, holder, None, claw.amount.int64, claw.asset, contract)]
        if kind == 20:  # clawback claimable balance
            entry = self._removed_balance(i)
            balance = claimable_balance_strkey(body.clawback_claimable_balance_op.balance_id)
            contract = asset_contract_id(entry.asset, self.passphrase)
            return [Event(CLAWBACK, i, balance, None, entry.amount.int64, entry.asset, contract)]
        if kind in (7, 21):  # allow trust, set trustline flags
            return self.revocation_events(i)
        if kind in (22, 23):  # liquidity pool deposit / withdraw
            return self.pool_events(i, src, deposit=kind == 22)
        if kind == 24:  # invoke host function
            return [
                ev
                for n, e in operation_events(self.tx.meta)
                if n == i and (ev := self.contract_event(i, e)) is not None
            ]
        return []

    def trade_events(
        self, i: int, kind: int, op: sx.Operation, src: str, tr: sx.OperationResultTr | None
    ) -> list[Event]:
        buyer = muxed_account(op.source_account).account if op.source_account else None
        buyer = buyer or self.tx.source_account
        out = []
        for atom in claim_atoms(kind, tr):
            c = claim(atom)
            out.append(self.move(i, c.asset_sold, c.seller, buyer, c.amount_sold, False))
            out.append(self.move(i, c.asset_bought, buyer, c.seller, c.amount_bought, False))
        if kind == 13:  # path payment strict send: final delivery
            send = op.body.path_payment_strict_send_op
            amount = tr.path_payment_strict_send_result.success.last.amount.int64
            dest = address_of(muxed_account(send.destination))
            out.append(self.move(i, send.dest_asset, src, dest, amount, True))
        elif kind == 2:  # path payment strict receive
            receive = op.body.path_payment_strict_receive_op
            dest = address_of(muxed_account(receive.destination))
            out.append(self.move(i, receive.dest_asset, src, dest, receive.dest_amount.int64, True))
        return out

    def _removed_balance(self, i: int) -> sx.ClaimableBalanceEntry:
        removed = [
            c.pre.data.claimable_balance
            for c in operation_changes(self.tx, i)
            if c.entry_type == CLAIMABLE_BALANCE and c.change_type == REMOVED
        ]
        if len(removed) != 1:
            raise ValueError(
                f"tx {self.tx.hash} op {i}: expected 1 removed claimable balance, got {len(removed)}"
            )
        assert removed[0] is not None
        return removed[0]

    def _pool_deltas(self, i: int) -> list[tuple[bytes, sx.Asset, sx.Asset, int, int]]:
        """(pool id, asset A, asset B, |ΔA|, |ΔB|) per pool touched, sorted by pool id."""
        out = []
        for c in operation_changes(self.tx, i):
            if c.entry_type != LIQUIDITY_POOL:
                continue
            pool = c.entry.data.liquidity_pool
            cp = pool.body.constant_product
            pre = c.pre.data.liquidity_pool.body.constant_product if c.pre else None
            post = c.post.data.liquidity_pool.body.constant_product if c.post else None
            da = (post.reserve_a.int64 if post else 0) - (pre.reserve_a.int64 if pre else 0)
            db = (post.reserve_b.int64 if post else 0) - (pre.reserve_b.int64 if pre else 0)
            pid = pool.liquidity_pool_id.pool_id.hash
            out.append((pid, cp.params.asset_a, cp.params.asset_b, abs(da), abs(db)))
        return sorted(out, key=lambda d: d[0])

    def pool_events(self, i: int, src: str, deposit: bool) -> list[Event]:
        deltas = self._pool_deltas(i)
        if len(deltas) != 1:
            raise ValueError(
                f"tx {self.tx.hash} op {i}: expected 1 liquidity pool, got {len(deltas)}"
            )
        pid, asset_a, asset_b, amt_a, amt_b = deltas[0]
        pool = pool_strkey(pid)
        if deposit:
            return [
                self.move(i, asset_a, src, pool, amt_a, False),
                self.move(i, asset_b, src, pool, amt_b, False),
            ]
        return [
            self.move(i, asset_a, pool, src, amt_a, True),
            self.move(i, asset_b, pool, src, amt_b, True),
        ]

    def revocation_events(self, i: int) -> list[Event]:
        """Pool shares drained into claimable balances by a trustline revocation (CAP-38)."""
        pools = self._pool_deltas(i)
        if not pools:
            return []
        created = {
            c.post.data.claimable_balance.balance_id.v0.hash: c.post.data.claimable_balance
            for c in operation_changes(self.tx, i)
            if c.entry_type == CLAIMABLE_BALANCE and c.change_type == CREATED
        }
        if not created:
            return []
        tx = self.tx
        source = sx.AccountID(
            sx.PublicKey(
                sx.PublicKeyType.PUBLIC_KEY_TYPE_ED25519,
                sx.Uint256(StrKey.decode_ed25519_public_key(tx.source_account)),
            )
        )
        out: list[Event] = []
        for pid, asset_a, asset_b, amt_a, amt_b in pools:
            found = []
            for asset in (asset_a, asset_b):
                preimage = sx.HashIDPreimage(
                    sx.EnvelopeType.ENVELOPE_TYPE_POOL_REVOKE_OP_ID,
                    revoke_id=sx.HashIDPreimageRevokeID(
                        source,
                        sx.SequenceNumber(sx.Int64(tx.sequence_number)),
                        sx.Uint32(i),
                        sx.PoolID(sx.Hash(pid)),
                        asset,
                    ),
                )
                cb = created.get(hashlib.sha256(preimage.to_xdr_bytes()).digest())
                if cb is not None:
                    found.append(cb)
            pool = pool_strkey(pid)
            for cb in found:
                balance = claimable_balance_strkey(cb.balance_id)
                out.append(self.move(i, cb.asset, pool, balance, cb.amount.int64, False))
            if len(found) == 1:  # the other asset went back to its issuer: burned
                burned, amount = (asset_b, amt_b) if found[0].asset == asset_a else (asset_a, amt_a)
                contract = asset_contract_id(burned, self.passphrase)
                out.append(Event(BURN, i, pool, None, amount, burned, contract))
        return out

    def reconcile(self, i: int, op: sx.Operation, events: list[Event]) -> list[Event]:
        """Protocol < 8: mint/burn XLM the ledger changes show but the events do not explain."""
        src = operation_source(self.tx, op).account
        changes = operation_changes(self.tx, i)
        delta = 0
        for c in changes:
            if c.entry_type != ACCOUNT or account_id(c.entry.data.account.account_id) != src:
                continue
            delta += (c.post.data.account.balance.int64 if c.post else 0) - (
                c.pre.data.account.balance.int64 if c.pre else 0
            )
        for e in events:
            if e.asset is None or e.asset.type.value != 0:
                continue
            if e.from_ == src:
                delta += e.amount
            if e.to == src and e.kind != BURN:
                delta -= e.amount
        if delta == 0:
            return events
        native = asset_contract_id(NATIVE_ASSET, self.passphrase)
        if delta > 0:
            return [Event(MINT, i, None, src, delta, NATIVE_ASSET, native), *events]
        return [*events, Event(BURN, i, src, None, -delta, NATIVE_ASSET, native)]

    # SEP-41 contract events (Go: parseEvent)
    def contract_event(self, i: int, event: sx.ContractEvent) -> Event | None:
        if event.type.value != 1 or event.contract_id is None or event.body.v0 is None:
            return None
        topics, data = event.body.v0.topics, event.body.v0.data
        if len(topics) < 2:
            return None
        fn = symbol(topics[0])
        if fn not in SEP41_EVENTS:
            return None
        version = self.tx.meta.v
        mux: tuple[str, str] | None = None
        if version == 4 and data.type.value == 17:  # map {amount, to_muxed_id}
            parsed = _amount_map(data)
            if parsed is None:
                return None
            amount, mux = parsed
        elif data.type.value == 10:
            amount = int128(data.i128)
        else:
            return None
        # v3 mint/clawback carry the admin first; v4 dropped it
        with_admin = version == 3 and fn in (MINT, CLAWBACK)
        need = 3 if fn == TRANSFER or with_admin else 2
        if len(topics) < need:
            return None
        addrs = [address(t) for t in topics[1:need]]
        if any(a is None for a in addrs):
            return None
        from_ = to = None
        if fn == TRANSFER:
            from_, to = addrs
        elif fn == MINT:
            to = addrs[-1]
        else:
            from_ = addrs[-1]
        contract = contract_strkey(event.contract_id.contract_id.hash)
        kind = fn
        asset: sx.Asset | None = None
        expected = 4 if fn == TRANSFER or with_admin else 3
        if len(topics) == expected:
            text = string(topics[-1])
            candidate = parse_asset(text) if text else None
            if candidate is not None and asset_contract_id(candidate, self.passphrase) == contract:
                asset = candidate
                if version == 3 and fn == TRANSFER:
                    assert from_ is not None and to is not None
                    moved = self.move(i, asset, from_, to, amount, False)
                    return moved._replace(contract_id=contract)
        return Event(kind, i, from_, to, amount, asset, contract, mux)


def _amount_map(data: sx.SCVal) -> tuple[int, tuple[str, str] | None] | None:
    amount: int | None = None
    mux: tuple[str, str] | None = None
    for entry in data.map.sc_map if data.map else []:
        key = symbol(entry.key)
        if key is None:
            return None
        val = entry.val
        if key == "amount":
            if val.type.value != 10:
                return None
            amount = int128(val.i128)
        elif key == "to_muxed_id":
            t = val.type.value
            if t == 5:
                mux = "id", str(val.u64.uint64)
            elif t == 13:
                mux = "hash", val.bytes.sc_bytes.ljust(32, b"\0")[:32].hex()
            elif t == 14:
                mux = "text", val.str.sc_string.decode("utf-8", errors="replace")
            else:
                return None
    return (amount, mux) if amount is not None else None


# --- ledger level --------------------------------------------------------------------------------


def uses_unified_events(tx: TxView) -> bool:
    """True when ``tx``'s meta is v4 and carries CAP-67 fee events."""
    meta = tx.meta
    if meta.v != 4:
        return False
    return any(
        e.event.body.v0 is not None
        and e.event.body.v0.topics
        and symbol(e.event.body.v0.topics[0]) == FEE
        for e in meta.v4.events
    )


def transaction_events(
    tx: TxView, passphrase: str, params: TokenTransfersParams | None = None
) -> tuple[list[Event], list[Event]]:
    """``(fee_events, operation_events)`` of one transaction (fees: charge, then any refund)."""
    params = params or TokenTransfersParams()
    derive = _Tx(tx, passphrase)
    use_unified = params.unified_events == "auto" and uses_unified_events(tx)
    if use_unified:
        fees = derive.unified_fee_events()
        if not params.split_soroban_fees and len(fees) > 1:
            fees = [fees[0]._replace(amount=sum(f.amount for f in fees))]
    else:
        fees = derive.fee_events(params.split_soroban_fees)
    if not params.include_fees:
        fees = []
    ops = derive.operation_events(use_unified) if tx.successful else []
    return fees, ops


def _record(
    ledger: LedgerView, closed_at: datetime, tx: TxView, index: int, e: Event
) -> dict[str, Any]:
    parts = asset_parts(e.asset) if e.asset is not None else None
    return {
        "ledger_sequence": ledger.sequence,
        "closed_at": closed_at,
        "transaction_hash": tx.hash,
        "transaction_index": tx.index,
        "operation_index": e.op_index + 1 if e.op_index is not None else None,
        "event_index": index,
        "event_type": e.kind,
        "from": e.from_,
        "to": e.to,
        "asset": parts.canonical if parts else None,
        "asset_type": parts.asset_type if parts else None,
        "asset_code": parts.asset_code if parts else None,
        "asset_issuer": parts.asset_issuer if parts else None,
        "contract_id": e.contract_id,
        "amount": to_decimal(e.amount) if abs(e.amount) <= _MAX_DECIMAL_RAW else None,
        "amount_raw": e.amount if abs(e.amount) <= _MAX_DECIMAL_RAW else None,
        "to_muxed_info_type": e.to_muxed_info[0] if e.to_muxed_info else None,
        "to_muxed_info": e.to_muxed_info[1] if e.to_muxed_info else None,
    }


def records(
    ledger: LedgerView, params: TokenTransfersParams | None = None
) -> Iterator[dict[str, Any]]:
    """Every token transfer event of ``ledger`` (see the module docstring for order)."""
    params = params or TokenTransfersParams()
    closed_at = ledger.closed_at
    passphrase = ledger.network_passphrase
    p23 = ledger.protocol_version >= 23
    per_tx = params.order == "transaction"
    head: list[dict[str, Any]] = []
    body: list[dict[str, Any]] = []
    tail: list[dict[str, Any]] = []
    for tx in ledger.transactions():
        fees, ops = transaction_events(tx, passphrase, params)
        for k, e in enumerate(fees[:1] + ops + fees[1:]):
            rec = _record(ledger, closed_at, tx, k, e)
            if per_tx:
                body.append(rec)
            elif e.kind == FEE and k == 0:
                head.append(rec)
            elif e.kind == FEE and e.op_index is None and k > len(ops):
                (tail if p23 else body).append(rec)
            else:
                body.append(rec)
    yield from head
    yield from body
    yield from tail
