"""The full-ledger fixture files of ../shared/fixtures/stellar and their networks (PROVENANCE.md)."""

from __future__ import annotations

from flowctl_dsl.stellar.ledger import LedgerView
from flowctl_dsl.stellar.networks import (
    MAINNET_PASSPHRASE,
    STANDALONE_PASSPHRASE,
    TESTNET_PASSPHRASE,
)

LOAD_TEST = "load test network"


class Ledger:
    """One fixture ledger: its bytes, passphrase and (lazily, once) the reference view."""

    def __init__(self, label: str, xdr: bytes, passphrase: str) -> None:
        self.label, self.xdr, self.passphrase = label, xdr, passphrase
        self._view: LedgerView | None = None

    @property
    def view(self) -> LedgerView:
        if self._view is None:
            self._view = LedgerView.from_xdr(self.xdr, self.passphrase)
        return self._view


#: Every full-ledger fixture file and the passphrase of its network (PROVENANCE.md).
LEDGER_FILES: dict[str, str] = {
    "pubnet/FCD285FF--53312000.xdr.zstd": MAINNET_PASSPHRASE,
    "pubnet/getLedgers-derived-53312000.json": MAINNET_PASSPHRASE,
    "pubnet/ttp-ledgers-base64.txt": MAINNET_PASSPHRASE,
    "pubnet/ttp/revoke-trustline-ledger-56065483": MAINNET_PASSPHRASE,
    "pubnet/ttp/burn-ledger-7762802": MAINNET_PASSPHRASE,
    "pubnet/ttp/mint-ledger-7320888": MAINNET_PASSPHRASE,
    "pubnet/ttp/xlm-burn-bug-ledger-9722383": MAINNET_PASSPHRASE,
    "pubnet/ttp/xlm-mint-bug-ledger-9652679": MAINNET_PASSPHRASE,
    "pubnet/ttp/xlm-mint-bug-ledger-9652698": MAINNET_PASSPHRASE,
    "pubnet/ttp/xlm-mint-bug-ledger-9710976": MAINNET_PASSPHRASE,
    "testnet/datalake-testbucket/FFFFFC1A--997.xdr.zstd": TESTNET_PASSPHRASE,
    "testnet/datalake-testbucket/FFFFFC19--998.xdr.zstd": TESTNET_PASSPHRASE,
    "testnet/datalake-testbucket/FFFFFC18--999.xdr.zstd": TESTNET_PASSPHRASE,
    "standalone/galexie-load-test-ledgers-v23-standalone.xdr.zstd": STANDALONE_PASSPHRASE,
    "standalone/horizon-load-test-ledgers-v22.xdr.zstd": LOAD_TEST,
    "standalone/horizon-load-test-ledgers-v23.xdr.zstd": LOAD_TEST,
    "standalone/rpc-load-test-ledgers-v25.xdr.zstd": STANDALONE_PASSPHRASE,
}

#: The same without ``getLedgers-derived-53312000.json`` (ledger 53312000 again, as RPC JSON).
XDR_LEDGER_FILES: dict[str, str] = {
    name: passphrase for name, passphrase in LEDGER_FILES.items() if not name.endswith(".json")
}
