"""flowctl's metrics: one registry of definitions, recorded through Beam and mirrored live.

Every metric is defined once in :data:`METRICS` (Prometheus naming: ``flowctl_`` prefix, base
units, ``_total`` counters, ``_seconds`` histograms, labels only from ``pipeline``, ``stage``,
``sink``, ``code`` and build metadata). DoFns record through a :class:`Recorder`, which writes

* Beam metrics (namespace ``flowctl``; labels ride in the name as ``metric|k=v|k=v``), so the
  values come back from ``PipelineResult.metrics()`` on every runner, and
* the live :class:`MetricStore` of this process when a run activated one (the direct runner runs
  the DoFns in this process), which the ``/metrics`` server, the progress bar and the summary read.

After a run :func:`from_beam` rebuilds a store from Beam's committed values.
"""

from __future__ import annotations

import bisect
import math
import random
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

NAMESPACE = "flowctl"
Kind = Literal["counter", "gauge", "histogram"]

#: Upper bounds (seconds) of the stage-duration histogram buckets; ``+Inf`` is implied.
DURATION_BUCKETS: tuple[float, ...] = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip
#: Raw samples kept per histogram series for exact quantiles in the summary (reservoir beyond).
MAX_SAMPLES = 100_000


@dataclass(frozen=True)
class MetricDef:
    """One metric: its Prometheus name, type, help text and label names."""

    name: str
    kind: Kind
    help: str
    labels: tuple[str, ...] = ("pipeline",)
    #: Gauges only: how a value recorded through Beam is kept (``max`` uses a distribution).
    beam: Literal["gauge", "max"] = "gauge"


METRICS: dict[str, MetricDef] = {
    m.name: m
    for m in (
        MetricDef(
            "flowctl_build_info",
            "gauge",
            "flowctl build metadata (always 1).",
            ("version", "python", "beam"),
        ),
        MetricDef(
            "flowctl_ledgers_read_total",
            "counter",
            "Ledgers the source emitted.",
            ("pipeline", "stage"),
        ),
        MetricDef(
            "flowctl_bytes_read_total",
            "counter",
            "Bytes of ledger XDR the source emitted (uncompressed).",
            ("pipeline", "stage"),
        ),
        MetricDef(
            "flowctl_ledgers_processed_total",
            "counter",
            "Ledgers a processor finished.",
            ("pipeline", "stage"),
        ),
        MetricDef(
            "flowctl_records_total",
            "counter",
            "Records a processor emitted.",
            ("pipeline", "stage"),
        ),
        MetricDef(
            "flowctl_sink_records_total",
            "counter",
            "Records delivered to a sink.",
            ("pipeline", "sink"),
        ),
        MetricDef(
            "flowctl_records_failed_total",
            "counter",
            "Ledgers or records a stage failed on, by error code.",
            ("pipeline", "stage", "code"),
        ),
        MetricDef(
            "flowctl_dlq_records_total",
            "counter",
            "Records sent to a dead-letter output, by error code.",
            ("pipeline", "stage", "code"),
        ),
        MetricDef(
            "flowctl_retries_total",
            "counter",
            "Retried attempts (sink connections, reads), by error code.",
            ("pipeline", "stage", "code"),
        ),
        MetricDef(
            "flowctl_stage_duration_seconds",
            "histogram",
            "Time a stage spent on one ledger.",
            ("pipeline", "stage"),
        ),
        MetricDef(
            "flowctl_last_read_ledger",
            "gauge",
            "Highest ledger sequence the source emitted.",
            ("pipeline", "stage"),
            beam="max",
        ),
        MetricDef(
            "flowctl_last_committed_ledger",
            "gauge",
            "Highest ledger sequence a sink committed.",
            ("pipeline", "sink"),
            beam="max",
        ),
        MetricDef(
            "flowctl_source_lag_seconds",
            "gauge",
            "A followed source's lag: now minus the close time of the last ledger it read.",
            ("pipeline", "stage"),
        ),
        MetricDef(
            "flowctl_checkpoint_timestamp_seconds",
            "gauge",
            "Unix time of the last saved checkpoint (age: time() - this).",
        ),
        MetricDef(
            "flowctl_run_start_timestamp_seconds",
            "gauge",
            "Unix time the run started.",
        ),
        MetricDef(
            "flowctl_planned_ledgers",
            "gauge",
            "Ledgers the run will read (0 when the range is open).",
        ),
    )
}

LabelKey = tuple[tuple[str, str], ...]


def _key(labels: Mapping[str, str]) -> LabelKey:
    return tuple(sorted((k, str(v)) for k, v in labels.items()))


@dataclass
class _Histogram:
    buckets: list[int] = field(default_factory=lambda: [0] * (len(DURATION_BUCKETS) + 1))
    sum: float = 0.0
    count: int = 0
    samples: list[float] = field(default_factory=list)
    seen: int = 0

    def observe(self, value: float, rng: random.Random) -> None:
        self.buckets[bisect.bisect_left(DURATION_BUCKETS, value)] += 1
        self.sum += value
        self.count += 1
        self.sample(value, rng)

    def sample(self, value: float, rng: random.Random) -> None:
        self.seen += 1
        if len(self.samples) < MAX_SAMPLES:
            self.samples.append(value)
        else:
            slot = rng.randrange(self.seen)
            if slot < MAX_SAMPLES:
                self.samples[slot] = value


class MetricStore:
    """Thread-safe values of :data:`METRICS` for one pipeline; also a prometheus-client collector.

    ``pipeline`` fills the ``pipeline`` label of every metric that has one. Register the store in
    a ``CollectorRegistry`` to expose, push or write it.
    """

    def __init__(self, pipeline: str) -> None:
        self.pipeline = pipeline
        self._lock = threading.Lock()
        self._values: dict[tuple[str, LabelKey], float] = {}
        self._hists: dict[tuple[str, LabelKey], _Histogram] = {}
        self._rng = random.Random(0)

    def _labels(self, name: str, labels: Mapping[str, Any]) -> LabelKey:
        spec = METRICS.get(name)
        if spec is None:
            raise KeyError(f"unknown metric {name}")
        given = dict(labels)
        if "pipeline" in spec.labels:
            given.setdefault("pipeline", self.pipeline)
        if set(given) != set(spec.labels):
            raise ValueError(f"{name} takes labels {spec.labels}, got {sorted(given)}")
        return _key(given)

    def inc(self, name: str, amount: float = 1, **labels: str) -> None:
        key = (name, self._labels(name, labels))
        with self._lock:
            self._values[key] = self._values.get(key, 0) + amount

    def set(self, name: str, value: float, **labels: str) -> None:
        key = (name, self._labels(name, labels))
        with self._lock:
            self._values[key] = value

    def set_max(self, name: str, value: float, **labels: str) -> None:
        key = (name, self._labels(name, labels))
        with self._lock:
            self._values[key] = max(self._values.get(key, value), value)

    def observe(self, name: str, seconds: float, **labels: str) -> None:
        key = (name, self._labels(name, labels))
        with self._lock:
            self._hists.setdefault(key, _Histogram()).observe(seconds, self._rng)

    # ---- reading ------------------------------------------------------------------------------
    def series(self, name: str) -> list[tuple[dict[str, str], float]]:
        """Every labelled value of a counter or gauge."""
        with self._lock:
            return [(dict(k), v) for (n, k), v in sorted(self._values.items()) if n == name]

    def value(self, name: str, **labels: str) -> float:
        """The sum of the series of ``name`` whose labels include ``labels`` (0 if none)."""
        want = {(k, str(v)) for k, v in labels.items()}
        return sum(v for lab, v in self.series(name) if want <= set(lab.items()))

    def histograms(self, name: str) -> list[tuple[dict[str, str], _Histogram]]:
        with self._lock:
            return [(dict(k), h) for (n, k), h in sorted(self._hists.items()) if n == name]

    def quantile(self, name: str, q: float, **labels: str) -> float | None:
        """The ``q`` quantile of one histogram series: exact from samples, else from buckets."""
        want = {(k, str(v)) for k, v in labels.items()}
        for lab, hist in self.histograms(name):
            if want <= set(lab.items()) and hist.count:
                if hist.samples:
                    ordered = sorted(hist.samples)
                    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]
                return bucket_quantile(q, hist.buckets)
        return None

    def merge(self, other: MetricStore) -> None:
        """Take ``other``'s series over ours (used to lay Beam's final values over live ones)."""
        with other._lock:
            values, hists = dict(other._values), dict(other._hists)
        with self._lock:
            self._values.update(values)
            for key, hist in hists.items():
                mine = self._hists.get(key)
                if mine is not None and not hist.samples:
                    hist.samples = mine.samples  # Beam carries no samples; keep the live ones
                self._hists[key] = hist

    # ---- prometheus-client collector ----------------------------------------------------------
    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        with self._lock:
            values = sorted(self._values.items())
            hists = sorted(self._hists.items(), key=lambda kv: kv[0])
        for spec in METRICS.values():
            fam: Any
            if spec.kind == "counter":
                fam = CounterMetricFamily(spec.name, spec.help, labels=spec.labels)
            elif spec.kind == "gauge":
                fam = GaugeMetricFamily(spec.name, spec.help, labels=spec.labels)
            else:
                fam = HistogramMetricFamily(spec.name, spec.help, labels=spec.labels)
                for (name, key), hist in hists:
                    if name == spec.name:
                        labs = dict(key)
                        fam.add_metric(
                            [labs[k] for k in spec.labels],
                            cumulative(hist.buckets),
                            hist.sum,
                        )
                yield fam
                continue
            for (name, key), value in values:
                if name == spec.name:
                    labs = dict(key)
                    fam.add_metric([labs[k] for k in spec.labels], value)
            yield fam


def cumulative(buckets: list[int]) -> list[tuple[str, float]]:
    """Prometheus ``le`` buckets from per-bucket counts."""
    out, total = [], 0
    for bound, n in zip([*DURATION_BUCKETS, math.inf], buckets, strict=True):
        total += n
        out.append(("+Inf" if math.isinf(bound) else repr(bound), float(total)))
    return out


def bucket_quantile(q: float, buckets: list[int]) -> float | None:
    """``histogram_quantile``: linear interpolation inside the bucket holding rank ``q``."""
    count = sum(buckets)
    if not count:
        return None
    rank, seen = q * count, 0
    for i, n in enumerate(buckets):
        if seen + n >= rank and n:
            lower = DURATION_BUCKETS[i - 1] if i > 0 else 0.0
            if i >= len(DURATION_BUCKETS):
                return lower
            return lower + (DURATION_BUCKETS[i] - lower) * (rank - seen) / n
        seen += n
    return DURATION_BUCKETS[-1]


# ---- the live store of this process ----------------------------------------------------------
_LIVE: MetricStore | None = None


def activate(store: MetricStore) -> None:
    """Make ``store`` the one DoFns running in this process mirror into."""
    global _LIVE
    _LIVE = store


def deactivate() -> None:
    global _LIVE
    _LIVE = None


def live() -> MetricStore | None:
    return _LIVE


# ---- Beam ------------------------------------------------------------------------------------
def beam_name(metric: str, labels: Mapping[str, str]) -> str:
    """The Beam metric name carrying ``labels``: ``metric|k=v|k=v`` (sorted, no pipeline)."""
    return "|".join([metric, *(f"{k}={v}" for k, v in sorted(labels.items()))])


def parse_beam_name(name: str) -> tuple[str, dict[str, str]]:
    metric, *pairs = name.split("|")
    return metric, dict(p.split("=", 1) for p in pairs)


class Recorder:
    """What a DoFn records with: Beam metrics always, the live store when one is active.

    ``labels`` are fixed for this recorder (``stage=…`` or ``sink=…``); calls add the rest.
    Picklable: Beam metric handles are created lazily on the worker.
    """

    def __init__(self, **labels: str) -> None:
        self.labels = labels
        self._beam: dict[str, Any] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {"labels": self.labels, "_beam": {}}

    def _handle(self, kind: str, name: str) -> Any:
        handle = self._beam.get(name)
        if handle is None:
            from apache_beam.metrics import Metrics

            if kind == "counter":
                handle = Metrics.counter(NAMESPACE, name)
            elif kind == "gauge":
                handle = Metrics.gauge(NAMESPACE, name)
            else:
                handle = Metrics.distribution(NAMESPACE, name)
            self._beam[name] = handle
        return handle

    def inc(self, metric: str, amount: int = 1, **labels: str) -> None:
        labs = {**self.labels, **labels}
        self._handle("counter", beam_name(metric, labs)).inc(amount)
        store = _LIVE
        if store is not None:
            store.inc(metric, amount, **labs)

    def set(self, metric: str, value: float, **labels: str) -> None:
        """A gauge; ``beam="max"`` gauges keep the highest value recorded."""
        labs = {**self.labels, **labels}
        name = beam_name(metric, labs)
        if METRICS[metric].beam == "max":
            self._handle("dist", name).update(int(value))
        else:
            self._handle("gauge", name).set(int(value))
        store = _LIVE
        if store is not None:
            if METRICS[metric].beam == "max":
                store.set_max(metric, value, **labs)
            else:
                store.set(metric, value, **labs)

    def observe(self, metric: str, seconds: float, **labels: str) -> None:
        """One histogram observation: a bucket counter and a microsecond distribution in Beam."""
        labs = {**self.labels, **labels}
        name = beam_name(metric, labs)
        bucket = bisect.bisect_left(DURATION_BUCKETS, seconds)
        self._handle("counter", f"{name}|bucket={bucket}").inc()
        self._handle("dist", name).update(int(seconds * 1_000_000))
        store = _LIVE
        if store is not None:
            store.observe(metric, seconds, **labs)


def from_beam(results: Mapping[str, Iterable[Any]], pipeline: str) -> MetricStore:
    """A store of the ``flowctl`` metrics in a Beam ``metrics().query()`` result."""
    store = MetricStore(pipeline)

    def result(r: Any) -> Any:
        return r.committed if r.committed is not None else r.attempted

    buckets: dict[str, list[int]] = {}
    for r in results.get("counters", []):
        if r.key.metric.namespace != NAMESPACE:
            continue
        metric, labels = parse_beam_name(r.key.metric.name)
        value = int(result(r) or 0)
        if "bucket" in labels:
            index = int(labels.pop("bucket"))
            series = beam_name(metric, labels)
            buckets.setdefault(series, [0] * (len(DURATION_BUCKETS) + 1))[index] += value
        elif metric in METRICS:
            store.inc(metric, value, **labels)
    for r in results.get("distributions", []):
        if r.key.metric.namespace != NAMESPACE:
            continue
        metric, labels = parse_beam_name(r.key.metric.name)
        data = result(r)
        if metric not in METRICS or data is None or not data.count:
            continue
        if METRICS[metric].kind == "histogram":
            key = (metric, store._labels(metric, labels))
            counts = buckets.get(beam_name(metric, labels), [0] * (len(DURATION_BUCKETS) + 1))
            store._hists[key] = _Histogram(
                buckets=counts, sum=data.sum / 1_000_000, count=data.count
            )
        else:
            store.set_max(metric, data.max, **labels)
    for r in results.get("gauges", []):
        if r.key.metric.namespace != NAMESPACE:
            continue
        metric, labels = parse_beam_name(r.key.metric.name)
        data = result(r)
        if metric in METRICS and data is not None:
            store.set(metric, data.value, **labels)
    return store


def registry(store: MetricStore) -> Any:
    """A fresh prometheus-client ``CollectorRegistry`` exposing ``store``."""
    from prometheus_client import CollectorRegistry

    reg = CollectorRegistry(auto_describe=False)
    reg.register(store)
    return reg


def exposition(store: MetricStore) -> str:
    """``store`` in the Prometheus text exposition format."""
    from prometheus_client import generate_latest

    return generate_latest(registry(store)).decode()


def error_code(err: BaseException) -> str:
    """A low-cardinality ``code`` label for a failure: its FC4xx code, else ``internal``."""
    from flowctl_dsl.errors import FlowctlError
    from flowctl_dsl.runtime_errors import as_flowctl_error

    mapped = err if isinstance(err, FlowctlError) else as_flowctl_error(err)
    if mapped is not None and mapped.diagnostics:
        return str(mapped.diagnostics[0].code)
    return "internal"


# ---- exporters -------------------------------------------------------------------------------
class MetricsPortError(OSError):
    """The ``--metrics-port`` cannot be bound (in use, or not permitted)."""


class MetricsServer:
    """``/metrics`` over HTTP on 127.0.0.1 while a run goes on."""

    def __init__(self, store: MetricStore, port: int, host: str = "127.0.0.1") -> None:
        from prometheus_client import start_http_server

        try:
            self.httpd, self.thread = start_http_server(port, addr=host, registry=registry(store))
        except OSError as err:
            raise MetricsPortError(
                f"cannot serve metrics on {host}:{port}: {err.strerror}"
            ) from err
        self.port = int(self.httpd.server_port)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=2)


def push(store: MetricStore, gateway: str, job: str = "flowctl") -> None:
    """Replace this pipeline's group on a Pushgateway (``host:port`` or URL) with ``store``."""
    from prometheus_client import push_to_gateway

    push_to_gateway(
        gateway, job=job, registry=registry(store), grouping_key={"pipeline": store.pipeline}
    )


def write_file(store: MetricStore, path: str | Path) -> Path:
    """Write ``store`` in the text exposition format, atomically (node-exporter textfile style)."""
    from prometheus_client import write_to_textfile

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_to_textfile(str(target), registry(store))
    return target
