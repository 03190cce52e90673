"""Stellar Asset Contract (SAC) transactions: deploy, ``transfer``, ``mint`` and ``burn``.

Each builder returns a signed envelope plus the :class:`~.builder.SorobanApply` that executes it.
A deployment creates the contract instance (persistent ``ContractData``) and its ``TTL``; calls
move balances on the classic trustlines / accounts behind the SAC and emit the CAP-67 event of
the SAC (``transfer``/``mint``/``burn`` with the SEP-11 asset string, ``i128`` amount). The result
hash is ``sha256(InvokeHostFunctionSuccessPreImage)``; resource fees are plausible constants with
a refund of the unused refundable part after all transactions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import cache

from stellar_sdk import Asset, Keypair, StrKey, TransactionBuilder, TransactionEnvelope
from stellar_sdk import xdr as sx

from flowctl_dsl.stellar.localnet import events as ev
from flowctl_dsl.stellar.localnet.builder import SorobanApply
from flowctl_dsl.stellar.localnet.engine import OpContext, OpFailed, credit, debit
from flowctl_dsl.stellar.localnet.state import (
    NATIVE,
    LedgerState,
    RawEntry,
    account_xdr,
    asset_contract_id,
    issuer_of,
    trustline_asset_xdr,
)

#: Persistent entries are created live for this many ledgers (about 120 days at 5 s).
TTL_LEDGERS = 2_073_600
_VOID = sx.SCVal(type=sx.SCValType.SCV_VOID)


def _sc_address(contract_id: bytes) -> sx.SCAddress:
    address = ev.contract_address(contract_id).address
    assert address is not None
    return address


@cache
def _instance_key(contract_id: bytes) -> sx.LedgerKey:
    return sx.LedgerKey(
        type=sx.LedgerEntryType.CONTRACT_DATA,
        contract_data=sx.LedgerKeyContractData(
            contract=_sc_address(contract_id),
            key=sx.SCVal(type=sx.SCValType.SCV_LEDGER_KEY_CONTRACT_INSTANCE),
            durability=sx.ContractDataDurability.PERSISTENT,
        ),
    )


def _instance_state_key(contract_id: bytes) -> tuple[str, ...]:
    return ("contract_data", contract_id.hex(), "instance")


def is_deployed(state: LedgerState, asset: str, passphrase: str) -> bool:
    """Whether the SAC of ``asset`` exists in ``state``."""
    return _instance_state_key(asset_contract_id(asset, passphrase)) in state.entries


def _map(pairs: list[tuple[str, sx.SCVal]]) -> sx.SCVal:
    entries = [sx.SCMapEntry(key=ev.symbol(k), val=v) for k, v in sorted(pairs)]
    return sx.SCVal(type=sx.SCValType.SCV_MAP, map=sx.SCMap(entries))


def _instance_entries(asset: str, contract_id: bytes, ledger_seq: int) -> list[RawEntry]:
    """The SAC's contract instance (executable + metadata storage) and its TTL entry."""
    if asset == NATIVE:
        name, code, info = (
            "native",
            "native",
            sx.SCVal(type=sx.SCValType.SCV_VEC, vec=sx.SCVec([ev.symbol("Native")])),
        )
    else:
        code, issuer = asset.split(":")
        name = asset
        kind = "AlphaNum4" if len(code) <= 4 else "AlphaNum12"
        issuer_bytes = sx.SCVal(
            type=sx.SCValType.SCV_BYTES, bytes=sx.SCBytes(StrKey.decode_ed25519_public_key(issuer))
        )
        details = _map([("asset_code", ev.string(code)), ("issuer", issuer_bytes)])
        info = sx.SCVal(type=sx.SCValType.SCV_VEC, vec=sx.SCVec([ev.symbol(kind), details]))
    metadata = _map(
        [
            ("decimal", sx.SCVal(type=sx.SCValType.SCV_U32, u32=sx.Uint32(7))),
            ("name", ev.string(name)),
            ("symbol", ev.string(code)),
        ]
    )
    asset_info_key = sx.SCVal(type=sx.SCValType.SCV_VEC, vec=sx.SCVec([ev.symbol("AssetInfo")]))
    storage = sx.SCMap(
        sorted(
            [
                sx.SCMapEntry(key=ev.symbol("METADATA"), val=metadata),
                sx.SCMapEntry(key=asset_info_key, val=info),
            ],
            key=lambda e: e.key.type.value,
        )
    )
    instance = sx.SCVal(
        type=sx.SCValType.SCV_CONTRACT_INSTANCE,
        instance=sx.SCContractInstance(
            executable=sx.ContractExecutable(
                type=sx.ContractExecutableType.CONTRACT_EXECUTABLE_STELLAR_ASSET
            ),
            storage=storage,
        ),
    )
    key = _instance_key(contract_id)
    assert key.contract_data is not None
    data = sx.LedgerEntryData(
        type=sx.LedgerEntryType.CONTRACT_DATA,
        contract_data=sx.ContractDataEntry(
            ext=sx.ExtensionPoint(0),
            contract=key.contract_data.contract,
            key=key.contract_data.key,
            durability=key.contract_data.durability,
            val=instance,
        ),
    )
    key_hash = hashlib.sha256(key.to_xdr_bytes()).digest()
    ttl_key = sx.LedgerKey(type=sx.LedgerEntryType.TTL, ttl=sx.LedgerKeyTtl(sx.Hash(key_hash)))
    ttl = sx.LedgerEntryData(
        type=sx.LedgerEntryType.TTL,
        ttl=sx.TTLEntry(
            key_hash=sx.Hash(key_hash),
            live_until_ledger_seq=sx.Uint32(ledger_seq + TTL_LEDGERS),
        ),
    )
    return [
        RawEntry(_instance_state_key(contract_id), data, key),
        RawEntry(("ttl", key_hash.hex()), ttl, ttl_key),
    ]


def _result(code: str, success: bytes | None = None) -> sx.OperationResult:
    inner = sx.InvokeHostFunctionResult(
        code=getattr(sx.InvokeHostFunctionResultCode, f"INVOKE_HOST_FUNCTION_{code}"),
        success=sx.Hash(success) if success is not None else None,
    )
    return sx.OperationResult(
        code=sx.OperationResultCode.opINNER,
        tr=sx.OperationResultTr(
            type=sx.OperationType.INVOKE_HOST_FUNCTION, invoke_host_function_result=inner
        ),
    )


def _success(ctx: OpContext, value: sx.SCVal) -> tuple[sx.OperationResult, sx.SCVal]:
    preimage = sx.InvokeHostFunctionSuccessPreImage(return_value=value, events=ctx.events)
    return _result("SUCCESS", hashlib.sha256(preimage.to_xdr_bytes()).digest()), value


def _address_of(value: sx.SCVal) -> str:
    assert value.address is not None and value.address.account_id is not None
    key = value.address.account_id.account_id.ed25519
    assert key is not None
    return StrKey.encode_ed25519_public_key(key.uint256)


def _i128(value: sx.SCVal) -> int:
    assert value.i128 is not None
    return (value.i128.hi.int64 << 64) | value.i128.lo.uint64


def _call_args(op: sx.Operation) -> list[sx.SCVal]:
    ihf = op.body.invoke_host_function_op
    assert ihf is not None and ihf.host_function.invoke_contract is not None
    return ihf.host_function.invoke_contract.args


def _apply_deploy(
    asset: str,
) -> Callable[[OpContext, sx.Operation], tuple[sx.OperationResult, sx.SCVal]]:
    def apply(ctx: OpContext, op: sx.Operation) -> tuple[sx.OperationResult, sx.SCVal]:
        cid = asset_contract_id(asset, ctx.passphrase)
        if ctx.view.get(_instance_state_key(cid)) is not None:
            raise OpFailed(_result("TRAPPED"))
        for entry in _instance_entries(asset, cid, ctx.ledger_seq):
            ctx.view.put(entry)
        return _success(ctx, ev.contract_address(cid))

    return apply


def _apply_move(
    asset: str, fn: str
) -> Callable[[OpContext, sx.Operation], tuple[sx.OperationResult, sx.SCVal]]:
    def apply(ctx: OpContext, op: sx.Operation) -> tuple[sx.OperationResult, sx.SCVal]:
        args = _call_args(op)
        issuer = issuer_of(asset)
        if fn == "transfer":
            sender, receiver, amount = _address_of(args[0]), _address_of(args[1]), _i128(args[2])
        elif fn == "mint":
            assert issuer is not None
            sender, receiver, amount = issuer, _address_of(args[0]), _i128(args[1])
        else:
            assert issuer is not None
            sender, receiver, amount = _address_of(args[0]), issuer, _i128(args[1])
        if debit(ctx.view, sender, asset, amount) or credit(ctx.view, receiver, asset, amount):
            raise OpFailed(_result("TRAPPED"))
        ctx.move(asset, sender, receiver, amount)
        return _success(ctx, _VOID)

    return apply


def _balance_key(account: str, asset: str) -> sx.LedgerKey:
    if asset == NATIVE or issuer_of(asset) == account:
        return sx.LedgerKey(
            type=sx.LedgerEntryType.ACCOUNT, account=sx.LedgerKeyAccount(account_xdr(account))
        )
    return sx.LedgerKey(
        type=sx.LedgerEntryType.TRUSTLINE,
        trust_line=sx.LedgerKeyTrustLine(account_xdr(account), trustline_asset_xdr(asset)),
    )


def _soroban_data(
    read_only: list[sx.LedgerKey],
    read_write: list[sx.LedgerKey],
    instructions: int,
    write: int,
    fee: int,
) -> sx.SorobanTransactionData:
    return sx.SorobanTransactionData(
        ext=sx.SorobanTransactionDataExt(v=0),
        resources=sx.SorobanResources(
            footprint=sx.LedgerFootprint(read_only=read_only, read_write=read_write),
            instructions=sx.Uint32(instructions),
            disk_read_bytes=sx.Uint32(0),
            write_bytes=sx.Uint32(write),
        ),
        resource_fee=sx.Int64(fee),
    )


def _fees(
    instructions: int,
    write: int,
    rent: int,
    apply: Callable[..., tuple[sx.OperationResult, sx.SCVal]],
) -> SorobanApply:
    non_refundable = 20_000 + instructions // 25 + write * 10
    refundable = 1_500
    declared = non_refundable + 2 * (refundable + rent) + 10_000
    return SorobanApply(declared, non_refundable, refundable, rent, apply)


def deploy_sac(
    builder: TransactionBuilder, source: Keypair, asset: str, passphrase: str
) -> tuple[TransactionEnvelope, SorobanApply]:
    """Deploy the SAC of ``asset`` (``CREATE_CONTRACT`` from the asset)."""
    cid = asset_contract_id(asset, passphrase)
    read_only = [] if asset == NATIVE else [_balance_key(issuer_of(asset) or "", asset)]
    fees = _fees(900_000, 500, 80_000, _apply_deploy(asset))
    sdk_asset = Asset.native() if asset == NATIVE else Asset(*asset.split(":"))
    builder.append_create_stellar_asset_contract_from_asset_op(sdk_asset)
    builder.set_soroban_data(
        _soroban_data(read_only, [_instance_key(cid)], 900_000, 500, fees.resource_fee)
    )
    env = builder.build()
    env.sign(source)
    return env, fees


def call_sac(
    builder: TransactionBuilder,
    source: Keypair,
    asset: str,
    fn: str,
    args: list[str | int],
    passphrase: str,
    instructions: int = 240_000,
) -> tuple[TransactionEnvelope, SorobanApply]:
    """Invoke ``fn`` (``transfer(from, to, amount)``, ``mint(to, amount)``, ``burn(from, amount)``)."""
    cid = asset_contract_id(asset, passphrase)
    values = [ev.account_address(a) if isinstance(a, str) else ev.i128(a) for a in args]
    holders = [a for a in args if isinstance(a, str)]
    touched = [_balance_key(a, asset) for a in holders if a != issuer_of(asset)]
    invocation = sx.InvokeContractArgs(
        contract_address=_sc_address(cid),
        function_name=sx.SCSymbol(fn.encode()),
        args=values,
    )
    auth = sx.SorobanAuthorizationEntry(
        credentials=sx.SorobanCredentials(
            type=sx.SorobanCredentialsType.SOROBAN_CREDENTIALS_SOURCE_ACCOUNT
        ),
        root_invocation=sx.SorobanAuthorizedInvocation(
            function=sx.SorobanAuthorizedFunction(
                type=sx.SorobanAuthorizedFunctionType.SOROBAN_AUTHORIZED_FUNCTION_TYPE_CONTRACT_FN,
                contract_fn=invocation,
            ),
            sub_invocations=[],
        ),
    )
    write = 140 * len(touched)
    fees = _fees(instructions, write, 0, _apply_move(asset, fn))
    builder.append_invoke_contract_function_op(StrKey.encode_contract(cid), fn, values, auth=[auth])
    read_only = [_instance_key(cid)]
    if asset != NATIVE:
        read_only.append(_balance_key(issuer_of(asset) or "", NATIVE))
    builder.set_soroban_data(
        _soroban_data(read_only, touched, instructions, write, fees.resource_fee)
    )
    env = builder.build()
    env.sign(source)
    return env, fees
