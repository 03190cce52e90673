"""``flowctl config show [FILE] [--explain KEY]``: every effective setting and the layer it came from.

Without a pipeline: ``output_root``, ``networks.<net>.<key>`` and ``defaults.<component>.<param>``.
With one (``FILE`` or ``-e``), also each of its components' parameters, named as ``--set`` names
them (``source.ledgers``, ``sink.path``, ``payments.min_amount``), with the pipeline and ``--set``
layers on top.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass

from flowctl_dsl import ir
from flowctl_dsl.config.layers import (
    RANK,
    RPC_SOURCE,
    Layers,
    Setting,
    discover,
    given_params,
    network_name,
)
from flowctl_dsl.errors import FlowctlError, suggestion_hints


@dataclass
class Row:
    """One key: its settings in precedence order (the last is in force)."""

    key: str
    chain: list[Setting]

    @property
    def winner(self) -> Setting:
        return self.chain[-1]


def canonical(key: str) -> str:
    """``defaults.pg.dsn`` → ``defaults.postgres.dsn`` (aliases of components and networks)."""
    from flowctl_dsl.catalog import catalog
    from flowctl_dsl.stellar.networks import UnknownNetworkError, network

    parts = key.split(".")
    if len(parts) == 3 and parts[0] == "defaults":
        specs = catalog().find(parts[1])
        if specs:
            parts[1] = specs[0].name
    elif len(parts) == 3 and parts[0] == "networks":
        try:
            parts[1] = network(parts[1]).name
        except UnknownNetworkError:
            pass
    return ".".join(parts)


def config_rows(layers: Layers) -> list[Row]:
    return [Row(key, layers.chain(key)) for key in layers.keys()]


def pipeline_rows(
    args: argparse.Namespace, parser: argparse.ArgumentParser, layers: Layers
) -> list[Row]:
    """Rows for every parameter of every component of the pipeline given on the command line."""
    from flowctl_dsl.catalog import catalog
    from flowctl_dsl.cli import get_input
    from flowctl_dsl.driver import load, split_sets

    inp = get_input(args, parser)
    cat = catalog()
    pipeline = load(inp, (), cat=cat, layers=Layers())  # as written: no configured defaults
    _, sets = split_sets(args.sets)
    comps: list[tuple[str, str, ir.Component]] = [("source", "source", pipeline.source)]
    comps += [(s.name, "processor", s) for s in pipeline.stages if isinstance(s, ir.Process)]
    comps += [("sink" if i == 0 else s.name, "sink", s) for i, s in enumerate(pipeline.sinks)]
    rows: list[Row] = []
    seen: set[str] = set()
    for label, kind, comp in comps:
        spec = cat.get(kind, comp.name)  # type: ignore[arg-type]
        if spec is None or label in seen:
            continue
        seen.add(label)
        given = given_params(comp, spec)
        for param in spec.params.model_fields:
            key = f"{label}.{param}"
            chain = layers.chain(f"defaults.{spec.name}.{param}")
            net = network_name(given.get("network"))
            extra: list[Setting] = []
            if net and param == "network_passphrase":
                extra = layers.chain(f"networks.{net}.passphrase")
            elif net and param == "url" and spec.name == RPC_SOURCE:
                extra = layers.chain(f"networks.{net}.rpc_url")
            chain = sorted([*extra, *chain], key=lambda s: RANK[s.layer])
            chain = [Setting(key, s.value, s.layer, s.origin) for s in chain]
            if param in given:
                value = given[param]
                line = f":{value.span.line}" if value.span else ""
                chain.append(Setting(key, value, "pipeline", f"{inp.source.name}{line}"))
            for target, name, text in sets:
                if name == param and target in (label, comp.name):
                    chain.append(Setting(key, _set_value(text), "--set", f"--set {target}.{name}"))
            if chain:
                rows.append(Row(key, chain))
    return rows


def _set_value(text: str) -> ir.Value:
    from flowctl_dsl.config.layers import flow_value

    return flow_value(text)


def render_table(rows: list[Row], layers: Layers) -> str:
    lines = ["# layers, lowest first: built-in < system < user < project < env < pipeline < --set"]
    for layer, path in layers.files:
        lines.append(f"# {layer:<8} {path}{'' if path.is_file() else ' (absent)'}")
    width = max((len(r.key) for r in rows), default=10)
    shown = [r.winner.shown for r in rows]
    vwidth = min(60, max((len(v) for v in shown), default=5))
    for row, value in zip(rows, shown, strict=True):
        win = row.winner
        lines.append(f"{row.key:<{width}}  {value:<{vwidth}}  {win.layer:<8}  {win.origin}")
    return "\n".join(lines)


def render_explain(row: Row) -> str:
    win = row.winner
    lines = [f"{row.key} = {win.shown}", f"  in force: {win.layer} ({win.origin})"]
    if len(row.chain) > 1:
        lines.append("  every layer that sets it, lowest first:")
    for s in row.chain:
        mark = "  <- in force" if s is win else ""
        lines.append(f"    {s.layer:<8}  {s.shown:<40}  {s.origin}{mark}")
    return "\n".join(lines)


def as_json(rows: list[Row]) -> str:
    def one(s: Setting) -> dict[str, str]:
        return {"value": s.shown, "layer": s.layer, "origin": s.origin}

    return json.dumps(
        [{"key": r.key, **one(r.winner), "chain": [one(s) for s in r.chain]} for r in rows],
        indent=2,
    )


def cmd_config(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    layers = discover()
    rows = config_rows(layers)
    if args.file is not None or args.expr is not None:
        rows += pipeline_rows(args, parser, layers)
    if args.changed:
        rows = [r for r in rows if r.winner.layer != "built-in"]
    if args.explain:
        key = canonical(args.explain)
        found = [r for r in rows if r.key == key]
        if not found:
            raise FlowctlError.one(
                "FC502",
                f"no setting `{args.explain}`",
                None,
                suggestion_hints(args.explain, [r.key for r in rows], "settings"),
            )
        rows = found
    if args.json:
        print(as_json(rows))
    elif args.explain:
        print(render_explain(rows[0]))
    else:
        print(render_table(rows, layers))
    return 0


def register(command: Callable[..., argparse.ArgumentParser]) -> None:
    from flowctl_dsl.cli import add_input

    p = command("config", cmd_config, "show effective settings and the layer each comes from")
    p.add_argument("action", choices=["show"])
    add_input(p)
    p.add_argument("--explain", metavar="KEY", help="every layer that sets KEY, and which wins")
    p.add_argument("--changed", action="store_true", help="only settings not at built-in values")
    p.add_argument("--json", action="store_true", help="machine-readable output")
