"""The compiler's stages chained for the CLI: text → AST → IR → checked → plan → run/compile.

Each function attaches the source text to any :class:`FlowctlError` so it renders with carets.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from flowctl_dsl import ast, ir
from flowctl_dsl.catalog import Catalog, catalog
from flowctl_dsl.checks import check
from flowctl_dsl.checks.context import Checked
from flowctl_dsl.config.layers import Layers, discover
from flowctl_dsl.config.migrate import is_v1, load_v1
from flowctl_dsl.config.paths import confine
from flowctl_dsl.errors import FlowctlError, Source, Span
from flowctl_dsl.lower import Lowering, lower
from flowctl_dsl.parse import parse, parse_value
from flowctl_dsl.plan import Plan, build_plan
from flowctl_dsl.transforms.columnar.execution import check_environment


@dataclass(frozen=True)
class Input:
    """Pipeline text and where it came from."""

    source: Source
    default_name: str

    @classmethod
    def from_file(cls, path: str) -> Input:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise FlowctlError.one("FC012", f"no such file: {path}") from None
        except (OSError, UnicodeDecodeError) as err:
            raise FlowctlError.one("FC012", f"cannot read {path}: {err}") from None
        return cls(Source(str(path), text), p.stem.replace("-", "_") or "pipeline")

    @classmethod
    def inline(cls, text: str) -> Input:
        return cls(Source("<inline>", text), "inline")


def split_sets(sets: Sequence[str]) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    """``--set`` values: ``NAME=v`` feeds ``${NAME}``; ``component.param=v`` sets a parameter."""
    variables: dict[str, str] = {}
    params: list[tuple[str, str, str]] = []
    for item in sets:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise FlowctlError.one("FC013", f"--set takes key=value, got `{item}`")
        key = key.strip()
        if "." in key:
            target, _, param = key.partition(".")
            params.append((target, param, value))
        else:
            variables[key] = value
    return variables, params


def apply_params(p: ir.Pipeline, sets: list[tuple[str, str, str]], cat: Catalog) -> ir.Pipeline:
    """Set or replace parameters named ``source.x``, ``sink.x`` or ``<processor>.x``."""
    for target, param, text in sets:
        try:
            parsed = parse_value(text)
        except Exception:
            parsed = ast.Str(Span.point(1, 1), text)
        value = Lowering(cat, os.environ, p.name).value(parsed)
        arg = ir.Arg(name=param, value=value)
        if target == "source":
            p = p.model_copy(update={"source": _with_arg(p.source, arg, cat, "source")})
        elif target == "sink":
            if not p.sinks:
                raise FlowctlError.one("FC013", "--set sink.…: the pipeline has no sink")
            first = _with_arg(p.sinks[0], arg, cat, "sink")
            p = p.model_copy(update={"sinks": [first, *p.sinks[1:]]})
        else:
            stages = list(p.stages)
            hits = [
                i for i, s in enumerate(stages) if isinstance(s, ir.Process) and s.name == target
            ]
            sinks = [i for i, s in enumerate(p.sinks) if s.name == target]
            if hits:
                process = stages[hits[0]]
                assert isinstance(process, ir.Process)
                stages[hits[0]] = _with_arg(process, arg, cat, "processor")
                p = p.model_copy(update={"stages": stages})
            elif sinks:
                new = list(p.sinks)
                new[sinks[0]] = _with_arg(new[sinks[0]], arg, cat, "sink")
                p = p.model_copy(update={"sinks": new})
            else:
                raise FlowctlError.one(
                    "FC013",
                    f"--set {target}.{param}: no stage `{target}` in the pipeline",
                    None,
                    ["use source.<param>, sink.<param> or <processor>.<param>"],
                )
    return p


C = TypeVar("C", bound=ir.Component)


def _with_arg(comp: C, arg: ir.Arg, cat: Catalog, kind: str) -> C:
    """``comp`` with ``arg`` set, replacing a named or positional value for the same parameter."""
    spec = cat.get(kind, comp.name)  # type: ignore[arg-type]
    positional = spec.positional if spec else ()
    kept: list[ir.Arg] = []
    index = 0
    for a in comp.args:
        if a.name is None:
            name = positional[index] if index < len(positional) else None
            index += 1
            if name == arg.name:
                continue
        elif a.name == arg.name:
            continue
        kept.append(a)
    return comp.model_copy(update={"args": [*kept, arg]})


def load(
    inp: Input,
    sets: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    cat: Catalog | None = None,
    keep_env: bool = False,
    layers: Layers | None = None,
) -> ir.Pipeline:
    """Parse and lower to the IR (no catalog checks yet); ``keep_env`` leaves ``${VAR}`` as is.

    Configured defaults (``layers``, discovered when None) fill parameters the pipeline omits,
    below ``--set``; with ``keep_env`` (``fmt``) the pipeline stays as written.
    """
    cat = cat or catalog()
    variables, params = split_sets(sets)
    environ = os.environ if env is None else env
    scope = {**environ, **variables}
    try:
        # -- V1 YAML input and configured defaults (flowctl_dsl.config)
        if is_v1(inp.source.text):
            pipeline = load_v1(inp.source, cat, scope, keep_env)
        else:
            pipeline = lower(parse(inp.source.text), cat, scope, inp.default_name, keep_env)
        if not keep_env:
            pipeline = (layers or discover(environ, cat=cat)).apply(pipeline, cat)
        # -- end configured defaults
        return apply_params(pipeline, params, cat)
    except FlowctlError as err:
        raise err.with_source(inp.source) from None


def checked(inp: Input, sets: Sequence[str] = (), env: Mapping[str, str] | None = None) -> Checked:
    """Parse, lower and check: every problem in the pipeline, before anything runs."""
    check_environment(os.environ if env is None else env)  # FLOWCTL_EXECUTION, FLOWCTL_DECODER
    cat = catalog()
    layers = discover(os.environ if env is None else env, cat=cat)  # flowctl_dsl.config
    pipeline = load(inp, sets, env, cat, layers=layers)
    try:
        result = check(pipeline, cat)
        confine(result, layers.output_root)  # sink paths stay under output_root (FC530)
        return result
    except FlowctlError as err:
        raise err.with_source(inp.source) from None


def planned(inp: Input, sets: Sequence[str] = (), env: Mapping[str, str] | None = None) -> Plan:
    return build_plan(checked(inp, sets, env))
