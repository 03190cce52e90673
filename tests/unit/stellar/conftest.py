"""Fixture ledgers of ../shared/fixtures/stellar, decoded once per test session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from stellar_fixture_files import LEDGER_FILES

from flowctl_dsl.stellar.formats import LedgerBytes, read_ledger_file
from flowctl_dsl.stellar.ledger import LedgerView

_RAW: dict[str, list[LedgerBytes]] = {}
_VIEWS: dict[str, list[LedgerView]] = {}


@pytest.fixture(scope="session")
def raw_ledgers(stellar_fixtures: Path) -> Callable[[str], list[LedgerBytes]]:
    """``load(relative_path)`` → the file's ledgers as bytes (cached)."""

    def load(name: str) -> list[LedgerBytes]:
        if name not in _RAW:
            _RAW[name] = read_ledger_file(stellar_fixtures / name)
        return _RAW[name]

    return load


@pytest.fixture(scope="session")
def ledger_views(
    raw_ledgers: Callable[[str], list[LedgerBytes]],
) -> Callable[[str], list[LedgerView]]:
    """``load(relative_path)`` → the file's ledgers decoded as ``LedgerView`` (cached)."""

    def load(name: str) -> list[LedgerView]:
        if name not in _VIEWS:
            passphrase = LEDGER_FILES[name]
            _VIEWS[name] = [LedgerView.from_xdr(b.xdr, passphrase) for b in raw_ledgers(name)]
        return _VIEWS[name]

    return load
