"""The native processors equal the Python reference exactly, on every fixture and localnet ledger.

"Exactly" means: ``pa.Table.from_pylist(reference_records, schema=spec.schema)`` equals the native
batch (same columns, types, field metadata and values), and the batch's ``to_pylist()`` equals the
reference records through :func:`flowctl_dsl.stellar.native.to_records` (same Python values and
types: ``Decimal``, ``int``, ``datetime`` in ``datetime.UTC``, ``None``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from stellar_fixture_files import XDR_LEDGER_FILES, Ledger

from flowctl_dsl.catalog import catalog
from flowctl_dsl.catalog.event_processors import TokenTransfersParams
from flowctl_dsl.stellar import native
from flowctl_dsl.stellar.formats import read_ledger_file
from flowctl_dsl.stellar.localnet import iter_ledgers
from flowctl_dsl.stellar.networks import (
    MAINNET_PASSPHRASE,
)

pytestmark = pytest.mark.skipif(not native.available(), reason="flowctl_native is not built")

FIXTURE_FILES = XDR_LEDGER_FILES  # PROVENANCE.md

#: Processors with a native implementation, and the parameter variants to compare.
TTP_VARIANTS = (
    TokenTransfersParams(),
    TokenTransfersParams(include_fees=False),
    TokenTransfersParams(unified_events="never"),
    TokenTransfersParams(split_soroban_fees=False),
    TokenTransfersParams(order="transaction"),
)
PROCESSORS: dict[str, tuple[Any, ...]] = {
    "ledgers": (None,),
    "latest_ledger": (None,),
    "token_transfers": TTP_VARIANTS,
}


_CACHE: dict[str, list[Ledger]] = {}


@pytest.fixture(scope="module")
def fixture_ledgers(stellar_fixtures: Path) -> Callable[[str], list[Ledger]]:
    def load(name: str) -> list[Ledger]:
        if name not in _CACHE:
            passphrase = FIXTURE_FILES[name]
            _CACHE[name] = [
                Ledger(f"{name}#{lb.sequence}", lb.xdr, passphrase)
                for lb in read_ledger_file(stellar_fixtures / name)
            ]
        return _CACHE[name]

    return load


_LOCALNET: list[Ledger] = []


def localnet_ledgers() -> list[Ledger]:
    """Ledgers 2..41 of two localnet seeds (generated once per session)."""
    if not _LOCALNET:
        for seed in (0, 7):
            for raw in iter_ledgers(2, 41, seed=seed):
                label = f"localnet seed {seed} #{raw.sequence}"
                _LOCALNET.append(Ledger(label, raw.xdr, raw.network_passphrase))
    return _LOCALNET


def assert_same(processor: str, ledger: Ledger, params: Any) -> int:
    """Compare one processor on one ledger; returns the number of rows."""
    spec = catalog().get("processor", processor)
    assert spec is not None and spec.schema is not None and spec.native_impl is not None
    reference = list(spec.load()(ledger.view, params))
    expected = pa.Table.from_pylist(reference, schema=spec.schema)
    batch = native.load(spec.native_impl)([ledger.xdr], ledger.passphrase, params)
    got = pa.Table.from_batches([batch])
    where = f"{processor}({params}) on {ledger.label}"
    assert got.schema.equals(spec.schema, check_metadata=True), where
    if not got.equals(expected, check_metadata=True):
        diffs = [
            (name, i, a, b)
            for name in expected.column_names
            for i, (a, b) in enumerate(
                zip(expected[name].to_pylist(), got[name].to_pylist(), strict=True)
            )
            if a != b
        ]
        pytest.fail(f"{where}: first differences {diffs[:5]}")
    assert typed(native.to_records(batch)) == typed(reference), where
    return len(reference)


def typed(records: list[dict[str, Any]]) -> list[dict[str, tuple[Any, ...]]]:
    """Values with their types (and time zones), so ``Decimal(5) != 5`` here."""
    return [{k: (type(v), v, getattr(v, "tzinfo", None)) for k, v in r.items()} for r in records]


@pytest.mark.parametrize("name", sorted(FIXTURE_FILES))
@pytest.mark.parametrize("processor", sorted(PROCESSORS))
def test_fixture_ledgers_match_reference(
    name: str, processor: str, fixture_ledgers: Callable[[str], list[Ledger]]
) -> None:
    variants = PROCESSORS[processor]
    if name == "standalone/rpc-load-test-ledgers-v25.xdr.zstd":
        variants = variants[:2]  # 35 MB: the default and one variant keep the test short
    for ledger in fixture_ledgers(name):
        for params in variants:
            assert_same(processor, ledger, params)


@pytest.mark.parametrize("processor", sorted(PROCESSORS))
def test_localnet_ledgers_match_reference(processor: str) -> None:
    rows = 0
    for ledger in localnet_ledgers():
        for params in PROCESSORS[processor]:
            rows += assert_same(processor, ledger, params)
    assert rows > 0


def test_every_accelerated_spec_has_a_loadable_native_impl() -> None:
    accelerated = {s.name for s in catalog().of_kind("processor") if s.native_impl}
    assert accelerated == set(PROCESSORS)
    for spec in catalog().of_kind("processor"):
        if spec.native_impl:
            assert callable(native.load(spec.native_impl))


def test_many_ledgers_in_one_call_equal_one_call_each(
    fixture_ledgers: Callable[[str], list[Ledger]],
) -> None:
    ledgers = fixture_ledgers("pubnet/ttp-ledgers-base64.txt")
    xdrs = [ledger.xdr for ledger in ledgers]
    together = native.token_transfers(xdrs, MAINNET_PASSPHRASE)
    apart = [native.token_transfers([x], MAINNET_PASSPHRASE) for x in xdrs]
    assert pa.Table.from_batches([together]).equals(pa.Table.from_batches(apart))
