"""Core processors: records conform to their declared schemas; values checked against the ledgers."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest
from stellar_sdk import xdr as sx

from flowctl_dsl.catalog.ledger_processors import SPECS, PaymentsParams
from flowctl_dsl.catalog.spec import Spec
from flowctl_dsl.stellar.accounts import account_id
from flowctl_dsl.stellar.ledger import LedgerView
from flowctl_dsl.stellar.toid import toid

SPEC = {s.name: s for s in SPECS}
T997 = "testnet/datalake-testbucket/FFFFFC1A--997.xdr.zstd"
T998 = "testnet/datalake-testbucket/FFFFFC19--998.xdr.zstd"
T999 = "testnet/datalake-testbucket/FFFFFC18--999.xdr.zstd"
P21 = "pubnet/FCD285FF--53312000.xdr.zstd"
SCHEMA_FILES = [
    T997,
    T998,
    T999,
    P21,
    "pubnet/ttp-ledgers-base64.txt",
    "pubnet/ttp/revoke-trustline-ledger-56065483",
    "pubnet/ttp/xlm-mint-bug-ledger-9652679",
    "pubnet/ttp/burn-ledger-7762802",
    "standalone/galexie-load-test-ledgers-v23-standalone.xdr.zstd",
]


def run(name: str, view: LedgerView, params: Any = None) -> list[dict[str, Any]]:
    spec = SPEC[name]
    return list(spec.load()(view, params if params is not None else spec.params()))


def one(name: str, ledger_views, file: str, params: Any = None) -> list[dict[str, Any]]:
    (view,) = ledger_views(file)
    return run(name, view, params)


def test_specs_are_consistent() -> None:
    assert [s.name for s in SPECS] == [
        "ledgers",
        "latest_ledger",
        "transactions",
        "operations",
        "payments",
    ]
    for spec in SPECS:
        assert spec.kind == "processor" and spec.input_type == "LedgerCloseMeta"
        assert spec.schema is not None and spec.primary_field in spec.schema.names
        assert set(spec.key_fields) <= set(spec.schema.names)
        assert callable(spec.load())
        for field in spec.schema:
            assert field.metadata and field.metadata[b"description"]
    assert SPEC["payments"].schema.field("amount").type == pa.decimal128(38, 7)
    aliases = {a for s in SPECS for a in s.aliases}
    assert {
        "latest-ledger",
        "ledger",
        "transaction",
        "operation",
        "payment",
        "filter_payments",
    } <= aliases


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
@pytest.mark.parametrize("file", SCHEMA_FILES)
def test_records_conform_to_schema(spec: Spec, file: str, ledger_views) -> None:
    assert spec.schema is not None
    names = set(spec.schema.names)
    required = [f.name for f in spec.schema if not f.nullable]
    for view in ledger_views(file):
        records = run(spec.name, view)
        for record in records:
            assert set(record) == names
            assert all(record[n] is not None for n in required), record
        table = pa.Table.from_pylist(records, schema=spec.schema)
        table.validate(full=True)
        assert table.to_pylist() == records
        keys = [tuple(r[k] for k in spec.key_fields) for r in records]
        assert len(set(keys)) == len(keys)


def test_ledgers_997(ledger_views) -> None:
    (record,) = one("ledgers", ledger_views, T997)
    assert record["sequence"] == 997 and record["ledger_id"] == 997 << 32
    assert (
        record["ledger_hash"] == "3f91d7251c41ac8d6efcab261c077e5af810ec8a531154b7806e470ed5ba323c"
    )
    assert record["previous_ledger_hash"].startswith("eb4744d3")
    assert record["closed_at"] == datetime(2024, 2, 6, 19, 0, 39, tzinfo=UTC)
    assert (record["transaction_count"], record["successful_transaction_count"]) == (7, 4)
    assert record["failed_transaction_count"] == 3
    assert (record["operation_count"], record["tx_set_operation_count"]) == (10, 10)
    assert record["successful_operation_count"] == 4
    assert (record["protocol_version"], record["base_fee"], record["base_reserve"]) == (
        20,
        100,
        5000000,
    )
    assert record["total_coins"] == 10**18 and record["lcm_version"] == 1
    (r998,) = one("ledgers", ledger_views, T998)
    assert (
        r998["transaction_count"],
        r998["successful_transaction_count"],
        r998["operation_count"],
    ) == (7, 2, 14)
    assert r998["fee_pool"] - record["fee_pool"] == 1400  # all fees of 998 go to the pool


def test_latest_ledger(ledger_views) -> None:
    (r997,) = one("latest_ledger", ledger_views, T997)
    assert (
        r997["transaction_count"],
        r997["successful_transaction_count"],
        r997["failed_transaction_count"],
    ) == (7, 4, 3)
    assert r997["operation_count"] == 10 and r997["total_fee_charged"] == 1000
    (r999,) = one("latest_ledger", ledger_views, T999)
    assert (r999["transaction_count"], r999["operation_count"], r999["total_fee_charged"]) == (
        3,
        7,
        700,
    )
    (p21,) = one("latest_ledger", ledger_views, P21)
    assert (
        p21["transaction_count"],
        p21["successful_transaction_count"],
        p21["operation_count"],
    ) == (163, 101, 234)
    assert p21["soroban_transaction_count"] == 1 and p21["total_soroban_fees"] > 0
    v23 = ledger_views("standalone/galexie-load-test-ledgers-v23-standalone.xdr.zstd")
    assert [run("latest_ledger", v)[0]["soroban_transaction_count"] for v in v23] == [0, 100, 100]


def test_transactions_997(ledger_views) -> None:
    records = one("transactions", ledger_views, T997)
    assert [r["transaction_index"] for r in records] == list(range(1, 8))
    assert [r["successful"] for r in records] == [True, False, False, False, True, True, True]
    assert [r["operation_count"] for r in records] == [1, 2, 2, 2, 1, 1, 1]
    second = records[1]
    assert (
        second["transaction_hash"]
        == "a1c91b0ba3023745aa599bf4c989649056d6c40ab49386cc1440ba80d336a5a5"
    )
    assert second["transaction_id"] == toid(997, 2)
    assert (second["memo_type"], second["memo"]) == ("text", "pspb:2181")
    assert (second["fee_charged"], second["max_fee"], second["result_code"]) == (
        200,
        2000000,
        "txFAILED",
    )
    assert records[0]["account"] == "GDB6H4XQL3PJ6PKD754FTXCDD2L3HQPWZ4PL7HENIVFV2N7VFUTOE2DF"
    assert not any(r["is_fee_bump"] or r["is_soroban"] for r in records)


def test_transactions_fee_bumps(ledger_views) -> None:
    bumps = [r for r in one("transactions", ledger_views, P21) if r["is_fee_bump"]]
    assert len(bumps) == 3
    for r in bumps:
        assert r["fee_account"] and r["inner_transaction_hash"] and r["new_max_fee"]
        assert r["result_code"] in ("txSUCCESS", "txFAILED") or r["result_code"].startswith("tx")


def test_operations(ledger_views) -> None:
    ops = one("operations", ledger_views, T997)
    assert [r["type"] for r in ops] == [
        "create_account",
        *["payment"] * 6,
        "change_trust",
        "set_options",
        "account_merge",
    ]
    assert [r["operation_index"] for r in ops[:4]] == [1, 1, 2, 1]
    assert ops[1]["operation_result_code"] == "PAYMENT_NO_DESTINATION" and not ops[1]["successful"]
    assert ops[0]["details"] == (
        '{"destination":"GAKONCKYJ7PRRKBZSWVPG3MURUNX4H44AB3CU2YGVKF2FD7KXJBB3XID",'
        '"starting_balance":"100000000000"}'
    )
    assert ops[0]["operation_id"] == toid(997, 1, 1) and ops[0]["type_code"] == 0
    assert [r["type"] for r in one("operations", ledger_views, T999)] == ["create_account"] * 2 + [
        "change_trust"
    ] * 5
    kinds = Counter(r["type"] for r in one("operations", ledger_views, P21))
    assert kinds == {
        "create_claimable_balance": 54,
        "manage_buy_offer": 53,
        "manage_sell_offer": 47,
        "path_payment_strict_receive": 39,
        "path_payment_strict_send": 24,
        "payment": 9,
        "change_trust": 4,
        "claim_claimable_balance": 3,
        "invoke_host_function": 1,
    }
    ids = [
        r["operation_id"]
        for v in ledger_views("pubnet/ttp-ledgers-base64.txt")
        for r in run("operations", v)
    ]
    assert len(ids) == 1162


def _native_deltas(view: LedgerView, tx_index: int, op_index: int) -> dict[str, int]:
    """Native balance change per account made by one operation (from its ledger-entry changes)."""
    meta = view.transactions()[tx_index - 1].meta
    body = meta.v3 or meta.v2 or meta.v4
    before: dict[str, int] = {}
    after: dict[str, int] = {}
    for change in body.operations[op_index - 1].changes.ledger_entry_changes:
        kind = change.type
        entry = change.state or change.updated or change.created
        if entry is not None and entry.data.account is not None:
            key = account_id(entry.data.account.account_id)
            balance = entry.data.account.balance.int64
            target = before if kind == sx.LedgerEntryChangeType.LEDGER_ENTRY_STATE else after
            target[key] = balance
            if kind == sx.LedgerEntryChangeType.LEDGER_ENTRY_CREATED:
                before[key] = 0
        elif change.removed is not None and change.removed.account is not None:
            after[account_id(change.removed.account.account_id)] = 0
    return {k: after.get(k, before.get(k, 0)) - before.get(k, 0) for k in before | after}


def test_payments_997(ledger_views) -> None:
    (view,) = ledger_views(T997)
    pays = run("payments", view)
    assert [r["type"] for r in pays] == ["create_account", *["payment"] * 6, "account_merge"]
    create, merge = pays[0], pays[-1]
    assert create["to"] == "GAKONCKYJ7PRRKBZSWVPG3MURUNX4H44AB3CU2YGVKF2FD7KXJBB3XID"
    assert (create["amount"], create["amount_raw"], create["asset"]) == (
        Decimal("10000.0000000"),
        10**11,
        "native",
    )
    assert merge["from"] == "GAF4PWQIUNHAT5PZPLZRPU3N2OOP2AM2ZNE7RZE7MZPACZPQAQAQSXE5"
    assert merge["to"] == "GBFAIH5WKAJQ77NG6BZG7TGVGXHPX4SQLIJ7BENJMCVCZSUZPSISCLU5"
    assert merge["amount_raw"] == 99999999900 and merge["amount"] == Decimal("9999.9999900")
    assert _native_deltas(view, 7, 1)[merge["to"]] == merge["amount_raw"]
    assert _native_deltas(view, 1, 1)[create["to"]] == create["amount_raw"]
    failed = pays[1]
    assert not failed["successful"] and failed["asset_code"] == "ATUAH"
    assert failed["asset_type"] == "credit_alphanum12" and failed["amount"] == Decimal("11")
    assert failed["asset"] == "ATUAH:GBT4VVTDPCNA45MNWX5G6LUTLIEENSTUHDVXO2AQHAZ24KUZUPLPGJZH"


@pytest.mark.parametrize(
    ("file", "expected_types"),
    [
        (P21, {"path_payment_strict_receive": 39, "path_payment_strict_send": 24, "payment": 9}),
        ("pubnet/ttp/revoke-trustline-ledger-56065483", None),
    ],
)
def test_path_payments_match_balance_changes(
    file: str, expected_types: dict[str, int] | None, ledger_views
) -> None:
    """Native legs of successful path payments equal the lumen balance changes in the meta."""
    (view,) = ledger_views(file)
    pays = run("payments", view)
    if expected_types is not None:
        assert Counter(r["type"] for r in pays) == expected_types
    checked = 0
    for r in pays:
        if not r["successful"]:
            if r["type"] == "path_payment_strict_send":
                assert r["amount"] is None and r["source_amount"] is not None
            if r["type"] == "path_payment_strict_receive":
                assert r["source_amount"] is None and r["amount"] is not None
            continue
        if r["type"] == "path_payment_strict_send":
            assert r["amount"] >= r["destination_min"]
        elif r["type"] == "path_payment_strict_receive":
            assert r["source_amount"] <= r["source_max"]
        else:
            continue
        deltas = _native_deltas(view, r["transaction_index"], r["operation_index"])
        sent = r["source_amount_raw"] if r["source_asset"] == "native" else 0
        received = r["amount_raw"] if r["asset"] == "native" else 0
        if r["from"] == r["to"]:
            if sent or received:
                assert deltas[r["from"]] == received - sent
                checked += 1
            continue
        if sent:
            assert deltas[r["from"]] == -sent
            checked += 1
        if received:
            assert deltas[r["to"]] == received
            checked += 1
    assert checked >= 5


def test_payment_filters(ledger_views) -> None:
    (view,) = ledger_views(P21)
    everything = run("payments", view)
    native = run("payments", view, PaymentsParams(asset="native"))
    assert native == [r for r in everything if r["asset"] == "native"] and native
    ok = run("payments", view, PaymentsParams(successful_only=True))
    assert ok == [r for r in everything if r["successful"]]
    big = run("payments", view, PaymentsParams(min_amount=Decimal(1000)))
    assert big == [r for r in everything if r["amount"] is not None and r["amount"] >= 1000]
    who = everything[0]["to"]
    assert run("payments", view, PaymentsParams(account=who)) == [
        r for r in everything if who in (r["from"], r["to"])
    ]
    code = next(r for r in everything if r["asset_code"])
    by_code = run("payments", view, PaymentsParams(asset=code["asset_code"]))
    assert code in by_code and all(r["asset_code"] == code["asset_code"] for r in by_code)
    assert run("payments", view, PaymentsParams(asset=code["asset"])) == [
        r for r in everything if r["asset"] == code["asset"]
    ]
