"""Decoded fixture ledgers for the event-processor tests (decoded once per session)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from flowctl_dsl.stellar.formats import read_ledger_file
from flowctl_dsl.stellar.ledger import LedgerView
from flowctl_dsl.stellar.networks import (
    MAINNET_PASSPHRASE,
    STANDALONE_PASSPHRASE,
    TESTNET_PASSPHRASE,
)

#: Fixture file (relative to the fixtures root) → network passphrase.
PASSPHRASES = {
    "pubnet/": MAINNET_PASSPHRASE,
    "testnet/": TESTNET_PASSPHRASE,
    "standalone/horizon-": "load test network",
    "standalone/": STANDALONE_PASSPHRASE,
}


def passphrase_of(relative: str) -> str:
    return next(p for prefix, p in PASSPHRASES.items() if relative.startswith(prefix))


LoadLedgers = Callable[..., list[LedgerView]]


@pytest.fixture(scope="session")
def load_ledgers(stellar_fixtures: Path) -> LoadLedgers:
    """``load_ledgers("pubnet/…", limit=None)`` → decoded :class:`LedgerView` list (cached)."""
    raw: dict[str, list] = {}
    views: dict[tuple[str, int], LedgerView] = {}

    def load(relative: str, limit: int | None = None) -> list[LedgerView]:
        if relative not in raw:
            raw[relative] = read_ledger_file(stellar_fixtures / relative)
        out = []
        for i, ledger in enumerate(raw[relative][:limit]):
            if (relative, i) not in views:
                views[relative, i] = LedgerView.from_xdr(ledger.xdr, passphrase_of(relative))
            out.append(views[relative, i])
        return out

    return load
