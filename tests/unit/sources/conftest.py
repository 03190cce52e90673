"""Small local lakes written from the localnet (close time = 2025-01-01T00:00:00Z + 5 s × seq)."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowctl_dsl.stellar.localnet.generate import generate_lake


@pytest.fixture(scope="session")
def localnet_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ledgers 2..301, one per object, one partition."""
    root = tmp_path_factory.mktemp("localnet-lake")
    generate_lake(root, (2, 301), txs_per_ledger=1)
    return root


@pytest.fixture(scope="session")
def batched_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ledgers 2..301, four per object, eight objects per partition (partial end objects)."""
    root = tmp_path_factory.mktemp("batched-lake")
    generate_lake(root, (2, 301), ledgers_per_file=4, files_per_partition=8, txs_per_ledger=1)
    return root
