"""Records as they travel: plain dicts. JSON encoding and the ordering key live here."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

Record = dict[str, Any]


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat(timespec="seconds") + "Z"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def to_json(record: Record) -> str:
    """One JSON line: decimals as exact strings, times as ISO 8601 UTC, bytes as base64."""
    return json.dumps(record, default=_default, ensure_ascii=False, separators=(",", ":"))


def sort_key(fields: Sequence[str]) -> Any:
    """A key function ordering records by ``fields`` (None first), then by their JSON text."""

    def key(record: Record) -> tuple[Any, ...]:
        head = tuple((record.get(f) is not None, record.get(f)) for f in fields)
        return (*head, to_json(record))

    return key
