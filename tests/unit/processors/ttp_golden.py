"""Parse the stellar/go token-transfer-processor golden outputs into comparable tuples.

Two layouts exist in the fixtures:

* March 2025 (``ttp-ledgers-expected-ttp-events.txt``): ``### Event Type: Transfer`` + protojson
  with ``{"account": {"strKey": …}}`` / ``{"claimableBalance": {"strKey": <hex>}}`` addresses,
  the asset at top level, decimal amounts and a 0-based ``operationIndex``;
* later (``pubnet/ttp/*-events``): lower-case types, plain strkey addresses, the asset inside the
  event body, stroop amounts and 1-based ``transactionIndex``/``operationIndex``.

Both become :class:`GoldenEvent` with stroop amounts, ``B…`` claimable-balance strkeys and a
1-based operation index.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

from stellar_sdk.strkey import StrKey

_BLOCK = re.compile(r"### Event Type: (\w+)\n(\{.*?\n\})\n###", re.S)


class GoldenEvent(NamedTuple):
    ledger_sequence: int
    transaction_hash: str
    operation_index: int | None
    event_type: str
    from_: str | None
    to: str | None
    asset: str
    amount_raw: int


def _address(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    ((kind, inner),) = value.items()
    key = inner["strKey"]
    if kind == "claimableBalance" and not key.startswith("B"):
        return StrKey.encode_claimable_balance(b"\0" + bytes.fromhex(key))
    if kind == "liquidityPool" and not key.startswith("L"):
        return StrKey.encode_liquidity_pool(bytes.fromhex(key))
    return key


def _asset(value: dict[str, Any] | None) -> str:
    if value is None:
        return ""
    if value.get("native"):
        return "native"
    issued = value["issuedAsset"]
    return f"{issued['assetCode']}:{issued['issuer']}"


def parse(text: str) -> list[GoldenEvent]:
    """Every event of a golden file, in file order."""
    out = []
    for match in _BLOCK.finditer(text):
        kind = match.group(1).lower()
        event = json.loads(match.group(2))
        meta = event["meta"]
        body = event[kind]
        old = "transactionIndex" not in meta and "contractAddress" not in meta
        op = meta.get("operationIndex")
        if op is not None and old:
            op += 1
        amount = body["amount"]
        raw = int(Decimal(amount) * 10_000_000) if old else int(amount)
        asset = _asset(event.get("asset") if old else body.get("asset"))
        out.append(
            GoldenEvent(
                meta["ledgerSequence"],
                meta["txHash"],
                op,
                kind,
                _address(body.get("from")),
                _address(body.get("to")),
                asset,
                raw,
            )
        )
    return out


def parse_file(path: Path) -> list[GoldenEvent]:
    return parse(path.read_text())


def from_record(record: dict[str, Any]) -> GoldenEvent:
    """A ``token_transfers`` record in golden form."""
    return GoldenEvent(
        record["ledger_sequence"],
        record["transaction_hash"],
        record["operation_index"],
        record["event_type"],
        record["from"],
        record["to"],
        record["asset"] or "",
        int(record["amount_raw"]),
    )
