"""Spans of one run share its trace and reach an OTLP/HTTP endpoint (a loopback receiver)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from flowctl_dsl.observability import tracing

pytest.importorskip("opentelemetry.proto")
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (  # noqa: E402
    ExportTraceServiceRequest,
)


class Receiver(BaseHTTPRequestHandler):
    bodies: list[tuple[str, bytes]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.bodies.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.bodies = []
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_endpoint_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    assert tracing.otlp_endpoint() is None
    assert tracing.otlp_endpoint("http://h:4318/") == "http://h:4318/v1/traces"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318")
    assert tracing.otlp_endpoint() == "http://c:4318/v1/traces"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://t:4318/custom")
    assert tracing.otlp_endpoint() == "http://t:4318/custom"


def test_spans_export_over_otlp_in_one_trace(receiver: str) -> None:
    tracing.start("pipe", "run1", tracing.otlp_endpoint(receiver))
    with tracing.span("flowctl.chunk", ledger_start=2, ledger_end=65):
        with tracing.span("flowctl.stage", stage="payments", ledger=2):
            pass

    def other_thread() -> None:
        with tracing.span("flowctl.other"):
            pass

    done = threading.Thread(target=other_thread)
    done.start()
    done.join()  # a thread with no current span still joins the run's trace
    with tracing.commit_span("jsonl", ledger=65):
        pass
    trace_id = tracing.current_ids()[0]
    tracing.stop()
    assert tracing.current_ids() == (None, None)
    spans = []
    for path, body in Receiver.bodies:
        assert path == "/v1/traces"
        request = ExportTraceServiceRequest.FromString(body)
        for rs in request.resource_spans:
            for ss in rs.scope_spans:
                spans.extend(ss.spans)
    by_name = {s.name: s for s in spans}
    names = {
        "flowctl.run",
        "flowctl.chunk",
        "flowctl.stage",
        "flowctl.other",
        "flowctl.sink.commit",
    }
    assert names <= set(by_name)
    assert {s.trace_id.hex() for s in spans} == {trace_id}
    run = by_name["flowctl.run"]
    assert by_name["flowctl.chunk"].parent_span_id == run.span_id
    assert by_name["flowctl.other"].parent_span_id == run.span_id
    assert by_name["flowctl.stage"].parent_span_id == by_name["flowctl.chunk"].span_id
    attrs = {a.key: a.value for a in by_name["flowctl.sink.commit"].attributes}
    assert attrs["flowctl.sink"].string_value == "jsonl"


def test_no_run_means_no_spans() -> None:
    with tracing.span("flowctl.stage", stage="x") as span:
        assert span is None
    assert tracing.current_ids() == (None, None)
