"""trades, contract_data, contract_invocations and ledger_changes: counts and cross-checks on
the fixture ledgers."""

from __future__ import annotations

import base64
from collections import Counter, defaultdict
from collections.abc import Callable

import pytest
from stellar_sdk import scval
from stellar_sdk import xdr as sx
from stellar_sdk.strkey import StrKey

from flowctl_dsl.catalog.event_processors import LedgerChangesParams
from flowctl_dsl.stellar.accounts import account_id
from flowctl_dsl.stellar.assets import asset_parts
from flowctl_dsl.stellar.ledger import LedgerView
from flowctl_dsl.transforms.processors import (
    contract_data,
    contract_invocations,
    ledger_changes,
    token_transfers,
    trades,
)
from flowctl_dsl.transforms.processors.scval import pool_strkey

LoadLedgers = Callable[..., list[LedgerView]]

TRADE_LEDGERS = [
    ("pubnet/FCD285FF--53312000.xdr.zstd", 0, 29),
    ("pubnet/ttp/revoke-trustline-ledger-56065483", 0, 30),  # + 1 zero claim skipped
    ("pubnet/ttp-ledgers-base64.txt", 2, 2),  # 26154623
    ("pubnet/ttp-ledgers-base64.txt", 3, 333),  # 46154623, + 4 zero claims skipped
    ("pubnet/ttp-ledgers-base64.txt", 4, 1),  # 36154623
]


@pytest.mark.parametrize("relative,index,count", TRADE_LEDGERS)
def test_trades_match_offer_and_pool_changes(
    relative: str, index: int, count: int, load_ledgers: LoadLedgers
) -> None:
    ledger = load_ledgers(relative, index + 1)[index]
    records = list(trades.records(ledger))
    assert len(records) == count
    txs = {tx.index: tx for tx in ledger.transactions()}
    by_op: defaultdict[tuple[int, int], list[dict]] = defaultdict(list)
    for r in records:
        by_op[r["transaction_index"], r["operation_index"]].append(r)
        assert r["base_amount_raw"] or r["counter_amount_raw"]
        if r["base_amount_raw"]:
            assert r["price"] == pytest.approx(r["counter_amount_raw"] / r["base_amount_raw"])
    for (tx_index, op_index), fills in by_op.items():
        changes = ledger_changes.operation_changes(txs[tx_index], op_index - 1)
        # each order-book fill changes the seller's offer; pool fills move the reserves
        offers = {}
        pools: defaultdict[tuple[str, str], int] = defaultdict(int)
        for c in changes:
            if c.entry_type == ledger_changes.OFFER and c.pre is not None:
                o = c.pre.data.offer
                after = c.post.data.offer.amount.int64 if c.post else 0
                offers[account_id(o.seller_id), o.offer_id.int64] = o.amount.int64 - after
            elif c.entry_type == ledger_changes.LIQUIDITY_POOL:
                pool = c.entry.data.liquidity_pool
                cp = pool.body.constant_product
                pre = c.pre.data.liquidity_pool.body.constant_product
                pid = pool_strkey(pool.liquidity_pool_id.pool_id.hash)
                pools[pid, asset_parts(cp.params.asset_a).canonical] += (
                    cp.reserve_a.int64 - pre.reserve_a.int64
                )
                pools[pid, asset_parts(cp.params.asset_b).canonical] += (
                    cp.reserve_b.int64 - pre.reserve_b.int64
                )
        sold: defaultdict[tuple[str, str], int] = defaultdict(int)
        for f in fills:
            if f["trade_type"] == "orderbook":
                # the offer shrinks by what it sold (more when core rounds the remainder away)
                assert offers[f["seller"], f["seller_offer_id"]] >= f["base_amount_raw"]
            else:
                sold[f["seller"], f["base_asset"]] -= f["base_amount_raw"]
                sold[f["seller"], f["counter_asset"]] += f["counter_amount_raw"]
        assert {k: v for k, v in sold.items() if v} == {k: v for k, v in pools.items() if v}
    # every fill is a pair of token movements in the same operation
    movements = Counter(
        (r["transaction_index"], r["operation_index"])
        for r in token_transfers.records(ledger)
        if r["operation_index"] is not None
    )
    for key, fills in by_op.items():
        assert movements[key] >= 2 * len(fills)


def test_contract_data_sac_balances(load_ledgers: LoadLedgers) -> None:
    ledger = load_ledgers("standalone/galexie-load-test-ledgers-v23-standalone.xdr.zstd", 2)[1]
    records = list(contract_data.records(ledger))
    assert len(records) == 500
    assert {(r["change_type"], r["durability"], r["is_instance"]) for r in records} == {
        ("created", "persistent", False)
    }
    assert all(
        r["balance_holder"].startswith("C") and r["balance_raw"] == 10_000_000 for r in records
    )
    # the contracts that received SAC transfers are exactly the new balance holders
    to_contracts = {
        r["to"]
        for r in token_transfers.records(ledger)
        if r["event_type"] == "transfer" and r["to"].startswith("C")
    }
    assert {r["balance_holder"] for r in records} == to_contracts


def test_contract_data_oracle_update(load_ledgers: LoadLedgers) -> None:
    (ledger,) = load_ledgers("pubnet/FCD285FF--53312000.xdr.zstd")
    records = list(contract_data.records(ledger))
    assert Counter((r["change_type"], r["is_instance"]) for r in records) == {
        ("created", False): 9,
        ("updated", True): 1,
    }
    assert {r["contract_id"] for r in records} == {
        "CALI2BYU2JE6WVRUFYTS6MSBNEHGJ35P4AVCZYF3B6QOE3QKOB2PLE6M"
    }
    assert all(r["balance_holder"] is None and r["asset"] is None for r in records)


@pytest.mark.parametrize(
    "relative,index,count,function",
    [
        ("standalone/galexie-load-test-ledgers-v23-standalone.xdr.zstd", 1, 100, "bulk_transfer"),
        ("standalone/horizon-load-test-ledgers-v22.xdr.zstd", 0, 100, "bulk_transfer"),
        ("pubnet/FCD285FF--53312000.xdr.zstd", 0, 1, "set_price"),
        ("pubnet/ttp/revoke-trustline-ledger-56065483", 0, 2, None),
    ],
)
def test_contract_invocations(
    relative: str, index: int, count: int, function: str | None, load_ledgers: LoadLedgers
) -> None:
    ledger = load_ledgers(relative, index + 1)[index]
    records = list(contract_invocations.records(ledger))
    assert len(records) == count
    for r in records:
        assert r["function_type"] == "invoke_contract" and r["contract_id"].startswith("C")
        assert (r["result_code"] == "success") == r["successful"] or r["result_code"] is None
        if r["successful"]:
            assert r["return_value"] is not None
    if function is not None:
        assert {r["function_name"] for r in records} == {function}


def test_created_contract_id_matches_the_asset_contract() -> None:
    preimage = sx.ContractIDPreimage(
        sx.ContractIDPreimageType.CONTRACT_ID_PREIMAGE_FROM_ASSET,
        from_asset=token_transfers.NATIVE_ASSET,
    )
    passphrase = "Public Global Stellar Network ; September 2015"
    assert contract_invocations.created_contract_id(
        preimage, passphrase
    ) == token_transfers.asset_contract_id(token_transfers.NATIVE_ASSET, passphrase)
    assert (
        token_transfers.asset_contract_id(token_transfers.NATIVE_ASSET, passphrase)
        == "CAS3J7GYLGXMF6TDJBBYYSE3HQ6BBSMLNUQ34T6TZMYMW2EVH34XOWMA"
    )


@pytest.mark.parametrize(
    "relative,index",
    [
        ("pubnet/ttp-ledgers-base64.txt", 3),
        ("pubnet/FCD285FF--53312000.xdr.zstd", 0),
        ("standalone/galexie-load-test-ledgers-v23-standalone.xdr.zstd", 0),
        ("standalone/galexie-load-test-ledgers-v23-standalone.xdr.zstd", 1),
    ],
)
def test_ledger_changes_cover_every_change(
    relative: str, index: int, load_ledgers: LoadLedgers
) -> None:
    ledger = load_ledgers(relative, index + 1)[index]
    raw = [
        c
        for tx in ledger.transactions()
        for _, _, g in ledger_changes.tx_change_groups(tx)
        for c in g
    ]
    raw += [
        c
        for u in getattr(ledger.body, "upgrades_processing", ())
        for c in u.changes.ledger_entry_changes
    ]
    records = list(ledger_changes.records(ledger))
    assert len(records) == len(raw)
    assert [r["change_type"] for r in records] == [
        ledger_changes.CHANGE_TYPE_NAMES[c.type.value] for c in raw
    ]
    states = sum(c.type.value == ledger_changes.STATE for c in raw)
    no_state = list(ledger_changes.records(ledger, LedgerChangesParams(include_state=False)))
    assert len(no_state) == len(raw) - states
    # an update's key is the key of the state before it; removed entries carry no entry
    for before, after in zip(records, records[1:], strict=False):
        if after["change_type"] in ("updated", "removed"):
            assert before["change_type"] in ("state", "restored")
            assert before["key_xdr"] == after["key_xdr"]
        if after["change_type"] == "removed":
            assert after["entry_xdr"] is None
    for r in records:
        key = sx.LedgerKey.from_xdr_bytes(base64.b64decode(r["key_xdr"]))
        assert ledger_changes.ENTRY_TYPE_NAMES[key.type.value] == r["entry_type"]
        if r["entry_type"] == "account":
            assert r["entry_id"] == r["account_id"]
    assert records and (
        index != 0
        or not relative.startswith("standalone")
        or {r["source"] for r in records} == {"upgrade"}
    )


def test_sac_instance_asset_and_balance_layout() -> None:
    issuer = "GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN"
    info = scval.to_vec(
        [
            scval.to_symbol("AlphaNum4"),
            scval.to_map(
                {
                    scval.to_symbol("asset_code"): scval.to_string("USDC"),
                    scval.to_symbol("issuer"): scval.to_bytes(
                        StrKey.decode_ed25519_public_key(issuer)
                    ),
                }
            ),
        ]
    )
    storage = sx.SCMap([sx.SCMapEntry(scval.to_vec([scval.to_symbol("AssetInfo")]), info)])
    instance = sx.SCVal(
        sx.SCValType.SCV_CONTRACT_INSTANCE,
        instance=sx.SCContractInstance(
            sx.ContractExecutable(sx.ContractExecutableType.CONTRACT_EXECUTABLE_STELLAR_ASSET),
            storage,
        ),
    )
    assert contract_data.sac_asset(instance) == f"USDC:{issuer}"
    native = sx.SCMap(
        [
            sx.SCMapEntry(
                scval.to_vec([scval.to_symbol("AssetInfo")]),
                scval.to_vec([scval.to_symbol("Native")]),
            )
        ]
    )
    instance.instance.storage = native  # type: ignore[union-attr]
    assert contract_data.sac_asset(instance) == "native"
    key = scval.to_vec([scval.to_symbol("Balance"), scval.to_address(issuer)])
    value = scval.to_map(
        {
            scval.to_symbol("amount"): scval.to_int128(-(2**100)),
            scval.to_symbol("authorized"): scval.to_bool(True),
            scval.to_symbol("clawback"): scval.to_bool(False),
        }
    )
    assert contract_data.sac_balance(key, value) == (issuer, -(2**100))
    assert contract_data.sac_balance(key, scval.to_int128(5)) is None
