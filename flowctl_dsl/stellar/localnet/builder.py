"""Closing a ledger: charge fees, apply transactions, and assemble ``LedgerCloseMeta`` V2 XDR.

The order follows stellar-core at protocol 23: every fee is charged first (``feeProcessing``),
then each transaction bumps its sequence number (``txChangesBefore``) and applies its operations
atomically (a failed transaction keeps its fee, sequence bump and per-op failure codes but no op
meta). Classic transactions apply before Soroban ones; Soroban refunds come after all of them
(``postTxApplyFeeProcessing``). The tx set lists envelopes sorted by hash, as core requires;
``txProcessing`` is in application order.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from stellar_sdk import FeeBumpTransactionEnvelope, Keypair, TransactionEnvelope
from stellar_sdk import xdr as sx

from flowctl_dsl.stellar.localnet import events as ev
from flowctl_dsl.stellar.localnet.engine import (
    OpContext,
    OpFailed,
    apply_operation,
    muxed_to_account,
)
from flowctl_dsl.stellar.localnet.state import (
    BASE_FEE,
    BASE_RESERVE,
    Account,
    LedgerState,
    View,
    network_id,
    state_updated_pair,
)

PROTOCOL_VERSION = 23
#: 2025-01-01T00:00:00Z; ledger ``n`` closes at ``EPOCH + 5 n`` seconds.
EPOCH = 1_735_689_600
CLOSE_INTERVAL = 5
MAX_TX_SET_SIZE = 1000
_ZERO = bytes(32)
_SKIPS = (50, 5000, 50000, 500000)


def close_time(seq: int) -> int:
    return EPOCH + CLOSE_INTERVAL * seq


@dataclass
class SorobanApply:
    """How a Soroban transaction applies: resource fee split and the host-function handler."""

    resource_fee: int
    non_refundable: int
    refundable_charged: int
    rent: int
    apply: Callable[[OpContext, sx.Operation], tuple[sx.OperationResult, sx.SCVal]]


@dataclass
class PlannedTx:
    """One signed envelope with what the ledger close needs to know about it."""

    envelope: sx.TransactionEnvelope
    hash: bytes
    tx: sx.Transaction
    source: str
    fee_source: str
    inner_hash: bytes | None = None
    soroban: SorobanApply | None = None

    @classmethod
    def of(
        cls,
        env: TransactionEnvelope | FeeBumpTransactionEnvelope,
        soroban: SorobanApply | None = None,
    ) -> PlannedTx:
        if isinstance(env, FeeBumpTransactionEnvelope):
            inner = env.transaction.inner_transaction_envelope
            tx = inner.transaction.to_xdr_object()
            assert isinstance(tx, sx.Transaction)
            fee_source = muxed_to_account(env.transaction.fee_source.to_xdr_object())
            return cls(
                env.to_xdr_object(),
                env.hash(),
                tx,
                muxed_to_account(tx.source_account),
                fee_source,
                inner.hash(),
                soroban,
            )
        tx = env.transaction.to_xdr_object()
        assert isinstance(tx, sx.Transaction)
        source = muxed_to_account(tx.source_account)
        return cls(env.to_xdr_object(), env.hash(), tx, source, source, None, soroban)

    @property
    def fee_bump(self) -> bool:
        return self.inner_hash is not None

    def inclusion_fee(self) -> int:
        return BASE_FEE * (len(self.tx.operations) + (1 if self.fee_bump else 0))

    def fee_charged_upfront(self) -> int:
        """Fee taken before any transaction applies (a Soroban tx pays its full resource fee)."""
        return self.inclusion_fee() + (self.soroban.resource_fee if self.soroban else 0)


@dataclass
class Chain:
    """Header chain state carried from ledger to ledger."""

    previous_hash: bytes
    skip_list: list[bytes] = field(default_factory=lambda: [_ZERO] * 4)


def genesis(state: LedgerState, root: str, validator: Keypair, passphrase: str) -> Chain:
    """Ledger 1: the root account holds every coin; returns the chain to close ledger 2 on."""
    state.entries[("account", root)] = Account(root, state.total_coins, 1 << 32, last_modified=1)
    empty = hashlib.sha256(b"localnet-genesis-tx-set").digest()
    header = _header(
        seq=1,
        previous_hash=_ZERO,
        tx_set_hash=empty,
        result_hash=hashlib.sha256(sx.TransactionResultSet([]).to_xdr_bytes()).digest(),
        state=state,
        skip_list=[_ZERO] * 4,
        validator=validator,
        passphrase=passphrase,
    )
    return Chain(previous_hash=hashlib.sha256(header.to_xdr_bytes()).digest())


def close_ledger(
    state: LedgerState,
    chain: Chain,
    seq: int,
    txs: list[PlannedTx],
    validator: Keypair,
    passphrase: str,
) -> sx.LedgerCloseMeta:
    """Apply ``txs`` (classic first, then Soroban, each in the given order) and seal ledger ``seq``."""
    ordered = [t for t in txs if t.soroban is None] + [t for t in txs if t.soroban is not None]
    fee_changes = [_charge_fee(state, t, seq) for t in ordered]
    processing = []
    for t, fees in zip(ordered, fee_changes, strict=True):
        processing.append(_apply(state, t, seq, fees, passphrase))
    for t, meta in zip(ordered, processing, strict=True):
        if t.soroban is not None:
            _refund(state, t, seq, meta, passphrase)

    classic = sorted((t for t in ordered if t.soroban is None), key=lambda t: t.hash)
    soroban = sorted((t for t in ordered if t.soroban is not None), key=lambda t: t.hash)
    tx_set = _tx_set(chain.previous_hash, classic, soroban)
    tx_set_hash = hashlib.sha256(tx_set.to_xdr_bytes()).digest()
    results = sx.TransactionResultSet([m.result for m in processing])
    result_hash = hashlib.sha256(results.to_xdr_bytes()).digest()
    header = _header(
        seq=seq,
        previous_hash=chain.previous_hash,
        tx_set_hash=tx_set_hash,
        result_hash=result_hash,
        state=state,
        skip_list=chain.skip_list,
        validator=validator,
        passphrase=passphrase,
    )
    header_hash = hashlib.sha256(header.to_xdr_bytes()).digest()
    chain.previous_hash = header_hash
    chain.skip_list = [h.hash for h in header.skip_list]
    live_bytes = sum(len(e.to_xdr().to_xdr_bytes()) for e in state.contract_data())
    lcm = sx.LedgerCloseMetaV2(
        ext=sx.LedgerCloseMetaExt(v=0),
        ledger_header=sx.LedgerHeaderHistoryEntry(
            hash=sx.Hash(header_hash), header=header, ext=sx.LedgerHeaderHistoryEntryExt(v=0)
        ),
        tx_set=tx_set,
        tx_processing=processing,
        upgrades_processing=[],
        scp_info=[],
        total_byte_size_of_live_soroban_state=sx.Uint64(live_bytes),
        evicted_keys=[],
    )
    return sx.LedgerCloseMeta(v=2, v2=lcm)


def _charge_fee(state: LedgerState, t: PlannedTx, seq: int) -> list[sx.LedgerEntryChange]:
    view = View(state, seq)
    payer = view.account(t.fee_source)
    fee = t.fee_charged_upfront()
    assert payer is not None and payer.balance >= fee, f"{t.fee_source} cannot pay {fee}"
    view.put(replace(payer, balance=payer.balance - fee))
    changes = view.changes()
    view.commit()
    state.fee_pool += fee
    return changes


def _apply(
    state: LedgerState,
    t: PlannedTx,
    seq: int,
    fee_changes: list[sx.LedgerEntryChange],
    passphrase: str,
) -> sx.TransactionResultMetaV1:
    before: list[sx.LedgerEntryChange] = []
    if t.fee_bump:
        payer = state.get(("account", t.fee_source))
        assert payer is not None
        before.extend(state_updated_pair(payer, payer))
    bump = View(state, seq)
    src = bump.account(t.source)
    tx_seq = t.tx.seq_num.sequence_number.int64
    assert src is not None and src.seq_num + 1 == tx_seq, f"bad seq for {t.source}"
    bump.put(replace(src, seq_num=tx_seq, ext_level=3, seq_ledger=seq, seq_time=close_time(seq)))
    before.extend(bump.changes())
    bump.commit()

    ops_view = View(state, seq)
    id_box = [state.id_pool]
    results: list[sx.OperationResult] = []
    op_metas: list[sx.OperationMetaV2] = []
    failed = False
    return_value: sx.SCVal | None = None
    for op in t.tx.operations:
        op_src = muxed_to_account(op.source_account) if op.source_account else t.source
        view = View(ops_view, seq)
        ctx = OpContext(view, op_src, passphrase, seq, id_box, memo=t.tx.memo)
        try:
            if t.soroban is not None:
                res, return_value = t.soroban.apply(ctx, op)
            else:
                res = apply_operation(ctx, op)
        except OpFailed as e:
            results.append(e.result)
            failed = True
            continue
        results.append(res)
        changes = sx.LedgerEntryChanges(view.changes())
        op_metas.append(
            sx.OperationMetaV2(ext=sx.ExtensionPoint(0), changes=changes, events=ctx.events)
        )
        view.commit()
    if failed:
        op_metas = []
    else:
        ops_view.commit()
        state.id_pool = id_box[0]

    code = sx.TransactionResultCode.txFAILED if failed else sx.TransactionResultCode.txSUCCESS
    fee = t.fee_charged_upfront()
    soroban_meta = None
    if t.soroban is not None:
        s = t.soroban
        fee = t.inclusion_fee() + s.non_refundable + s.refundable_charged + s.rent
        soroban_meta = sx.SorobanTransactionMetaV2(
            ext=sx.SorobanTransactionMetaExt(
                v=1,
                v1=sx.SorobanTransactionMetaExtV1(
                    ext=sx.ExtensionPoint(0),
                    total_non_refundable_resource_fee_charged=sx.Int64(s.non_refundable),
                    total_refundable_resource_fee_charged=sx.Int64(s.refundable_charged + s.rent),
                    rent_fee_charged=sx.Int64(s.rent),
                ),
            ),
            return_value=return_value if not failed else None,
        )
    if t.fee_bump:
        assert t.inner_hash is not None
        inner = sx.InnerTransactionResult(
            fee_charged=sx.Int64(0),
            result=sx.InnerTransactionResultResult(code=code, results=results),
            ext=sx.InnerTransactionResultExt(v=0),
        )
        outer_code = (
            sx.TransactionResultCode.txFEE_BUMP_INNER_FAILED
            if failed
            else sx.TransactionResultCode.txFEE_BUMP_INNER_SUCCESS
        )
        result = sx.TransactionResultResult(
            code=outer_code,
            inner_result_pair=sx.InnerTransactionResultPair(
                transaction_hash=sx.Hash(t.inner_hash), result=inner
            ),
        )
    else:
        result = sx.TransactionResultResult(code=code, results=results)
    pair = sx.TransactionResultPair(
        transaction_hash=sx.Hash(t.hash),
        result=sx.TransactionResult(
            fee_charged=sx.Int64(fee), result=result, ext=sx.TransactionResultExt(v=0)
        ),
    )
    meta = sx.TransactionMetaV4(
        ext=sx.ExtensionPoint(0),
        tx_changes_before=sx.LedgerEntryChanges(before),
        operations=op_metas,
        tx_changes_after=sx.LedgerEntryChanges([]),
        soroban_meta=soroban_meta,
        events=[ev.fee_event(t.fee_source, t.fee_charged_upfront(), passphrase, stage=0)],
        diagnostic_events=[],
    )
    return sx.TransactionResultMetaV1(
        ext=sx.ExtensionPoint(0),
        result=pair,
        fee_processing=sx.LedgerEntryChanges(fee_changes),
        tx_apply_processing=sx.TransactionMeta(v=4, v4=meta),
        post_tx_apply_fee_processing=sx.LedgerEntryChanges([]),
    )


def _refund(
    state: LedgerState, t: PlannedTx, seq: int, meta: sx.TransactionResultMetaV1, passphrase: str
) -> None:
    """Return the unused refundable resource fee after all transactions (protocol 23 stage)."""
    fee_charged = meta.result.result.fee_charged.int64
    refund = t.fee_charged_upfront() - fee_charged
    if refund <= 0:
        return
    view = View(state, seq)
    payer = view.account(t.fee_source)
    assert payer is not None
    view.put(replace(payer, balance=payer.balance + refund))
    meta.post_tx_apply_fee_processing = sx.LedgerEntryChanges(view.changes())
    view.commit()
    state.fee_pool -= refund
    v4 = meta.tx_apply_processing.v4
    assert v4 is not None
    v4.events.append(ev.fee_event(t.fee_source, -refund, passphrase, stage=2))


def _tx_set(
    previous_hash: bytes, classic: list[PlannedTx], soroban: list[PlannedTx]
) -> sx.GeneralizedTransactionSet:
    components = []
    if classic:
        components.append(
            sx.TxSetComponent(
                type=sx.TxSetComponentType.TXSET_COMP_TXS_MAYBE_DISCOUNTED_FEE,
                txs_maybe_discounted_fee=sx.TxSetComponentTxsMaybeDiscountedFee(
                    base_fee=sx.Int64(BASE_FEE), txs=[t.envelope for t in classic]
                ),
            )
        )
    stages = []
    if soroban:
        cluster = sx.DependentTxCluster([t.envelope for t in soroban])
        stages.append(sx.ParallelTxExecutionStage([cluster]))
    parallel = sx.ParallelTxsComponent(
        base_fee=sx.Int64(BASE_FEE) if soroban else None, execution_stages=stages
    )
    phases = [
        sx.TransactionPhase(v=0, v0_components=components),
        sx.TransactionPhase(v=1, parallel_txs_component=parallel),
    ]
    return sx.GeneralizedTransactionSet(
        v=1,
        v1_tx_set=sx.TransactionSetV1(previous_ledger_hash=sx.Hash(previous_hash), phases=phases),
    )


def _skip_list(seq: int, previous: list[bytes], bucket_list_hash: bytes) -> list[bytes]:
    """stellar-core's skip list: every 50 ledgers, shift in the bucket list hash."""
    skip = list(previous)
    s1, s2, s3, s4 = _SKIPS
    if seq % s1 == 0:
        v = seq - s1
        if v > 0 and v % s2 == 0:
            v = seq - s2 - s1
            if v > 0 and v % s3 == 0:
                v = seq - s3 - s2 - s1
                if v > 0 and v % s4 == 0:
                    skip[3] = skip[2]
                skip[2] = skip[1]
            skip[1] = skip[0]
        skip[0] = bucket_list_hash
    return skip


def _header(
    *,
    seq: int,
    previous_hash: bytes,
    tx_set_hash: bytes,
    result_hash: bytes,
    state: LedgerState,
    skip_list: list[bytes],
    validator: Keypair,
    passphrase: str,
) -> sx.LedgerHeader:
    ct = close_time(seq)
    signed = (
        network_id(passphrase)
        + struct.pack(">i", sx.EnvelopeType.ENVELOPE_TYPE_SCPVALUE.value)
        + tx_set_hash
        + struct.pack(">Q", ct)
    )
    signature = sx.LedgerCloseValueSignature(
        node_id=sx.NodeID(validator.xdr_account_id().account_id),
        signature=sx.Signature(validator.sign(hashlib.sha256(signed).digest())),
    )
    # Not a real bucket list: a deterministic digest standing in for it.
    bucket_list_hash = hashlib.sha256(
        b"localnet-bucket-list" + previous_hash + result_hash
    ).digest()
    return sx.LedgerHeader(
        ledger_version=sx.Uint32(PROTOCOL_VERSION),
        previous_ledger_hash=sx.Hash(previous_hash),
        scp_value=sx.StellarValue(
            tx_set_hash=sx.Hash(tx_set_hash),
            close_time=sx.TimePoint(sx.Uint64(ct)),
            upgrades=[],
            ext=sx.StellarValueExt(
                v=sx.StellarValueType.STELLAR_VALUE_SIGNED, lc_value_signature=signature
            ),
        ),
        tx_set_result_hash=sx.Hash(result_hash),
        bucket_list_hash=sx.Hash(bucket_list_hash),
        ledger_seq=sx.Uint32(seq),
        total_coins=sx.Int64(state.total_coins),
        fee_pool=sx.Int64(state.fee_pool),
        inflation_seq=sx.Uint32(0),
        id_pool=sx.Uint64(state.id_pool),
        base_fee=sx.Uint32(BASE_FEE),
        base_reserve=sx.Uint32(BASE_RESERVE),
        max_tx_set_size=sx.Uint32(MAX_TX_SET_SIZE),
        skip_list=[sx.Hash(h) for h in _skip_list(seq, skip_list, bucket_list_hash)],
        ext=sx.LedgerHeaderExt(v=0),
    )
