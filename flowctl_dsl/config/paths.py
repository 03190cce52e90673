"""Output confinement: with ``output_root`` set, every sink path must resolve inside it (FC530).

Sink parameters named ``path`` or ``*_path`` are checked after the checker has bound them (so
catalog defaults such as parquet's ``out/{pipeline}/`` count too). Paths are resolved the way the
sinks open them — relative to the working directory, ``file://`` stripped, ``~`` not expanded — with
symlinks and ``..`` followed, so neither can leave the root. Remote URLs are refused under a root.
"""

from __future__ import annotations

import os
from pathlib import Path

from flowctl_dsl import ir
from flowctl_dsl.checks.context import Checked
from flowctl_dsl.errors import Diagnostic, FlowctlError

FILE_SCHEME = "file://"


def path_params(params: object) -> dict[str, str]:
    """The path-like string parameters of a bound parameter model."""
    fields = getattr(type(params), "model_fields", {})
    out: dict[str, str] = {}
    for name in fields:
        value = getattr(params, name, None)
        if isinstance(value, str) and (name == "path" or name.endswith("_path")):
            out[name] = value
    return out


def inside(path: str, root: Path, pipeline: str, cwd: Path | None = None) -> str | None:
    """Why ``path`` escapes ``root`` (None when it stays inside)."""
    text = path.replace("{pipeline}", pipeline)
    if text.startswith(FILE_SCHEME):
        text = text[len(FILE_SCHEME) :]
    elif "://" in text:
        return "a remote URL cannot be checked against output_root"
    base = cwd or Path.cwd()
    target = Path(os.path.realpath(base / text))
    top = Path(os.path.realpath(base / root))
    if target == top or top in target.parents:
        return None
    return f"resolves to {target}, outside output_root {top}"


def confine(checked: Checked, root: Path | None, cwd: Path | None = None) -> None:
    """Raise FC530 for every sink path outside ``root`` (nothing to do when ``root`` is None)."""
    if root is None:
        return
    errors: list[Diagnostic] = []
    p = checked.pipeline
    for sink, info in zip(p.sinks, checked.sinks, strict=True):
        if info.params is None:
            continue
        for name, value in path_params(info.params).items():
            why = inside(value, root, p.name, cwd)
            if why is None:
                continue
            arg = _arg(sink, name, info.spec.positional if info.spec else ())
            span = arg.value.span if arg is not None else sink.span
            errors.append(
                Diagnostic(
                    "FC530",
                    f"`{sink.name}.{name}` escapes the output root: {why}",
                    span,
                    (
                        f'write under {root} (set by output_root), e.g. {name}="{root}/…"',
                        "`flowctl config show --explain output_root` says where it is set",
                    ),
                )
            )
    if errors:
        raise FlowctlError(errors)


def _arg(comp: ir.Component, name: str, positional: tuple[str, ...]) -> ir.Arg | None:
    index = 0
    for arg in comp.args:
        if arg.name is None:
            if index < len(positional) and positional[index] == name:
                return arg
            index += 1
        elif arg.name == name:
            return arg
    return None
