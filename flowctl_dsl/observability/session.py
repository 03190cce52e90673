"""One run's observability: the live metric store, exporters, tracing, progress and profiling.

A runner wraps its run in :func:`observe`; the CLI fills :class:`ObserveSettings` from flags.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flowctl_dsl.observability import logging as obs_logging
from flowctl_dsl.observability import metrics, tracing
from flowctl_dsl.observability.profiling import Profiler
from flowctl_dsl.observability.progress import Progress, ProgressMode
from flowctl_dsl.plan import Plan

_LOG = logging.getLogger("flowctl_dsl.run")


@dataclass
class ObserveSettings:
    """Where a run's metrics, traces and profile go, and how progress is shown."""

    metrics_port: int | None = None
    pushgateway: str | None = None
    metrics_file: str | None = None
    #: An OTLP/HTTP endpoint; ``None`` reads ``OTEL_EXPORTER_OTLP_*``.
    otlp_endpoint: str | None = None
    profile: str | None = None
    progress: ProgressMode = "off"
    progress_interval: float = 10.0


def planned_ledgers(plan: Plan) -> int | None:
    """How many ledgers the source will read, when its range is closed."""
    ledgers = plan.source.params.get("ledgers")
    if isinstance(ledgers, dict):
        start, end = ledgers.get("start"), ledgers.get("end")
        if isinstance(start, int) and isinstance(end, int) and end >= start:
            return end - start + 1
    return None


class Session:
    """Started before the pipeline is built, closed after it finished or failed."""

    def __init__(self, plan: Plan, settings: ObserveSettings, runner: str = "") -> None:
        self.plan = plan
        self.settings = settings
        self.runner = runner
        self.run_id = uuid.uuid4().hex[:16]
        self.store = metrics.MetricStore(plan.pipeline)
        self.server: metrics.MetricsServer | None = None
        self.progress: Progress | None = None
        self.profiler: Profiler | None = None
        self.started = time.monotonic()
        self.wall = 0.0
        self.finished = False

    def start(self) -> None:
        import platform

        import apache_beam

        from flowctl_dsl import __version__

        store, total = self.store, planned_ledgers(self.plan)
        store.set(
            "flowctl_build_info",
            1,
            version=__version__,
            python=platform.python_version(),
            beam=apache_beam.__version__,
        )
        store.set("flowctl_run_start_timestamp_seconds", time.time())
        store.set("flowctl_planned_ledgers", total or 0)
        metrics.activate(store)
        obs_logging.start_run(self.run_id, self.plan.pipeline)
        endpoint = tracing.otlp_endpoint(self.settings.otlp_endpoint)
        tracing.start(self.plan.pipeline, self.run_id, endpoint)
        if self.settings.metrics_port is not None:
            self.server = metrics.MetricsServer(store, self.settings.metrics_port)
            _LOG.info("metrics on http://127.0.0.1:%d/metrics", self.server.port)
        self.progress = Progress(
            store, total, self.settings.progress, self.settings.progress_interval
        )
        self.progress.start()
        _LOG.info(
            "run started", extra={"runner": self.runner, "ledgers_planned": total, "otlp": endpoint}
        )
        if self.settings.profile:
            self.profiler = Profiler(self.settings.profile)
            self.profiler.start()
        self.started = time.monotonic()

    def instrument(self, pipeline: Any) -> None:
        """Add the source/sink counting branches to a built Beam pipeline."""
        from flowctl_dsl.observability.instrument import instrument

        instrument(pipeline, self.plan)

    def finish(self, result: Any) -> metrics.MetricStore:
        """Lay the run's final Beam metrics over the live ones; mark the output committed."""
        self.wall = time.monotonic() - self.started
        try:
            query = result.metrics().query()
        except Exception:  # noqa: BLE001 - a runner without metrics queries keeps the live values
            query = None
        if query is not None:
            self.store.merge(metrics.from_beam(query, self.plan.pipeline))
        last = max((v for _, v in self.store.series("flowctl_last_read_ledger")), default=None)
        if last is not None:
            for sink in self.plan.sinks:
                self.store.set_max("flowctl_last_committed_ledger", last, sink=sink.name)
            self.store.set("flowctl_checkpoint_timestamp_seconds", time.time())
        self.finished = True
        return self.store

    def close(self, error: BaseException | None = None) -> None:
        """Stop progress and profiling, write/push the metrics, stop the server and tracing."""
        if not self.wall:
            self.wall = time.monotonic() - self.started
        if self.profiler is not None:
            path = self.profiler.stop()
            _LOG.info("CPU profile written to %s", path)
        if self.progress is not None:
            self.progress.stop()
        if error is not None:
            _LOG.error("run failed: %s", error, extra={"error": type(error).__name__})
        else:
            _LOG.info("run finished", extra={"wall_seconds": round(self.wall, 3)})
        try:
            if self.settings.metrics_file:
                metrics.write_file(self.store, self.settings.metrics_file)
            if self.settings.pushgateway:
                try:
                    metrics.push(self.store, self.settings.pushgateway)
                except OSError as err:
                    _LOG.warning("could not push metrics to %s: %s", self.settings.pushgateway, err)
        finally:
            if self.server is not None:
                self.server.close()
            tracing.stop(error)
            metrics.deactivate()
            obs_logging.end_run()


@contextmanager
def observe(plan: Plan, settings: ObserveSettings | None, runner: str = "") -> Iterator[Session]:
    """Observe one run: start everything, yield the session, close it however the run ends."""
    session = Session(plan, settings or ObserveSettings(), runner)
    try:
        session.start()
        yield session
    except BaseException as err:
        session.close(err)
        raise
    session.close()
