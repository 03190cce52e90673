"""The native module's header reads, errors, column wrapping and the FLOWCTL_DECODER switch."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from flowctl_dsl.stellar import decode, native
from flowctl_dsl.stellar.formats import read_ledger_file
from flowctl_dsl.stellar.networks import MAINNET_PASSPHRASE, TESTNET_PASSPHRASE

needs_native = pytest.mark.skipif(not native.available(), reason="flowctl_native is not built")

LEDGER_FILES = (
    "pubnet/FCD285FF--53312000.xdr.zstd",
    "pubnet/ttp-ledgers-base64.txt",
    "pubnet/ttp/revoke-trustline-ledger-56065483",
    "testnet/datalake-testbucket/FFFFFC1A--997.xdr.zstd",
    "standalone/galexie-load-test-ledgers-v23-standalone.xdr.zstd",
    "standalone/horizon-load-test-ledgers-v23.xdr.zstd",
    "standalone/rpc-load-test-ledgers-v25.xdr.zstd",
)
GALEXIE_OBJECTS = (
    "pubnet/FCD285FF--53312000.xdr.zstd",
    "testnet/datalake-testbucket/FFFFFC1A--997.xdr.zstd",
    "testnet/datalake-testbucket/FFFFFC19--998.xdr.zstd",
    "testnet/datalake-testbucket/FFFFFC18--999.xdr.zstd",
)


@needs_native
@pytest.mark.parametrize("name", LEDGER_FILES)
def test_header_only_matches_python(name: str, stellar_fixtures: Path) -> None:
    for lb in read_ledger_file(stellar_fixtures / name):
        assert native.header_only(lb.xdr) == decode.header_only(lb.xdr)
        assert native.header_only(lb.xdr[:2048]) == decode.header_only(lb.xdr)


@needs_native
def test_scan_headers_reads_galexie_objects(stellar_fixtures: Path) -> None:
    objects = [(stellar_fixtures / name).read_bytes() for name in GALEXIE_OBJECTS]
    batch = native.scan_headers(objects)
    assert batch.schema.equals(native.HEADER_SCAN_SCHEMA)
    for row, name in zip(batch.to_pylist(), GALEXIE_OBJECTS, strict=True):
        (lb,) = read_ledger_file(stellar_fixtures / name)
        info = decode.header_only(lb.xdr)
        assert row["sequence"] == row["batch_start"] == row["batch_end"] == lb.sequence
        assert row["closed_at"] == info.closed_at
        assert (row["ledger_hash"], row["previous_ledger_hash"]) == (
            info.ledger_hash,
            info.previous_ledger_hash,
        )
        assert (row["protocol_version"], row["lcm_version"]) == (
            info.protocol_version,
            info.lcm_version,
        )


@needs_native
def test_scan_headers_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        native.scan_headers([b"\x28\xb5\x2f\xfd" + b"\0" * 20])
    with pytest.raises(ValueError):
        native.scan_headers([b"\0\0\0\1"])


@needs_native
def test_wrong_passphrase_and_bad_xdr_are_value_errors(stellar_fixtures: Path) -> None:
    (lb,) = read_ledger_file(stellar_fixtures / "pubnet/FCD285FF--53312000.xdr.zstd")
    with pytest.raises(ValueError, match="wrong network passphrase"):
        native.latest_ledger([lb.xdr], TESTNET_PASSPHRASE)
    with pytest.raises(ValueError, match="XDR"):
        native.ledgers([lb.xdr[:-1]], MAINNET_PASSPHRASE)
    with pytest.raises(ValueError):
        native.token_transfers([b"\0\0\0\7"], MAINNET_PASSPHRASE)


@needs_native
def test_empty_input_gives_an_empty_batch() -> None:
    batch = native.ledgers([], MAINNET_PASSPHRASE)
    assert batch.num_rows == 0 and batch.schema.names[0] == "sequence"


def test_check_layout_guards_the_import() -> None:
    layout = [("a", "int64"), ("b", "decimal128"), ("c", "timestamp")]
    good = pa.schema(
        [("a", pa.int64()), ("b", pa.decimal128(38, 0)), ("c", pa.timestamp("s", tz="UTC"))]
    )
    native.check_layout(layout, good)
    native.check_layout(layout, good)  # cached
    with pytest.raises(TypeError, match="schema"):
        native.check_layout([("x", "int64"), *layout[1:]], good)
    with pytest.raises(TypeError, match="int32"):
        native.check_layout([("a", "int32"), *layout[1:]], good)
    with pytest.raises(TypeError, match="decimal128"):
        native.check_layout(layout, pa.schema([("a", pa.int64()), ("b", pa.int64()), good[2]]))


@needs_native
def test_a_native_batch_is_imported_once_and_freed_if_never_imported() -> None:
    assert native.MODULE is not None
    from flowctl_dsl.catalog.ledger_processors import LATEST_LEDGER_SCHEMA

    result = native.MODULE.latest_ledger([], MAINNET_PASSPHRASE)
    assert result.layout()[0] == ("sequence", "int64")
    batch = result.import_pyarrow(LATEST_LEDGER_SCHEMA)
    assert batch.num_rows == 0 and batch.schema.equals(LATEST_LEDGER_SCHEMA)
    with pytest.raises(RuntimeError, match="already imported"):
        result.import_pyarrow(LATEST_LEDGER_SCHEMA)
    del result
    unused = native.MODULE.ledgers([], MAINNET_PASSPHRASE)
    del unused  # released by Rust without an import


def test_decoder_mode_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(native.DECODER_ENV, raising=False)
    assert native.mode() == "auto"
    assert native.enabled() == native.available()
    monkeypatch.setenv(native.DECODER_ENV, "python")
    assert native.mode() == "python" and not native.enabled()
    monkeypatch.setenv(native.DECODER_ENV, "Native")
    if native.available():
        assert native.enabled()
    else:
        with pytest.raises(RuntimeError, match="not built"):
            native.enabled()
    monkeypatch.setenv(native.DECODER_ENV, "fast")
    with pytest.raises(ValueError, match="FLOWCTL_DECODER"):
        native.mode()


def test_install_registers_the_native_decoder(monkeypatch: pytest.MonkeyPatch) -> None:
    previous = decode.get_decoder()
    try:
        monkeypatch.setenv(native.DECODER_ENV, "python")
        assert not isinstance(native.install(), native.NativeDecoder)
        monkeypatch.setenv(native.DECODER_ENV, "auto")
        installed = native.install()
        assert isinstance(installed, native.NativeDecoder) == native.available()
    finally:
        decode.set_decoder(previous)


@needs_native
def test_native_decoder_keeps_the_sdk_interface(stellar_fixtures: Path) -> None:
    (lb,) = read_ledger_file(
        stellar_fixtures / "testnet/datalake-testbucket/FFFFFC19--998.xdr.zstd"
    )
    decoder = native.NativeDecoder()
    assert decoder.decode_ledger(lb.xdr).to_xdr_bytes() == lb.xdr
    assert decoder.header_only(lb.xdr) == decode.header_only(lb.xdr)
    batch = decoder.record_batch(
        "flowctl_dsl.stellar.native:latest_ledger", [lb.xdr], "Test SDF Network ; September 2015"
    )
    assert batch.column("sequence").to_pylist() == [998]
