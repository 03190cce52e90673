"""Shared test fixtures: where the real Stellar ledgers live, and a clean temp dir for Beam."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FLOWCTL_SHARED", REPO.parent / "shared")).resolve()
STELLAR_FIXTURES = SHARED / "fixtures" / "stellar"


@pytest.fixture(scope="session")
def stellar_fixtures() -> Path:
    """``../shared/fixtures/stellar``; tests that need it are skipped only if it is truly absent."""
    if not STELLAR_FIXTURES.is_dir():
        pytest.skip(f"no Stellar fixtures at {STELLAR_FIXTURES}")
    return STELLAR_FIXTURES
