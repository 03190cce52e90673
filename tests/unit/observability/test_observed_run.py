"""A real in-process run: live metrics equal Beam's, the file and Pushgateway get the final values."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import SimpleNamespace

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from prometheus_client.parser import text_string_to_metric_families

from flowctl_dsl.compile import build_pipeline
from flowctl_dsl.driver import Input, planned
from flowctl_dsl.observability import metrics
from flowctl_dsl.observability.session import ObserveSettings, Session, planned_ledgers
from flowctl_dsl.runners import get_runner
from flowctl_dsl.runners.base import RunSettings
from flowctl_dsl.stellar.localnet import iter_ledgers
from flowctl_dsl.transforms.processors.base import ProcessLedgers

COUNTERS = [name for name, spec in metrics.METRICS.items() if spec.kind == "counter"]


def plan_for(tmp_path: Path, ledgers: str = "2..6"):  # type: ignore[no-untyped-def]
    text = (
        f"localnet(ledgers={ledgers}, txs_per_ledger=4) | payments"
        f' | save_to [jsonl("{tmp_path}/a.jsonl"), jsonl("{tmp_path}/b.jsonl")]'
    )
    return planned(Input.inline(text), ())


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }


def test_live_metrics_equal_beam_metrics(tmp_path: Path) -> None:
    plan = plan_for(tmp_path)
    runner = get_runner("direct")
    session = Session(plan, ObserveSettings(), runner.name)
    session.start()
    try:
        pipeline = build_pipeline(
            plan, runner.pipeline_options(plan, RunSettings()), runner.beam_runner()
        )
        session.instrument(pipeline)
        result = pipeline.run()
        result.wait_until_finish()
        beam_store = metrics.from_beam(result.metrics().query(), plan.pipeline)
        for name in COUNTERS:
            assert beam_store.series(name) == session.store.series(name), name
        [(_, live_h)] = session.store.histograms("flowctl_stage_duration_seconds")
        [(_, beam_h)] = beam_store.histograms("flowctl_stage_duration_seconds")
        assert live_h.buckets == beam_h.buckets and live_h.count == beam_h.count == 5
        assert beam_h.sum == pytest.approx(live_h.sum, abs=1e-4)  # Beam keeps microseconds
        final = session.finish(result)
    finally:
        session.close()
    lines = sum(1 for p in ("a", "b") for _ in (tmp_path / f"{p}.jsonl").open())
    assert final.value("flowctl_sink_records_total") == lines
    assert final.value("flowctl_sink_records_total", sink="jsonl") == lines
    assert final.value("flowctl_records_total", stage="payments") == lines / 2
    assert final.value("flowctl_ledgers_read_total", stage="localnet") == 5
    assert final.value("flowctl_ledgers_processed_total", stage="payments") == 5
    assert final.value("flowctl_last_read_ledger") == 6
    assert final.value("flowctl_last_committed_ledger", sink="jsonl") == 6
    assert final.value("flowctl_bytes_read_total") > 5 * 1000
    assert metrics.live() is None  # closed


class Gateway(BaseHTTPRequestHandler):
    pushed: list[tuple[str, str, bytes]] = []

    def do_PUT(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Gateway.pushed.append((self.command, self.path, body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def gateway() -> Iterator[str]:
    Gateway.pushed = []
    server = HTTPServer(("127.0.0.1", 0), Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_runner_writes_the_metrics_file_and_pushes(tmp_path: Path, gateway: str) -> None:
    plan = plan_for(tmp_path, "2..4")
    prom = tmp_path / "metrics" / "run.prom"
    settings = RunSettings(
        observe=ObserveSettings(metrics_file=str(prom), pushgateway=gateway, metrics_port=0)
    )
    report = get_runner("direct").run(plan, settings)
    assert report.observed is not None and report.run_id and report.wall_seconds > 0
    written = samples(prom.read_text())
    records = sum(1 for _ in (tmp_path / "a.jsonl").open())
    key = ("flowctl_sink_records_total", (("pipeline", "inline"), ("sink", "jsonl")))
    assert written[key] == 2 * records
    [(method, path, body)] = Gateway.pushed
    assert (method, path) == ("PUT", "/metrics/job/flowctl/pipeline/inline")
    assert samples(body.decode())[key] == 2 * records
    assert report.metrics["flowctl.processor/payments_records"] == records  # old counters kept


def test_a_failing_processor_counts_the_failure() -> None:
    spec = SimpleNamespace(name="boom", impl=f"{__name__}:explode", native_impl=None, schema=None)
    store = metrics.MetricStore("p")
    metrics.activate(store)
    try:
        with pytest.raises(Exception, match="exploded"):
            with beam.Pipeline(options=PipelineOptions(runner="FnApiRunner")) as p:
                _ = (
                    p
                    | beam.Create(list(iter_ledgers(2, 2, txs_per_ledger=1)))
                    | beam.ParDo(ProcessLedgers(spec, None))  # type: ignore[arg-type]
                )
    finally:
        metrics.deactivate()
    assert store.series("flowctl_records_failed_total") == [
        ({"pipeline": "p", "stage": "boom", "code": "internal"}, 1)
    ]


def explode(view: object, params: object) -> list[dict[str, object]]:
    raise RuntimeError("exploded")


def test_planned_ledgers(tmp_path: Path) -> None:
    assert planned_ledgers(plan_for(tmp_path, "2..11")) == 10
    open_range = planned(
        Input.inline('datastore("file:///nowhere", ledgers=5..) | payments | stdout'), ()
    )
    assert planned_ledgers(open_range) is None


def test_a_busy_metrics_port_is_reported(tmp_path: Path) -> None:
    busy = HTTPServer(("127.0.0.1", 0), Gateway)
    try:
        settings = RunSettings(observe=ObserveSettings(metrics_port=busy.server_port))
        with pytest.raises(metrics.MetricsPortError, match="cannot serve metrics"):
            get_runner("direct").run(plan_for(tmp_path, "2..2"), settings)
    finally:
        busy.server_close()
    assert metrics.live() is None


def test_a_followed_source_reports_its_lag(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from flowctl_dsl.stellar.decode import header_only
    from flowctl_dsl.stellar.localnet.generate import generate_lake

    generate_lake(tmp_path / "lake", (2, 5), seed=0)
    text = f'datastore("{tmp_path}/lake", ledgers=2.., stop_after=3, poll="1s") | ledgers | stdout'
    plan = planned(Input.inline(text), ())
    assert plan.source.params["bounded"] is False
    started = datetime.now(UTC).timestamp()
    report = get_runner("direct").run(plan, RunSettings())
    assert report.observed is not None
    [(labels, lag)] = report.observed.series("flowctl_source_lag_seconds")
    assert labels == {"pipeline": "inline", "stage": "datastore"}
    closed = next(r for r in iter_ledgers(4, 4)).xdr
    expected = started - header_only(closed).closed_at.timestamp()
    assert expected - 2 <= lag <= expected + 600
    assert report.observed.value("flowctl_ledgers_read_total", stage="datastore") == 3


def test_a_bounded_source_has_no_lag(tmp_path: Path) -> None:
    report = get_runner("direct").run(plan_for(tmp_path, "2..3"), RunSettings())
    assert report.observed is not None
    assert report.observed.series("flowctl_source_lag_seconds") == []
