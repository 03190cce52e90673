"""The direct runner with several worker processes, and the guard rails every runner applies."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from flowctl_dsl.cli import main
from flowctl_dsl.driver import Input, planned
from flowctl_dsl.errors import FlowctlError
from flowctl_dsl.plan import Plan
from flowctl_dsl.runners import get_runner
from flowctl_dsl.runners.base import RunSettings

pytestmark = pytest.mark.integration


def plan_of(text: str, bounded: bool = True) -> Plan:
    plan = planned(Input.inline(text))
    if not bounded:  # as a source that follows the network tip declares itself
        plan.source.params["bounded"] = False
    return plan


def code_of(err: pytest.ExceptionInfo[FlowctlError]) -> str:
    return err.value.diagnostics[0].code


def test_two_worker_processes_count_every_ledger(tmp_path: Path) -> None:
    out = tmp_path / "ledgers.jsonl"
    text = f'localnet(ledgers=2..201) | ledgers | save_to jsonl("{out}")'
    assert main(["run", "-q", "--workers", "2", "-e", text]) == 0
    sequences = [json.loads(line)["sequence"] for line in out.read_text().splitlines()]
    assert len(sequences) == 200
    assert sorted(sequences) == list(range(2, 202))


def test_direct_options_choose_multi_processing_for_several_workers() -> None:
    plan = plan_of("localnet(ledgers=2..3) | ledgers | stdout")
    direct = get_runner("direct")
    one = direct.beam_options(plan, RunSettings(workers=1))
    two = direct.beam_options(plan, RunSettings(workers=2))
    assert one["direct_running_mode"] == "in_memory"
    assert (two["direct_num_workers"], two["direct_running_mode"]) == (2, "multi_processing")


def test_unbounded_source_is_refused_with_several_workers() -> None:
    plan = plan_of("localnet(ledgers=2..3) | ledgers | stdout", bounded=False)
    direct = get_runner("direct")
    assert direct.check(plan, RunSettings(workers=1)) == []
    with pytest.raises(FlowctlError) as err:
        direct.check(plan, RunSettings(workers=2))
    assert code_of(err) == "FC305" and "19842" in err.value.diagnostics[0].reason


def test_batch_runner_refuses_an_unbounded_source() -> None:
    plan = plan_of("localnet(ledgers=2..3) | ledgers | stdout", bounded=False)
    with pytest.raises(FlowctlError) as err:
        get_runner("spark").check(plan, RunSettings())
    assert code_of(err) == "FC302"
    assert get_runner("flink").check(plan, RunSettings()) == []


def test_unknown_runner_option_gets_a_did_you_mean(capsys: pytest.CaptureFixture[str]) -> None:
    text = "localnet(ledgers=2..3) | ledgers | stdout"
    assert main(["explain", "--runner", "flink", "-O", "flink_mastr=x", "-e", text]) == 1
    err = capsys.readouterr().err
    assert "FC304" in err and "did you mean `flink_master`" in err


def test_runner_option_needs_name_and_value(capsys: pytest.CaptureFixture[str]) -> None:
    text = "localnet(ledgers=2..3) | ledgers | stdout"
    assert main(["explain", "--runner", "flink", "-O", "flink_master", "-e", text]) == 1
    assert "FC304" in capsys.readouterr().err


def test_flink_checkpointing_is_always_on() -> None:
    flink = get_runner("flink")
    assert flink.checkpointing_interval(RunSettings()) == 60_000  # type: ignore[attr-defined]
    for bad in ("0", "-5", "soon"):
        with pytest.raises(FlowctlError) as err:
            flink.checkpointing_interval(  # type: ignore[attr-defined]
                RunSettings(runner_options={"checkpointing_interval": bad})
            )
        assert code_of(err) == "FC304"


def test_explain_shows_the_worker_environment(capsys: pytest.CaptureFixture[str]) -> None:
    text = "localnet(ledgers=2..3) | ledgers | stdout"
    cluster = ["-O", "flink_master=127.0.0.1:8081"]
    assert main(["explain", "--runner", "flink", "-e", text]) == 0
    assert "LOOPBACK" in capsys.readouterr().out
    assert main(["explain", "--runner", "flink", *cluster, "-e", text]) == 0
    assert "DOCKER apache/beam_python3.11_sdk:" in capsys.readouterr().out
    pool = ["-O", "environment=external:127.0.0.1:50000"]
    assert main(["explain", "--runner", "flink", *cluster, *pool, "-e", text]) == 0
    assert "EXTERNAL worker pool at 127.0.0.1:50000" in capsys.readouterr().out


def test_missing_job_server_jar_fails_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FLOWCTL_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.delenv("FLOWCTL_FLINK_JOB_SERVER_JAR", raising=False)
    monkeypatch.delenv("FLOWCTL_SPARK_JOB_SERVER_JAR", raising=False)
    text = "localnet(ledgers=2..3) | ledgers | stdout"
    for runner in ("flink", "spark"):
        started = time.monotonic()
        assert main(["run", "-q", "--runner", runner, "-e", text]) == 1
        assert time.monotonic() - started < 10
        err = capsys.readouterr().err
        assert "FC303" in err and ".ci/runners.sh" in err and "job-server" in err


def test_unknown_runner_environment_kind() -> None:
    settings = RunSettings(runner_options={"environment": "kubernetes"})
    with pytest.raises(FlowctlError) as err:
        get_runner("portable").describe(settings)
    assert code_of(err) == "FC304"
