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
    cache: dict[tuple[str, int | None], list[LedgerView]] = {}

    def load(relative: str, limit: int | None = None) -> list[LedgerView]:
        key = (relative, limit)
        if key not in cache:
            raw = read_ledger_file(stellar_fixtures / relative)[:limit]
            passphrase = passphrase_of(relative)
            cache[key] = [LedgerView.from_xdr(lb.xdr, passphrase) for lb in raw]
        return cache[key]

    return load
