"""``flowctl graph FILE --format ascii|mermaid|dot``: the pipeline DAG from the plan (no I/O)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

OK = 0


def cmd_graph(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from flowctl_dsl.cli import get_input
    from flowctl_dsl.driver import planned
    from flowctl_dsl.graph import render

    text = render(planned(get_input(args, parser), args.sets), args.format)
    if args.output:
        Path(args.output).write_text(text)
    else:
        print(text, end="")
    return OK


def register(command: Callable[..., argparse.ArgumentParser]) -> None:
    from flowctl_dsl.cli import add_input

    p = command("graph", cmd_graph, "draw the pipeline DAG as ascii, mermaid or dot")
    add_input(p)
    p.add_argument("--format", choices=["ascii", "mermaid", "dot"], default="ascii")
    p.add_argument("-o", "--output", metavar="PATH", help="write to a file instead of stdout")
