"""Assets: XDR ``Asset``/``ChangeTrustAsset``/``TrustLineAsset`` → type, code, issuer, string.

Type names follow Horizon / stellar-etl: ``native``, ``credit_alphanum4``, ``credit_alphanum12``,
``liquidity_pool_shares``. The canonical string is ``native``, ``CODE:ISSUER`` or, for pool
shares, ``liquidity_pool:<hex pool id>``.
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

from stellar_sdk import xdr as sx

from flowctl_dsl.stellar.accounts import account_id

NATIVE = "native"
_TYPE_NAMES = {
    0: NATIVE,
    1: "credit_alphanum4",
    2: "credit_alphanum12",
    3: "liquidity_pool_shares",
}

AnyAsset = sx.Asset | sx.ChangeTrustAsset | sx.TrustLineAsset


class AssetParts(NamedTuple):
    """``asset_type``, ``asset_code``, ``asset_issuer`` (code/issuer ``None`` for native/pools)."""

    asset_type: str
    asset_code: str | None
    asset_issuer: str | None
    liquidity_pool_id: str | None = None

    @property
    def canonical(self) -> str:
        if self.asset_type == NATIVE:
            return NATIVE
        if self.liquidity_pool_id is not None:
            return f"liquidity_pool:{self.liquidity_pool_id}"
        return f"{self.asset_code}:{self.asset_issuer}"


def asset_parts(asset: AnyAsset) -> AssetParts:
    """Split any XDR asset into :class:`AssetParts`."""
    kind = asset.type.value
    if kind == 0:
        return AssetParts(NATIVE, None, None)
    if kind == 1:
        assert asset.alpha_num4 is not None
        code = asset.alpha_num4.asset_code.asset_code4
        return AssetParts(_TYPE_NAMES[1], _code(code), account_id(asset.alpha_num4.issuer))
    if kind == 2:
        assert asset.alpha_num12 is not None
        code = asset.alpha_num12.asset_code.asset_code12
        return AssetParts(_TYPE_NAMES[2], _code(code), account_id(asset.alpha_num12.issuer))
    if kind == 3:
        return AssetParts(_TYPE_NAMES[3], None, None, _pool_id(asset))
    raise ValueError(f"unknown asset type {kind}")


def canonical(asset: AnyAsset) -> str:
    """``native``, ``CODE:ISSUER`` or ``liquidity_pool:<hex>``."""
    return asset_parts(asset).canonical


def _code(raw: bytes) -> str:
    return raw.rstrip(b"\x00").decode("utf-8", errors="replace")


def _pool_id(asset: AnyAsset) -> str:
    if isinstance(asset, sx.TrustLineAsset):
        assert asset.liquidity_pool_id is not None
        return asset.liquidity_pool_id.pool_id.hash.hex()
    params = getattr(asset, "liquidity_pool", None)
    if params is None:
        raise ValueError("pool-share asset without pool parameters")
    return hashlib.sha256(params.to_xdr_bytes()).hexdigest()
