"""A small independent checker of localnet output: replays meta changes and CAP-67 events."""

from __future__ import annotations

import hashlib
from collections import defaultdict

from stellar_sdk import Asset, FeeBumpTransactionEnvelope, StrKey, TransactionEnvelope
from stellar_sdk import xdr as sx

STATE = sx.LedgerEntryChangeType.LEDGER_ENTRY_STATE
CREATED = sx.LedgerEntryChangeType.LEDGER_ENTRY_CREATED
UPDATED = sx.LedgerEntryChangeType.LEDGER_ENTRY_UPDATED
REMOVED = sx.LedgerEntryChangeType.LEDGER_ENTRY_REMOVED


def entry_key(entry: sx.LedgerEntry) -> bytes:
    """XDR of the ``LedgerKey`` of ``entry``."""
    d = entry.data
    t = d.type
    if t == sx.LedgerEntryType.ACCOUNT:
        key = sx.LedgerKey(type=t, account=sx.LedgerKeyAccount(d.account.account_id))
    elif t == sx.LedgerEntryType.TRUSTLINE:
        key = sx.LedgerKey(
            type=t, trust_line=sx.LedgerKeyTrustLine(d.trust_line.account_id, d.trust_line.asset)
        )
    elif t == sx.LedgerEntryType.OFFER:
        key = sx.LedgerKey(type=t, offer=sx.LedgerKeyOffer(d.offer.seller_id, d.offer.offer_id))
    elif t == sx.LedgerEntryType.CONTRACT_DATA:
        c = d.contract_data
        key = sx.LedgerKey(
            type=t, contract_data=sx.LedgerKeyContractData(c.contract, c.key, c.durability)
        )
    elif t == sx.LedgerEntryType.TTL:
        key = sx.LedgerKey(type=t, ttl=sx.LedgerKeyTtl(d.ttl.key_hash))
    else:
        raise AssertionError(f"unexpected entry type {t}")
    return key.to_xdr_bytes()


def _pk(account_id: sx.AccountID) -> str:
    return StrKey.encode_ed25519_public_key(account_id.account_id.ed25519.uint256)


def _asset_str(asset: sx.TrustLineAsset) -> str:
    a = Asset.from_xdr_object(sx.Asset.from_xdr_bytes(asset.to_xdr_bytes()))
    return f"{a.code}:{a.issuer}"


class Replay:
    """Ledger state rebuilt from meta alone, checked against itself as it goes."""

    def __init__(self, passphrase: str) -> None:
        self.passphrase = passphrase
        self.entries: dict[bytes, bytes] = {}
        self.previous_hash: bytes | None = None
        #: balances implied by events: (account, asset) -> stroops
        self.event_balances: dict[tuple[str, str], int] = defaultdict(int)
        self.seen_state_of_unknown = 0

    # -- meta -------------------------------------------------------------------------------------
    def apply_changes(self, changes: sx.LedgerEntryChanges) -> None:
        for c in changes.ledger_entry_changes:
            if c.type == STATE:
                k = entry_key(c.state)
                blob = c.state.to_xdr_bytes()
                if k not in self.entries:
                    # Only genesis entries (the root account) may appear without a creation.
                    self.seen_state_of_unknown += 1
                    self.entries[k] = blob
                assert self.entries[k] == blob, "STATE differs from the last known entry"
            elif c.type == CREATED:
                k = entry_key(c.created)
                assert k not in self.entries, "CREATED an existing entry"
                self.entries[k] = c.created.to_xdr_bytes()
            elif c.type == UPDATED:
                k = entry_key(c.updated)
                assert k in self.entries, "UPDATED an unknown entry"
                self.entries[k] = c.updated.to_xdr_bytes()
            elif c.type == REMOVED:
                k = c.removed.to_xdr_bytes()
                assert k in self.entries, "REMOVED an unknown entry"
                del self.entries[k]
            else:
                raise AssertionError(f"unexpected change {c.type}")

    def ledger(self, lcm: sx.LedgerCloseMeta) -> sx.LedgerHeader:
        v2 = lcm.v2
        assert lcm.v == 2 and v2 is not None
        entry = v2.ledger_header
        header = entry.header
        assert hashlib.sha256(header.to_xdr_bytes()).digest() == entry.hash.hash
        if self.previous_hash is not None:
            assert header.previous_ledger_hash.hash == self.previous_hash
        self.previous_hash = entry.hash.hash
        # tx hashes recompute from the envelopes of the tx set
        envelopes = {}
        for phase in v2.tx_set.v1_tx_set.phases:
            if phase.v == 0:
                txs = [e for c in phase.v0_components for e in c.txs_maybe_discounted_fee.txs]
            else:
                txs = [
                    e
                    for stage in phase.parallel_txs_component.execution_stages
                    for cluster in stage.parallel_tx_execution_stage
                    for e in cluster.dependent_tx_cluster
                ]
            for env in txs:
                envelopes[tx_hash(env, self.passphrase)] = env
        assert len(envelopes) == len(v2.tx_processing)
        for tp in v2.tx_processing:
            assert tp.result.transaction_hash.hash in envelopes
        # replay in core's order: all fees, then each tx, then refunds
        for tp in v2.tx_processing:
            self.apply_changes(tp.fee_processing)
        for tp in v2.tx_processing:
            meta = tp.tx_apply_processing.v4
            assert tp.tx_apply_processing.v == 4 and meta is not None
            self.apply_changes(meta.tx_changes_before)
            for op in meta.operations:
                self.apply_changes(op.changes)
                for event in op.events:
                    self.apply_event(event)
            self.apply_changes(meta.tx_changes_after)
            for te in meta.events:
                self.apply_event(te.event)
        for tp in v2.tx_processing:
            self.apply_changes(tp.post_tx_apply_fee_processing)
        return header

    # -- balances ----------------------------------------------------------------------------------
    def balances(self) -> dict[tuple[str, str], int]:
        out: dict[tuple[str, str], int] = {}
        for blob in self.entries.values():
            e = sx.LedgerEntry.from_xdr_bytes(blob).data
            if e.type == sx.LedgerEntryType.ACCOUNT:
                out[(_pk(e.account.account_id), "native")] = e.account.balance.int64
            elif e.type == sx.LedgerEntryType.TRUSTLINE:
                tl = e.trust_line
                out[(_pk(tl.account_id), _asset_str(tl.asset))] = tl.balance.int64
        return out

    def apply_event(self, event: sx.ContractEvent) -> None:
        topics = event.body.v0.topics
        data = event.body.v0.data
        if data.type == sx.SCValType.SCV_MAP:
            data = next(e.val for e in data.map.sc_map if e.key.sym.sc_symbol == b"amount")
        amount = (data.i128.hi.int64 << 64) | data.i128.lo.uint64
        name = topics[0].sym.sc_symbol.decode()

        def who(v: sx.SCVal) -> str:
            return _pk(v.address.account_id)

        if name == "fee":
            self.event_balances[(who(topics[1]), "native")] -= amount
            return
        asset = topics[-1].str.sc_string.decode()
        if name == "transfer":
            self.event_balances[(who(topics[1]), asset)] -= amount
            self.event_balances[(who(topics[2]), asset)] += amount
        elif name == "mint":
            self.event_balances[(who(topics[1]), asset)] += amount
        elif name == "burn":
            self.event_balances[(who(topics[1]), asset)] -= amount
        else:
            raise AssertionError(f"unexpected event {name}")


def tx_hash(env: sx.TransactionEnvelope, passphrase: str) -> bytes:
    if env.type == sx.EnvelopeType.ENVELOPE_TYPE_TX_FEE_BUMP:
        return FeeBumpTransactionEnvelope.from_xdr_object(env, passphrase).hash()
    return TransactionEnvelope.from_xdr_object(env, passphrase).hash()
