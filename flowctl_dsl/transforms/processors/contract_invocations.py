# mypy: disable-error-code="union-attr"
# (stellar-sdk models each XDR union arm as an Optional attribute; arms are read after checking
# the discriminant, so the None case cannot occur.)
"""``contract_invocations``: one record per ``invoke_host_function`` operation.

``function_type`` is ``invoke_contract``, ``create_contract``, ``create_contract_v2`` or
``upload_wasm``. For invocations ``contract_id``/``function_name``/``args`` name the call; for
creations ``contract_id`` is the new contract's id (derived from its preimage and the network)
and ``args`` the constructor arguments (v2). ``return_value`` comes from the Soroban meta of a
successful transaction. Failed transactions are included (``successful`` false, ``result_code``
the operation's ``InvokeHostFunctionResultCode`` when it was applied).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

from stellar_sdk import xdr as sx

from flowctl_dsl.stellar.ledger import LedgerView, TxView
from flowctl_dsl.transforms.processors.ledger_changes import (
    operation_result_tr,
    operation_source,
)
from flowctl_dsl.transforms.processors.scval import (
    address_strkey,
    contract_strkey,
    dumps,
    to_json,
    xdr_b64,
)

INVOKE_HOST_FUNCTION = 24
_FUNCTION_TYPES = {
    0: "invoke_contract",
    1: "create_contract",
    2: "upload_wasm",
    3: "create_contract_v2",
}


def created_contract_id(preimage: sx.ContractIDPreimage, passphrase: str) -> str:
    """``C…`` id of a contract created from ``preimage`` on the network of ``passphrase``."""
    full = sx.HashIDPreimage(
        sx.EnvelopeType.ENVELOPE_TYPE_CONTRACT_ID,
        contract_id=sx.HashIDPreimageContractID(
            network_id=sx.Hash(hashlib.sha256(passphrase.encode()).digest()),
            contract_id_preimage=preimage,
        ),
    )
    return contract_strkey(hashlib.sha256(full.to_xdr_bytes()).digest())


def _return_value(tx: TxView) -> sx.SCVal | None:
    meta = tx.meta
    soroban = meta.v3.soroban_meta if meta.v == 3 else meta.v4.soroban_meta if meta.v == 4 else None
    return soroban.return_value if soroban is not None else None


def _executable(exe: sx.ContractExecutable) -> tuple[str, str | None]:
    if exe.type.value == 0:
        return "wasm", exe.wasm_hash.hash.hex()
    if exe.type.value == 1:
        return "stellar_asset", None
    return exe.type.name.removeprefix("CONTRACT_EXECUTABLE_").lower(), None


def _call(fn: sx.HostFunction, passphrase: str) -> dict[str, Any]:
    kind = fn.type.value
    out: dict[str, Any] = {
        "function_type": _FUNCTION_TYPES.get(kind, str(kind)),
        "contract_id": None,
        "function_name": None,
        "args": None,
        "args_xdr": None,
        "executable": None,
        "wasm_hash": None,
    }
    args: list[sx.SCVal] | None = None
    if kind == 0:
        call = fn.invoke_contract
        out["contract_id"] = address_strkey(call.contract_address)
        out["function_name"] = call.function_name.sc_symbol.decode("utf-8", errors="replace")
        args = call.args
    elif kind in (1, 3):
        create = fn.create_contract if kind == 1 else fn.create_contract_v2
        out["contract_id"] = created_contract_id(create.contract_id_preimage, passphrase)
        out["executable"], out["wasm_hash"] = _executable(create.executable)
        args = create.constructor_args if kind == 3 else None
    elif kind == 2:
        out["executable"] = "wasm"
        out["wasm_hash"] = hashlib.sha256(fn.wasm or b"").hexdigest()
    if args is not None:
        out["args"] = dumps([to_json(a) for a in args])
        out["args_xdr"] = [xdr_b64(a) for a in args]
    return out


def records(ledger: LedgerView, params: Any = None) -> Iterator[dict[str, Any]]:
    """Every ``invoke_host_function`` operation of ``ledger``, failed ones included."""
    closed_at = ledger.closed_at
    passphrase = ledger.network_passphrase
    for tx in ledger.transactions():
        for i, op in enumerate(tx.operations):
            if op.body.type.value != INVOKE_HOST_FUNCTION:
                continue
            body = op.body.invoke_host_function_op
            tr = operation_result_tr(tx, i)
            result = tr.invoke_host_function_result if tr is not None else None
            ret = _return_value(tx) if tx.successful else None
            yield {
                "ledger_sequence": ledger.sequence,
                "closed_at": closed_at,
                "transaction_hash": tx.hash,
                "transaction_index": tx.index,
                "operation_index": i + 1,
                "source_account": operation_source(tx, op).account,
                **_call(body.host_function, passphrase),
                "auth_entries": len(body.auth),
                "return_value": dumps(to_json(ret)) if ret is not None else None,
                "return_value_xdr": xdr_b64(ret) if ret is not None else None,
                "successful": tx.successful,
                "result_code": (
                    result.code.name.removeprefix("INVOKE_HOST_FUNCTION_").lower()
                    if result is not None
                    else None
                ),
            }
