"""``account_changes`` is exactly the account entries of ``ledger_changes``, in the same order."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from flowctl_dsl.catalog import catalog
from flowctl_dsl.stellar.formats import read_ledger_file
from flowctl_dsl.stellar.ledger import LedgerView
from flowctl_dsl.stellar.networks import MAINNET_PASSPHRASE, TESTNET_PASSPHRASE
from flowctl_dsl.transforms.processors.ledger_changes import account_records, records


def test_account_changes_filter_ledger_changes(stellar_fixtures: Path) -> None:
    spec = catalog().get("processor", "account-changes")
    assert spec is not None and spec.name == "account_changes"
    files = [
        ("testnet/datalake-testbucket/FFFFFC1A--997.xdr.zstd", TESTNET_PASSPHRASE),
        ("pubnet/FCD285FF--53312000.xdr.zstd", MAINNET_PASSPHRASE),
    ]
    total = 0
    for rel, passphrase in files:
        for raw in read_ledger_file(stellar_fixtures / rel):
            view = LedgerView.from_xdr(raw.xdr, passphrase)
            everything = list(records(view))
            accounts = list(account_records(view))
            assert accounts == [r for r in everything if r["entry_type"] == "account"]
            assert 0 < len(accounts) < len(everything) or rel.startswith("testnet")
            pa.Table.from_pylist(accounts, schema=spec.schema)
            total += len(accounts)
    assert total > 0
