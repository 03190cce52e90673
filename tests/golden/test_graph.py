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


def plan_of(name: str):  # type: ignore[no-untyped-def]
    return planned(Input.from_file(str(GRAPH / f"{name}.flow")), ())


def branched():  # type: ignore[no-untyped-def]
    return plan_of("branched")


@pytest.mark.parametrize("name", ["branched", "branched_on_error"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_graph_goldens(name: str, fmt: Format, update_goldens: bool) -> None:
    compare(GRAPH / f"{name}.{SUFFIX[fmt]}", render(plan_of(name), fmt), update_goldens)


def test_on_error_adds_one_dead_letter_node_and_an_error_edge_per_processor() -> None:
    plan = plan_of("branched_on_error")
    graph = from_plan(plan)
    dead = [n for n in graph.nodes if n.kind == "dead_letter"]
    assert [n.id for n in dead] == [plan.dead_letter.id]
    errors = [e for e in graph.edges if e.kind == "error"]
    assert [(e.src, e.dst) for e in errors] == [("01_payments", plan.dead_letter.id)]
    graph.add_error_output("02_filter", plan.dead_letter)
    assert len([n for n in graph.nodes if n.kind == "dead_letter"]) == 1
    assert len([e for e in graph.edges if e.kind == "error"]) == 2


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
