"""The run summary ``flowctl run`` prints on stderr: ledgers, records per sink, errors, wall time,
throughput, and per-processor latency per ledger."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flowctl_dsl.observability.metrics import MetricStore


@dataclass
class StageTiming:
    stage: str
    ledgers: int
    p50: float | None
    p99: float | None
    total: float


def stage_timings(store: MetricStore) -> list[StageTiming]:
    """Per-processor latency per ledger, from ``flowctl_stage_duration_seconds``."""
    out = []
    for labels, hist in store.histograms("flowctl_stage_duration_seconds"):
        stage = labels["stage"]
        out.append(
            StageTiming(
                stage,
                hist.count,
                store.quantile("flowctl_stage_duration_seconds", 0.5, stage=stage),
                store.quantile("flowctl_stage_duration_seconds", 0.99, stage=stage),
                hist.sum,
            )
        )
    return out


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f}ms"


def _by(store: MetricStore, metric: str, label: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for labels, value in store.series(metric):
        out[labels[label]] = out.get(labels[label], 0) + value
    return out


def render(
    store: MetricStore, wall_seconds: float, run_id: str = "", profile: Path | None = None
) -> str:
    """The summary as indented lines."""
    read = store.value("flowctl_ledgers_read_total")
    records = _by(store, "flowctl_records_total", "stage")
    sinks = _by(store, "flowctl_sink_records_total", "sink")
    failed = store.value("flowctl_records_failed_total")
    dlq = store.value("flowctl_dlq_records_total")
    retries = store.value("flowctl_retries_total")
    wall = max(wall_seconds, 1e-9)
    head = f"summary: `{store.pipeline}`" + (f" (run {run_id})" if run_id else "")
    lines = [
        head,
        f"  ledgers     {read:.0f} in {wall_seconds:.1f}s ({read / wall:.1f} ledgers/s)",
    ]
    if records:
        made = ", ".join(f"{k} {v:.0f}" for k, v in records.items())
        total = sum(records.values())
        lines.append(f"  records     {made} ({total / wall:.1f} records/s)")
    for sink, n in sinks.items():
        lines.append(f"  sink        {sink}: {n:.0f} records")
    lines.append(
        f"  errors      {failed:.0f} failed, {dlq:.0f} dead-lettered, {retries:.0f} retries"
    )
    timings = stage_timings(store)
    if timings:
        lines.append("  latency per ledger (p50 / p99 / total)")
        for t in timings:
            lines.append(f"    {t.stage:<20} {_ms(t.p50)} / {_ms(t.p99)} / {t.total:.2f}s")
    if profile is not None:
        lines.append(f"  profile     {profile} (python -m pstats {profile}, or snakeviz)")
    return "\n".join(lines)
