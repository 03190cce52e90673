"""localnet ledgers: determinism, decodability, hashes, chain, consistent meta, events and lake."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import zstandard
from localnet_replay import Replay
from stellar_sdk import xdr as sx

from flowctl_dsl.stellar.lake import LakeSchema
from flowctl_dsl.stellar.localnet import NETWORK_PASSPHRASE, generate_lake, iter_ledgers
from flowctl_dsl.stellar.localnet.builder import EPOCH
from flowctl_dsl.stellar.localnet.scenario import network_root
from flowctl_dsl.stellar.localnet.state import TOTAL_COINS, asset_contract_id

END = 41


@pytest.fixture(scope="module")
def ledgers():
    return list(iter_ledgers(2, END))


@pytest.fixture(scope="module")
def decoded(ledgers):
    return [sx.LedgerCloseMeta.from_xdr_bytes(r.xdr) for r in ledgers]


def _op_results(tp: sx.TransactionResultMetaV1) -> list[sx.OperationResult]:
    r = tp.result.result.result
    if r.inner_result_pair is not None:
        return r.inner_result_pair.result.result.results
    return r.results


def _inner(result: sx.OperationResult):
    tr = result.tr
    return next(getattr(tr, k) for k in vars(tr) if k.endswith("_result") and getattr(tr, k))


def test_same_seed_same_bytes(ledgers):
    again = list(iter_ledgers(2, END))
    assert [r.xdr for r in again] == [r.xdr for r in ledgers]


def test_sub_range_is_a_slice_of_a_longer_run(ledgers):
    part = list(iter_ledgers(17, 23))
    assert [r.sequence for r in part] == list(range(17, 24))
    assert [r.xdr for r in part] == [r.xdr for r in ledgers[15:22]]


def test_other_seed_other_ledgers(ledgers):
    other = list(iter_ledgers(2, 6, seed=1))
    assert [r.xdr for r in other] != [r.xdr for r in ledgers[:5]]


def test_bad_ranges_raise():
    with pytest.raises(ValueError):
        next(iter_ledgers(1, 5))
    with pytest.raises(ValueError):
        next(iter_ledgers(10, 9))


def test_every_ledger_decodes_as_v2_protocol_23(ledgers, decoded):
    assert [r.sequence for r in ledgers] == list(range(2, END + 1))
    for raw, lcm in zip(ledgers, decoded, strict=True):
        assert raw.network_passphrase == NETWORK_PASSPHRASE
        assert lcm.v == 2
        header = lcm.v2.ledger_header.header
        assert header.ledger_seq.uint32 == raw.sequence
        assert header.ledger_version.uint32 == 23
        assert header.scp_value.close_time.time_point.uint64 == EPOCH + 5 * raw.sequence
        assert lcm.to_xdr_bytes() == raw.xdr
        phases = lcm.v2.tx_set.v1_tx_set.phases
        assert [p.v for p in phases] == [0, 1]
        for tp in lcm.v2.tx_processing:
            assert tp.tx_apply_processing.v == 4


def test_meta_replays_consistently_and_balances_are_conserved(decoded):
    """STATE entries equal the last known entry; XLM + fee pool = total coins; events = balances."""
    replay = Replay(NETWORK_PASSPHRASE)
    replay.event_balances[(network_root(NETWORK_PASSPHRASE).public_key, "native")] = TOTAL_COINS
    for lcm in decoded:
        header = replay.ledger(lcm)  # also checks tx hashes and the header hash chain
        balances = replay.balances()
        xlm = sum(v for (_, asset), v in balances.items() if asset == "native")
        assert xlm + header.fee_pool.int64 == header.total_coins.int64 == TOTAL_COINS
        for (account, asset), value in balances.items():
            assert replay.event_balances.get((account, asset), 0) == value, (account, asset)
        for (account, asset), value in replay.event_balances.items():
            if asset != "native" and asset.endswith(account):
                continue  # an issuer holds no trustline of its own asset
            assert balances.get((account, asset), 0) == value, (account, asset)
    assert replay.seen_state_of_unknown == 1  # only the genesis root account


def test_fee_pool_and_id_pool_track_the_ledgers(decoded):
    fee_pool = 0
    for lcm in decoded:
        for tp in lcm.v2.tx_processing:
            fee_pool += tp.result.result.fee_charged.int64
        header = lcm.v2.ledger_header.header
        assert header.fee_pool.int64 == fee_pool
    offers_created = sum(
        1
        for lcm in decoded
        for tp in lcm.v2.tx_processing
        for op in tp.tx_apply_processing.v4.operations
        for c in op.changes.ledger_entry_changes
        if c.type == sx.LedgerEntryChangeType.LEDGER_ENTRY_CREATED
        and c.created.data.type == sx.LedgerEntryType.OFFER
    )
    assert decoded[-1].v2.ledger_header.header.id_pool.uint64 == offers_created


def test_activity_covers_the_classic_mix(decoded):
    ops: Counter[tuple[str, str]] = Counter()
    tx_codes: Counter[str] = Counter()
    events: Counter[str] = Counter()
    claims = 0
    for lcm in decoded:
        for tp in lcm.v2.tx_processing:
            tx_codes[tp.result.result.result.code.name] += 1
            for res in _op_results(tp):
                inner = _inner(res)
                ops[(res.tr.type.name, inner.code.name.rsplit("_", 1)[-1])] += 1
                success = getattr(inner, "success", None)
                claims += len(
                    getattr(success, "offers", None)
                    or getattr(success, "offers_claimed", None)
                    or []
                )
            meta = tp.tx_apply_processing.v4
            for te in meta.events:
                name = te.event.body.v0.topics[0].sym.sc_symbol.decode()
                events[f"{name}/{te.stage.value}"] += 1
            for op in meta.operations:
                for e in op.events:
                    events[e.body.v0.topics[0].sym.sc_symbol.decode()] += 1
    for op_type in (
        "CREATE_ACCOUNT",
        "PAYMENT",
        "CHANGE_TRUST",
        "PATH_PAYMENT_STRICT_SEND",
        "PATH_PAYMENT_STRICT_RECEIVE",
        "MANAGE_SELL_OFFER",
        "MANAGE_BUY_OFFER",
    ):
        assert ops[(op_type, "SUCCESS")] > 0, op_type
    assert claims > 0
    assert tx_codes["txFEE_BUMP_INNER_SUCCESS"] > 0
    assert tx_codes["txFAILED"] + tx_codes["txFEE_BUMP_INNER_FAILED"] > 0
    failures = tx_codes["txFAILED"] + tx_codes["txFEE_BUMP_INNER_FAILED"]
    assert failures < 0.15 * sum(tx_codes.values())
    assert {"transfer", "mint", "burn"} <= set(events)
    assert ops[("INVOKE_HOST_FUNCTION", "SUCCESS")] > 2
    txs = sum(tx_codes.values())
    assert events["fee/0"] == txs  # every fee charged before all transactions
    assert events["fee/2"] > 0  # Soroban refunds after all transactions


def test_failed_transactions_keep_fee_and_sequence_but_no_op_meta(decoded):
    failed = [
        tp
        for lcm in decoded
        for tp in lcm.v2.tx_processing
        if tp.result.result.result.code.name in ("txFAILED", "txFEE_BUMP_INNER_FAILED")
    ]
    assert failed
    for tp in failed:
        meta = tp.tx_apply_processing.v4
        assert meta.operations == []
        assert len(meta.tx_changes_before.ledger_entry_changes) >= 2  # sequence bump
        assert tp.result.result.fee_charged.int64 > 0
        assert len(tp.fee_processing.ledger_entry_changes) == 2
        codes = [_inner(r).code.name for r in _op_results(tp)]
        assert any(not c.endswith("SUCCESS") for c in codes)


def test_txs_per_ledger_scales_activity():
    def count(n: int) -> int:
        return sum(
            len(sx.LedgerCloseMeta.from_xdr_bytes(r.xdr).v2.tx_processing)
            for r in iter_ledgers(6, 12, txs_per_ledger=n)
        )

    assert count(3) < count(20)


def _read_batch(path: Path) -> sx.LedgerCloseMetaBatch:
    data = zstandard.ZstdDecompressor().stream_reader(path.read_bytes()).read()
    return sx.LedgerCloseMetaBatch.from_xdr_bytes(data)


def test_generate_lake_default_layout(tmp_path, ledgers):
    summary = generate_lake(tmp_path, 5)
    assert summary["ledgers"] == 5 and summary["objects"] == 5
    assert summary["first"] == 2 and summary["last"] == 6
    manifest = json.loads((tmp_path / ".config.json").read_text())
    assert manifest == {
        "networkPassphrase": NETWORK_PASSPHRASE,
        "version": "1.0",
        "compression": "zstd",
        "ledgersPerBatch": 1,
        "batchesPerPartition": 64000,
    }
    schema = LakeSchema()
    assert schema.object_key(2) == "FFFFFFFF--0-63999/FFFFFFFD--2.xdr.zst"
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.xdr.zst"))
    assert written == sorted(schema.object_key(s) for s in range(2, 7))
    total = 0
    for seq in range(2, 7):
        batch = _read_batch(tmp_path / schema.object_key(seq))
        assert batch.start_sequence.uint32 == batch.end_sequence.uint32 == seq
        assert batch.ledger_close_metas[0].to_xdr_bytes() == ledgers[seq - 2].xdr
        total += len(batch.ledger_close_metas[0].v2.tx_processing)
    assert summary["transactions"] == total
    assert summary["operations"] >= total
    assert summary["bytes"] == sum(p.stat().st_size for p in tmp_path.rglob("*.xdr.zst"))


def test_generate_lake_batches_and_partitions(tmp_path, ledgers):
    summary = generate_lake(tmp_path, (3, 12), ledgers_per_file=4, files_per_partition=2)
    schema = LakeSchema(4, 2)
    assert summary["objects"] == 4  # 3 (of 0-3), 4-7, 8-11, 12 (of 12-15)
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.xdr.zst"))
    assert written == sorted({schema.object_key(s) for s in range(3, 13)})
    assert "FFFFFFFF--0-7/FFFFFFFF--0-3.xdr.zst" in written
    first = _read_batch(tmp_path / schema.object_key(3))
    assert (first.start_sequence.uint32, first.end_sequence.uint32) == (3, 3)
    middle = _read_batch(tmp_path / schema.object_key(5))
    assert (middle.start_sequence.uint32, middle.end_sequence.uint32) == (4, 7)
    assert [m.to_xdr_bytes() for m in middle.ledger_close_metas] == [r.xdr for r in ledgers[2:6]]
    manifest = json.loads((tmp_path / ".config.json").read_text())
    assert (manifest["ledgersPerBatch"], manifest["batchesPerPartition"]) == (4, 2)


def test_soroban_phase_and_stellar_asset_contract_events(decoded):
    """SAC deploys at ledger 5, then SAC calls sit in the parallel Soroban phase with refunds."""
    seen_calls = 0
    for lcm in decoded:
        v2 = lcm.v2
        phase = v2.tx_set.v1_tx_set.phases[1].parallel_txs_component
        in_phase = sum(
            len(c.dependent_tx_cluster)
            for stage in phase.execution_stages
            for c in stage.parallel_tx_execution_stage
        )
        soroban = [tp for tp in v2.tx_processing if tp.tx_apply_processing.v4.soroban_meta]
        assert in_phase == len(soroban)
        # classic transactions apply first, Soroban ones after them
        kinds = [tp.tx_apply_processing.v4.soroban_meta is not None for tp in v2.tx_processing]
        assert kinds == sorted(kinds)
        seq = v2.ledger_header.header.ledger_seq.uint32
        assert (v2.total_byte_size_of_live_soroban_state.uint64 > 0) == (seq >= 5)
        for tp in soroban:
            meta = tp.tx_apply_processing.v4
            charged, refund = (te.event.body.v0.data.i128.lo.uint64 for te in meta.events)
            assert [te.stage.value for te in meta.events] == [0, 2]
            assert charged + (refund - 2**64) == tp.result.result.fee_charged.int64
            assert len(tp.post_tx_apply_fee_processing.ledger_entry_changes) == 2
            for op in meta.operations:
                for event in op.events:
                    seen_calls += 1
                    asset = event.body.v0.topics[-1].str.sc_string.decode()
                    cid = asset_contract_id(asset, NETWORK_PASSPHRASE)
                    assert event.contract_id.contract_id.hash == cid
    assert seen_calls > 2
