"""OpenTelemetry spans for a run: the run, ledger chunks, stages per ledger and sink commits.

While a run is active every span of it belongs to the run's trace (spans opened on threads with no
current span are parented on the run span), so log lines carry one trace id. Spans are exported
over OTLP/HTTP when an endpoint is configured (``--otlp-endpoint`` or the standard
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_ENDPOINT``). Without the
OpenTelemetry SDK every function here is a no-op.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_LOG = logging.getLogger(__name__)

try:
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    AVAILABLE = True
except ImportError:  # pragma: no cover - the SDK is a dependency; degrade if it is missing
    AVAILABLE = False


def otlp_endpoint(given: str | None = None) -> str | None:
    """The OTLP/HTTP traces URL: ``given``, else the standard environment variables."""
    if given:
        base = given
    elif os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        return os.environ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]
    elif os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        base = os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"]
    else:
        return None
    return base if base.rstrip("/").endswith("/v1/traces") else base.rstrip("/") + "/v1/traces"


class Tracing:
    """The tracer provider and the run span of one run."""

    def __init__(self, provider: Any, run_span: Any) -> None:
        self.provider = provider
        self.tracer = provider.get_tracer("flowctl")
        self.run_span = run_span
        self.run_context = trace.set_span_in_context(run_span)
        self.exporting = False


_ACTIVE: Tracing | None = None


def start(pipeline: str, run_id: str, endpoint: str | None = None) -> Tracing | None:
    """Open the run span; export to ``endpoint`` (an OTLP/HTTP traces URL) when given."""
    global _ACTIVE
    if not AVAILABLE:
        if endpoint:
            _LOG.warning("OpenTelemetry is not installed; not exporting traces to %s", endpoint)
        return None
    from flowctl_dsl import __version__

    resource = Resource.create(
        {"service.name": "flowctl", "service.version": __version__, "flowctl.pipeline": pipeline}
    )
    provider = TracerProvider(resource=resource)
    exporting = False
    if endpoint:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(
                BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint, timeout=5))
            )
            exporting = True
        except ImportError:
            _LOG.warning("the OTLP exporter is not installed; not exporting traces to %s", endpoint)
    span = provider.get_tracer("flowctl").start_span(
        "flowctl.run", attributes={"flowctl.pipeline": pipeline, "flowctl.run_id": run_id}
    )
    _ACTIVE = Tracing(provider, span)
    _ACTIVE.exporting = exporting
    return _ACTIVE


def stop(error: BaseException | None = None) -> None:
    """End the run span (marked as an error if ``error``) and flush the exporter."""
    global _ACTIVE
    active, _ACTIVE = _ACTIVE, None
    if active is None:
        return
    if error is not None:
        active.run_span.record_exception(error)
        active.run_span.set_status(trace.Status(trace.StatusCode.ERROR, type(error).__name__))
    active.run_span.end()
    active.provider.shutdown()


@contextmanager
def span(name: str, **attributes: Any) -> Iterator[Any]:
    """A child span of the current one (or of the run span); a no-op when no run is traced."""
    active = _ACTIVE
    if active is None:
        yield None
        return
    attrs = {f"flowctl.{k}": v for k, v in attributes.items() if v is not None}
    parent = None if trace.get_current_span().get_span_context().is_valid else active.run_context
    with active.tracer.start_as_current_span(name, context=parent, attributes=attrs) as current:
        yield current


def commit_span(sink: str, **attributes: Any) -> Any:
    """The span a sink opens around committing its output (``flowctl.sink.commit``)."""
    return span("flowctl.sink.commit", sink=sink, **attributes)


def current_ids() -> tuple[str | None, str | None]:
    """The current trace and span ids as hex, or ``(None, None)``."""
    if not AVAILABLE:
        return None, None
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        active = _ACTIVE
        if active is None:
            return None, None
        ctx = active.run_span.get_span_context()
    return f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}"
