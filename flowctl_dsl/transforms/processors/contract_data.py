# mypy: disable-error-code="union-attr"
# (stellar-sdk models each XDR union arm as an Optional attribute; arms are read after checking
# the discriminant, so the None case cannot occur.)
"""``contract_data``: one record per change of a ``CONTRACT_DATA`` ledger entry.

Changes are paired (``created``, ``updated``, ``removed``, ``restored``; the ``state`` before an
update is its ``pre``), taken from every transaction's fee/before/operation/after changes in
application order. ``value`` is the entry after the change (``null`` when removed).

Stellar Asset Contract entries are decoded: a balance entry (key ``["Balance", address]``, value
``{amount: i128, authorized: bool, clawback: bool}``) fills ``balance_holder``/``balance``; a SAC
instance (executable ``stellar_asset``) fills ``asset`` from its ``AssetInfo`` storage.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from stellar_sdk import xdr as sx

from flowctl_dsl.stellar.accounts import ed25519
from flowctl_dsl.stellar.amounts import to_decimal
from flowctl_dsl.stellar.ledger import LedgerView
from flowctl_dsl.transforms.processors.ledger_changes import (
    CHANGE_TYPE_NAMES,
    CONTRACT_DATA,
    REMOVED,
    pair_changes,
    tx_change_groups,
)
from flowctl_dsl.transforms.processors.scval import (
    address,
    address_strkey,
    dumps,
    int128,
    string,
    symbol,
    to_json,
    xdr_b64,
)

_MAX_DECIMAL_RAW = 10**38 - 1


def sac_balance(key: sx.SCVal, val: sx.SCVal | None) -> tuple[str, int] | None:
    """``(holder, amount)`` of a Stellar Asset Contract balance entry, else ``None``."""
    if key.type.value != 16 or not key.vec or len(key.vec.sc_vec) != 2:
        return None
    tag, holder = key.vec.sc_vec
    if symbol(tag) != "Balance" or (owner := address(holder)) is None:
        return None
    if val is None or val.type.value != 17 or not val.map:
        return None
    fields = {symbol(e.key): e.val for e in val.map.sc_map}
    amount = fields.get("amount")
    if set(fields) != {"amount", "authorized", "clawback"} or amount.type.value != 10:
        return None
    return owner, int128(amount.i128)


def _variant(key: sx.SCVal) -> str | None:
    """Name of a ``#[contracttype]`` unit enum variant (``Vec[Symbol]``) or a bare symbol."""
    if key.type.value == 16 and key.vec and len(key.vec.sc_vec) == 1:
        return symbol(key.vec.sc_vec[0])
    return symbol(key)


def sac_asset(val: sx.SCVal | None) -> str | None:
    """``native`` or ``CODE:ISSUER`` from a SAC instance's ``AssetInfo`` storage, else ``None``."""
    if val is None or val.type.value != 19 or val.instance is None:
        return None
    instance = val.instance
    if instance.executable.type.value != 1:
        return None
    for entry in instance.storage.sc_map if instance.storage else []:
        if _variant(entry.key) != "AssetInfo" or entry.val.type.value != 16 or not entry.val.vec:
            continue
        parts = entry.val.vec.sc_vec
        if symbol(parts[0]) == "Native":
            return "native"
        if len(parts) == 2 and parts[1].type.value == 17 and parts[1].map:
            info = {symbol(e.key): e.val for e in parts[1].map.sc_map}
            code = info.get("asset_code")
            issuer = info.get("issuer")
            if code is not None and issuer is not None and issuer.type.value == 13:
                return f"{string(code)}:{ed25519(issuer.bytes.sc_bytes)}"
    return None


def records(ledger: LedgerView, params: Any = None) -> Iterator[dict[str, Any]]:
    """Every contract-data change of ``ledger``; ``change_index`` counts within the ledger."""
    closed_at = ledger.closed_at
    n = 0
    for tx in ledger.transactions():
        for source, op_index, changes in tx_change_groups(tx):
            for change in pair_changes(changes):
                if change.entry_type != CONTRACT_DATA:
                    continue
                entry = change.entry
                data = entry.data.contract_data
                value = data.val if change.change_type != REMOVED else None
                balance = sac_balance(data.key, data.val)
                raw = balance[1] if balance and abs(balance[1]) <= _MAX_DECIMAL_RAW else None
                yield {
                    "ledger_sequence": ledger.sequence,
                    "closed_at": closed_at,
                    "transaction_hash": tx.hash,
                    "transaction_index": tx.index,
                    "operation_index": op_index,
                    "change_index": n,
                    "source": source,
                    "change_type": CHANGE_TYPE_NAMES[change.change_type],
                    "contract_id": address_strkey(data.contract),
                    "durability": data.durability.name.lower(),
                    "is_instance": data.key.type.value == 20,
                    "key": dumps(to_json(data.key)),
                    "key_xdr": xdr_b64(data.key),
                    "value": dumps(to_json(value)) if value is not None else None,
                    "value_xdr": xdr_b64(value) if value is not None else None,
                    "asset": sac_asset(data.val),
                    "balance_holder": balance[0] if balance else None,
                    "balance": to_decimal(raw) if raw is not None else None,
                    "balance_raw": raw,
                    "last_modified_ledger": entry.last_modified_ledger_seq.uint32,
                    "in_successful_transaction": tx.successful,
                }
                n += 1
