"""Columnar execution vs one dict per record: stage costs, end-to-end runs, memory by range length.

Prints numbers (asserts nothing):

1. per stage, on real token_transfers batches of the p25 apply-load ledgers (516 rows per ledger,
   native decoder): ``filter``/``derive``/``select`` compiled to ``pyarrow.compute`` on the batch vs
   the reference closures over the same rows as dicts (µs per ledger, rows/s), and the edge cost
   of batch → records;
2. the parquet sink alone on 1,000 batches of 516 real rows (rows/s of the sink);
3. ``flowctl run`` end to end on the DirectRunner, ``FLOWCTL_EXECUTION=records|batches``, native
   decoder, 1 and 2 workers, jsonl and parquet sinks: wall time, peak memory of the process
   tree, and whether both modes wrote identical outputs;
4. peak memory as the range grows (localnet lakes of 500, 2,000 and 8,000 ledgers, batches,
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

import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))

import native_vs_python as nvp  # noqa: E402 - the lakes and the process-tree sampler

from flowctl_dsl.catalog import catalog  # noqa: E402
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
    ' | filter amount > 0 and event_type == "fee" | derive doubled = amount * 2, big = amount > 0.1'
    " | select ledger_sequence, transaction_index, event_index, amount, doubled, big | stdout"
)


def per_stage(repeat: int) -> None:
    """Stage costs on real batches, both ways: per-ledger batches and one coalesced batch (what
    the pipeline's stages after the processor get on a bounded run)."""
    plan = planned(Input.inline(STAGES))
    filt, derive, select = plan.stages[1], plan.stages[2], plan.stages[3]
    assert filt.expr is not None and derive.assignments is not None and select.fields is not None
    ledgers = read_ledger_file(nvp.SHARED / "standalone/rpc-load-test-ledgers-v25.xdr.zstd")
    per_ledger = [native.token_transfers([lb.xdr], STANDALONE_PASSPHRASE) for lb in ledgers]
    coalesced = [pa.Table.from_batches(per_ledger).combine_chunks().to_batches()[0]]
    n = len(per_ledger)
    keep = expressions.compile_filter(filt.expr, filt.input_schema)
    predicate = compile_predicate(filt.expr, filt.input_schema)
    derive_batch = columnar.DeriveColumns(derive.assignments, derive.arrow_schema).function()
    derive_records = relational.DeriveFields(derive.assignments, derive.arrow_schema).function()
    paths, out_schema = select.fields, select.arrow_schema
    records = [r for b in per_ledger for r in to_records(b)]  # what the records path has
    kept_records = [r for r in records if predicate(r)]
    widened_records = [derive_records(r) for r in kept_records]
    print(
        f"\nper stage: {n} p25 ledgers, {len(records)} token_transfers rows "
        f"({len(kept_records)} pass the filter), µs per ledger, best of {repeat}"
    )
    print(f"  {'stage':<26}{'records':>10}{'batch/ledger':>14}{'coalesced':>11}{'×':>7}")

    def per(fn: Any) -> float:
        return nvp.best(fn, repeat) / n * 1e6

    rows = {
        "filter (2 conditions)": (
            per(lambda: [r for r in records if predicate(r)]),
            lambda bs: [keep(b) for b in bs],
        ),
        "derive (2 columns)": (
            per(lambda: [derive_records(r) for r in kept_records]),
            lambda bs: [derive_batch(b) for b in bs],
        ),
        "select (6 of 22 columns)": (
            per(lambda: [relational.project(r, paths) for r in widened_records]),
            lambda bs: [columnar.select(b, paths, out_schema) for b in bs],
        ),
    }
    inputs = {
        "filter (2 conditions)": (per_ledger, coalesced),
        "derive (2 columns)": ([keep(b) for b in per_ledger], [keep(b) for b in coalesced]),
    }
    inputs["select (6 of 22 columns)"] = tuple(
        [derive_batch(b) for b in bs] for bs in inputs["derive (2 columns)"]
    )
    for name, (on_records, on_batches) in rows.items():
        small, big = (per(lambda bs=bs, f=on_batches: f(bs)) for bs in inputs[name])
        print(f"  {name:<26}{on_records:10.0f}{small:14.1f}{big:11.1f}{on_records / big:7.1f}")
    edge = per(lambda: [to_records(b) for b in per_ledger])
    print(f"  {'batch → records (edge)':<26}{edge:10.0f}")
    print(f"    filter: {expressions.describe(filt.expr, filt.input_schema)}")
    for a, seen, field in expressions.derived_columns(derive.assignments, derive.arrow_schema):
        print(f"    {a.name}: {expressions.describe(a.expr, seen, field.type)}")


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


def ledger_batch(n: int, template: pa.RecordBatch) -> pa.RecordBatch:
    """``template`` (one real ledger's rows) as the rows of ledger ``n``."""
    column = template.schema.get_field_index("ledger_sequence")
    sequences = pa.array([n] * template.num_rows, pa.int64())
    return template.set_column(column, template.schema.field(column), sequences)


def parquet_sink(root: Path, ledgers: int) -> None:
    """The parquet sink alone on the DirectRunner (1 worker): ``ledgers`` batches of one real
    p25 ledger's 516 token_transfers rows, generated inside the pipeline, with and without the
    sink (the difference is the sink: key by file, shuffle, write)."""
    import apache_beam as beam

    from flowctl_dsl.catalog.warehouse_sinks import ParquetParams
    from flowctl_dsl.transforms.context import BuildContext
    from flowctl_dsl.transforms.sinks import parquet

    spec = next(s for s in catalog().of_kind("processor") if s.name == "token_transfers")
    xdr = read_ledger_file(nvp.SHARED / "standalone/rpc-load-test-ledgers-v25.xdr.zstd")[0].xdr
    template = native.token_transfers([xdr], STANDALONE_PASSPHRASE)
    ctx = BuildContext("bench", schema=spec.schema, key_fields=spec.key_fields, batches=True)
    seconds = {}
    for with_sink in (False, True):
        start = time.perf_counter()
        with beam.Pipeline(runner="FnApiRunner") as p:
            batches = p | beam.Create(range(ledgers)) | beam.Map(ledger_batch, template)
            if with_sink:
                _ = batches | parquet.build(ParquetParams(path=str(root / "pq")), ctx)
            else:
                _ = batches | beam.Map(lambda b: b.num_rows)
        seconds[with_sink] = time.perf_counter() - start
    rows = ledgers * template.num_rows
    sink = seconds[True] - seconds[False]
    print(
        f"\nparquet sink alone: {ledgers} batches × {template.num_rows} rows = {rows} rows; "
        f"{seconds[True]:.1f} s with the sink, {seconds[False]:.1f} s without: "
        f"{rows / sink / 1000:.0f} k rows/s for the sink ({rows / seconds[True] / 1000:.0f} k "
        "rows/s for the whole pipeline)"
    )


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
    parser.add_argument("--sink-ledgers", type=int, default=1000)
    args = parser.parse_args()
    print("# machine:", json.dumps(nvp.machine()))
    print(f"# load average at the start: {os.getloadavg()}")
    if native.MODULE is None:
        sys.exit("flowctl_native is not built (run .ci/native.sh)")
    per_stage(args.repeat)
    with tempfile.TemporaryDirectory() as tmp:
        parquet_sink(Path(tmp) / "sink", args.sink_ledgers)
        if not args.skip_e2e:
            end_to_end(Path(tmp) / "e2e")
        if not args.skip_range:
            by_range(Path(tmp) / "range", [int(s) for s in args.sizes.split(",")])
    print(f"\n# load average at the end: {os.getloadavg()}")
    t = time.strftime("%Y-%m-%d %H:%M:%S")
    print(f"# finished {t}")


if __name__ == "__main__":
    main()
