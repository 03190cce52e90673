"""The localnet ledger state: typed entries, their XDR form, and nested change-tracking views.

Entries are small frozen dataclasses keyed by tuples. A :class:`View` is an overlay on a parent
(another view or the :class:`LedgerState`) that records writes in touch order; committing it into
its parent and reading :meth:`View.changes` yields the STATE/UPDATED/CREATED/REMOVED
``LedgerEntryChange`` list exactly as a transaction's meta reports it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import cache

from stellar_sdk import Asset, Keypair, StrKey
from stellar_sdk import xdr as sx

NATIVE = "native"
#: Standalone-network genesis supply (100 billion XLM) in stroops.
TOTAL_COINS = 10**18
BASE_FEE = 100
#: Base reserve of a fresh stellar-core standalone network (10 XLM).
BASE_RESERVE = 100_000_000
INT64_MAX = 2**63 - 1
AUTHORIZED_FLAG = 1


# --- XDR helpers (cached: the same handful of accounts and assets recur constantly) --------------


@cache
def account_xdr(account: str) -> sx.AccountID:
    """``AccountID`` of a ``G...`` address."""
    return Keypair.from_public_key(account).xdr_account_id()


@cache
def asset_xdr(asset: str) -> sx.Asset:
    """``Asset`` of ``native`` or ``CODE:ISSUER``."""
    if asset == NATIVE:
        return Asset.native().to_xdr_object()
    code, issuer = asset.split(":")
    return Asset(code, issuer).to_xdr_object()


@cache
def trustline_asset_xdr(asset: str) -> sx.TrustLineAsset:
    code, issuer = asset.split(":")
    return Asset(code, issuer).to_trust_line_asset_xdr_object()


def asset_key(asset: sx.Asset) -> str:
    """``native`` or ``CODE:ISSUER`` of an XDR ``Asset``."""
    if asset.type == sx.AssetType.ASSET_TYPE_NATIVE:
        return NATIVE
    a = Asset.from_xdr_object(asset)
    return f"{a.code}:{a.issuer}"


def issuer_of(asset: str) -> str | None:
    return None if asset == NATIVE else asset.split(":")[1]


@cache
def asset_contract_id(asset: str, passphrase: str) -> bytes:
    """Raw 32-byte id of the Stellar Asset Contract of ``asset`` (used as the CAP-67 event contract)."""
    a = Asset.native() if asset == NATIVE else Asset(*asset.split(":"))
    return StrKey.decode_contract(a.contract_id(passphrase))


def network_id(passphrase: str) -> bytes:
    return hashlib.sha256(passphrase.encode()).digest()


# --- entries ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Account:
    account_id: str
    balance: int
    seq_num: int
    num_sub_entries: int = 0
    buying_liabilities: int = 0
    selling_liabilities: int = 0
    #: 0: no extension; 1: liabilities (AccountEntryExtensionV1); 3: up to V3 (seq ledger/time).
    ext_level: int = 0
    seq_ledger: int = 0
    seq_time: int = 0
    last_modified: int = 0

    @property
    def key(self) -> tuple[str, ...]:
        return ("account", self.account_id)

    def min_balance(self) -> int:
        return (2 + self.num_sub_entries) * BASE_RESERVE

    def available(self) -> int:
        """Spendable XLM: balance above the reserve and the selling liabilities."""
        return self.balance - self.min_balance() - self.selling_liabilities

    def to_xdr(self) -> sx.LedgerEntry:
        ext = sx.AccountEntryExt(v=0)
        if self.ext_level >= 1:
            v1_ext = sx.AccountEntryExtensionV1Ext(v=0)
            if self.ext_level >= 3:
                v3 = sx.AccountEntryExtensionV3(
                    ext=sx.ExtensionPoint(0),
                    seq_ledger=sx.Uint32(self.seq_ledger),
                    seq_time=sx.TimePoint(sx.Uint64(self.seq_time)),
                )
                v2 = sx.AccountEntryExtensionV2(
                    num_sponsored=sx.Uint32(0),
                    num_sponsoring=sx.Uint32(0),
                    signer_sponsoring_i_ds=[],
                    ext=sx.AccountEntryExtensionV2Ext(v=3, v3=v3),
                )
                v1_ext = sx.AccountEntryExtensionV1Ext(v=2, v2=v2)
            ext = sx.AccountEntryExt(
                v=1,
                v1=sx.AccountEntryExtensionV1(
                    liabilities=_liabilities(self.buying_liabilities, self.selling_liabilities),
                    ext=v1_ext,
                ),
            )
        entry = sx.AccountEntry(
            account_id=account_xdr(self.account_id),
            balance=sx.Int64(self.balance),
            seq_num=sx.SequenceNumber(sx.Int64(self.seq_num)),
            num_sub_entries=sx.Uint32(self.num_sub_entries),
            inflation_dest=None,
            flags=sx.Uint32(0),
            home_domain=sx.String32(b""),
            thresholds=sx.Thresholds(b"\x01\x00\x00\x00"),
            signers=[],
            ext=ext,
        )
        data = sx.LedgerEntryData(type=sx.LedgerEntryType.ACCOUNT, account=entry)
        return _entry(self.last_modified, data)

    def key_xdr(self) -> sx.LedgerKey:
        return sx.LedgerKey(
            type=sx.LedgerEntryType.ACCOUNT,
            account=sx.LedgerKeyAccount(account_id=account_xdr(self.account_id)),
        )


@dataclass(frozen=True, slots=True)
class TrustLine:
    account_id: str
    asset: str
    balance: int = 0
    limit: int = INT64_MAX
    flags: int = AUTHORIZED_FLAG
    buying_liabilities: int = 0
    selling_liabilities: int = 0
    ext_v1: bool = False
    last_modified: int = 0

    @property
    def key(self) -> tuple[str, ...]:
        return ("trustline", self.account_id, self.asset)

    def available(self) -> int:
        return self.balance - self.selling_liabilities

    def room(self) -> int:
        """How much more the line can receive."""
        return self.limit - self.balance - self.buying_liabilities

    def to_xdr(self) -> sx.LedgerEntry:
        ext = sx.TrustLineEntryExt(v=0)
        if self.ext_v1:
            ext = sx.TrustLineEntryExt(
                v=1,
                v1=sx.TrustLineEntryV1(
                    liabilities=_liabilities(self.buying_liabilities, self.selling_liabilities),
                    ext=sx.TrustLineEntryV1Ext(v=0),
                ),
            )
        entry = sx.TrustLineEntry(
            account_id=account_xdr(self.account_id),
            asset=trustline_asset_xdr(self.asset),
            balance=sx.Int64(self.balance),
            limit=sx.Int64(self.limit),
            flags=sx.Uint32(self.flags),
            ext=ext,
        )
        data = sx.LedgerEntryData(type=sx.LedgerEntryType.TRUSTLINE, trust_line=entry)
        return _entry(self.last_modified, data)

    def key_xdr(self) -> sx.LedgerKey:
        return sx.LedgerKey(
            type=sx.LedgerEntryType.TRUSTLINE,
            trust_line=sx.LedgerKeyTrustLine(
                account_id=account_xdr(self.account_id), asset=trustline_asset_xdr(self.asset)
            ),
        )


@dataclass(frozen=True, slots=True)
class Offer:
    """A sell offer: ``amount`` of ``selling`` at ``price_n/price_d`` units of ``buying`` each."""

    seller_id: str
    offer_id: int
    selling: str
    buying: str
    amount: int
    price_n: int
    price_d: int
    flags: int = 0
    last_modified: int = 0

    @property
    def key(self) -> tuple[str, ...]:
        return ("offer", self.seller_id, str(self.offer_id))

    @property
    def price(self) -> Fraction:
        return Fraction(self.price_n, self.price_d)

    def buying_liabilities(self) -> int:
        return ceil_div(self.amount * self.price_n, self.price_d)

    def to_xdr(self) -> sx.LedgerEntry:
        entry = sx.OfferEntry(
            seller_id=account_xdr(self.seller_id),
            offer_id=sx.Int64(self.offer_id),
            selling=asset_xdr(self.selling),
            buying=asset_xdr(self.buying),
            amount=sx.Int64(self.amount),
            price=sx.Price(n=sx.Int32(self.price_n), d=sx.Int32(self.price_d)),
            flags=sx.Uint32(self.flags),
            ext=sx.OfferEntryExt(v=0),
        )
        data = sx.LedgerEntryData(type=sx.LedgerEntryType.OFFER, offer=entry)
        return _entry(self.last_modified, data)

    def key_xdr(self) -> sx.LedgerKey:
        return sx.LedgerKey(
            type=sx.LedgerEntryType.OFFER,
            offer=sx.LedgerKeyOffer(
                seller_id=account_xdr(self.seller_id), offer_id=sx.Int64(self.offer_id)
            ),
        )


@dataclass(frozen=True, slots=True)
class RawEntry:
    """Any other entry (contract data, TTL) carried as ready-made XDR plus its key."""

    key: tuple[str, ...]
    data: sx.LedgerEntryData
    ledger_key: sx.LedgerKey
    last_modified: int = 0

    def to_xdr(self) -> sx.LedgerEntry:
        return _entry(self.last_modified, self.data)

    def key_xdr(self) -> sx.LedgerKey:
        return self.ledger_key


Entry = Account | TrustLine | Offer | RawEntry
Key = tuple[str, ...]


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _liabilities(buying: int, selling: int) -> sx.Liabilities:
    return sx.Liabilities(buying=sx.Int64(buying), selling=sx.Int64(selling))


def _entry(last_modified: int, data: sx.LedgerEntryData) -> sx.LedgerEntry:
    return sx.LedgerEntry(
        last_modified_ledger_seq=sx.Uint32(last_modified), data=data, ext=sx.LedgerEntryExt(v=0)
    )


# --- state and views --------------------------------------------------------------------------------


@dataclass
class LedgerState:
    """Everything the network knows between ledgers."""

    entries: dict[Key, Entry] = field(default_factory=dict)
    fee_pool: int = 0
    id_pool: int = 0
    total_coins: int = TOTAL_COINS
    #: Keys of offers and of contract data, in creation order (kept by :meth:`apply`).
    indexed: dict[str, dict[Key, None]] = field(
        default_factory=lambda: {"offer": {}, "contract_data": {}}
    )

    def get(self, key: Key) -> Entry | None:
        return self.entries.get(key)

    def apply(self, writes: dict[Key, Entry | None]) -> None:
        for key, entry in writes.items():
            index = self.indexed.get(key[0])
            if entry is None:
                self.entries.pop(key, None)
                if index is not None:
                    index.pop(key, None)
            else:
                self.entries[key] = entry
                if index is not None:
                    index[key] = None

    def offer_keys(self) -> Iterable[Key]:
        return self.indexed["offer"]

    def offers(self) -> Iterator[Offer]:
        """Every resting offer, oldest first."""
        for k in self.indexed["offer"]:
            offer = self.entries[k]
            assert isinstance(offer, Offer)
            yield offer

    def contract_data(self) -> Iterator[Entry]:
        return (self.entries[k] for k in self.indexed["contract_data"])

    def accounts(self) -> Iterator[Account]:
        return (e for e in self.entries.values() if isinstance(e, Account))


class View:
    """A write overlay over a parent view or state; :meth:`commit` folds it into the parent."""

    def __init__(self, parent: View | LedgerState, ledger_seq: int) -> None:
        self.parent = parent
        self.ledger_seq = ledger_seq
        self.writes: dict[Key, Entry | None] = {}

    def get(self, key: Key) -> Entry | None:
        if key in self.writes:
            return self.writes[key]
        return self.parent.get(key)

    def account(self, account_id: str) -> Account | None:
        e = self.get(("account", account_id))
        assert e is None or isinstance(e, Account)
        return e

    def trustline(self, account_id: str, asset: str) -> TrustLine | None:
        e = self.get(("trustline", account_id, asset))
        assert e is None or isinstance(e, TrustLine)
        return e

    def put(self, entry: Entry) -> Entry:
        """Write ``entry`` (stamped with this ledger as last modified)."""
        entry = replace(entry, last_modified=self.ledger_seq)
        self.writes[entry.key] = entry
        return entry

    def delete(self, key: Key) -> None:
        self.writes[key] = None

    def apply(self, writes: dict[Key, Entry | None]) -> None:
        self.writes.update(writes)

    def offer_keys(self) -> Iterable[Key]:
        keys = dict.fromkeys(self.parent.offer_keys())
        keys.update(dict.fromkeys(k for k in self.writes if k[0] == "offer"))
        return keys

    def offers(self, selling: str, buying: str) -> list[Offer]:
        """Live offers selling ``selling`` for ``buying``, best price first, then oldest."""
        found = []
        for k in self.offer_keys():
            o = self.get(k)
            if isinstance(o, Offer) and o.selling == selling and o.buying == buying:
                found.append(o)
        found.sort(key=lambda o: (o.price, o.offer_id))
        return found

    def changes(self) -> list[sx.LedgerEntryChange]:
        """The meta changes this overlay makes to its parent, in touch order."""
        out: list[sx.LedgerEntryChange] = []
        for key, after in self.writes.items():
            before = self.parent.get(key)
            if before is None and after is None:
                continue
            if before is not None:
                out.append(sx.LedgerEntryChange(type=_STATE, state=before.to_xdr()))
            if after is None:
                assert before is not None
                out.append(sx.LedgerEntryChange(type=_REMOVED, removed=before.key_xdr()))
            elif before is None:
                out.append(sx.LedgerEntryChange(type=_CREATED, created=after.to_xdr()))
            else:
                out.append(sx.LedgerEntryChange(type=_UPDATED, updated=after.to_xdr()))
        return out

    def commit(self) -> None:
        self.parent.apply(self.writes)
        self.writes = {}


_STATE = sx.LedgerEntryChangeType.LEDGER_ENTRY_STATE
_UPDATED = sx.LedgerEntryChangeType.LEDGER_ENTRY_UPDATED
_CREATED = sx.LedgerEntryChangeType.LEDGER_ENTRY_CREATED
_REMOVED = sx.LedgerEntryChangeType.LEDGER_ENTRY_REMOVED


def state_updated_pair(before: Entry, after: Entry) -> list[sx.LedgerEntryChange]:
    """A STATE/UPDATED pair (used where core reports an entry touched without a real change)."""
    return [
        sx.LedgerEntryChange(type=_STATE, state=before.to_xdr()),
        sx.LedgerEntryChange(type=_UPDATED, updated=after.to_xdr()),
    ]
