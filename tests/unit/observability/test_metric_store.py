"""The metric registry follows Prometheus naming; the store records, exposes and round-trips."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from flowctl_dsl.observability import metrics
from flowctl_dsl.observability.metrics import (
    DURATION_BUCKETS,
    METRICS,
    MetricStore,
    Recorder,
    beam_name,
    bucket_quantile,
    from_beam,
    parse_beam_name,
)

ALLOWED_LABELS = {"pipeline", "stage", "sink", "code"}
BASE_UNITS = ("_seconds", "_bytes", "_ledgers", "_ledger", "_ratio", "_info")


@pytest.mark.parametrize("name", sorted(METRICS))
def test_prometheus_naming(name: str) -> None:
    spec = METRICS[name]
    assert re.fullmatch(r"flowctl_[a-z0-9_]+", name)
    assert "_ms" not in name and "_ns" not in name and "milli" not in name
    if spec.kind == "counter":
        assert name.endswith("_total")
    else:
        assert not name.endswith("_total")
    if spec.kind == "histogram":
        assert name.endswith("_seconds")
    if spec.kind == "gauge":
        assert name.endswith(BASE_UNITS), f"{name}: a gauge names its unit"
    if name == "flowctl_build_info":
        assert set(spec.labels) == {"version", "python", "beam"}
    else:
        assert set(spec.labels) <= ALLOWED_LABELS and "pipeline" in spec.labels


def test_store_records_and_exposes() -> None:
    store = MetricStore("p")
    store.inc("flowctl_records_total", 3, stage="payments")
    store.inc("flowctl_records_total", 2, stage="payments")
    store.inc("flowctl_records_total", 7, stage="trades")
    store.set_max("flowctl_last_read_ledger", 10, stage="localnet")
    store.set_max("flowctl_last_read_ledger", 9, stage="localnet")
    for s in (0.002, 0.004, 0.2):
        store.observe("flowctl_stage_duration_seconds", s, stage="payments")
    assert store.value("flowctl_records_total") == 12
    assert store.value("flowctl_records_total", stage="payments") == 5
    assert store.value("flowctl_last_read_ledger") == 10
    assert store.quantile("flowctl_stage_duration_seconds", 0.5, stage="payments") == 0.004
    families = {f.name: f for f in text_string_to_metric_families(metrics.exposition(store))}
    records = families["flowctl_records"]
    assert records.type == "counter"
    got = {s.labels["stage"]: s.value for s in records.samples if s.name.endswith("_total")}
    assert got == {"payments": 5, "trades": 7}
    hist = families["flowctl_stage_duration_seconds"]
    count = next(s for s in hist.samples if s.name.endswith("_count"))
    assert count.value == 3 and count.labels == {"pipeline": "p", "stage": "payments"}
    inf = next(s for s in hist.samples if s.labels.get("le") == "+Inf")
    assert inf.value == 3


def test_store_rejects_unknown_metrics_and_labels() -> None:
    store = MetricStore("p")
    with pytest.raises(KeyError):
        store.inc("flowctl_nope_total")
    with pytest.raises(ValueError, match="takes labels"):
        store.inc("flowctl_records_total", 1, stage="x", user="alice")


def test_bucket_quantile_interpolates_like_histogram_quantile() -> None:
    buckets = [0] * (len(DURATION_BUCKETS) + 1)
    buckets[DURATION_BUCKETS.index(0.01)] = 10  # ten values in (0.005, 0.01]
    assert bucket_quantile(0.5, buckets) == pytest.approx(0.0075)
    assert bucket_quantile(1.0, buckets) == pytest.approx(0.01)
    assert bucket_quantile(0.5, [0] * len(buckets)) is None


def test_beam_names_round_trip() -> None:
    name = beam_name("flowctl_records_failed_total", {"stage": "payments", "code": "FC401"})
    assert name == "flowctl_records_failed_total|code=FC401|stage=payments"
    assert parse_beam_name(name) == (
        "flowctl_records_failed_total",
        {"code": "FC401", "stage": "payments"},
    )


def _result(name: str, committed: Any) -> Any:
    key = SimpleNamespace(metric=SimpleNamespace(namespace="flowctl", name=name))
    return SimpleNamespace(key=key, committed=committed, attempted=None)


def test_from_beam_rebuilds_counters_histograms_and_gauges() -> None:
    hist = "flowctl_stage_duration_seconds|stage=payments"
    query = {
        "counters": [
            _result("flowctl_records_total|stage=payments", 5),
            _result(f"{hist}|bucket=3", 2),  # two in (0.0025, 0.005]
            _result(f"{hist}|bucket=6", 1),
            _result("not_ours", 9),
        ],
        "distributions": [
            _result(hist, SimpleNamespace(sum=11_000, count=3, max=6000)),
            _result("flowctl_last_read_ledger|stage=localnet", SimpleNamespace(max=301, count=3)),
        ],
        "gauges": [_result("flowctl_source_lag_seconds|stage=datastore", SimpleNamespace(value=4))],
    }
    store = from_beam(query, "p")
    assert store.value("flowctl_records_total", stage="payments") == 5
    assert store.value("flowctl_last_read_ledger") == 301
    assert store.value("flowctl_source_lag_seconds", stage="datastore") == 4
    [(labels, h)] = store.histograms("flowctl_stage_duration_seconds")
    assert labels == {"pipeline": "p", "stage": "payments"}
    assert (h.count, h.sum, h.buckets[3], h.buckets[6]) == (3, 0.011, 2, 1)


def test_recorder_mirrors_into_the_live_store_only_when_active() -> None:
    rec = Recorder(stage="s")
    store = MetricStore("p")
    rec.inc("flowctl_records_total", 4)  # no live store: Beam only
    metrics.activate(store)
    try:
        rec.inc("flowctl_records_total", 2)
        rec.set("flowctl_last_read_ledger", 7)
        rec.observe("flowctl_stage_duration_seconds", 0.003)
    finally:
        metrics.deactivate()
    assert store.value("flowctl_records_total") == 2
    assert store.value("flowctl_last_read_ledger") == 7
    assert store.histograms("flowctl_stage_duration_seconds")[0][1].count == 1


def test_merge_keeps_live_samples_under_beam_histograms() -> None:
    live, beam = MetricStore("p"), MetricStore("p")
    live.observe("flowctl_stage_duration_seconds", 0.001, stage="s")
    beam.observe("flowctl_stage_duration_seconds", 0.001, stage="s")
    beam.histograms("flowctl_stage_duration_seconds")[0][1].samples.clear()
    live.merge(beam)
    assert live.quantile("flowctl_stage_duration_seconds", 0.5, stage="s") == 0.001


def test_error_code_is_low_cardinality() -> None:
    from flowctl_dsl.stellar.lake import MissingLedgerError

    assert metrics.error_code(MissingLedgerError(5, "file:///lake")) == "FC401"
    assert metrics.error_code(ValueError("user 123 did something")) == "internal"
