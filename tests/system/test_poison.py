"""Poison ledgers: corrupted objects in a lake go to the dead-letter output; the rest is exact.

A localnet lake of ledgers 2..41 gets two bad objects: ledger 9's bytes are flipped inside the
compressed payload (it still decompresses, to XDR the processor cannot decode) and ledger 23's
object is cut short (the source cannot split it into ledgers). With a dead-letter sink the run
succeeds, checkpointing every 10 ledgers: the dead letters are exactly ledgers 9 and 23 with their
stage, code, message and raw bytes, and every other ledger's records equal a clean run's. Without
one the run stops at the first bad ledger with FC406; above max_error_ratio with FC407.
"""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from flowctl_dsl.cli import main
from flowctl_dsl.stellar.localnet.generate import generate_lake

pytestmark = pytest.mark.system

FIRST, LAST = 2, 41
FLIPPED, TRUNCATED = 9, 23


@pytest.fixture(autouse=True)
def _state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The default checkpoint store (`.flowctl/state`) goes under the test's temp dir."""
    monkeypatch.setenv("FLOWCTL_STATE_DIR", str(tmp_path / "default-state"))


def object_of(lake: Path, sequence: int) -> Path:
    return next(lake.rglob(f"*--{sequence}.xdr.zst"))


@pytest.fixture(scope="module")
def lakes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    clean = tmp_path_factory.mktemp("clean-lake")
    generate_lake(clean, (FIRST, LAST), txs_per_ledger=2)
    poisoned = tmp_path_factory.mktemp("poisoned") / "lake"
    shutil.copytree(clean, poisoned)
    flipped = object_of(poisoned, FLIPPED)
    data = bytearray(flipped.read_bytes())
    for i in range(20, 60):
        data[i] ^= 0x5A
    flipped.write_bytes(bytes(data))
    cut = object_of(poisoned, TRUNCATED)
    cut.write_bytes(cut.read_bytes()[:30])
    return {"clean": clean, "poisoned": poisoned}


def rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def pipeline(lake: Path, out: Path, settings: str = "") -> str:
    return (
        f'datastore("{lake}", ledgers={FIRST}..{LAST}) | payments '
        f'| save_to jsonl("{out}"){settings}'
    )


def test_bad_ledgers_go_to_the_dead_letter_output(
    lakes: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clean = tmp_path / "clean.jsonl"
    assert main(["run", "-q", "-e", pipeline(lakes["clean"], clean), "--from-scratch"]) == 0
    out, dlq = tmp_path / "out.jsonl", tmp_path / "dlq.jsonl"
    settings = (
        f' with on_error=dead_letter(jsonl("{dlq}")), '
        f'checkpoint={{store: file("{tmp_path}/state"), every: 10}}'
    )
    assert main(["run", "-e", pipeline(lakes["poisoned"], out, settings)]) == 0
    err = capsys.readouterr().err
    assert "2 dead-lettered" in err

    letters = {d["ledger_sequence"]: d for d in rows(dlq)}
    assert sorted(letters) == [FLIPPED, TRUNCATED]
    flipped, cut = letters[FLIPPED], letters[TRUNCATED]
    assert (flipped["stage"], flipped["error_code"]) == ("payments", "decode_error")
    assert flipped["message"].startswith("ValueError") and "ledger_close_meta" in flipped["stack"]
    assert base64.b64decode(flipped["element"])  # the undecodable XDR, as read
    assert (cut["stage"], cut["error_code"]) == ("datastore", "unreadable_object")
    assert (
        "cannot be decoded" in cut["message"]
        and object_of(lakes["poisoned"], 23).name in cut["message"]
    )
    assert base64.b64decode(cut["element"]) == object_of(lakes["poisoned"], TRUNCATED).read_bytes()
    assert all(d["pipeline"] == "inline" and d["failed_at"] for d in letters.values())

    expected = [r for r in rows(clean) if r["ledger_sequence"] not in (FLIPPED, TRUNCATED)]
    assert rows(out) == expected  # every other ledger, exactly
    assert {r["ledger_sequence"] for r in rows(clean)} >= {FLIPPED, TRUNCATED}  # not vacuous
    state = json.loads((tmp_path / "state" / "inline.json").read_text())
    assert (state["committed_through"], state["ledgers"], state["dead_letters"]) == (LAST, 40, 2)


def test_without_a_dead_letter_output_the_run_stops_at_the_bad_ledger(
    lakes: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "-q", "-e", pipeline(lakes["poisoned"], tmp_path / "o.jsonl")]) == 1
    err = capsys.readouterr().err
    first = next(line for line in err.splitlines() if "error[" in line)
    assert "error[FC406]" in first
    assert f"failed on ledger {FLIPPED}" in first or f"failed on ledger {TRUNCATED}" in first
    assert "Traceback" not in err and "dead_letter(" in err


def test_max_error_ratio_fails_the_run(
    lakes: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = f' with on_error=dead_letter(jsonl("{tmp_path}/dlq.jsonl"), max_error_ratio=0.01)'
    text = pipeline(lakes["poisoned"], tmp_path / "o.jsonl", settings)
    assert main(["run", "-q", "-e", text, "--from-scratch"]) == 1
    err = capsys.readouterr().err
    assert "error[FC407]: 2 dead letter(s) in 40 ledgers (5.00%) exceed max_error_ratio=0.01" in err
    assert len(rows(tmp_path / "dlq.jsonl")) == 2  # the dead letters are kept for inspection
