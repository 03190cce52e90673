"""``flowctl graph`` goldens: a branched (fan-out) pipeline in ascii, mermaid and dot.

Regenerate with ``pytest tests/golden/test_graph.py --update-goldens`` and review the diff.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from flowctl_dsl.cli import main
from flowctl_dsl.driver import Input, planned
from flowctl_dsl.graph import Format, from_plan, render

GRAPH = Path(__file__).resolve().parents[1] / "fixtures" / "graph"
SUFFIX = {"ascii": "txt", "mermaid": "mmd", "dot": "dot"}
FORMATS: list[Format] = ["ascii", "mermaid", "dot"]


def compare(path: Path, actual: str, update: bool) -> None:
    if update or not path.exists():
        path.write_text(actual)
        if not update:
            pytest.fail(f"{path.name} did not exist; written — review it and run again")
    assert actual == path.read_text(), f"{path.name} differs; run pytest --update-goldens"


def branched():  # type: ignore[no-untyped-def]
    return planned(Input.from_file(str(GRAPH / "branched.flow")), ())


@pytest.mark.parametrize("fmt", FORMATS)
def test_branched_goldens(fmt: Format, update_goldens: bool) -> None:
    compare(GRAPH / f"branched.{SUFFIX[fmt]}", render(branched(), fmt), update_goldens)


@pytest.mark.parametrize("fmt", FORMATS)
def test_dead_letter_edge_goldens(fmt: Format, update_goldens: bool) -> None:
    """An ``on_error`` output is one more node and an ``error`` edge; every format draws it."""
    plan = branched()
    graph = from_plan(plan)
    dlq = plan.sinks[0].model_copy(
        update={"id": "06_dead_letters", "params": {"path": "dlq.jsonl"}}
    )
    graph.add_error_output(plan.stages[0].id, dlq)
    from flowctl_dsl.graph import RENDERERS

    compare(GRAPH / f"branched_dead_letter.{SUFFIX[fmt]}", RENDERERS[fmt](graph), update_goldens)


def test_graph_model_fans_out_to_every_sink() -> None:
    graph = from_plan(branched())
    last = graph.nodes[2].id
    assert [e.dst for e in graph.out(last)] == [s.id for s in branched().sinks]
    assert {e.label for e in graph.out(last)} == {"payment"}
    assert all(e.kind == "data" for e in graph.edges)


def test_cli_prints_the_graph(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["graph", str(GRAPH / "branched.flow"), "--format", "mermaid"]) == 0
    assert capsys.readouterr().out == (GRAPH / "branched.mmd").read_text()
    out = tmp_path / "g.txt"
    assert main(["graph", "-e", "localnet(ledgers=2..3) | payments | stdout", "-o", str(out)]) == 0
    assert out.read_text().startswith("pipeline inline\n")
