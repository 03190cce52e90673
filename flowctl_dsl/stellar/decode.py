"""Decoding ``LedgerCloseMeta`` XDR behind one small interface.

Processors call :func:`decode_ledger` (or a :class:`LedgerDecoder`) and never ``stellar_sdk.xdr``
parsing directly, so a faster native decoder can replace the pure-Python one with
:func:`set_decoder` without touching them. :func:`header_only` reads the ledger header fields
straight from the first bytes (a fixed-offset walk, ~1 µs) for planning and filtering.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime
from typing import NamedTuple, Protocol

from stellar_sdk import xdr as sx


class LedgerDecoder(Protocol):
    """Anything that turns LCM XDR bytes into a ``stellar_sdk.xdr.LedgerCloseMeta``."""

    def decode_ledger(self, xdr: bytes) -> sx.LedgerCloseMeta: ...


class StellarSdkDecoder:
    """The pure-Python decoder of stellar-sdk (roughly 3–6 MB of XDR per second per core)."""

    def decode_ledger(self, xdr: bytes) -> sx.LedgerCloseMeta:
        return sx.LedgerCloseMeta.from_xdr_bytes(xdr)


_decoder: LedgerDecoder = StellarSdkDecoder()


def set_decoder(decoder: LedgerDecoder) -> LedgerDecoder:
    """Install ``decoder`` process-wide; returns the previous one."""
    global _decoder
    previous, _decoder = _decoder, decoder
    return previous


def get_decoder() -> LedgerDecoder:
    """The decoder :func:`decode_ledger` uses."""
    return _decoder


def decode_ledger(xdr: bytes) -> sx.LedgerCloseMeta:
    """Decode one ``LedgerCloseMeta`` with the installed decoder."""
    return _decoder.decode_ledger(xdr)


class LedgerHeaderInfo(NamedTuple):
    """Header fields readable from the first few hundred bytes of a ``LedgerCloseMeta``."""

    lcm_version: int
    ledger_hash: str
    protocol_version: int
    previous_ledger_hash: str
    closed_at: datetime
    sequence: int


class HeaderDecodeError(ValueError):
    """The bytes are not the start of a ``LedgerCloseMeta`` this walk understands."""


_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")


def _opaque_len(n: int) -> int:
    """Bytes taken by a variable-length opaque of ``n`` bytes (length word + padded data)."""
    return 4 + n + (-n % 4)


def header_only(xdr: bytes) -> LedgerHeaderInfo:
    """Sequence, close time, protocol and hashes of a ``LedgerCloseMeta`` without a full decode.

    Walks ``LedgerCloseMeta`` v → ext (V1/V2) → ``LedgerHeaderHistoryEntry.hash`` →
    ``ledgerVersion``, ``previousLedgerHash``, ``scpValue`` (txSetHash, closeTime, upgrades, ext) →
    ``txSetResultHash``, ``bucketListHash`` → ``ledgerSeq``. Only needs the prefix of ``xdr``.
    """
    try:
        (version,) = _U32.unpack_from(xdr, 0)
        pos = 4
        if version in (1, 2):
            (ext,) = _U32.unpack_from(xdr, pos)
            pos += 4
            if ext == 1:  # LedgerCloseMetaExtV1: ExtensionPoint(v=0) + int64
                pos += 4 + 8
            elif ext != 0:
                raise HeaderDecodeError(f"unknown LedgerCloseMetaExt {ext}")
        elif version != 0:
            raise HeaderDecodeError(f"unknown LedgerCloseMeta version {version}")
        ledger_hash = xdr[pos : pos + 32]
        pos += 32
        (protocol,) = _U32.unpack_from(xdr, pos)
        pos += 4
        previous = xdr[pos : pos + 32]
        pos += 32 + 32  # previousLedgerHash, scpValue.txSetHash
        (close_time,) = _U64.unpack_from(xdr, pos)
        pos += 8
        (n_upgrades,) = _U32.unpack_from(xdr, pos)
        pos += 4
        for _ in range(n_upgrades):
            (n,) = _U32.unpack_from(xdr, pos)
            pos += _opaque_len(n)
        (sv_ext,) = _U32.unpack_from(xdr, pos)
        pos += 4
        if sv_ext == 2:  # STELLAR_VALUE_EMPTY_TX_SET: txSetHash, previousLedgerHash, version
            pos += 32 + 32 + 4
        if sv_ext in (1, 2):  # LedgerCloseValueSignature: NodeID (type + 32) + Signature
            pos += 4 + 32
            (n,) = _U32.unpack_from(xdr, pos)
            pos += _opaque_len(n)
        elif sv_ext != 0:
            raise HeaderDecodeError(f"unknown StellarValueType {sv_ext}")
        pos += 32 + 32  # txSetResultHash, bucketListHash
        (sequence,) = _U32.unpack_from(xdr, pos)
    except struct.error as exc:
        raise HeaderDecodeError(f"truncated LedgerCloseMeta header: {exc}") from None
    return LedgerHeaderInfo(
        lcm_version=version,
        ledger_hash=ledger_hash.hex(),
        protocol_version=protocol,
        previous_ledger_hash=previous.hex(),
        closed_at=datetime.fromtimestamp(close_time, UTC),
        sequence=sequence,
    )
