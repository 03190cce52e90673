"""`flowctl state show|set|reset`, `run` resuming by default, `--from-scratch`, FC408 on the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flowctl_dsl.cli import main


def flow(tmp_path: Path, end: int = 21, out: str = "out") -> Path:
    path = tmp_path / "demo.flow"
    path.write_text(
        "name: demo\n"
        f"source: localnet(ledgers=2..{end}, txs_per_ledger=1)\n"
        "process: payments\n"
        f'save_to: jsonl("{tmp_path}/{out}.jsonl")\n'
        f'checkpoint: {{store: file("{tmp_path}/state"), every: 5}}\n'
    )
    return path


def test_show_set_reset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = flow(tmp_path)
    assert main(["state", "show", str(path)]) == 1
    assert "no checkpoint for `demo`" in capsys.readouterr().err
    assert main(["state", "set", str(path), "--ledger", "9"]) == 0
    assert "the next run starts at ledger 10" in capsys.readouterr().err
    store = ["--store", str(tmp_path / "state")]
    assert main(["state", "show", "demo", *store, "--format", "json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["committed_through"], shown["first_ledger"], shown["last_ledger"]) == (9, 2, 21)
    assert main(["state", "set", "demo", *store, "--ledger", "12"]) == 0  # by name: moves it
    assert main(["state", "show", str(path)]) == 0
    out = capsys.readouterr().out
    assert "committed_through  12" in out and "next run starts at ledger 13" in out
    assert main(["state", "reset", str(path)]) == 0
    assert "removed the checkpoint of `demo`" in capsys.readouterr().err
    assert main(["state", "show", "demo", *store]) == 1
    assert main(["state", "set", "demo", *store, "--ledger", "3"]) == 1  # nothing to move by name
    assert "error[FC409]" in capsys.readouterr().err


def test_run_resumes_by_default_and_from_scratch_restarts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = flow(tmp_path)
    assert main(["run", "-q", str(path)]) == 0
    full = (tmp_path / "out.jsonl").read_text()
    assert main(["state", "set", str(path), "--ledger", "14"]) == 0
    capsys.readouterr()
    assert main(["run", str(path)]) == 0
    err = capsys.readouterr().err
    assert "(resumed at ledger 15)" in err and " 7 ledgers," in err  # 15..21 only
    assert (tmp_path / "out.jsonl").read_text() == full  # earlier lines kept, the rest replaced
    assert main(["state", "set", str(path), "--ledger", "14"]) == 0
    assert main(["run", "--from-scratch", str(path)]) == 0
    err = capsys.readouterr().err
    assert "resumed" not in err and " 20 ledgers," in err
    assert main(["run", str(path)]) == 0  # the last run completed: a new run starts over
    assert "resumed" not in capsys.readouterr().err


def test_a_changed_pipeline_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["state", "set", str(flow(tmp_path, end=31)), "--ledger", "9"]) == 0
    path = flow(tmp_path, end=21)  # same name, another range: another IR
    capsys.readouterr()
    assert main(["run", "-q", str(path)]) == 1
    err = capsys.readouterr().err
    assert "error[FC408]" in err and "different version of the pipeline" in err
    assert "--from-scratch" in err and "Traceback" not in err
    assert main(["run", "-q", "--from-scratch", str(path)]) == 0
