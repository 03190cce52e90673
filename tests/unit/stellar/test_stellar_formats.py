"""Ledger file formats: detection, batch splitting, framing, base64 lines, getLedgers, TxMeta."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from flowctl_dsl.stellar import formats
from flowctl_dsl.stellar.formats import FormatError, LedgerBytes

BATCH = "pubnet/FCD285FF--53312000.xdr.zstd"
JSON = "pubnet/getLedgers-derived-53312000.json"
FRAMED = "standalone/galexie-load-test-ledgers-v23-standalone.xdr.zstd"


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        (BATCH, "batch"),
        ("testnet/datalake-testbucket/FFFFFC1A--997.xdr.zstd", "batch"),
        (JSON, "getledgers"),
        (FRAMED, "framed"),
        ("pubnet/ttp-ledgers-base64.txt", "b64lines"),
        ("pubnet/ttp/mint-ledger-7320888", "b64lines"),
    ],
)
def test_detect_format(stellar_fixtures: Path, name: str, fmt: str) -> None:
    assert formats.detect_format(stellar_fixtures / name) == fmt


def test_batch_and_getledgers_hold_the_same_bytes(raw_ledgers) -> None:
    assert raw_ledgers(BATCH) == raw_ledgers(JSON)


def test_multi_ledger_batch_split_round_trip(raw_ledgers) -> None:
    ledgers = raw_ledgers("testnet/datalake-testbucket/FFFFFC1A--997.xdr.zstd")
    ledgers += raw_ledgers("testnet/datalake-testbucket/FFFFFC19--998.xdr.zstd")
    ledgers += raw_ledgers("testnet/datalake-testbucket/FFFFFC18--999.xdr.zstd")
    raw = formats.encode_batch([b.xdr for b in ledgers], 997, 999)
    assert formats.split_batch(raw) == ledgers
    assert formats.read_batch(formats.zstd_compress(raw)) == ledgers


def test_batch_errors() -> None:
    with pytest.raises(FormatError):
        formats.split_batch(b"\0\0")
    assert formats.split_batch(formats.encode_batch([], 5, 4)) == []


def test_framed_round_trip(raw_ledgers) -> None:
    ledgers = raw_ledgers(FRAMED)
    assert [b.sequence for b in ledgers] == [84, 85, 88]
    stream = formats.encode_framed(b.xdr for b in ledgers)
    assert list(formats.iter_framed(stream)) == ledgers
    assert list(formats.iter_framed(formats.zstd_compress(stream))) == ledgers
    with pytest.raises(FormatError, match="truncated"):
        list(formats.iter_framed(stream[:-10]))


def test_base64_lines(raw_ledgers) -> None:
    ledgers = raw_ledgers("pubnet/ttp-ledgers-base64.txt")
    lines = [base64.b64encode(b.xdr).decode() for b in ledgers]
    assert list(formats.iter_base64_lines(["", *lines, "  "])) == ledgers
    with pytest.raises(FormatError, match="line 1"):
        list(formats.iter_base64_lines(["not base64!"]))


def test_getledgers_shapes(stellar_fixtures: Path, raw_ledgers) -> None:
    doc = json.loads((stellar_fixtures / JSON).read_text())
    expected = raw_ledgers(BATCH)
    assert list(formats.iter_get_ledgers(doc)) == expected
    assert list(formats.iter_get_ledgers(doc.get("result", doc))) == expected
    with pytest.raises(FormatError):
        list(formats.iter_get_ledgers({"result": {}}))


def test_transaction_meta_files(stellar_fixtures: Path) -> None:
    files = sorted((stellar_fixtures / "pubnet-txmeta").glob("*.b64"))
    assert len(files) == 9
    for path in files:
        meta = formats.read_transaction_meta(path.read_text())
        assert meta.v == 4


def test_ledger_bytes_is_a_pair() -> None:
    assert LedgerBytes(1, b"x") == (1, b"x")
