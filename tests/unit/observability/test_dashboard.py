"""deploy/grafana: valid Grafana dashboard JSON that queries only metrics flowctl defines."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from flowctl_dsl.observability.metrics import METRICS

GRAFANA = Path(__file__).resolve().parents[3] / "deploy" / "grafana"
DASHBOARD = GRAFANA / "flowctl.json"
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def panels(dash: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for panel in dash["panels"]:
        out.append(panel)
        out.extend(panel.get("panels", []))  # collapsed rows
    return out


def exprs(dash: dict[str, Any]) -> list[str]:
    return [t["expr"] for p in panels(dash) for t in p.get("targets", [])]


def metric_names(expr: str) -> set[str]:
    """Every flowctl_* series name an expression selects."""
    names = set()
    for name in re.findall(r"\bflowctl_[a-zA-Z0-9_]+", expr):
        if name not in METRICS and name.endswith(HISTOGRAM_SUFFIXES):
            base = name.rsplit("_", 1)[0]
            if METRICS.get(base) and METRICS[base].kind == "histogram":
                name = base
        names.add(name)
    return names


def test_every_queried_metric_is_in_the_registry() -> None:
    queried = set().union(*(metric_names(e) for e in exprs(dashboard())))
    assert queried, "the dashboard queries no flowctl metric"
    assert queried <= set(METRICS), f"not defined in metrics.py: {sorted(queried - set(METRICS))}"


def test_the_dashboard_shows_the_main_metrics() -> None:
    queried = set().union(*(metric_names(e) for e in exprs(dashboard())))
    must = {
        "flowctl_ledgers_read_total",
        "flowctl_records_total",
        "flowctl_sink_records_total",
        "flowctl_records_failed_total",
        "flowctl_dlq_records_total",
        "flowctl_stage_duration_seconds",
        "flowctl_last_committed_ledger",
        "flowctl_source_lag_seconds",
        "flowctl_checkpoint_timestamp_seconds",
        "flowctl_retries_total",
        "flowctl_build_info",
    }
    assert must <= queried


def test_histogram_quantiles_use_buckets_and_le() -> None:
    for expr in exprs(dashboard()):
        if "histogram_quantile" in expr:
            assert "flowctl_stage_duration_seconds_bucket" in expr and "le" in expr
    quantiles = {
        m.group(1)
        for e in exprs(dashboard())
        for m in re.finditer(r"histogram_quantile\((0\.\d+)", e)
    }
    assert quantiles == {"0.5", "0.95", "0.99"}


def test_grafana_dashboard_shape() -> None:
    dash = dashboard()
    assert isinstance(dash["schemaVersion"], int) and dash["schemaVersion"] >= 36
    assert dash["title"] and re.fullmatch(r"[a-zA-Z0-9_-]{1,40}", dash["uid"])
    variables = {v["name"]: v for v in dash["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    ids = [p["id"] for p in panels(dash)]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in panels(dash):
        assert panel["type"] in {"stat", "gauge", "timeseries", "table", "row"}
        grid = panel["gridPos"]
        assert set(grid) == {"h", "w", "x", "y"} and 0 <= grid["x"] and grid["x"] + grid["w"] <= 24
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["targets"], panel["title"]
        refs = [t["refId"] for t in panel["targets"]]
        assert len(refs) == len(set(refs))
        for target in panel["targets"]:
            assert target["expr"].strip()
            assert target["datasource"]["uid"] == "${datasource}"
            for var in re.findall(r"\$(\w+)", target["expr"]):
                assert var in variables or var.startswith("__"), var


def test_panels_do_not_overlap() -> None:
    cells: set[tuple[int, int]] = set()
    for panel in panels(dashboard()):
        g = panel["gridPos"]
        mine = {
            (x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])
        }
        assert not cells & mine, panel["title"]
        cells |= mine


def test_provisioning_and_scrape_config() -> None:
    providers = yaml.safe_load((GRAFANA / "provisioning/dashboards/flowctl.yml").read_text())
    assert providers["apiVersion"] == 1
    [provider] = providers["providers"]
    assert provider["type"] == "file" and provider["options"]["path"]
    sources = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yml").read_text())
    assert [d["type"] for d in sources["datasources"]] == ["prometheus"]
    scrape = yaml.safe_load((GRAFANA / "prometheus/prometheus.yml").read_text())
    jobs = {j["job_name"]: j for j in scrape["scrape_configs"]}
    assert jobs["flowctl"]["static_configs"][0]["targets"]
    assert jobs["pushgateway"]["honor_labels"] is True


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ("rate(flowctl_stage_duration_seconds_bucket[5m])", {"flowctl_stage_duration_seconds"}),
        ("flowctl_records_total / flowctl_nope", {"flowctl_records_total", "flowctl_nope"}),
    ],
)
def test_metric_name_extraction(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names
