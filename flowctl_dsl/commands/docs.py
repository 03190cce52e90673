"""``flowctl docs [-o DIR]``: write the catalog and error-code reference as Markdown."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from flowctl_dsl.catalog import catalog
    from flowctl_dsl.docs import catalog_markdown, errors_markdown

    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    (out / "catalog.md").write_text(catalog_markdown(catalog()))
    (out / "errors.md").write_text(errors_markdown())
    print(f"wrote {out / 'catalog.md'} and {out / 'errors.md'}")
    return 0


def register(command: Callable[..., Any]) -> None:
    p = command("docs", run, "write the catalog and error-code reference as Markdown")
    p.add_argument("-o", "--output", default="docs", help="directory (default docs/)")
