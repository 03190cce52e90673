"""The catalog: every source, processor and sink flowctl knows, looked up by name or alias.

One place describes each component (:class:`~flowctl_dsl.catalog.spec.Spec`); the checker,
``flowctl list``/``describe``, docs and the JSON Schema all read it.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from functools import cache

from flowctl_dsl.catalog.spec import Kind, Spec

#: Modules that export ``SPECS``, in display order.
SPEC_MODULES = (
    "flowctl_dsl.catalog.sources",
    "flowctl_dsl.catalog.ledger_processors",
    "flowctl_dsl.catalog.event_processors",
    "flowctl_dsl.catalog.sinks",
    "flowctl_dsl.catalog.warehouse_sinks",
)


def normalize(name: str) -> str:
    """Names are matched case-insensitively with dashes and underscores alike."""
    return name.strip().lower().replace("-", "_")


class Catalog:
    """Specs indexed by kind and by every name and alias."""

    def __init__(self, specs: Iterable[Spec]) -> None:
        self.specs: tuple[Spec, ...] = tuple(specs)
        self._index: dict[tuple[str, str], Spec] = {}
        for spec in self.specs:
            for name in spec.names:
                key = (spec.kind, normalize(name))
                if key in self._index and self._index[key] is not spec:
                    raise ValueError(f"catalog: {spec.kind} name {name!r} declared twice")
                self._index[key] = spec

    def get(self, kind: Kind, name: str) -> Spec | None:
        return self._index.get((kind, normalize(name)))

    def find(self, name: str) -> list[Spec]:
        """Every spec of any kind answering to ``name``."""
        return [s for k in ("source", "processor", "sink") if (s := self.get(k, name))]  # type: ignore[arg-type]

    def of_kind(self, kind: Kind) -> tuple[Spec, ...]:
        return tuple(s for s in self.specs if s.kind == kind)

    def names(self, kind: Kind, aliases: bool = True) -> list[str]:
        out: list[str] = []
        for spec in self.of_kind(kind):
            out.extend(spec.names if aliases else (spec.name,))
        return out


@cache
def catalog() -> Catalog:
    """The built-in catalog (loaded once)."""
    specs: list[Spec] = []
    for module in SPEC_MODULES:
        try:
            specs.extend(importlib.import_module(module).SPECS)
        except ModuleNotFoundError as err:  # a spec module still being written
            if err.name != module:
                raise
    return Catalog(specs)
