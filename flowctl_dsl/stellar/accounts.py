"""Account ids: XDR ``MuxedAccount``/``AccountID`` → ``G…`` (and ``M…``) strkeys."""

from __future__ import annotations

from typing import NamedTuple

from stellar_sdk import xdr as sx
from stellar_sdk.strkey import StrKey


class Account(NamedTuple):
    """The underlying ``G…`` account, the ``M…`` form when muxed, and the mux id."""

    account: str
    muxed: str | None = None
    muxed_id: int | None = None


def muxed_account(value: sx.MuxedAccount) -> Account:
    """Both strkeys of a ``MuxedAccount`` (``muxed``/``muxed_id`` are ``None`` when not muxed)."""
    if value.ed25519 is not None:
        return Account(StrKey.encode_ed25519_public_key(value.ed25519.uint256))
    med = value.med25519
    if med is None:
        raise ValueError(f"MuxedAccount of unknown type {value.type}")
    key = med.ed25519.uint256
    mux_id = med.id.uint64
    muxed = StrKey.encode_med25519_public_key(key + mux_id.to_bytes(8, "big"))
    return Account(StrKey.encode_ed25519_public_key(key), muxed, mux_id)


def account_id(value: sx.AccountID | sx.PublicKey) -> str:
    """``G…`` strkey of an ``AccountID`` (or ``PublicKey``)."""
    key = value.account_id if isinstance(value, sx.AccountID) else value
    assert key.ed25519 is not None
    return StrKey.encode_ed25519_public_key(key.ed25519.uint256)


def ed25519(raw: bytes) -> str:
    """``G…`` strkey of a raw 32-byte ed25519 public key."""
    return StrKey.encode_ed25519_public_key(raw)
