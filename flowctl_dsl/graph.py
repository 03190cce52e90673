"""The pipeline DAG from the plan, drawn as ASCII, Mermaid or Graphviz dot.

The graph is nodes (one per plan step) and edges: ``data`` edges carry the record type from the
source through the stages and fan out to every sink; ``error`` edges go from a stage to a
dead-letter output (:meth:`Graph.add_error_output`), drawn dashed and labelled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from flowctl_dsl.explain import describe_step, shown
from flowctl_dsl.plan import Plan, Step

EdgeKind = Literal["data", "error"]
Format = Literal["ascii", "mermaid", "dot"]


@dataclass(frozen=True)
class Node:
    id: str
    kind: str  # a plan step kind, or "dead_letter"
    title: str
    detail: str = ""


@dataclass(frozen=True)
class Edge:
    src: str
    dst: str
    kind: EdgeKind = "data"
    label: str = ""


@dataclass
class Graph:
    name: str
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)

    def node(self, node_id: str) -> Node:
        return next(n for n in self.nodes if n.id == node_id)

    def out(self, node_id: str, kind: EdgeKind | None = None) -> list[Edge]:
        return [e for e in self.edges if e.src == node_id and (kind is None or e.kind == kind)]

    def add_error_output(self, from_id: str, sink: Step, label: str = "on_error") -> None:
        """A dead-letter sink fed by the failures of step ``from_id`` (one node per sink)."""
        if all(n.id != sink.id for n in self.nodes):
            self.nodes.append(Node(sink.id, "dead_letter", sink.name, sink_detail(sink)))
        self.edges.append(Edge(from_id, sink.id, "error", label))


def value_text(value: object) -> str:
    if isinstance(value, dict) and set(value) <= {"start", "end"} and "start" in value:
        end = value.get("end")
        return f"{value['start']}..{'' if end is None else end}"
    if isinstance(value, list):
        return "[" + ", ".join(value_text(v) for v in value) + "]"
    return str(value)


def params_text(step: Step) -> str:
    return ", ".join(
        f"{k}={shown(k, value_text(v))}"
        for k, v in step.params.items()
        if v is not None and v is not False and v not in ([], {}, "")
    )


def sink_detail(step: Step) -> str:
    where = step.params.get("path") or step.params.get("table") or step.params.get("url")
    return shown("path", where) if where else ""


def from_plan(plan: Plan) -> Graph:
    """Source → stages → every sink, each edge labelled with the record type it carries."""
    graph = Graph(plan.pipeline)
    graph.nodes.append(Node(plan.source.id, "source", plan.source.name, params_text(plan.source)))
    last = plan.source
    for step in plan.stages:
        detail = params_text(step) if step.kind == "processor" else ""
        graph.nodes.append(Node(step.id, step.kind, describe_step(step), detail))
        graph.edges.append(Edge(last.id, step.id, "data", last.record_type or ""))
        last = step
    for sink in plan.sinks:
        graph.nodes.append(Node(sink.id, "sink", sink.name, sink_detail(sink)))
        graph.edges.append(Edge(last.id, sink.id, "data", last.record_type or ""))
    for from_id, sink in dead_letter_outputs(plan):
        graph.add_error_output(from_id, sink)
    return graph


def dead_letter_outputs(plan: Plan) -> list[tuple[str, Step]]:
    """(stage id, dead-letter sink): with ``on_error``, every processor's failures (including
    ledgers the source could not read, which reach the processors) go to one sink."""
    sink: Step | None = getattr(plan, "dead_letter", None)
    if sink is None:
        return []
    return [(step.id, sink) for step in plan.stages if step.kind == "processor"]


# ---- ASCII --------------------------------------------------------------------------------------
def _box(node: Node) -> str:
    kind = "dead-letter" if node.kind == "dead_letter" else node.kind
    text = f"[{kind}] {node.title}"
    return f"{text}  ({node.detail})" if node.detail else text


def to_ascii(graph: Graph) -> str:
    """Top to bottom: the stage chain, fan-out branches and ``~~>`` error branches."""
    lines = [f"pipeline {graph.name}", ""]
    current: str | None = graph.nodes[0].id
    while current is not None:
        node = graph.node(current)
        lines.append(_box(node))
        for edge in graph.out(current, "error"):
            lines.append(f"  |~~> {edge.label}: {_box(graph.node(edge.dst))}")
        data = graph.out(current, "data")
        chain = [e for e in data if graph.out(e.dst)] if len(data) == 1 else []
        if chain:
            lines += [f"  |  {chain[0].label}".rstrip(), "  v"]
            current = chain[0].dst
            continue
        if data:
            lines.append(f"  |  {data[0].label}".rstrip())
            for i, edge in enumerate(data):
                elbow = "`" if i == len(data) - 1 else "+"
                lines.append(f"  {elbow}--> {_box(graph.node(edge.dst))}")
        current = None
    return "\n".join(lines) + "\n"


# ---- Mermaid ------------------------------------------------------------------------------------
_MERMAID_SHAPES = {
    "source": ('(["', '"])'),
    "processor": ('["', '"]'),
    "sink": ('[("', '")]'),
    "dead_letter": ('[("', '")]'),
}


def _mermaid_text(text: str) -> str:
    return (
        text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
    )


def _mermaid_id(node_id: str) -> str:
    return "n" + "".join(c if c.isalnum() else "_" for c in node_id)


def to_mermaid(graph: Graph) -> str:
    """A ``flowchart LR``; error edges dotted, dead-letter sinks in the ``dead_letter`` class."""
    lines = [f"%% pipeline {graph.name}", "flowchart LR"]
    for node in graph.nodes:
        left, right = _MERMAID_SHAPES.get(node.kind, ('{{"', '"}}'))
        label = _mermaid_text(node.title)
        if node.detail:
            label += f"<br/>{_mermaid_text(node.detail)}"
        lines.append(f"  {_mermaid_id(node.id)}{left}{label}{right}")
    for edge in graph.edges:
        arrow = "-.->" if edge.kind == "error" else "-->"
        text = f'|"{_mermaid_text(edge.label)}"|' if edge.label else ""
        lines.append(f"  {_mermaid_id(edge.src)} {arrow}{text} {_mermaid_id(edge.dst)}")
    dead = [_mermaid_id(n.id) for n in graph.nodes if n.kind == "dead_letter"]
    if dead:
        lines.append("  classDef dead_letter stroke:#c00,stroke-dasharray:4 2")
        lines.append(f"  class {','.join(dead)} dead_letter")
    return "\n".join(lines) + "\n"


# ---- Graphviz dot -------------------------------------------------------------------------------
_DOT_SHAPES = {
    "source": "oval",
    "processor": "box",
    "sink": "cylinder",
    "dead_letter": "cylinder",
}


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def to_dot(graph: Graph) -> str:
    """A ``digraph``, left to right; error edges dashed red with their label."""
    lines = [
        f'digraph "{_dot_text(graph.name)}" {{',
        "  rankdir=LR;",
        '  node [fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=9];',
    ]
    for node in graph.nodes:
        label = _dot_text(node.title) + (f"\\n{_dot_text(node.detail)}" if node.detail else "")
        attrs = f'label="{label}", shape={_DOT_SHAPES.get(node.kind, "hexagon")}'
        if node.kind == "dead_letter":
            attrs += ", color=red"
        lines.append(f'  "{node.id}" [{attrs}];')
    for edge in graph.edges:
        edge_attrs = [f'label="{_dot_text(edge.label)}"'] if edge.label else []
        if edge.kind == "error":
            edge_attrs += ["style=dashed", "color=red", "fontcolor=red"]
        suffix = f" [{', '.join(edge_attrs)}]" if edge_attrs else ""
        lines.append(f'  "{edge.src}" -> "{edge.dst}"{suffix};')
    lines.append("}")
    return "\n".join(lines) + "\n"


RENDERERS = {"ascii": to_ascii, "mermaid": to_mermaid, "dot": to_dot}


def render(plan: Plan, fmt: Format = "ascii") -> str:
    return RENDERERS[fmt](from_plan(plan))
