"""CAP-67 unified asset events, shaped like the ones mainnet protocol 23 emits.

``transfer``: topics ``[sym transfer, from, to, asset-string]``; ``mint``: ``[sym mint, to, asset]``;
``burn``: ``[sym burn, from, asset]``; data an ``i128`` amount. ``fee``: topics ``[sym fee, payer]``
on the native asset contract, wrapped in a ``TransactionEvent`` with its stage. The contract of
each event is the Stellar Asset Contract address of the asset moved.
"""

from __future__ import annotations

from functools import cache

from stellar_sdk import xdr as sx

from flowctl_dsl.stellar.localnet.state import NATIVE, account_xdr, asset_contract_id, issuer_of

_MASK64 = (1 << 64) - 1


@cache
def symbol(name: str) -> sx.SCVal:
    return sx.SCVal(type=sx.SCValType.SCV_SYMBOL, sym=sx.SCSymbol(name.encode()))


@cache
def string(text: str) -> sx.SCVal:
    return sx.SCVal(type=sx.SCValType.SCV_STRING, str=sx.SCString(text.encode()))


@cache
def account_address(account: str) -> sx.SCVal:
    return sx.SCVal(
        type=sx.SCValType.SCV_ADDRESS,
        address=sx.SCAddress(
            type=sx.SCAddressType.SC_ADDRESS_TYPE_ACCOUNT, account_id=account_xdr(account)
        ),
    )


@cache
def contract_address(contract_id: bytes) -> sx.SCVal:
    return sx.SCVal(
        type=sx.SCValType.SCV_ADDRESS,
        address=sx.SCAddress(
            type=sx.SCAddressType.SC_ADDRESS_TYPE_CONTRACT,
            contract_id=sx.ContractID(sx.Hash(contract_id)),
        ),
    )


def i128(value: int) -> sx.SCVal:
    return sx.SCVal(
        type=sx.SCValType.SCV_I128,
        i128=sx.Int128Parts(hi=sx.Int64(value >> 64), lo=sx.Uint64(value & _MASK64)),
    )


def contract_event(contract_id: bytes, topics: list[sx.SCVal], data: sx.SCVal) -> sx.ContractEvent:
    return sx.ContractEvent(
        ext=sx.ExtensionPoint(0),
        contract_id=sx.ContractID(sx.Hash(contract_id)),
        type=sx.ContractEventType.CONTRACT,
        body=sx.ContractEventBody(v=0, v0=sx.ContractEventV0(topics=topics, data=data)),
    )


def movement(
    asset: str, sender: str, receiver: str, amount: int, passphrase: str
) -> sx.ContractEvent:
    """One asset movement: ``mint`` when the issuer sends, ``burn`` when it receives, else ``transfer``."""
    cid = asset_contract_id(asset, passphrase)
    issuer = issuer_of(asset)
    name = string(asset)
    if issuer is not None and sender == issuer and receiver != issuer:
        return contract_event(cid, [symbol("mint"), account_address(receiver), name], i128(amount))
    if issuer is not None and receiver == issuer and sender != issuer:
        return contract_event(cid, [symbol("burn"), account_address(sender), name], i128(amount))
    topics = [symbol("transfer"), account_address(sender), account_address(receiver), name]
    return contract_event(cid, topics, i128(amount))


def fee_event(payer: str, amount: int, passphrase: str, stage: int = 0) -> sx.TransactionEvent:
    """A ``fee`` event: charged (positive, stage 0 = before all txs) or refunded (negative, stage 2)."""
    cid = asset_contract_id(NATIVE, passphrase)
    event = contract_event(cid, [symbol("fee"), account_address(payer)], i128(amount))
    return sx.TransactionEvent(stage=sx.TransactionEventStage(stage), event=event)
