# mypy: disable-error-code="union-attr"
# (stellar-sdk models each XDR union arm as an Optional attribute; arms are read after checking
# the discriminant, so the None case cannot occur.)
"""``ledger_changes``: one record per ``LedgerEntryChange`` of a ledger.

Covers the fee processing, the transaction-level changes before/after, every operation's changes,
the post-apply fee refunds (LCM V2) and protocol upgrades, in that order per transaction. Also
home of the change helpers the other processors share: :func:`pair_changes` (state/updated pairs
as ``pre``/``post``, like stellar/go ``ingest.Change``) and :func:`operation_changes`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, NamedTuple

from stellar_sdk import xdr as sx

from flowctl_dsl.stellar.accounts import Account, account_id, muxed_account
from flowctl_dsl.stellar.assets import asset_parts
from flowctl_dsl.stellar.ledger import LedgerView, TxView
from flowctl_dsl.transforms.processors.scval import (
    address_strkey,
    claimable_balance_strkey,
    pool_strkey,
    xdr_b64,
)

CREATED, UPDATED, REMOVED, STATE, RESTORED = 0, 1, 2, 3, 4
CHANGE_TYPE_NAMES = {
    CREATED: "created",
    UPDATED: "updated",
    REMOVED: "removed",
    STATE: "state",
    RESTORED: "restored",
}
ENTRY_TYPE_NAMES = {
    0: "account",
    1: "trustline",
    2: "offer",
    3: "data",
    4: "claimable_balance",
    5: "liquidity_pool",
    6: "contract_data",
    7: "contract_code",
    8: "config_setting",
    9: "ttl",
}
ACCOUNT, TRUSTLINE, OFFER, DATA, CLAIMABLE_BALANCE, LIQUIDITY_POOL, CONTRACT_DATA = range(7)


class Change(NamedTuple):
    """One paired change: ``pre`` is the state before (``None`` when created/restored), ``post``
    the state after (``None`` when removed)."""

    change_type: int
    entry_type: int
    pre: sx.LedgerEntry | None
    post: sx.LedgerEntry | None

    @property
    def entry(self) -> sx.LedgerEntry:
        """The most recent state (``post``, else ``pre``)."""
        entry = self.post if self.post is not None else self.pre
        assert entry is not None
        return entry


def _entry(change: sx.LedgerEntryChange) -> sx.LedgerEntry | None:
    return change.created or change.updated or change.state or change.restored


def pair_changes(changes: sx.LedgerEntryChanges | list[sx.LedgerEntryChange]) -> list[Change]:
    """``[state, updated]``/``[state, removed]`` pairs and lone ``created``/``restored`` changes.

    An ``updated``/``removed`` change takes its ``pre`` from the change just before it (a
    ``state``, or a ``restored`` per CAP-62). Order is kept (stellar/go additionally sorts by key;
    callers that depend on an order sort what they select).
    """
    raw = changes.ledger_entry_changes if isinstance(changes, sx.LedgerEntryChanges) else changes
    out: list[Change] = []
    for i, change in enumerate(raw):
        kind = change.type.value
        if kind in (CREATED, RESTORED):
            entry = change.created or change.restored
            assert entry is not None
            out.append(Change(kind, entry.data.type.value, None, entry))
        elif kind in (UPDATED, REMOVED):
            pre = _entry(raw[i - 1]) if i > 0 else None
            post = change.updated if kind == UPDATED else None
            entry_type = (
                change.updated.data.type.value if change.updated else change.removed.type.value
            )
            out.append(Change(kind, entry_type, pre, post))
    return out


def operation_metas(meta: sx.TransactionMeta) -> list[sx.LedgerEntryChanges]:
    """The ``changes`` of each operation's meta (empty for a failed transaction)."""
    body = {1: meta.v1, 2: meta.v2, 3: meta.v3, 4: meta.v4}.get(meta.v)
    ops = meta.operations if meta.v == 0 else (body.operations if body is not None else None)
    return [op.changes for op in ops or ()]


def operation_changes(tx: TxView, op_index: int) -> list[Change]:
    """Paired changes of operation ``op_index`` (0-based) of ``tx``.

    Like stellar/go, the operation meta of ``txINTERNAL_ERROR`` transactions before protocol 13 is
    ignored.
    """
    if tx.result.result.code.value == -11 and tx.ledger.protocol_version <= 12:
        return []
    metas = operation_metas(tx.meta)
    return pair_changes(metas[op_index]) if op_index < len(metas) else []


def tx_change_groups(tx: TxView) -> Iterator[tuple[str, int | None, list[sx.LedgerEntryChange]]]:
    """``(source, operation_index, changes)`` in application order for one transaction.

    ``source`` is ``fee``, ``tx_before``, ``operation``, ``tx_after`` or ``post_apply_fee``;
    ``operation_index`` is 1-based for operation changes, else ``None``.
    """
    yield "fee", None, tx.fee_changes.ledger_entry_changes
    meta = tx.meta
    body = {1: meta.v1, 2: meta.v2, 3: meta.v3, 4: meta.v4}.get(meta.v)
    if meta.v == 1:
        yield "tx_before", None, meta.v1.tx_changes.ledger_entry_changes
    elif body is not None:
        yield "tx_before", None, body.tx_changes_before.ledger_entry_changes
    for i, changes in enumerate(operation_metas(meta), start=1):
        yield "operation", i, changes.ledger_entry_changes
    if meta.v >= 2 and body is not None:
        yield "tx_after", None, body.tx_changes_after.ledger_entry_changes
    post = tx.post_apply_fee_changes
    if post is not None:
        yield "post_apply_fee", None, post.ledger_entry_changes


def operation_source(tx: TxView, op: sx.Operation) -> Account:
    """The operation's source account, else the (inner) transaction's source."""
    if op.source_account is not None:
        return muxed_account(op.source_account)
    if tx.source_account_muxed is None:
        return Account(tx.source_account)
    return muxed_account(tx.tx.source_account)


def address_of(account: Account) -> str:
    """``M…`` when muxed, else ``G…`` (Go's ``MuxedAccount.Address()``)."""
    return account.muxed or account.account


def operation_result_tr(tx: TxView, op_index: int) -> sx.OperationResultTr | None:
    """The typed result of operation ``op_index`` (0-based), ``None`` if it was not applied."""
    results = tx.operation_results
    if not results or op_index >= len(results):
        return None
    return results[op_index].tr


# --- keys and readable ids ---------------------------------------------------------------------


def ledger_key(data: sx.LedgerEntryData) -> sx.LedgerKey:
    """The ``LedgerKey`` of an entry."""
    t = data.type
    kind = t.value
    if kind == ACCOUNT:
        return sx.LedgerKey(t, account=sx.LedgerKeyAccount(data.account.account_id))
    if kind == TRUSTLINE:
        tl = data.trust_line
        return sx.LedgerKey(t, trust_line=sx.LedgerKeyTrustLine(tl.account_id, tl.asset))
    if kind == OFFER:
        o = data.offer
        return sx.LedgerKey(t, offer=sx.LedgerKeyOffer(o.seller_id, o.offer_id))
    if kind == DATA:
        d = data.data
        return sx.LedgerKey(t, data=sx.LedgerKeyData(d.account_id, d.data_name))
    if kind == CLAIMABLE_BALANCE:
        cb = data.claimable_balance
        return sx.LedgerKey(t, claimable_balance=sx.LedgerKeyClaimableBalance(cb.balance_id))
    if kind == LIQUIDITY_POOL:
        lp = data.liquidity_pool
        return sx.LedgerKey(t, liquidity_pool=sx.LedgerKeyLiquidityPool(lp.liquidity_pool_id))
    if kind == CONTRACT_DATA:
        cd = data.contract_data
        key = sx.LedgerKeyContractData(cd.contract, cd.key, cd.durability)
        return sx.LedgerKey(t, contract_data=key)
    if kind == 7:
        return sx.LedgerKey(t, contract_code=sx.LedgerKeyContractCode(data.contract_code.hash))
    if kind == 8:
        cfg = sx.LedgerKeyConfigSetting(data.config_setting.config_setting_id)
        return sx.LedgerKey(t, config_setting=cfg)
    if kind == 9:
        return sx.LedgerKey(t, ttl=sx.LedgerKeyTtl(data.ttl.key_hash))
    raise ValueError(f"unknown LedgerEntryType {kind}")


def _trustline_asset(asset: sx.TrustLineAsset) -> str:
    if asset.type.value == 3:
        assert asset.liquidity_pool_id is not None
        return pool_strkey(asset.liquidity_pool_id.pool_id.hash)
    return asset_parts(asset).canonical


class KeyIds(NamedTuple):
    """Readable identity of a ledger key: owning account, contract and a per-type id."""

    account_id: str | None
    contract_id: str | None
    entry_id: str


def key_ids(key: sx.LedgerKey) -> KeyIds:
    """Account/contract strkeys and a readable id (``G…``, ``G…:CODE:ISSUER``, offer id, …)."""
    kind = key.type.value
    if kind == ACCOUNT:
        acc = account_id(key.account.account_id)
        return KeyIds(acc, None, acc)
    if kind == TRUSTLINE:
        acc = account_id(key.trust_line.account_id)
        return KeyIds(acc, None, f"{acc}:{_trustline_asset(key.trust_line.asset)}")
    if kind == OFFER:
        return KeyIds(account_id(key.offer.seller_id), None, str(key.offer.offer_id.int64))
    if kind == DATA:
        acc = account_id(key.data.account_id)
        name = key.data.data_name.string64.decode("utf-8", errors="replace")
        return KeyIds(acc, None, f"{acc}:{name}")
    if kind == CLAIMABLE_BALANCE:
        return KeyIds(None, None, claimable_balance_strkey(key.claimable_balance.balance_id))
    if kind == LIQUIDITY_POOL:
        return KeyIds(None, None, pool_strkey(key.liquidity_pool.liquidity_pool_id.pool_id.hash))
    if kind == CONTRACT_DATA:
        owner = address_strkey(key.contract_data.contract)
        contract = owner if owner.startswith("C") else None
        account = owner if owner[0] in "GM" else None
        return KeyIds(account, contract, owner)
    if kind == 7:
        return KeyIds(None, None, key.contract_code.hash.hash.hex())
    if kind == 8:
        name = key.config_setting.config_setting_id.name.removeprefix("CONFIG_SETTING_")
        return KeyIds(None, None, name.lower())
    if kind == 9:
        return KeyIds(None, None, key.ttl.key_hash.hash.hex())
    raise ValueError(f"unknown LedgerEntryType {kind}")


# --- the processor -----------------------------------------------------------------------------


def _record(
    ledger: LedgerView,
    closed_at: datetime,
    tx: TxView | None,
    source: str,
    op_index: int | None,
    change_index: int,
    change: sx.LedgerEntryChange,
) -> dict[str, Any]:
    kind = change.type.value
    entry = _entry(change)
    if kind == REMOVED:
        assert change.removed is not None
        key = change.removed
    else:
        assert entry is not None
        key = ledger_key(entry.data)
    ids = key_ids(key)
    return {
        "ledger_sequence": ledger.sequence,
        "closed_at": closed_at,
        "transaction_hash": tx.hash if tx else None,
        "transaction_index": tx.index if tx else None,
        "operation_index": op_index,
        "change_index": change_index,
        "source": source,
        "change_type": CHANGE_TYPE_NAMES[kind],
        "entry_type": ENTRY_TYPE_NAMES[key.type.value],
        "account_id": ids.account_id,
        "contract_id": ids.contract_id,
        "entry_id": ids.entry_id,
        "key_xdr": xdr_b64(key),
        "entry_xdr": xdr_b64(entry) if entry is not None else None,
        "last_modified_ledger": entry.last_modified_ledger_seq.uint32 if entry else None,
        "in_successful_transaction": tx.successful if tx else None,
    }


def records(ledger: LedgerView, params: Any = None) -> Iterator[dict[str, Any]]:
    """Every ledger entry change of ``ledger``: per transaction (fee, before, operations, after,
    post-apply fee), then the protocol upgrades. ``change_index`` counts within the ledger."""
    include_state = getattr(params, "include_state", True)
    closed_at = ledger.closed_at
    n = 0
    for tx in ledger.transactions():
        for source, op_index, changes in tx_change_groups(tx):
            for change in changes:
                if not include_state and change.type.value == STATE:
                    continue
                yield _record(ledger, closed_at, tx, source, op_index, n, change)
                n += 1
    for upgrade in getattr(ledger.body, "upgrades_processing", ()):
        for change in upgrade.changes.ledger_entry_changes:
            if not include_state and change.type.value == STATE:
                continue
            yield _record(ledger, closed_at, None, "upgrade", None, n, change)
            n += 1


def account_records(ledger: LedgerView, params: Any = None) -> Iterator[dict[str, Any]]:
    """The account entry changes of ``ledger`` (``ledger_changes`` limited to accounts)."""
    for record in records(ledger, params):
        if record["entry_type"] == "account":
            yield record
