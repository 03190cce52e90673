"""Columnar execution vs one dict per record: stage costs, end-to-end runs, memory by range length.

Prints numbers (asserts nothing):

1. per stage, on real token_transfers batches of the p25 apply-load ledgers (516 rows per ledger,
   native decoder): ``filter``/``derive``/``select`` compiled to ``pyarrow.compute`` on the batch vs
   the reference closures over the same rows as dicts (µs per ledger, rows/s), and the edge cost
   of batch → records;
2. ``flowctl run`` end to end on the DirectRunner, ``FLOWCTL_EXECUTION=records|batches``, native
   decoder, 1 and 2 workers, jsonl and parquet sinks: wall time, peak memory of the process
   tree, and whether both modes wrote identical outputs;
3. peak memory as the range grows (localnet lakes of 500, 2,000 and 8,000 ledgers, batches,
   parquet, 1 worker).

Run (flowctl_native built by ``.ci/native.sh``):

    .venv/bin/python benchmarks/columnar.py [--repeat 5] [--skip-e2e] [--skip-range]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))

import native_vs_python as nvp  # noqa: E402 - the lakes and the process-tree sampler

from flowctl_dsl.driver import Input, planned  # noqa: E402
from flowctl_dsl.stellar import native  # noqa: E402
from flowctl_dsl.stellar.formats import read_ledger_file  # noqa: E402
from flowctl_dsl.stellar.localnet.generate import generate_lake  # noqa: E402
from flowctl_dsl.stellar.networks import STANDALONE_PASSPHRASE  # noqa: E402
from flowctl_dsl.transforms import relational  # noqa: E402
from flowctl_dsl.transforms.columnar import expressions  # noqa: E402
from flowctl_dsl.transforms.columnar import relational as columnar  # noqa: E402
from flowctl_dsl.transforms.columnar.rows import to_records  # noqa: E402
from flowctl_dsl.transforms.expressions import compile_predicate  # noqa: E402

STAGES = (
    "localnet | token_transfers"
    " | filter amount > 0 and event_type == \"fee\" | derive doubled = amount * 2, big = amount > 0.1"
    " | select ledger_sequence, transaction_index, event_index, amount, doubled, big | stdout"
)


def per_stage(repeat: int) -> None:
    """Stage costs on real batches, both ways."""
    plan = planned(Input.inline(STAGES))
    filt, derive, select = plan.stages[1], plan.stages[2], plan.stages[3]
    ledgers = read_ledger_file(nvp.SHARED / "standalone/rpc-load-test-ledgers-v25.xdr.zstd")
    batches = [native.token_transfers([lb.xdr], STANDALONE_PASSPHRASE) for lb in ledgers]
    rows = sum(b.num_rows for b in batches)
    keep = expressions.compile_filter(filt.expr, filt.input_schema)
    assert filt.expr is not None and derive.assignments is not None and select.fields is not None
    derived = columnar.DeriveColumns(derive.assignments, derive.arrow_schema)
    predicate = compile_predicate(filt.expr, filt.input_schema)
    records = [to_records(b) for b in batches]  # what the records path has
    kept_batches = [keep(b) for b in batches]
    kept_records = [to_records(b) for b in kept_batches]
    kept = sum(b.num_rows for b in kept_batches)
    print(
        f"\nper stage: {len(batches)} p25 ledgers, {rows} token_transfers rows "
        f"({kept} pass the filter), best of {repeat}"
    )
    print(f"  {'stage':<34}{'batches µs/ledger':>18}{'records µs/ledger':>18}{'×':>7}")

    def show(name: str, batch_fn: Any, record_fn: Any) -> None:
        b = nvp.best(batch_fn, repeat) / len(batches) * 1e6
        r = nvp.best(record_fn, repeat) / len(batches) * 1e6
        print(f"  {name:<34}{b:18.0f}{r:18.0f}{r / b:7.1f}")

    show(
        "filter (2 conditions)",
        lambda: [keep(b) for b in batches],
        lambda: [[r for r in rs if predicate(r)] for rs in records],
    )
    derive_batch = derived.function()
    derive_records = relational.DeriveFields(derive.assignments, derive.arrow_schema).function()
    show(
        "derive (2 columns)",
        lambda: [derive_batch(b) for b in kept_batches],
        lambda: [[derive_records(r) for r in rs] for rs in kept_records],
    )
    paths = select.fields
    out_schema = select.arrow_schema
    widened = [derive_batch(b) for b in kept_batches]
    widened_records = [to_records(b) for b in widened]
    show(
        "select (6 of 20 columns)",
        lambda: [columnar.select(b, paths, out_schema) for b in widened],
        lambda: [[relational.project(r, paths) for r in rs] for rs in widened_records],
    )
    edge = nvp.best(lambda: [to_records(b) for b in batches], repeat) / len(batches) * 1e6
    print(f"  {'batch → records (the edge)':<34}{edge:18.0f}")
    for name, describe in (
        ("filter", expressions.describe(filt.expr, filt.input_schema)),
        *((a.name, "derive") for a in derive.assignments),
    ):
        print(f"    {name}: {describe}")


def run(text: str, execution: str, workers: int) -> tuple[float, float, int]:
    os.environ["FLOWCTL_EXECUTION"] = execution
    try:
        return nvp.run_flow(text, "native", workers)
    finally:
        del os.environ["FLOWCTL_EXECUTION"]


def output_of(path: Path) -> Any:
    if path.is_dir():
        return {str(f.relative_to(path)): pq.read_table(f) for f in sorted(path.rglob("*.parquet"))}
    return path.read_bytes() if path.exists() else None


def end_to_end(root: Path) -> None:
    lakes = nvp.build_lakes(root)
    print("\nend to end: flowctl run, DirectRunner, native decoder (wall time incl. ~3 s start-up)")
    print(
        f"  {'lake':<29}{'sink':<9}{'execution':<10}{'workers':>8}{'s':>8}{'ledgers/s':>11}"
        f"{'peak MB':>9}"
    )
    for k, (lake, (url, ledgers, n)) in enumerate(lakes.items()):
        for sink in ("jsonl", "parquet"):
            outputs = {}
            for workers in (1, 2):
                for execution in ("records", "batches"):
                    out = root / f"out{k}-{sink}-{execution}-{workers}"
                    target = f'jsonl("{out}.jsonl")' if sink == "jsonl" else f'parquet("{out}")'
                    text = (
                        f'datastore("{url}", ledgers={ledgers}) | token_transfers'
                        f" | filter amount > 0 | {target}"
                    )
                    seconds, peak, code = run(text, execution, workers)
                    status = "" if code == 0 else f"  exit {code}"
                    print(
                        f"  {lake:<29}{sink:<9}{execution:<10}{workers:>8}{seconds:8.1f}"
                        f"{n / seconds:11.1f}{peak:9.0f}{status}"
                    )
                    written = Path(f"{out}.jsonl") if sink == "jsonl" else out
                    outputs[(execution, workers)] = output_of(written)
            first = next(iter(outputs.values()))
            same = all(_same(first, o) for o in outputs.values())
            print(f"    the four outputs are {'identical' if same else 'DIFFERENT'}")


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(a[k].equals(b[k]) for k in a)
    return bool(a == b) and a is not None


def by_range(root: Path, sizes: list[int]) -> None:
    print("\npeak memory by range length: localnet lake, token_transfers → parquet, 1 worker")
    print(f"  {'ledgers':>8}{'records':>10}{'execution':>11}{'s':>8}{'peak MB':>9}")
    for size in sizes:
        lake = root / f"lake{size}"
        summary = generate_lake(lake, size)
        for execution in ("records", "batches"):
            out = root / f"range{size}-{execution}"
            text = (
                f'datastore("file://{lake}", ledgers={summary["first"]}..{summary["last"]})'
                f' | token_transfers | parquet("{out}")'
            )
            seconds, peak, code = run(text, execution, 1)
            rows = sum(pq.read_metadata(f).num_rows for f in out.rglob("*.parquet"))
            status = "" if code == 0 else f"  exit {code}"
            print(f"  {size:>8}{rows:>10}{execution:>11}{seconds:8.1f}{peak:9.0f}{status}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip-e2e", action="store_true")
    parser.add_argument("--skip-range", action="store_true")
    parser.add_argument("--sizes", default="500,2000,8000")
    args = parser.parse_args()
    print("# machine:", json.dumps(nvp.machine()))
    print(f"# load average at the start: {os.getloadavg()}")
    if native.MODULE is None:
        sys.exit("flowctl_native is not built (run .ci/native.sh)")
    per_stage(args.repeat)
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_e2e:
            end_to_end(Path(tmp) / "e2e")
        if not args.skip_range:
            by_range(Path(tmp) / "range", [int(s) for s in args.sizes.split(",")])
    print(f"\n# load average at the end: {os.getloadavg()}")
    t = time.strftime("%Y-%m-%d %H:%M:%S")
    print(f"# finished {t}")


if __name__ == "__main__":
    main()
