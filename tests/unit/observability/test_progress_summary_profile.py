"""Progress lines and bar, the run summary, and the CPU profile file."""

from __future__ import annotations

import io
import logging
import pstats
import time
from pathlib import Path

import pytest

from flowctl_dsl.observability.metrics import MetricStore
from flowctl_dsl.observability.profiling import Profiler, top
from flowctl_dsl.observability.progress import Progress, eta_text, resolve_mode
from flowctl_dsl.observability.summary import render, stage_timings


def store_with_work() -> MetricStore:
    store = MetricStore("pipe")
    store.inc("flowctl_ledgers_read_total", 30, stage="localnet")
    store.inc("flowctl_records_total", 120, stage="payments")
    store.inc("flowctl_sink_records_total", 120, sink="jsonl")
    store.inc("flowctl_sink_records_total", 120, sink="stdout")
    store.inc("flowctl_records_failed_total", 1, stage="payments", code="internal")
    for i in range(100):
        store.observe("flowctl_stage_duration_seconds", (i + 1) / 1000, stage="payments")
    return store


def test_progress_line_and_eta() -> None:
    progress = Progress(store_with_work(), total=300, mode="log")
    progress.started = time.monotonic() - 10  # 30 ledgers in 10 s
    line = progress.line()
    assert line.startswith("progress: 30/300 ledgers (10%), 3.0 ledgers/s, eta 1m30s")
    assert line.endswith("120 records")
    assert eta_text(5, None, 1.0) == "-" and eta_text(10, 10, 1.0) == "-"
    assert eta_text(0, 30, 1.0) == "30s"


def test_progress_mode_follows_the_terminal() -> None:
    assert resolve_mode("auto", io.StringIO()) == "log"
    assert resolve_mode("bar", io.StringIO()) == "bar"


def test_log_mode_writes_periodic_lines(caplog: pytest.LogCaptureFixture) -> None:
    progress = Progress(store_with_work(), total=None, mode="log", interval=0.02)
    with caplog.at_level(logging.INFO, logger="flowctl_dsl.progress"):
        progress.start()
        time.sleep(0.15)
        progress.stop()
    lines = [r.getMessage() for r in caplog.records if r.name == "flowctl_dsl.progress"]
    assert len(lines) >= 2 and all(x.startswith("progress: 30 ledgers,") for x in lines)


def test_bar_mode_draws_on_the_given_stream() -> None:
    out = io.StringIO()
    store = store_with_work()
    progress = Progress(store, total=300, mode="bar", stream=out)
    progress.start()
    store.inc("flowctl_ledgers_read_total", 270, stage="localnet")
    time.sleep(0.3)
    progress.stop()
    assert progress._bar.tasks[0].completed == 300
    assert progress._bar.tasks[0].total == 300


def test_off_mode_does_nothing() -> None:
    progress = Progress(MetricStore("p"), total=5, mode="off")
    progress.start()
    progress.stop()
    assert progress._thread is None


def test_summary_has_ledgers_sinks_errors_and_latency() -> None:
    store = store_with_work()
    text = render(store, 10.0, "abc", Path("out.prof"))
    assert "summary: `pipe` (run abc)" in text
    assert "ledgers     30 in 10.0s (3.0 ledgers/s)" in text
    assert "records     payments 120 (12.0 records/s)" in text
    assert "jsonl: 120 records" in text and "stdout: 120 records" in text
    assert "1 failed, 0 dead-lettered, 0 retries" in text
    assert "payments             50.0ms / 99.0ms / 5.05s" in text
    assert "python -m pstats out.prof" in text
    [timing] = stage_timings(store)
    assert (timing.stage, timing.ledgers) == ("payments", 100)


def test_profile_is_a_pstats_file(tmp_path: Path) -> None:
    profiler = Profiler(tmp_path / "sub" / "run.prof")
    profiler.start()
    sum(i * i for i in range(10_000))
    path = profiler.stop()
    stats = pstats.Stats(str(path))
    assert stats.total_calls > 0  # type: ignore[attr-defined]
    assert "cumulative" in top(path, 3)
