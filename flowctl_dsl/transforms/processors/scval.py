# mypy: disable-error-code="union-attr"
# (stellar-sdk models each XDR union arm as an Optional attribute; arms are read after checking
# the discriminant, so the None case cannot occur.)
"""Soroban ``SCVal`` → JSON-able Python values, and Soroban address strkeys.

The mapping (stable, documented because it is the content of every ``topics``/``data``/``args``
JSON column):

* bool → ``true``/``false``; void → ``null``; u32/i32/u64/i64 → number;
  timepoint/duration → number (seconds);
* u128/i128/u256/i256 → decimal **string** (JSON numbers lose precision beyond 2⁵³);
* bytes → lowercase hex string; string/symbol → string (invalid UTF-8 replaced);
* address → strkey (``G…`` account, ``C…`` contract, ``M…`` muxed, ``B…`` claimable balance,
  ``L…`` liquidity pool);
* vec → list; map → object when every key is a symbol/string (and unique), else a list of
  ``[key, value]`` pairs;
* error → ``{"error": "<type>", "code": <int or name>}``;
* contract instance → ``{"executable": "wasm:<hex>" | "stellar_asset", "storage": …}``;
* ledger-key contract instance → ``{"ledger_key": "contract_instance"}``;
  nonce key → ``{"nonce": <int>}``.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from stellar_sdk import xdr as sx
from stellar_sdk.strkey import StrKey

JSONValue = Any


def contract_strkey(raw: bytes) -> str:
    """``C…`` strkey of a 32-byte contract id."""
    return StrKey.encode_contract(raw)


def pool_strkey(raw: bytes) -> str:
    """``L…`` strkey of a 32-byte liquidity pool id."""
    return StrKey.encode_liquidity_pool(raw)


def claimable_balance_strkey(balance_id: sx.ClaimableBalanceID | None) -> str:
    """``B…`` strkey of a claimable balance id (version byte 0 + 32-byte hash)."""
    assert balance_id is not None and balance_id.v0 is not None
    return StrKey.encode_claimable_balance(bytes([balance_id.type.value]) + balance_id.v0.hash)


def address_strkey(address: sx.SCAddress | None) -> str:
    """Strkey of any ``SCAddress`` (account, contract, muxed account, claimable balance, pool)."""
    assert address is not None
    kind = address.type.value
    if kind == 0:
        assert address.account_id is not None
        key = address.account_id.account_id.ed25519
        assert key is not None
        return StrKey.encode_ed25519_public_key(key.uint256)
    if kind == 1:
        assert address.contract_id is not None
        return contract_strkey(address.contract_id.contract_id.hash)
    if kind == 2:
        mux = address.muxed_account
        assert mux is not None
        return StrKey.encode_med25519_public_key(
            mux.ed25519.uint256 + mux.id.uint64.to_bytes(8, "big")
        )
    if kind == 3:
        assert address.claimable_balance_id is not None
        return claimable_balance_strkey(address.claimable_balance_id)
    if kind == 4:
        assert address.liquidity_pool_id is not None
        return pool_strkey(address.liquidity_pool_id.pool_id.hash)
    raise ValueError(f"unknown SCAddress type {kind}")


def int128(parts: sx.Int128Parts | sx.UInt128Parts | None) -> int:
    """The integer value of (signed or unsigned) 128-bit parts."""
    assert parts is not None
    hi = parts.hi.int64 if isinstance(parts, sx.Int128Parts) else parts.hi.uint64
    return (hi << 64) | parts.lo.uint64


def int256(parts: sx.Int256Parts | sx.UInt256Parts | None) -> int:
    """The integer value of (signed or unsigned) 256-bit parts."""
    assert parts is not None
    hi_hi = parts.hi_hi.int64 if isinstance(parts, sx.Int256Parts) else parts.hi_hi.uint64
    return (
        (hi_hi << 192)
        | (parts.hi_lo.uint64 << 128)
        | (parts.lo_hi.uint64 << 64)
        | parts.lo_lo.uint64
    )


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def symbol(value: sx.SCVal) -> str | None:
    """The symbol's text, or ``None`` when ``value`` is not a symbol."""
    return _text(value.sym.sc_symbol) if value.type.value == 15 and value.sym else None


def string(value: sx.SCVal) -> str | None:
    """The string's text, or ``None`` when ``value`` is not a string."""
    return _text(value.str.sc_string) if value.type.value == 14 and value.str else None


def address(value: sx.SCVal) -> str | None:
    """The address strkey, or ``None`` when ``value`` is not an address."""
    return address_strkey(value.address) if value.type.value == 18 and value.address else None


def to_json(value: sx.SCVal) -> JSONValue:
    """Convert one ``SCVal`` to JSON-able Python values (see the module docstring)."""
    t = value.type.value
    if t == 0:
        return value.b
    if t == 1:
        return None
    if t == 2:
        return _error(value.error)
    if t == 3:
        return value.u32.uint32
    if t == 4:
        return value.i32.int32
    if t == 5:
        return value.u64.uint64
    if t == 6:
        return value.i64.int64
    if t == 7:
        return value.timepoint.time_point.uint64
    if t == 8:
        return value.duration.duration.uint64
    if t == 9:
        return str(int128(value.u128))
    if t == 10:
        return str(int128(value.i128))
    if t == 11:
        return str(int256(value.u256))
    if t == 12:
        return str(int256(value.i256))
    if t == 13:
        return value.bytes.sc_bytes.hex()
    if t == 14:
        return _text(value.str.sc_string)
    if t == 15:
        return _text(value.sym.sc_symbol)
    if t == 16:
        return [to_json(v) for v in (value.vec.sc_vec if value.vec else [])]
    if t == 17:
        return _map(value.map.sc_map if value.map else [])
    if t == 18:
        return address_strkey(value.address)
    if t == 19:
        return _instance(value.instance)
    if t == 20:
        return {"ledger_key": "contract_instance"}
    if t == 21:
        return {"nonce": value.nonce_key.nonce.int64}
    if t == 22:  # executable tag (p25+): a string naming the executable kind
        return _text(value.executable_tag.sc_string) if value.executable_tag else None
    raise ValueError(f"unknown SCVal type {t}")


def _map(entries: list[sx.SCMapEntry]) -> JSONValue:
    keys = [symbol(e.key) or string(e.key) for e in entries]
    if all(k is not None for k in keys) and len(set(keys)) == len(keys):
        return {k: to_json(e.val) for k, e in zip(keys, entries, strict=True)}
    return [[to_json(e.key), to_json(e.val)] for e in entries]


def _error(error: sx.SCError | None) -> JSONValue:
    assert error is not None
    kind = error.type.name.removeprefix("SCE_").lower()
    if error.type.value == 0:
        return {"error": kind, "code": error.contract_code.uint32}
    return {"error": kind, "code": error.code.name.removeprefix("SCEC_").lower()}


def _instance(instance: sx.SCContractInstance | None) -> JSONValue:
    assert instance is not None
    exe = instance.executable
    if exe.type.value == 0:
        executable = f"wasm:{exe.wasm_hash.hash.hex()}"
    elif exe.type.value == 1:
        executable = "stellar_asset"
    else:
        executable = exe.type.name.removeprefix("CONTRACT_EXECUTABLE_").lower()
    storage = _map(instance.storage.sc_map) if instance.storage else None
    return {"executable": executable, "storage": storage}


def dumps(value: JSONValue) -> str:
    """Compact, key-order-preserving JSON text."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def to_json_text(value: sx.SCVal) -> str:
    """``to_json`` + :func:`dumps`."""
    return dumps(to_json(value))


def xdr_b64(value: Any) -> str:
    """Base64 XDR of any stellar-sdk XDR object."""
    return base64.b64encode(value.to_xdr_bytes()).decode("ascii")
