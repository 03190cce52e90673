"""Networks, TOIDs, amounts, assets and account strkeys."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stellar_sdk import Asset, Keypair, MuxedAccount

from flowctl_dsl.stellar import accounts, amounts, assets, networks, toid


def test_networks() -> None:
    assert networks.network("pubnet") is networks.network("MAINNET")
    main = networks.network("mainnet")
    assert main.passphrase == "Public Global Stellar Network ; September 2015"
    assert main.lake_url == "s3://aws-public-blockchain/v1.1/stellar/ledgers/pubnet"
    assert main.lake_region == "us-east-2"
    assert (main.lake_schema.ledgers_per_file, main.lake_schema.files_per_partition) == (1, 64000)
    assert networks.network("testnet").passphrase == "Test SDF Network ; September 2015"
    assert networks.network("standalone") is networks.network("localnet")
    assert networks.network("futurenet").rpc_url
    assert networks.by_passphrase(networks.TESTNET_PASSPHRASE).name == "testnet"
    assert networks.passphrase_for("testnet") == networks.TESTNET_PASSPHRASE
    assert networks.passphrase_for("load test network") == "load test network"
    with pytest.raises(networks.UnknownNetworkError, match="unknown Stellar network"):
        networks.network("moonnet")


@given(st.integers(0, 2**31 - 1), st.integers(0, 2**20 - 1), st.integers(0, 2**12 - 1))
def test_toid_round_trip(ledger: int, tx: int, op: int) -> None:
    assert toid.parse(toid.toid(ledger, tx, op)) == (ledger, tx, op)


def test_toid_values() -> None:
    assert toid.toid(997) == 997 << 32
    assert toid.toid(997, 1, 1) == 4282082398209
    with pytest.raises(ValueError):
        toid.toid(1, 2**20)


@given(st.integers(-(2**63), 2**63 - 1))
def test_amount_round_trip(stroops: int) -> None:
    value = amounts.to_decimal(stroops)
    assert value.as_tuple().exponent == -7
    assert amounts.to_stroops(value) == stroops


@given(st.integers(-(2**127), 2**127 - 1))
def test_i128_amounts_are_exact(stroops: int) -> None:
    """SEP-41 amounts are i128: beyond the default decimal context's 28 digits."""
    value = amounts.to_decimal(stroops)
    assert value.as_tuple().exponent == -7
    assert amounts.to_stroops(value) == stroops


def test_amount_values() -> None:
    assert amounts.to_decimal(1) == Decimal("0.0000001")
    assert str(amounts.to_decimal(100000000000)) == "10000.0000000"
    with pytest.raises(ValueError):
        amounts.to_stroops("0.00000001")


def test_assets() -> None:
    issuer = Keypair.random().public_key
    native = assets.asset_parts(Asset.native().to_xdr_object())
    assert native == ("native", None, None, None) and native.canonical == "native"
    usdc = assets.asset_parts(Asset("USDC", issuer).to_xdr_object())
    assert usdc.asset_type == "credit_alphanum4" and usdc.canonical == f"USDC:{issuer}"
    long = Asset("ATUAH", issuer)
    assert assets.canonical(long.to_xdr_object()) == f"ATUAH:{issuer}"
    assert (
        assets.asset_parts(long.to_trust_line_asset_xdr_object()).asset_type == "credit_alphanum12"
    )
    assert assets.asset_parts(long.to_change_trust_asset_xdr_object()).asset_code == "ATUAH"


def test_accounts() -> None:
    key = Keypair.random().public_key
    plain = accounts.muxed_account(MuxedAccount(key).to_xdr_object())
    assert plain == (key, None, None)
    muxed = MuxedAccount(key, 42)
    got = accounts.muxed_account(muxed.to_xdr_object())
    assert got == (key, muxed.account_muxed, 42)
    assert got.muxed.startswith("M")
