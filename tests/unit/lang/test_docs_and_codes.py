"""The generated reference docs are current, and every emitted error code is documented."""

from __future__ import annotations

import re
from pathlib import Path

from flowctl_dsl.catalog import catalog
from flowctl_dsl.docs import catalog_markdown, errors_markdown
from flowctl_dsl.error_codes import CODES

REPO = Path(__file__).resolve().parents[3]


def test_every_code_in_the_package_is_listed_and_every_listed_code_is_used() -> None:
    used: set[str] = set()
    for path in (REPO / "flowctl_dsl").rglob("*.py"):
        if path.name == "error_codes.py":
            continue
        used |= set(re.findall(r'"(FC\d{3})"', path.read_text()))
    assert sorted(used - set(CODES)) == [], "add these codes to flowctl_dsl/error_codes.py"
    assert sorted(set(CODES) - used) == [], "these codes are listed but never emitted"


def test_committed_docs_are_current(update_goldens: bool) -> None:
    for name, text in (
        ("catalog.md", catalog_markdown(catalog())),
        ("errors.md", errors_markdown()),
    ):
        path = REPO / "docs" / name
        if update_goldens:
            path.parent.mkdir(exist_ok=True)
            path.write_text(text)
        assert path.read_text() == text, f"docs/{name} is stale: run `flowctl docs`"
