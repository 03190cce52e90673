"""ScVal → JSON conversion and Soroban address strkeys."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st
from stellar_sdk import Keypair, scval
from stellar_sdk import xdr as sx
from stellar_sdk.strkey import StrKey

from flowctl_dsl.transforms.processors.scval import (
    address_strkey,
    int128,
    int256,
    to_json,
    to_json_text,
)

ACCOUNT = Keypair.from_raw_ed25519_seed(bytes(32)).public_key
CONTRACT = StrKey.encode_contract(bytes(range(32)))


@given(st.integers(min_value=-(2**127), max_value=2**127 - 1))
def test_i128_roundtrip(value: int) -> None:
    v = scval.to_int128(value)
    assert int128(v.i128) == value
    assert to_json(v) == str(value)


@given(st.integers(min_value=0, max_value=2**128 - 1))
def test_u128_roundtrip(value: int) -> None:
    assert int128(scval.to_uint128(value).u128) == value


@given(st.integers(min_value=-(2**255), max_value=2**255 - 1))
def test_i256_roundtrip(value: int) -> None:
    v = scval.to_int256(value)
    assert int256(v.i256) == value
    assert to_json(v) == str(value)


def test_scalars() -> None:
    assert to_json(scval.to_bool(True)) is True
    assert to_json(scval.to_void()) is None
    assert to_json(scval.to_uint32(7)) == 7
    assert to_json(scval.to_int64(-5)) == -5
    assert to_json(scval.to_uint64(2**64 - 1)) == 2**64 - 1
    assert to_json(scval.to_timepoint(1700000000)) == 1700000000
    assert to_json(scval.to_bytes(b"\x00\xff")) == "00ff"
    assert to_json(scval.to_string("héllo")) == "héllo"
    assert to_json(scval.to_symbol("transfer")) == "transfer"


def test_addresses() -> None:
    assert to_json(scval.to_address(ACCOUNT)) == ACCOUNT
    assert to_json(scval.to_address(CONTRACT)) == CONTRACT
    raw = bytes(range(32))
    muxed = sx.SCAddress(
        sx.SCAddressType.SC_ADDRESS_TYPE_MUXED_ACCOUNT,
        muxed_account=sx.MuxedEd25519Account(sx.Uint64(42), sx.Uint256(raw)),
    )
    assert address_strkey(muxed) == StrKey.encode_med25519_public_key(raw + (42).to_bytes(8, "big"))
    balance = sx.SCAddress(
        sx.SCAddressType.SC_ADDRESS_TYPE_CLAIMABLE_BALANCE,
        claimable_balance_id=sx.ClaimableBalanceID(
            sx.ClaimableBalanceIDType.CLAIMABLE_BALANCE_ID_TYPE_V0, v0=sx.Hash(raw)
        ),
    )
    assert address_strkey(balance).startswith("B")
    assert StrKey.decode_claimable_balance(address_strkey(balance)) == b"\0" + raw
    pool = sx.SCAddress(
        sx.SCAddressType.SC_ADDRESS_TYPE_LIQUIDITY_POOL,
        liquidity_pool_id=sx.PoolID(sx.Hash(raw)),
    )
    assert StrKey.decode_liquidity_pool(address_strkey(pool)) == raw


def test_containers() -> None:
    vec = scval.to_vec([scval.to_symbol("a"), scval.to_uint32(1)])
    assert to_json(vec) == ["a", 1]
    symbol_map = scval.to_map({scval.to_symbol("amount"): scval.to_int128(5)})
    assert to_json(symbol_map) == {"amount": "5"}
    mixed = scval.to_map({scval.to_uint32(1): scval.to_bool(False)})
    assert to_json(mixed) == [[1, False]]
    assert json.loads(to_json_text(vec)) == ["a", 1]


def test_error_and_instance_keys() -> None:
    err = sx.SCVal(
        sx.SCValType.SCV_ERROR,
        error=sx.SCError(sx.SCErrorType.SCE_CONTRACT, contract_code=sx.Uint32(3)),
    )
    assert to_json(err) == {"error": "contract", "code": 3}
    budget = sx.SCVal(
        sx.SCValType.SCV_ERROR,
        error=sx.SCError(sx.SCErrorType.SCE_BUDGET, code=sx.SCErrorCode.SCEC_EXCEEDED_LIMIT),
    )
    assert to_json(budget) == {"error": "budget", "code": "exceeded_limit"}
    key = sx.SCVal(sx.SCValType.SCV_LEDGER_KEY_CONTRACT_INSTANCE)
    assert to_json(key) == {"ledger_key": "contract_instance"}
