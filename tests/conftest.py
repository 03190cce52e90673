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


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        default=False,
        help="rewrite the expected outputs under tests/fixtures/ from the current code",
    )


@pytest.fixture(scope="session")
def update_goldens(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-goldens"))


@pytest.fixture(autouse=True)
def _beam_tmpdir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep Beam's temporary folders inside pytest's temp dir, not piling up in /tmp."""
    import tempfile

    tmp = tmp_path_factory.getbasetemp() / "beam-tmp"
    tmp.mkdir(exist_ok=True)
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))


@pytest.fixture(autouse=True)
def _state_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Default checkpoints go to a temp dir of their own, never to ``.flowctl/`` in the checkout
    (and not into the test's ``tmp_path``, which tests use as an output folder)."""
    if "FLOWCTL_STATE_DIR" not in os.environ:
        monkeypatch.setenv("FLOWCTL_STATE_DIR", str(tmp_path_factory.mktemp("flowctl-state")))
