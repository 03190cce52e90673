"""``flowctl run`` observability flags, end to end in this process."""

from __future__ import annotations

import json
import logging
import pstats
from collections.abc import Iterator
from pathlib import Path

import pytest

from flowctl_dsl.cli import build_parser, main
from flowctl_dsl.observability import logging as obs_logging
from flowctl_dsl.observability.cli import observe_settings


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    yield
    if obs_logging._HANDLER is not None:
        root.removeHandler(obs_logging._HANDLER)
        obs_logging._HANDLER = None
    root.setLevel(level)
    logging.getLogger("flowctl_dsl").setLevel(logging.NOTSET)


def run_args(tmp_path: Path, *extra: str) -> list[str]:
    text = f'localnet(ledgers=2..4, txs_per_ledger=3) | payments | jsonl("{tmp_path}/p.jsonl")'
    return ["run", "-e", text, *extra]


def test_flags_map_to_settings() -> None:
    args = build_parser().parse_args(
        ["run", "x.flow", "--metrics-port", "9464", "--pushgateway", "gw:9091"]
        + ["--metrics-file", "m.prom", "--otlp-endpoint", "http://c:4318", "--profile", "p.prof"]
    )
    s = observe_settings(args)
    assert (s.metrics_port, s.pushgateway, s.metrics_file) == (9464, "gw:9091", "m.prom")
    assert (s.otlp_endpoint, s.profile, s.progress) == ("http://c:4318", "p.prof", "auto")
    quiet = observe_settings(build_parser().parse_args(["run", "x.flow", "-q"]))
    assert quiet.progress == "off"


def test_profile_json_logs_and_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prof = tmp_path / "run.prof"
    args = run_args(tmp_path, "--profile", str(prof), "--log-format", "json", "--progress", "off")
    assert main(args) == 0
    err = capsys.readouterr().err
    stats = pstats.Stats(str(prof))
    assert any("processors/base.py" in key[0] for key in stats.stats)  # type: ignore[attr-defined]
    logs = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert [x["msg"] for x in logs] == [
        "run started",
        f"CPU profile written to {prof}",
        "run finished",
    ]
    assert len({x["run_id"] for x in logs}) == 1
    assert "summary: `inline`" in err and "payments" in err and f"profile     {prof}" in err


def test_quiet_prints_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(run_args(tmp_path, "-q")) == 0
    assert capsys.readouterr().err == ""


def test_log_level_warning_hides_info(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(run_args(tmp_path, "--log-level", "warning", "--log-format", "text")) == 0
    err = capsys.readouterr().err
    assert "run started" not in err and "summary:" in err


def test_a_busy_port_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(SystemExit) as exit_info:
            main(run_args(tmp_path, "--metrics-port", str(port), "-q"))
    assert exit_info.value.code == 2
    assert "cannot serve metrics on 127.0.0.1:" in capsys.readouterr().err
