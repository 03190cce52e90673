"""The Beam coder of ``pyarrow.RecordBatch`` elements: Arrow IPC, registered on import."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from apache_beam import coders


class RecordBatchCoder(coders.Coder):  # type: ignore[misc]
    """A ``pyarrow.RecordBatch`` as an Arrow IPC stream (schema + one batch)."""

    def encode(self, value: pa.RecordBatch) -> bytes:
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, value.schema) as writer:
            writer.write_batch(value)
        return bytes(sink.getvalue().to_pybytes())

    def decode(self, encoded: bytes) -> pa.RecordBatch:
        with pa.ipc.open_stream(pa.py_buffer(encoded)) as reader:
            return reader.read_next_batch()  # encode writes exactly one (maybe empty) batch

    def is_deterministic(self) -> bool:
        return True

    def to_type_hint(self) -> Any:
        return pa.RecordBatch


coders.registry.register_coder(pa.RecordBatch, RecordBatchCoder)
