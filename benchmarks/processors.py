"""Decode and processor throughput on the real fixture ledgers, one core, pure Python.

Prints ledgers/s and MB/s of raw XDR for: decode alone, then decode + each processor. Run:

    taskset -c 0 .venv/bin/python benchmarks/processors.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

from flowctl_dsl.catalog import catalog
from flowctl_dsl.stellar.decode import decode_ledger
from flowctl_dsl.stellar.formats import read_ledger_file
from flowctl_dsl.stellar.ledger import LedgerView
from flowctl_dsl.stellar.networks import MAINNET_PASSPHRASE, STANDALONE_PASSPHRASE, TESTNET_PASSPHRASE

SHARED = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "stellar"
FILES = [
    ("pubnet p21 53312000 (batch)", "pubnet/FCD285FF--53312000.xdr.zstd", MAINNET_PASSPHRASE),
    ("pubnet p22 56065483 (b64)", "pubnet/ttp/revoke-trustline-ledger-56065483", MAINNET_PASSPHRASE),
    ("testnet p20 997-999 (batch)", "testnet/datalake-testbucket/FFFFFC19--998.xdr.zstd", TESTNET_PASSPHRASE),
    ("standalone p23 load test (framed)", "standalone/galexie-load-test-ledgers-v23-standalone.xdr.zstd", STANDALONE_PASSPHRASE),
]


def measure(ledgers: list[bytes], passphrase: str, fn, params, repeat: int) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for raw in ledgers:
            view = LedgerView(decode_ledger(raw), passphrase)
            if fn is not None:
                for _ in fn(view, params):
                    pass
            else:
                view.transactions()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    print(f"# {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    processors = catalog().of_kind("processor")
    for label, rel, passphrase in FILES:
        ledgers = [lb.xdr for lb in read_ledger_file(SHARED / rel)]
        size = sum(len(x) for x in ledgers) / 1e6
        print(f"\n{label}: {len(ledgers)} ledgers, {size:.2f} MB XDR")
        t = measure(ledgers, passphrase, None, None, args.repeat)
        print(f"  {'decode + tx match':<22} {len(ledgers) / t:8.2f} ledgers/s {size / t:7.2f} MB/s")
        for spec in processors:
            fn = spec.load()
            t = measure(ledgers, passphrase, fn, spec.params(), args.repeat)
            print(f"  {spec.name:<22} {len(ledgers) / t:8.2f} ledgers/s {size / t:7.2f} MB/s")


if __name__ == "__main__":
    main()
