"""Golden tests (sqlglot/PRQL style): each ``tests/fixtures`` input has plain-text expected outputs.

Regenerate every expected file from the current code with ``pytest tests/golden --update-goldens``
and review the diff.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from flowctl_dsl import ast, ir
from flowctl_dsl.driver import Input, checked, load
from flowctl_dsl.errors import FlowctlError
from flowctl_dsl.parse import parse
from flowctl_dsl.printer import print_pipeline

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PIPELINES = sorted(p for p in (FIXTURES / "pipelines").glob("*.flow") if p.name.count(".") == 1)
ERRORS = sorted((FIXTURES / "errors").glob("*.flow"))
ENV: dict[str, str] = {}


def compare(path: Path, actual: str, update: bool) -> None:
    if update or not path.exists():
        path.write_text(actual)
        if not update:
            pytest.fail(f"{path.name} did not exist; written — review it and run again")
    assert actual == path.read_text(), f"{path.name} differs; run pytest --update-goldens to accept"


def rel(path: Path) -> str:
    return str(path.relative_to(FIXTURES.parent.parent))


@pytest.mark.parametrize("path", PIPELINES, ids=[p.stem for p in PIPELINES])
def test_pipeline_goldens(path: Path, update_goldens: bool) -> None:
    inp = Input.from_file(rel(path))
    pipeline = load(inp, env=ENV)
    compare(path.with_suffix(".ir.json"), ir.dump(pipeline) + "\n", update_goldens)
    kept = load(inp, env=ENV, keep_env=True)
    form = "key" if isinstance(parse(inp.source.text), ast.KeyDoc) else "pipe"
    other = "pipe" if form == "key" else "key"
    fmt = print_pipeline(kept, form, default_name=inp.default_name)
    compare(path.with_suffix(".fmt.flow"), fmt, update_goldens)
    compare(
        path.with_suffix(f".{other}.flow"),
        print_pipeline(kept, other, default_name=inp.default_name),
        update_goldens,
    )
    # fmt is idempotent on its own output
    again = load(
        Input(inp.source.__class__(inp.source.name, fmt), inp.default_name), env=ENV, keep_env=True
    )
    assert print_pipeline(again, form, default_name=inp.default_name) == fmt


@pytest.mark.parametrize("path", ERRORS, ids=[p.stem for p in ERRORS])
def test_error_goldens(path: Path, update_goldens: bool) -> None:
    inp = Input.from_file(rel(path))
    with pytest.raises(FlowctlError) as exc:
        checked(inp, env=ENV)
    compare(path.with_suffix(".errors.txt"), exc.value.render() + "\n", update_goldens)


def test_bad_error_messages_are_kept_honest(update_goldens: bool) -> None:
    source = FIXTURES / "bad_error_messages.flow"
    blocks = [b for b in source.read_text().split("\n---\n")]
    rendered = []
    for n, block in enumerate(blocks):
        text = "\n".join(line for line in block.splitlines() if not line.startswith("#")) + "\n"
        try:
            checked(Input.inline(text), env=ENV)
            rendered.append(f"## case {n}: no error (remove it from the file)")
        except FlowctlError as err:
            rendered.append(f"## case {n}\n{err.render()}")
    compare(FIXTURES / "bad_error_messages.txt", "\n\n".join(rendered) + "\n", update_goldens)
