"""The record every dead-letter output receives (Beam YAML style ``element, msg, stack`` + Stellar)."""

from __future__ import annotations

import pyarrow as pa

DEAD_LETTER_TYPE = "dead_letter"

DEAD_LETTER_SCHEMA = pa.schema(
    [
        pa.field("pipeline", pa.string(), nullable=False),
        pa.field("stage", pa.string(), nullable=False),
        pa.field("error_code", pa.string(), nullable=False),
        pa.field("message", pa.string(), nullable=False),
        pa.field("ledger_sequence", pa.int64()),
        pa.field("element", pa.string()),
        pa.field("stack", pa.string()),
        pa.field("failed_at", pa.timestamp("s", tz="UTC"), nullable=False),
    ]
)

#: Dead letters are keyed by where they failed, so a replay overwrites rather than duplicates.
DEAD_LETTER_KEY = ("ledger_sequence", "stage", "element")
