"""Every event processor's records match its declared pyarrow schema on every ledger shape."""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pytest

from flowctl_dsl.catalog import catalog
from flowctl_dsl.catalog.event_processors import SPECS
from flowctl_dsl.catalog.spec import LEDGER_CLOSE_META
from flowctl_dsl.stellar.ledger import LedgerView

LoadLedgers = Callable[..., list[LedgerView]]

# one ledger of each LCM/TxMeta/protocol shape
SAMPLES = [
    ("pubnet/ttp/xlm-mint-bug-ledger-9652679", 0),  # V0 / v2, p4
    ("pubnet/ttp-ledgers-base64.txt", 3),  # V0 / v2, p19, DEX + claimable balances
    ("pubnet/ttp/revoke-trustline-ledger-56065483", 0),  # V1 / v3, p22, fee bumps
    ("pubnet/FCD285FF--53312000.xdr.zstd", 0),  # V1 / v3, p21, Soroban call
    ("testnet/datalake-testbucket/FFFFFC1A--997.xdr.zstd", 0),  # failed txs, merge
    ("standalone/horizon-load-test-ledgers-v22.xdr.zstd", 0),  # V1 / v3 SAC events
    ("standalone/galexie-load-test-ledgers-v23-standalone.xdr.zstd", 1),  # V2 / v4
    ("standalone/galexie-load-test-ledgers-v23-standalone.xdr.zstd", 0),  # empty, upgrades
]


def test_specs_are_complete() -> None:
    names = {s.name for s in SPECS}
    assert names == {
        "token_transfers",
        "contract_events",
        "contract_data",
        "contract_invocations",
        "trades",
        "ledger_changes",
        "account_changes",
    }
    cat = catalog()
    for spec in SPECS:
        assert spec.kind == "processor" and spec.input_type == LEDGER_CLOSE_META
        assert spec.schema is not None and spec.output_type
        fields = set(spec.schema.names)
        assert spec.primary_field in fields and set(spec.key_fields) <= fields
        assert callable(spec.load())
        for name in spec.names:
            assert cat.get("processor", name) is spec
        spec.params()  # every parameter has a default
    for alias in ("ttp", "token_transfer", "contract-event", "contract_event", "trade"):
        assert cat.get("processor", alias) is not None


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_records_match_schema(spec, load_ledgers: LoadLedgers) -> None:  # type: ignore[no-untyped-def]
    fn = spec.load()
    params = spec.params()
    total = 0
    for relative, index in SAMPLES:
        ledger = load_ledgers(relative, index + 1)[index]
        records = list(fn(ledger, params))
        total += len(records)
        for record in records:
            assert list(record) == spec.schema.names
        table = pa.Table.from_pylist(records, schema=spec.schema)
        table.validate(full=True)
        for field in spec.schema:
            if not field.nullable:
                assert table.column(field.name).null_count == 0, (relative, field.name)
        keys = [tuple(r[k] for k in spec.key_fields) for r in records]
        assert len(set(keys)) == len(keys), (relative, "natural key not unique")
        assert all(r["ledger_sequence"] == ledger.sequence for r in records)
        assert all(r["closed_at"].tzinfo is not None for r in records)
    assert total > 0
