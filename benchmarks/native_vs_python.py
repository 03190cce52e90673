"""Native path vs the pure-Python reference vs stellar/go, on the same fixture ledgers, one core.

Prints numbers (asserts nothing): per fixture file, ledgers/s and MB/s of raw XDR for decode and
for each processor with a native implementation — Python (stellar-sdk + reference processor),
native (one call per ledger, as the Beam DoFn does, to a RecordBatch; and "+records", the same
turned into Python dicts at the edge) and stellar/go (``benchmarks/go``: ``xdr`` decode and
``processors/token_transfer``). Then the header-only scan of galexie objects, and end-to-end
``flowctl run`` pipelines on the DirectRunner (1 and 2 workers) with peak memory. Run:

    .ci/native.sh                      # builds flowctl_native into .venv
    taskset -c 0 .venv/bin/python benchmarks/native_vs_python.py [--repeat 3] [--skip-go]
        [--skip-e2e]

The end-to-end runs pin themselves to cores 0 (1 worker) and 0,1 (2 workers).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import apache_beam
import pyarrow
import stellar_sdk
from stellar_sdk import xdr as sx

from flowctl_dsl.catalog import catalog
from flowctl_dsl.stellar import native
from flowctl_dsl.stellar.formats import read_ledger_file
from flowctl_dsl.stellar.lake import LakeSchema, header_from_object, write_manifest, write_object
from flowctl_dsl.stellar.ledger import LedgerView
from flowctl_dsl.stellar.localnet.generate import generate_lake
from flowctl_dsl.stellar.networks import (
    MAINNET_PASSPHRASE,
    STANDALONE_PASSPHRASE,
    TESTNET_PASSPHRASE,
)

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FLOWCTL_SHARED", REPO.parent / "shared")) / "fixtures" / "stellar"
LOAD_TEST = "load test network"
#: (label, files, passphrase): the same files go to the Go program.
GROUPS = [
    ("pubnet p21 53312000", ["pubnet/FCD285FF--53312000.xdr.zstd"], MAINNET_PASSPHRASE),
    ("pubnet p22 56065483", ["pubnet/ttp/revoke-trustline-ledger-56065483"], MAINNET_PASSPHRASE),
    ("pubnet p2-p19 (5 ledgers)", ["pubnet/ttp-ledgers-base64.txt"], MAINNET_PASSPHRASE),
    (
        "testnet p20 997-999",
        [
            f"testnet/datalake-testbucket/{n}.xdr.zstd"
            for n in ("FFFFFC1A--997", "FFFFFC19--998", "FFFFFC18--999")
        ],
        TESTNET_PASSPHRASE,
    ),
    (
        "standalone p23 (3 ledgers)",
        ["standalone/galexie-load-test-ledgers-v23-standalone.xdr.zstd"],
        STANDALONE_PASSPHRASE,
    ),
    ("load test p24 (3 ledgers)", ["standalone/horizon-load-test-ledgers-v23.xdr.zstd"], LOAD_TEST),
    (
        "apply-load p25 (30 ledgers)",
        ["standalone/rpc-load-test-ledgers-v25.xdr.zstd"],
        STANDALONE_PASSPHRASE,
    ),
]
PROCESSORS = [s for s in catalog().of_kind("processor") if s.native_impl]


def best(fn: Callable[[], Any], repeat: int) -> float:
    """Best wall time of ``repeat`` runs of ``fn``."""
    out = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out = min(out, time.perf_counter() - start)
    return out


def machine() -> dict[str, Any]:
    model = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break

    def version(cmd: list[str]) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True).stdout.strip()
        except OSError:
            return "absent"

    return {
        "nproc": os.cpu_count(),
        "affinity": sorted(os.sched_getaffinity(0)),
        "cpu": model,
        "loadavg": os.getloadavg(),
        "python": platform.python_version(),
        "stellar-sdk": stellar_sdk.__version__,
        "pyarrow": pyarrow.__version__,
        "apache-beam": apache_beam.__version__,
        "flowctl_native": (
            f"{native.MODULE.__version__} ({native.MODULE.XDR_CRATE})"
            if native.MODULE
            else "absent"
        ),
        "rustc": version(["rustc", "-V"]),
        "go": version(["go", "version"]),
    }


# --- per-file decode and processors -------------------------------------------------------------


def python_rate(xdrs: list[bytes], passphrase: str, spec: Any, repeat: int) -> float:
    if spec is None:
        return best(lambda: [sx.LedgerCloseMeta.from_xdr_bytes(x) for x in xdrs], repeat)
    fn, params = spec.load(), spec.params()

    def run() -> None:
        for x in xdrs:
            for _ in fn(LedgerView.from_xdr(x, passphrase), params):
                pass

    return best(run, repeat)


def native_rate(
    xdrs: list[bytes], passphrase: str, spec: Any, repeat: int, records: bool = False
) -> float:
    module = native.MODULE
    assert module is not None
    if spec is None:
        return best(lambda: [module.decode_only([x]) for x in xdrs], repeat)
    fn, params = native.load(spec.native_impl), spec.params()
    if records:
        return best(lambda: [native.to_records(fn([x], passphrase, params)) for x in xdrs], repeat)
    return best(lambda: [fn([x], passphrase, params) for x in xdrs], repeat)


def go_rates(repeat: int) -> dict[str, dict[str, Any]]:
    """stellar/go per fixture group (decode and decode + token_transfer), one goroutine."""
    if shutil.which("go") is None:
        return {}
    binary = Path(tempfile.mkdtemp()) / "ttpbench"
    subprocess.run(["go", "build", "-o", str(binary), "."], cwd=REPO / "benchmarks/go", check=True)
    out: dict[str, dict[str, Any]] = {}
    env = {**os.environ, "GOMAXPROCS": "1"}
    for label, files, passphrase in GROUPS:
        args = [f"{passphrase}={SHARED / f}" for f in files]
        res = subprocess.run(
            [str(binary), "-repeat", str(repeat), *args],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        rows = [json.loads(line) for line in res.stdout.splitlines()]
        errors = [r["error"] for r in rows if r.get("error")]
        n = sum(r["ledgers"] for r in rows)
        out[label] = {
            "decode": sum(r["ledgers"] / r["decode_ledgers_per_s"] for r in rows)
            if not errors
            else None,
            "token_transfers": (
                sum(r["ledgers"] / r["decode_ttp_ledgers_per_s"] for r in rows)
                if not errors
                else None
            ),
            "events": sum(r["events"] for r in rows),
            "n": n,
            "errors": errors,
        }
    return out


def per_file(repeat: int, go: dict[str, dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Seconds per (path, processor) summed over all groups, for the totals."""
    totals: dict[str, dict[str, float]] = {}

    def add(path: str, what: str, seconds: float) -> None:
        totals.setdefault(path, {}).setdefault(what, 0.0)
        totals[path][what] += seconds

    header = f"  {'work':<17}{'path':<15}{'ledgers/s':>11}{'MB/s':>9}{'vs python':>11}"
    for label, files, passphrase in GROUPS:
        xdrs = [lb.xdr for f in files for lb in read_ledger_file(SHARED / f)]
        n, mb = len(xdrs), sum(map(len, xdrs)) / 1e6
        py_repeat = repeat if mb < 4 else 1  # the SDK takes ~8 s per pass over 35 MB
        print(f"\n{label}: {n} ledgers, {mb:.2f} MB XDR")
        print(header)
        for spec in [None, *PROCESSORS]:
            what = "decode" if spec is None else spec.name
            t_py = python_rate(xdrs, passphrase, spec, py_repeat)
            rows = [("python", t_py)]
            if native.MODULE is not None:
                rows.append(("native", native_rate(xdrs, passphrase, spec, repeat)))
                if spec is not None:
                    rows.append(
                        ("native+records", native_rate(xdrs, passphrase, spec, repeat, True))
                    )
            g = go.get(label, {}).get(what) if what in ("decode", "token_transfers") else None
            if g is not None:
                rows.append(("stellar/go", g))
            for path, t in rows:
                add(path, what, t)
                speedup = f"{t_py / t:10.1f}x" if path != "python" else ""
                print(f"  {what:<17}{path:<15}{n / t:11.1f}{mb / t:9.2f}{speedup:>11}")
        if label in go and go[label]["errors"]:
            print(f"  stellar/go errors: {go[label]['errors']}")
        if label in go:
            print(f"  token_transfers events: stellar/go {go[label]['events']}", end="")
            if native.MODULE is not None:
                rows_native = native.token_transfers(xdrs, passphrase).num_rows
                print(f", flowctl {rows_native}")
            else:
                print()
    return totals


def print_totals(totals: dict[str, dict[str, float]]) -> None:
    ledgers = sum(len(read_ledger_file(SHARED / f)) for _, files, _ in GROUPS for f in files)
    print(f"\nall fixture ledgers ({ledgers}), total time → ledgers/s (one core)")
    for what in ["decode", *(s.name for s in PROCESSORS)]:
        parts = []
        for path in ("python", "native", "native+records", "stellar/go"):
            t = totals.get(path, {}).get(what)
            if t:
                speed = totals["python"][what] / t
                parts.append(f"{path} {ledgers / t:8.1f}/s ({speed:.0f}x)")
        print(f"  {what:<17}" + "   ".join(parts))


# --- header-only scan ---------------------------------------------------------------------------


def _python_scan(objects: list[bytes]) -> None:
    for o in objects:
        header_from_object(o)


def header_scan(lake_objects: list[bytes], count: int) -> None:
    print(f"\nheader-only scan ({count} galexie objects per measurement, one core)")
    real = [(SHARED / f).read_bytes() for _, files, _ in GROUPS[:1] + GROUPS[3:4] for f in files]
    for label, objects in (("real objects (pubnet + testnet)", real), ("p25 lake", lake_objects)):
        cycle = (objects * (count // len(objects) + 1))[:count]
        size = sum(map(len, cycle)) / len(cycle) / 1e3
        part = cycle[: count // 5]
        t_py = best(partial(_python_scan, part), 1)
        line = f"  {label:<33} avg {size:6.1f} kB  python {len(part) / t_py:9.0f}/s"
        if native.MODULE is not None:
            t = best(partial(native.scan_headers, cycle), 3)
            line += f"  native {len(cycle) / t:9.0f}/s"
        print(line)


# --- end to end ------------------------------------------------------------------------------------


def build_lakes(root: Path) -> dict[str, tuple[str, str, int]]:
    """A galexie lake of the p25 apply-load ledgers and a localnet lake: name → (url, ledgers, n)."""
    p25 = root / "p25"
    schema = LakeSchema(1, 64000)
    write_manifest(p25, STANDALONE_PASSPHRASE, schema)
    ledgers = read_ledger_file(SHARED / "standalone/rpc-load-test-ledgers-v25.xdr.zstd")
    for lb in ledgers:
        write_object(p25, schema, [lb.xdr], lb.sequence, lb.sequence)
    local = root / "localnet"
    summary = generate_lake(local, 1000)
    return {
        "p25 apply-load (30 × 1.2 MB)": (
            f"file://{p25}",
            f"{ledgers[0].sequence}..{ledgers[-1].sequence}",
            len(ledgers),
        ),
        "localnet (1000 small)": (
            f"file://{local}",
            f"{summary['first']}..{summary['last']}",
            int(summary["ledgers"]),
        ),
    }


def _tree_rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and all its descendants (from /proc), in MB."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total / 1024


def run_flow(text: str, decoder: str, workers: int) -> tuple[float, float, int]:
    """One ``flowctl run``: seconds, peak resident memory of its whole process tree in MB
    (sampled every 20 ms: ``wait4``'s ``ru_maxrss`` would include this script's own RSS, which a
    child inherits at fork), and the exit code."""
    cores = "0" if workers == 1 else "0,1"
    cmd = ["taskset", "-c", cores, str(REPO / ".venv/bin/flowctl"), "run", "-q", "-e", text]
    if workers > 1:
        cmd += ["--workers", str(workers)]
    env = {**os.environ, native.DECODER_ENV: decoder}
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err)
        tree = 0.0
        while proc.poll() is None:
            tree = max(tree, _tree_rss_mb(proc.pid))
            time.sleep(0.02)
        seconds = time.perf_counter() - start
        if proc.returncode:
            err.seek(0)
            print("    " + err.read().decode()[-400:].replace("\n", "\n    "))
    return seconds, tree, proc.returncode


def end_to_end(root: Path) -> None:
    lakes = build_lakes(root)
    print("\nend to end: flowctl run on the DirectRunner (wall time incl. ~3 s start-up)")
    print(
        f"  {'lake':<29}{'processor':<17}{'decoder':<8}{'workers':>8}{'s':>8}{'ledgers/s':>11}"
        f"{'peak MB':>9}"
    )
    for k, (lake, (url, ledgers, n)) in enumerate(lakes.items()):
        for processor in ("token_transfers", "latest_ledger"):
            outputs: dict[str, list[str]] = {}
            for decoder in ("python", "native"):
                for workers in (1, 2):
                    out = root / f"out{k}-{processor}-{decoder}-{workers}.jsonl"
                    text = f'datastore("{url}", ledgers={ledgers}) | {processor} | jsonl("{out}")'
                    seconds, peak, code = run_flow(text, decoder, workers)
                    status = "" if code == 0 else f"  exit {code}"
                    print(
                        f"  {lake:<29}{processor:<17}{decoder:<8}{workers:>8}{seconds:8.1f}"
                        f"{n / seconds:11.1f}{peak:9.0f}{status}"
                    )
                    if out.exists():
                        outputs[f"{decoder} x{workers}"] = sorted(out.read_text().splitlines())
            same = len({tuple(v) for v in outputs.values()}) == 1 and len(outputs) == 4
            rows = len(next(iter(outputs.values()), []))
            print(
                f"    {rows} records; the four outputs are {'identical' if same else 'DIFFERENT'}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-go", action="store_true")
    parser.add_argument("--skip-e2e", action="store_true")
    parser.add_argument("--scan-objects", type=int, default=20000)
    args = parser.parse_args()
    print("# machine:", json.dumps(machine()))
    if native.MODULE is None:
        print("# flowctl_native is not built: Python numbers only (run .ci/native.sh)")
    go = {} if args.skip_go else go_rates(args.repeat)
    totals = per_file(args.repeat, go)
    print_totals(totals)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        lakes = build_lakes(root / "scan")
        p25 = Path(next(iter(lakes.values()))[0].removeprefix("file://"))
        header_scan([p.read_bytes() for p in sorted(p25.rglob("*.xdr.zst*"))], args.scan_objects)
        if not args.skip_e2e:
            end_to_end(root / "e2e")
    print(f"\n# load average at the end: {os.getloadavg()}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
