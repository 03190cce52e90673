"""localnet ledgers through flowctl's own readers: every processor runs, and the CAP-67 events the
generator writes equal the token transfers derived independently from operations and changes."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from flowctl_dsl.stellar.ledger import LedgerView
from flowctl_dsl.stellar.localnet import iter_ledgers

PROCESSORS = (
    "ledgers",
    "transactions",
    "operations",
    "payments",
    "token_transfers",
    "contract_events",
    "trades",
    "ledger_changes",
)


@pytest.fixture(scope="module")
def views():
    return [LedgerView.from_raw(r) for r in iter_ledgers(2, 26)]


@pytest.mark.parametrize("name", PROCESSORS)
def test_processor_runs(views, name):
    module = importlib.import_module(f"flowctl_dsl.transforms.processors.{name}")
    assert sum(len(list(module.records(v, None))) for v in views) > 0


def test_unified_events_equal_derived_token_transfers(views):
    tt = importlib.import_module("flowctl_dsl.transforms.processors.token_transfers")
    keys = (
        "transaction_hash",
        "operation_index",
        "event_type",
        "from",
        "to",
        "asset",
        "amount_raw",
    )
    total = 0
    for v in views:
        unified = Counter(
            tuple(r[k] for k in keys)
            for r in tt.records(v, tt.TokenTransfersParams(unified_events="auto"))
        )
        derived = Counter(
            tuple(r[k] for k in keys)
            for r in tt.records(v, tt.TokenTransfersParams(unified_events="never"))
        )
        assert unified == derived, v.sequence
        total += sum(unified.values())
    assert total > 100


def test_payments_count_matches_the_meta(views):
    payments = importlib.import_module("flowctl_dsl.transforms.processors.payments")
    ledgers = importlib.import_module("flowctl_dsl.transforms.processors.ledgers")
    rows = [r for v in views for r in payments.records(v, None)]
    assert {r["type"] for r in rows} >= {
        "create_account",
        "payment",
        "path_payment_strict_send",
        "path_payment_strict_receive",
    }
    headers = [next(iter(ledgers.records(v, None))) for v in views]
    assert [h["sequence"] for h in headers] == list(range(2, 27))
    assert all(h["protocol_version"] == 23 and h["lcm_version"] == 2 for h in headers)


def test_bytes_do_not_depend_on_the_hash_seed():
    code = (
        "import hashlib; from flowctl_dsl.stellar.localnet import iter_ledgers; "
        "h = hashlib.sha256(); [h.update(r.xdr) for r in iter_ledgers(2, 12)]; print(h.hexdigest())"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={"PYTHONHASHSEED": seed, "PATH": ""},
            cwd=Path(__file__).resolve().parents[3],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "4242")
    }
    assert len(digests) == 1
