"""Every example in examples/ checks, and runs (outputs sent to a temp dir)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from flowctl_dsl.cli import main
from flowctl_dsl.driver import Input, checked

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(REPO.glob("examples/**/*.flow"))


@pytest.mark.parametrize(
    "path", EXAMPLES, ids=[str(p.relative_to(REPO / "examples")) for p in EXAMPLES]
)
def test_example_checks_and_runs(
    path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    if "../shared" in path.read_text() and not (REPO.parent / "shared").is_dir():
        pytest.skip("needs ../shared")
    monkeypatch.chdir(REPO)
    plan = checked(Input.from_file(str(path)))
    sets: list[str] = []
    for sink in plan.sinks:
        if sink.params is not None and "path" in type(sink.params).model_fields:
            sets.append(f"{sink.label}.path={json.dumps(str(tmp_path / (sink.label + '.out')))}")
    if any(s.label in ("postgres", "bigquery") for s in plan.sinks) and not os.environ.get(
        "FLOWCTL_TEST_PG_DSN"
    ):
        pytest.skip("needs a database target")
    assert main(["run", "-q", str(path), *[a for s in sets for a in ("--set", s)]]) == 0
    out = capsys.readouterr().out
    written = [p for p in tmp_path.iterdir()] if tmp_path.exists() else []
    assert out.strip() or written, "the example produced no output"


def test_readme_starts_with_the_two_commands() -> None:
    lines = [
        ln for ln in (REPO / "README.md").read_text().splitlines() if ln.startswith("scripts/")
    ]
    assert lines[0].startswith(
        "scripts/setup && .venv/bin/flowctl run examples/localnet_payments.flow"
    )
    assert lines[1].startswith("scripts/test")
