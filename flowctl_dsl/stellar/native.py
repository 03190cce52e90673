"""The native decode path: ``flowctl_native`` (Rust, SDF's ``stellar-xdr`` crate) when it is built.

The extension module (``native/``, built with ``maturin develop --release -m native/Cargo.toml``
or ``.ci/native.sh``) decodes ``LedgerCloseMeta`` and runs the hot processors straight into Arrow
buffers; this module imports them (Arrow C data interface) as ``pyarrow.RecordBatch`` under the
catalog schema. The pure-Python processors stay the reference: a ledger the native code does not
implement (``NotImplementedError``) or rejects (``ValueError``, e.g. a wrong passphrase) is
handed to the reference processor, so output and error messages are always the reference's.

``FLOWCTL_DECODER`` picks the path: ``python`` (reference only), ``native`` (fail if the module
is missing) or ``auto`` (native when built; the default).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import pyarrow as pa
from stellar_sdk import xdr as sx

from flowctl_dsl.catalog.event_processors import TOKEN_TRANSFERS_SCHEMA, TokenTransfersParams
from flowctl_dsl.catalog.ledger_processors import LATEST_LEDGER_SCHEMA, LEDGERS_SCHEMA
from flowctl_dsl.stellar.decode import (
    LedgerDecoder,
    LedgerHeaderInfo,
    StellarSdkDecoder,
    get_decoder,
    set_decoder,
)
from flowctl_dsl.transforms.columnar.execution import DECODER_ENV, DECODER_MODES
from flowctl_dsl.transforms.columnar.rows import to_records  # noqa: F401 - re-exported

MODES = DECODER_MODES

#: A native processor: ``(ledger XDRs, passphrase, params) -> RecordBatch`` (spec ``native_impl``).
NativeExtract = Callable[[Sequence[bytes], str, Any], pa.RecordBatch]

try:
    import flowctl_native as _module

    MODULE: ModuleType | None = _module
except ImportError:  # not built: the reference path is used
    MODULE = None


def available() -> bool:
    """True when the extension module is importable."""
    return MODULE is not None


def mode() -> str:
    """``python``, ``native`` or ``auto`` from ``FLOWCTL_DECODER`` (default ``auto``)."""
    value = os.environ.get(DECODER_ENV, "auto").strip().lower() or "auto"
    if value not in MODES:
        raise ValueError(f"{DECODER_ENV}={value!r}: expected one of {', '.join(MODES)}")
    return value


def enabled() -> bool:
    """Whether processors should use their native implementation in this process."""
    chosen = mode()
    if chosen == "python":
        return False
    if chosen == "native" and MODULE is None:
        raise RuntimeError(
            f"{DECODER_ENV}=native but the flowctl_native module is not built "
            "(run .ci/native.sh or `maturin develop --release -m native/Cargo.toml`)"
        )
    return MODULE is not None


def _module_or_raise() -> ModuleType:
    if MODULE is None:
        raise RuntimeError("the flowctl_native module is not built")
    return MODULE


# --- native batches → RecordBatch ----------------------------------------------------------------------

_LAYOUTS = {
    "int32": (pa.int32(),),
    "int64": (pa.int64(),),
    "timestamp": (pa.timestamp("s"), pa.timestamp("s", tz="UTC")),
    "string": (pa.string(),),
    "decimal128": (),  # any decimal128(p, s): checked below
}


def _check_layout(field: pa.Field, layout: str) -> None:
    ok = (
        pa.types.is_decimal128(field.type)
        if layout == "decimal128"
        else any(field.type.equals(t) for t in _LAYOUTS[layout])
    )
    if not ok:
        raise TypeError(f"native column {field.name} is {layout}, the schema says {field.type}")


#: id(schema) → (schema, layout) already checked (the schema is kept so its id stays unique).
_CHECKED: dict[int, tuple[pa.Schema, list[tuple[str, str]]]] = {}


def check_layout(layout: list[tuple[str, str]], schema: pa.Schema) -> None:
    """Raise ``TypeError`` unless ``schema`` has exactly the native columns, names and layouts.

    The Arrow C data interface carries no buffer sizes, so this check guards the import."""
    seen = _CHECKED.get(id(schema))
    if seen is not None and seen[0] is schema and seen[1] == layout:
        return
    names = [name for name, _ in layout]
    if names != schema.names:
        raise TypeError(f"native columns {names} != schema {schema.names}")
    for field, (_, kind) in zip(schema, layout, strict=True):
        _check_layout(field, kind)
    _CHECKED[id(schema)] = (schema, layout)


def to_batch(native_batch: Any, schema: pa.Schema) -> pa.RecordBatch:
    """Import a module result (Arrow C data interface) as a ``RecordBatch`` with ``schema``."""
    check_layout(native_batch.layout(), schema)
    batch: pa.RecordBatch = native_batch.import_pyarrow(schema)
    return batch


# --- native processors (catalog ``native_impl``) -------------------------------------------------


def ledgers(xdrs: Sequence[bytes], passphrase: str, params: Any = None) -> pa.RecordBatch:
    """``ledgers`` rows of these ledgers."""
    return to_batch(_module_or_raise().ledgers(list(xdrs), passphrase), LEDGERS_SCHEMA)


def latest_ledger(xdrs: Sequence[bytes], passphrase: str, params: Any = None) -> pa.RecordBatch:
    """``latest_ledger`` rows of these ledgers."""
    columns = _module_or_raise().latest_ledger(list(xdrs), passphrase)
    return to_batch(columns, LATEST_LEDGER_SCHEMA)


def token_transfers(xdrs: Sequence[bytes], passphrase: str, params: Any = None) -> pa.RecordBatch:
    """``token_transfers`` rows of these ledgers (``params``: ``TokenTransfersParams``)."""
    p = params if params is not None else TokenTransfersParams()
    columns = _module_or_raise().token_transfers(
        list(xdrs),
        passphrase,
        include_fees=p.include_fees,
        unified_events=p.unified_events,
        split_soroban_fees=p.split_soroban_fees,
        order=p.order,
    )
    return to_batch(columns, TOKEN_TRANSFERS_SCHEMA)


# --- header-only reads ---------------------------------------------------------------------------

HEADER_SCAN_SCHEMA = pa.schema(
    [
        pa.field("batch_start", pa.int64(), nullable=False),
        pa.field("batch_end", pa.int64(), nullable=False),
        pa.field("sequence", pa.int64(), nullable=False),
        pa.field("closed_at", pa.timestamp("s", tz="UTC"), nullable=False),
        pa.field("protocol_version", pa.int32(), nullable=False),
        pa.field("lcm_version", pa.int32(), nullable=False),
        pa.field("ledger_hash", pa.string(), nullable=False),
        pa.field("previous_ledger_hash", pa.string(), nullable=False),
    ]
)


def scan_headers(objects: Sequence[bytes]) -> pa.RecordBatch:
    """First ledger header of each galexie object (zstd or raw ``LedgerCloseMetaBatch``),
    decompressing only its first ~2 KB."""
    return to_batch(_module_or_raise().scan_headers(list(objects)), HEADER_SCAN_SCHEMA)


def header_only(xdr: bytes) -> LedgerHeaderInfo:
    """:func:`flowctl_dsl.stellar.decode.header_only`, natively."""
    version, ledger_hash, protocol, previous, close_time, sequence = _module_or_raise().header_only(
        xdr
    )
    return LedgerHeaderInfo(
        lcm_version=version,
        ledger_hash=ledger_hash,
        protocol_version=protocol,
        previous_ledger_hash=previous,
        closed_at=datetime.fromtimestamp(close_time, UTC),
        sequence=sequence,
    )


# --- the decoder registration --------------------------------------------------------------------


class NativeDecoder(StellarSdkDecoder):
    """The :class:`~flowctl_dsl.stellar.decode.LedgerDecoder` installed when native is enabled.

    ``decode_ledger`` still returns stellar-sdk objects (what reference processors read); the
    native work is done by :meth:`record_batch` for processors with a ``native_impl`` and by
    :meth:`header_only`.
    """

    name = "native"

    def header_only(self, xdr: bytes) -> LedgerHeaderInfo:
        return header_only(xdr)

    def record_batch(
        self, native_impl: str, xdrs: Sequence[bytes], passphrase: str, params: Any = None
    ) -> pa.RecordBatch:
        """Run the native processor named by a spec's ``native_impl`` over ``xdrs``."""
        return load(native_impl)(xdrs, passphrase, params)

    def decode_ledger(self, xdr: bytes) -> sx.LedgerCloseMeta:
        return super().decode_ledger(xdr)


def load(native_impl: str) -> NativeExtract:
    """Import ``package.module:function``."""
    module, _, attr = native_impl.partition(":")
    fn: NativeExtract = getattr(importlib.import_module(module), attr)
    return fn


def install() -> LedgerDecoder:
    """Install :class:`NativeDecoder` process-wide when :func:`enabled`, or put the stellar-sdk
    reference back when it is not (``FLOWCTL_DECODER=python``); returns the decoder in use."""
    current = get_decoder()
    if enabled() and not isinstance(current, NativeDecoder):
        set_decoder(NativeDecoder())
    elif not enabled() and isinstance(current, NativeDecoder):
        set_decoder(StellarSdkDecoder())
    return get_decoder()
