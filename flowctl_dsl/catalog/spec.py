"""What a catalog entry declares: one spec per source, processor and sink.

Every other part of flowctl (checker, ``describe``, docs, JSON Schema, compiler) reads these specs;
nothing else describes a component. Implementations are referenced by an import path
(``"package.module:attribute"``) so that checking a pipeline never imports Beam or decodes XDR.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Literal

import pyarrow as pa
from pydantic import BaseModel, ConfigDict

Kind = Literal["source", "processor", "sink"]

#: The record type every source emits: one raw ``LedgerCloseMeta`` per element.
LEDGER_CLOSE_META = "LedgerCloseMeta"


class Params(BaseModel):
    """Base class of every component's parameter model: unknown names are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class Spec:
    """One catalog entry.

    ``input_type``/``output_type`` name record types (``LedgerCloseMeta`` or a processor's
    record name such as ``payment``); ``schema`` is the pyarrow schema of ``output_type``
    records; ``positional`` lists the parameters that may be given without a name, in order.
    ``native_impl`` (processors) names an optional native implementation,
    ``(ledger XDRs, passphrase, params) -> pyarrow.RecordBatch`` with exactly ``schema``, used
    instead of ``impl`` when the ``flowctl_native`` module is built (see
    :mod:`flowctl_dsl.stellar.native`); ``impl`` stays the reference.
    """

    kind: Kind
    name: str
    summary: str
    params: type[Params]
    impl: str
    aliases: tuple[str, ...] = ()
    input_type: str | None = None
    output_type: str | None = None
    schema: pa.Schema | None = None
    primary_field: str | None = None
    key_fields: tuple[str, ...] = ()
    positional: tuple[str, ...] = ()
    guarantee: str | None = None
    defaults: dict[str, Any] = field(default_factory=dict)
    examples: tuple[str, ...] = ()
    native_impl: str | None = None
    #: Sinks: whether it writes as records arrive, so it can take an unbounded (followed) source.
    streaming: bool = False
    #: Sinks: whether it can take ``pyarrow.RecordBatch`` elements (columnar execution); other
    #: sinks get records converted at their edge.
    batches: bool = False

    def load(self) -> Any:
        """Import and return the implementation named by ``impl``."""
        module, _, attr = self.impl.partition(":")
        return getattr(importlib.import_module(module), attr)

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)
