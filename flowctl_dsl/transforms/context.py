"""What a builder gets besides its parameters: the records' schema, key, pipeline name, and
whether records arrive as Arrow batches."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa


@dataclass(frozen=True)
class BuildContext:
    pipeline: str
    component: str = ""
    record_type: str | None = None
    schema: pa.Schema | None = None
    key_fields: tuple[str, ...] = ()
    options: dict[str, object] = field(default_factory=dict)
    #: Sinks: the elements are ``pyarrow.RecordBatch`` (columnar execution), not record dicts.
    batches: bool = False
