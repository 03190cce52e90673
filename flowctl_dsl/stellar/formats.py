"""Readers that turn the on-disk shapes of Stellar ledgers into raw ``LedgerCloseMeta`` bytes.

Shapes: galexie batch objects (zstd ``LedgerCloseMetaBatch``), framed streams (zstd; records of
a 4-byte big-endian ``0x80000000 | len`` mark + ``LedgerCloseMeta``), base64 lines (one LCM per
line), RPC ``getLedgers`` JSON (``metadataXdr``) and a lone base64 ``TransactionMeta``. Every
ledger reader yields :class:`LedgerBytes`; nothing here decodes more than the header, except
splitting a multi-ledger batch (which has no per-ledger length prefix).
"""

from __future__ import annotations

import base64
import io
import json
import struct
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import zstandard
from stellar_sdk import xdr as sx
from xdrlib3 import Unpacker

from flowctl_dsl.stellar.decode import header_only

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_U32 = struct.Struct(">I")
_LAST_FRAGMENT = 0x80000000


class LedgerBytes(NamedTuple):
    """One undecoded ``LedgerCloseMeta`` and its sequence."""

    sequence: int
    xdr: bytes


class FormatError(ValueError):
    """The data is not in the expected ledger format."""


def zstd_decompress(data: bytes) -> bytes:
    """Decompress a zstd blob, with or without the content size in its frame header."""
    return zstandard.ZstdDecompressor().decompressobj().decompress(data)


def zstd_compress(data: bytes, level: int = 3) -> bytes:
    """zstd-compress ``data`` with its content size recorded in the frame header."""
    return zstandard.ZstdCompressor(level=level, write_content_size=True).compress(data)


def _maybe_decompress(data: bytes) -> bytes:
    return zstd_decompress(data) if data[:4] == ZSTD_MAGIC else data


# --- galexie batch objects -------------------------------------------------------------------


def split_batch(raw: bytes) -> list[LedgerBytes]:
    """Split uncompressed ``LedgerCloseMetaBatch`` XDR into its ledgers.

    A one-ledger batch (the usual galexie layout) is sliced without decoding; bigger batches are
    walked with the XDR unpacker to find the boundaries (the bytes are still returned as sliced).
    """
    try:
        start, end, count = struct.unpack_from(">III", raw, 0)
    except struct.error:
        raise FormatError("truncated LedgerCloseMetaBatch") from None
    if count == 0:
        return []
    if count == 1:
        return [LedgerBytes(start, raw[12:])]
    unpacker = Unpacker(raw)
    unpacker.set_position(12)
    out = []
    for _ in range(count):
        begin = unpacker.get_position()
        sx.LedgerCloseMeta.unpack(unpacker)
        chunk = raw[begin : unpacker.get_position()]
        out.append(LedgerBytes(header_only(chunk).sequence, chunk))
    if unpacker.get_position() != len(raw):
        raise FormatError("trailing bytes after LedgerCloseMetaBatch")
    if out[0].sequence != start or out[-1].sequence != end:
        raise FormatError(f"batch {start}-{end} holds ledgers {out[0].sequence}-{out[-1].sequence}")
    return out


def read_batch(data: bytes) -> list[LedgerBytes]:
    """Ledgers of a galexie object (zstd-compressed or already raw)."""
    return split_batch(_maybe_decompress(data))


def encode_batch(ledgers: Iterable[bytes], start: int, end: int) -> bytes:
    """Uncompressed ``LedgerCloseMetaBatch`` XDR from LCM XDR byte strings (no re-encoding)."""
    items = list(ledgers)
    return struct.pack(">III", start, end, len(items)) + b"".join(items)


# --- framed streams ---------------------------------------------------------------------------


def iter_framed(data: bytes) -> Iterator[LedgerBytes]:
    """Ledgers of a framed stream (zstd-compressed or raw): ``0x80000000|len`` + LCM records."""
    raw = _maybe_decompress(data)
    pos = 0
    while pos < len(raw):
        try:
            (mark,) = _U32.unpack_from(raw, pos)
        except struct.error:
            raise FormatError(f"truncated frame header at byte {pos}") from None
        if not mark & _LAST_FRAGMENT:
            raise FormatError(f"frame at byte {pos} is not a single-fragment record")
        size = mark & ~_LAST_FRAGMENT
        body = raw[pos + 4 : pos + 4 + size]
        if len(body) != size:
            raise FormatError(f"truncated frame at byte {pos}: want {size}, have {len(body)}")
        pos += 4 + size
        yield LedgerBytes(header_only(body).sequence, body)


def encode_framed(ledgers: Iterable[bytes]) -> bytes:
    """Uncompressed framed stream from LCM XDR byte strings."""
    out = io.BytesIO()
    for item in ledgers:
        out.write(_U32.pack(_LAST_FRAGMENT | len(item)))
        out.write(item)
    return out.getvalue()


# --- base64 lines / getLedgers JSON / TransactionMeta -----------------------------------------


def iter_base64_lines(lines: Iterable[str]) -> Iterator[LedgerBytes]:
    """One base64 ``LedgerCloseMeta`` per non-blank line."""
    for number, line in enumerate(lines, start=1):
        line = line.strip()
        if not line:
            continue
        try:
            body = base64.b64decode(line, validate=True)
        except ValueError as exc:
            raise FormatError(f"line {number}: not base64 ({exc})") from None
        yield LedgerBytes(header_only(body).sequence, body)


def iter_get_ledgers(response: dict[str, Any] | str | bytes) -> Iterator[LedgerBytes]:
    """Ledgers of an RPC ``getLedgers`` response (full JSON-RPC envelope or its ``result``)."""
    doc = json.loads(response) if isinstance(response, str | bytes) else response
    result = doc.get("result", doc)
    if "ledgers" not in result:
        raise FormatError("not a getLedgers response: no 'ledgers'")
    for entry in result["ledgers"]:
        if "metadataXdr" not in entry:
            raise FormatError("getLedgers entry without metadataXdr (request xdrFormat=base64)")
        body = base64.b64decode(entry["metadataXdr"])
        sequence = header_only(body).sequence
        if "sequence" in entry and int(entry["sequence"]) != sequence:
            raise FormatError(f"entry says ledger {entry['sequence']}, metadata is {sequence}")
        yield LedgerBytes(sequence, body)


def read_transaction_meta(text: str | bytes) -> sx.TransactionMeta:
    """Decode a single base64 ``TransactionMeta`` (e.g. a ``*.b64`` fixture)."""
    if isinstance(text, bytes):
        text = text.decode("ascii")
    return sx.TransactionMeta.from_xdr(text.strip())


# --- files ------------------------------------------------------------------------------------


def detect_format(path: str | Path, data: bytes | None = None) -> str:
    """``batch``, ``framed``, ``getledgers`` or ``b64lines`` from a file's name and content."""
    path = Path(path)
    head = data[:64] if data is not None else path.open("rb").read(64)
    if head[:4] == ZSTD_MAGIC:
        first = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data or path.read_bytes()))
        word = first.read(4)
        return "framed" if len(word) == 4 and _U32.unpack(word)[0] & _LAST_FRAGMENT else "batch"
    stripped = head.lstrip()
    if stripped[:1] == b"{" or path.suffix == ".json":
        return "getledgers"
    if len(head) >= 4 and _U32.unpack(head[:4])[0] & _LAST_FRAGMENT:
        return "framed"
    return "b64lines"


def read_ledger_file(path: str | Path, fmt: str | None = None) -> list[LedgerBytes]:
    """All ledgers of a file in any supported format (auto-detected unless ``fmt`` is given)."""
    path = Path(path)
    data = path.read_bytes()
    fmt = fmt or detect_format(path, data)
    if fmt == "batch":
        return read_batch(data)
    if fmt == "framed":
        return list(iter_framed(data))
    if fmt == "getledgers":
        return list(iter_get_ledgers(data))
    if fmt == "b64lines":
        return list(iter_base64_lines(data.decode("ascii").splitlines()))
    raise FormatError(f"unknown ledger file format {fmt!r}")
