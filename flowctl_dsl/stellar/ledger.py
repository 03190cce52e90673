"""Read-only views over a decoded ``LedgerCloseMeta`` (V0, V1, V2) and its transactions.

:class:`LedgerView` exposes the header fields and :meth:`LedgerView.transactions`, which pairs
every ``tx_processing`` entry (application order) with its envelope from the transaction set
(hash order, split in phases and components) by hash. Each hash is computed from the envelope
with the network passphrase, so a wrong passphrase is detected instead of producing garbage.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cached_property

from stellar_sdk import xdr as sx

from flowctl_dsl.stellar.accounts import Account, ed25519, muxed_account
from flowctl_dsl.stellar.decode import decode_ledger
from flowctl_dsl.stellar.raw import RawLedger

_ENV_TX_V0 = 0
_ENV_TX = 2
_ENV_FEE_BUMP = 5
_SUCCESS_CODES = frozenset({0, 1})  # txSUCCESS, txFEE_BUMP_INNER_SUCCESS
_MEMO_TYPES = {0: "none", 1: "text", 2: "id", 3: "hash", 4: "return"}

AnyTransaction = sx.Transaction | sx.TransactionV0


class TransactionHashError(ValueError):
    """A ``tx_processing`` result has no envelope hashing to it (usually a wrong passphrase)."""


def network_id(passphrase: str) -> bytes:
    """sha256 of the network passphrase."""
    return hashlib.sha256(passphrase.encode()).digest()


def _payload_hash(net_id: bytes, envelope_type: int, tx_xdr: bytes) -> bytes:
    """sha256(TransactionSignaturePayload{networkId, taggedTransaction})."""
    return hashlib.sha256(net_id + envelope_type.to_bytes(4, "big") + tx_xdr).digest()


def envelope_hashes(envelope: sx.TransactionEnvelope, net_id: bytes) -> tuple[bytes, bytes | None]:
    """``(hash, inner_hash)`` of an envelope; ``inner_hash`` is set for fee bumps only.

    A ``TransactionV0`` hashes as the ``Transaction`` it converts to, whose XDR is the V0 XDR
    prefixed by the ``KEY_TYPE_ED25519`` discriminant (``TimeBounds*`` and ``Preconditions`` with
    ``PRECOND_NONE``/``PRECOND_TIME`` encode identically).
    """
    kind = envelope.type.value
    if kind == _ENV_TX:
        assert envelope.v1 is not None
        return _payload_hash(net_id, _ENV_TX, envelope.v1.tx.to_xdr_bytes()), None
    if kind == _ENV_FEE_BUMP:
        assert envelope.fee_bump is not None
        bump = envelope.fee_bump.tx
        inner = bump.inner_tx.v1
        assert inner is not None
        return (
            _payload_hash(net_id, _ENV_FEE_BUMP, bump.to_xdr_bytes()),
            _payload_hash(net_id, _ENV_TX, inner.tx.to_xdr_bytes()),
        )
    if kind == _ENV_TX_V0:
        assert envelope.v0 is not None
        return _payload_hash(net_id, _ENV_TX, b"\0\0\0\0" + envelope.v0.tx.to_xdr_bytes()), None
    raise ValueError(f"unknown envelope type {kind}")


def tx_set_envelopes(
    tx_set: sx.TransactionSet | sx.GeneralizedTransactionSet,
) -> Iterator[sx.TransactionEnvelope]:
    """Every envelope of a (generalized) transaction set, in set order.

    Handles the legacy ``TransactionSet``, classic ``TxSetComponent`` phases (``v == 0``) and the
    parallel Soroban phase (``v == 1``: stages → dependent clusters → envelopes).
    """
    if isinstance(tx_set, sx.TransactionSet):
        yield from tx_set.txs
        return
    v1 = tx_set.v1_tx_set
    if v1 is None:
        raise ValueError(f"unknown GeneralizedTransactionSet version {tx_set.v}")
    for phase in v1.phases:
        if phase.v == 0:
            for component in phase.v0_components or ():
                if component.txs_maybe_discounted_fee is None:
                    raise ValueError(f"unknown TxSetComponent type {component.type}")
                yield from component.txs_maybe_discounted_fee.txs
        elif phase.v == 1:
            assert phase.parallel_txs_component is not None
            for stage in phase.parallel_txs_component.execution_stages:
                for cluster in stage.parallel_tx_execution_stage:
                    yield from cluster.dependent_tx_cluster
        else:
            raise ValueError(f"unknown TransactionPhase version {phase.v}")


class LedgerView:
    """One decoded ledger with the passphrase of its network."""

    def __init__(self, lcm: sx.LedgerCloseMeta, network_passphrase: str) -> None:
        body = {0: lcm.v0, 1: lcm.v1, 2: lcm.v2}.get(lcm.v)
        if body is None:
            raise ValueError(f"unknown LedgerCloseMeta version {lcm.v}")
        self.lcm = lcm
        self.body: sx.LedgerCloseMetaV0 | sx.LedgerCloseMetaV1 | sx.LedgerCloseMetaV2 = body
        self.network_passphrase = network_passphrase
        self.header_entry: sx.LedgerHeaderHistoryEntry = body.ledger_header
        self.header: sx.LedgerHeader = body.ledger_header.header

    @classmethod
    def from_xdr(cls, xdr: bytes, network_passphrase: str) -> LedgerView:
        """Decode LCM XDR bytes with the installed decoder."""
        return cls(decode_ledger(xdr), network_passphrase)

    @classmethod
    def from_raw(cls, raw: RawLedger) -> LedgerView:
        """Decode the element sources emit."""
        return cls(decode_ledger(raw.xdr), raw.network_passphrase)

    @property
    def lcm_version(self) -> int:
        return self.lcm.v

    @property
    def sequence(self) -> int:
        return self.header.ledger_seq.uint32

    @property
    def closed_at(self) -> datetime:
        """Close time as a tz-aware UTC datetime."""
        return datetime.fromtimestamp(self.header.scp_value.close_time.time_point.uint64, UTC)

    @property
    def protocol_version(self) -> int:
        return self.header.ledger_version.uint32

    @property
    def ledger_hash(self) -> str:
        return self.header_entry.hash.hash.hex()

    @property
    def previous_ledger_hash(self) -> str:
        return self.header.previous_ledger_hash.hash.hex()

    @property
    def base_fee(self) -> int:
        return self.header.base_fee.uint32

    @property
    def base_reserve(self) -> int:
        return self.header.base_reserve.uint32

    @property
    def total_coins(self) -> int:
        return self.header.total_coins.int64

    @property
    def fee_pool(self) -> int:
        return self.header.fee_pool.int64

    @property
    def max_tx_set_size(self) -> int:
        return self.header.max_tx_set_size.uint32

    @property
    def tx_set(self) -> sx.TransactionSet | sx.GeneralizedTransactionSet:
        return self.body.tx_set

    @property
    def tx_processing(self) -> list[sx.TransactionResultMeta | sx.TransactionResultMetaV1]:
        return list(self.body.tx_processing)

    @property
    def transaction_count(self) -> int:
        """All transactions in the set, successful or failed."""
        return len(self.body.tx_processing)

    @cached_property
    def _network_id(self) -> bytes:
        return network_id(self.network_passphrase)

    @cached_property
    def _transactions(self) -> list[TxView]:
        by_hash: dict[bytes, tuple[sx.TransactionEnvelope, bytes | None]] = {}
        for envelope in tx_set_envelopes(self.tx_set):
            tx_hash, inner = envelope_hashes(envelope, self._network_id)
            by_hash[tx_hash] = (envelope, inner)
        views = []
        for index, meta in enumerate(self.tx_processing, start=1):
            tx_hash = meta.result.transaction_hash.hash
            found = by_hash.get(tx_hash)
            if found is None:
                raise TransactionHashError(
                    f"ledger {self.sequence}: no envelope in the transaction set hashes to "
                    f"{tx_hash.hex()} with passphrase {self.network_passphrase!r} "
                    "(wrong network passphrase?)"
                )
            views.append(TxView(self, index, found[0], meta, tx_hash, found[1]))
        return views

    def transactions(self) -> list[TxView]:
        """Transactions in application order (the order of ``tx_processing``)."""
        return self._transactions


class TxView:
    """One applied transaction: envelope, result and meta, matched by hash."""

    def __init__(
        self,
        ledger: LedgerView,
        index: int,
        envelope: sx.TransactionEnvelope,
        result_meta: sx.TransactionResultMeta | sx.TransactionResultMetaV1,
        tx_hash: bytes,
        inner_hash: bytes | None = None,
    ) -> None:
        self.ledger = ledger
        #: 1-based application order, as in stellar-etl's TOID.
        self.index = index
        self.envelope = envelope
        self.result_meta = result_meta
        self.hash_bytes = tx_hash
        self.inner_hash_bytes = inner_hash

    @property
    def hash(self) -> str:
        return self.hash_bytes.hex()

    @property
    def inner_hash(self) -> str | None:
        """Hash of the inner transaction of a fee bump."""
        return self.inner_hash_bytes.hex() if self.inner_hash_bytes is not None else None

    @property
    def is_fee_bump(self) -> bool:
        return self.envelope.type.value == _ENV_FEE_BUMP

    @property
    def tx(self) -> AnyTransaction:
        """The transaction that carries the operations (the inner one for fee bumps)."""
        env = self.envelope
        if env.v1 is not None:
            return env.v1.tx
        if env.fee_bump is not None:
            inner = env.fee_bump.tx.inner_tx.v1
            assert inner is not None
            return inner.tx
        assert env.v0 is not None
        return env.v0.tx

    @property
    def result_pair(self) -> sx.TransactionResultPair:
        return self.result_meta.result

    @property
    def result(self) -> sx.TransactionResult:
        """The outer ``TransactionResult`` (its fee is what the fee account paid)."""
        return self.result_meta.result.result

    @property
    def inner_result(self) -> sx.InnerTransactionResult | None:
        """The inner transaction's result for fee bumps, else ``None``."""
        pair = self.result.result.inner_result_pair
        return pair.result if pair is not None else None

    @property
    def result_code(self) -> int:
        """``TransactionResultCode`` value of the inner result for fee bumps, else the outer."""
        inner = self.inner_result
        return (inner.result.code if inner is not None else self.result.result.code).value

    @property
    def meta(self) -> sx.TransactionMeta:
        return self.result_meta.tx_apply_processing

    @property
    def meta_version(self) -> int:
        return self.meta.v

    @property
    def fee_changes(self) -> sx.LedgerEntryChanges:
        return self.result_meta.fee_processing

    @property
    def post_apply_fee_changes(self) -> sx.LedgerEntryChanges | None:
        """Fee refunds applied after the transaction (LCM V2 only)."""
        return getattr(self.result_meta, "post_tx_apply_fee_processing", None)

    @property
    def successful(self) -> bool:
        return self.result.result.code.value in _SUCCESS_CODES

    @property
    def fee_charged(self) -> int:
        """Stroops charged to the fee account (outer result)."""
        return self.result.fee_charged.int64

    @cached_property
    def _source(self) -> Account:
        tx = self.tx
        if isinstance(tx, sx.TransactionV0):
            return Account(ed25519(tx.source_account_ed25519.uint256))
        return muxed_account(tx.source_account)

    @property
    def source_account(self) -> str:
        """``G…`` source of the (inner) transaction."""
        return self._source.account

    @property
    def source_account_muxed(self) -> str | None:
        """``M…`` source when muxed, else ``None``."""
        return self._source.muxed

    @cached_property
    def _fee_source(self) -> Account | None:
        env = self.envelope
        return muxed_account(env.fee_bump.tx.fee_source) if env.fee_bump is not None else None

    @property
    def fee_account(self) -> str | None:
        """``G…`` fee payer of a fee bump, else ``None``."""
        return self._fee_source.account if self._fee_source else None

    @property
    def fee_account_muxed(self) -> str | None:
        return self._fee_source.muxed if self._fee_source else None

    @property
    def max_fee(self) -> int:
        """The (inner) transaction's fee bid, as stellar-etl's ``max_fee``."""
        return self.tx.fee.uint32

    @property
    def fee_bump_fee(self) -> int | None:
        """The fee bump's fee bid (stellar-etl ``new_max_fee``), else ``None``."""
        env = self.envelope
        return env.fee_bump.tx.fee.int64 if env.fee_bump is not None else None

    @property
    def sequence_number(self) -> int:
        return self.tx.seq_num.sequence_number.int64

    @property
    def operations(self) -> list[sx.Operation]:
        return self.tx.operations

    @property
    def operation_results(self) -> list[sx.OperationResult] | None:
        """Per-operation results (``None`` when the transaction failed before applying them)."""
        inner = self.inner_result
        return inner.result.results if inner is not None else self.result.result.results

    @property
    def memo(self) -> sx.Memo:
        return self.tx.memo

    @property
    def memo_type(self) -> str:
        """``none``, ``text``, ``id``, ``hash`` or ``return`` (Horizon names)."""
        return _MEMO_TYPES[self.memo.type.value]

    @property
    def memo_value(self) -> str | None:
        """Horizon-style memo: text as UTF-8, id as decimal, hash/return as base64."""
        memo = self.memo
        kind = memo.type.value
        if kind == 1:
            assert memo.text is not None
            return memo.text.decode("utf-8", errors="replace")
        if kind == 2:
            assert memo.id is not None
            return str(memo.id.uint64)
        if kind == 3:
            assert memo.hash is not None
            return base64.b64encode(memo.hash.hash).decode()
        if kind == 4:
            assert memo.ret_hash is not None
            return base64.b64encode(memo.ret_hash.hash).decode()
        return None

    @property
    def soroban_data(self) -> sx.SorobanTransactionData | None:
        tx = self.tx
        if isinstance(tx, sx.Transaction) and tx.ext.v == 1:
            return tx.ext.soroban_data
        return None

    @property
    def is_soroban(self) -> bool:
        """True when the transaction carries ``SorobanTransactionData``."""
        return self.soroban_data is not None

    def __repr__(self) -> str:
        return f"TxView(ledger={self.ledger.sequence}, index={self.index}, hash={self.hash})"
