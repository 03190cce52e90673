"""``flowctl run --metrics-port``: scrape /metrics over loopback while a real run goes on.

The run is a subprocess (300 localnet ledgers, several seconds); the test polls
``http://127.0.0.1:PORT/metrics`` until the counters move, then checks the final metrics file
against the records actually written, and the JSON log lines on stderr.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

pytestmark = [pytest.mark.integration, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def values(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted((k, v) for k, v in s.labels.items() if k != "pipeline"))): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }


def scrape(port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            return str(r.read().decode())
    except OSError:
        return None


PROCESSED = ("flowctl_ledgers_processed_total", (("stage", "payments"),))
READ = ("flowctl_ledgers_read_total", (("stage", "localnet"),))
SINK = ("flowctl_sink_records_total", (("sink", "jsonl"),))
RECORDS = ("flowctl_records_total", (("stage", "payments"),))


def test_scrape_during_a_run_and_final_values_match_the_output(tmp_path: Path) -> None:
    port, out, prom = free_port(), tmp_path / "payments.jsonl", tmp_path / "run.prom"
    cmd = [
        sys.executable,
        "-m",
        "flowctl_dsl.cli",
        "run",
        "-e",
        f'localnet(ledgers=2..301) | payments | jsonl("{out}")',
        "--metrics-port",
        str(port),
        "--metrics-file",
        str(prom),
        "--log-format",
        "json",
        "--progress",
        "log",
        "--progress-interval",
        "1",
    ]
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    seen: list[dict[tuple[str, tuple[tuple[str, str], ...]], float]] = []
    try:
        deadline = time.monotonic() + 300
        while proc.poll() is None and time.monotonic() < deadline:
            text = scrape(port)
            if text is not None:
                seen.append(values(text))
            time.sleep(0.1)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr

    # during the run: served on loopback, and the counters moved between scrapes
    assert seen, "no successful scrape while the run was going"
    assert all(("flowctl_build_info" in {k[0] for k in v}) for v in seen)
    moving = [v[PROCESSED] for v in seen if PROCESSED in v]
    assert len(set(moving)) >= 2, f"counters did not move during the run: {sorted(set(moving))}"
    assert moving == sorted(moving), "a counter went down"
    assert any(0 < n < 300 for n in moving), "no scrape saw the run half done"
    assert scrape(port) is None, "the server outlived the run"

    # after the run: the final file matches what was written
    lines = sum(1 for _ in out.open())
    assert lines > 0
    final = values(prom.read_text())
    assert final[READ] == final[PROCESSED] == 300
    assert final[RECORDS] == final[SINK] == lines
    assert final[("flowctl_last_committed_ledger", (("sink", "jsonl"),))] == 301
    assert final[("flowctl_last_read_ledger", (("stage", "localnet"),))] == 301
    assert final[("flowctl_stage_duration_seconds_count", (("stage", "payments"),))] == 300
    assert not any(k[0] == "flowctl_records_failed_total" for k in final)
    assert all(v[SINK] <= lines for v in seen if SINK in v)
    assert all(v[PROCESSED] <= 300 for v in seen if PROCESSED in v)

    # logs: JSON lines with the run context; then the summary
    logs = [json.loads(x) for x in stderr.splitlines() if x.startswith("{")]
    assert logs and {x["logger"] for x in logs} >= {"flowctl_dsl.run", "flowctl_dsl.progress"}
    run_ids = {x["run_id"] for x in logs}
    traces = {x.get("trace_id") for x in logs}
    assert len(run_ids) == 1 and len(traces) == 1 and None not in traces
    assert all(x["pipeline"] == "inline" for x in logs)
    assert any(x["msg"].startswith("progress: ") and "/300 ledgers" in x["msg"] for x in logs)
    assert f"jsonl: {lines} records" in stderr
    assert "latency per ledger (p50 / p99 / total)" in stderr
    assert stdout == ""
