"""Dead letters: what a stage could not handle, as records of ``DEAD_LETTER_SCHEMA``.

A processor routes a failed ledger to the tagged output :data:`TAG` (``beam.pvalue.TaggedOutput``)
instead of raising; a source that cannot decode a stored object emits an
:class:`UnreadableLedger` in place of each ledger the object holds, which the processor sends on
unopened. ``element`` is the base64 of the raw ledger XDR (or object bytes), or the JSON of a
record.
"""

from __future__ import annotations

import base64
import json
import traceback
from datetime import UTC, datetime
from typing import Any, NamedTuple

from flowctl_dsl.catalog.dead_letter import DEAD_LETTER_SCHEMA

#: The tag of a processor's dead-letter output.
TAG = "dead_letter"
#: The most stack text kept per dead letter.
MAX_STACK = 4000
#: Error codes of dead letters.
DECODE_ERROR = "decode_error"
UNREADABLE_OBJECT = "unreadable_object"
PROCESSOR_ERROR = "processor_error"


class UnreadableLedger(NamedTuple):
    """A ledger a source could not read (corrupted object): its sequence, bytes and why."""

    sequence: int
    xdr: bytes
    network_passphrase: str
    error: str
    code: str = UNREADABLE_OBJECT
    stage: str = "source"


def error_code(err: BaseException) -> str:
    """``decode_error`` when the XDR could not be read (raised inside an XDR decoder or a lake
    format reader), else ``processor_error``."""
    for e in _chain(err):
        if type(e).__name__ in ("XdrError", "FormatError", "HeaderDecodeError", "ZstdError"):
            return DECODE_ERROR
        for frame in traceback.extract_tb(e.__traceback__):
            name = frame.filename.replace("\\", "/")
            if "/stellar_sdk/xdr/" in name or "xdrlib" in name or name.endswith("/formats.py"):
                return DECODE_ERROR
    return PROCESSOR_ERROR


def _chain(err: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    current: BaseException | None = err
    while current is not None and current not in out:
        out.append(current)
        current = current.__cause__ or current.__context__
    return out


def encode_element(element: Any) -> str:
    """base64 of bytes (a raw ledger), else the element as JSON."""
    if isinstance(element, bytes | bytearray):
        return base64.b64encode(bytes(element)).decode("ascii")
    from flowctl_dsl.transforms.records import to_json

    try:
        return to_json(element)
    except (TypeError, ValueError):
        return json.dumps(repr(element))


def record(
    pipeline: str,
    stage: str,
    code: str,
    message: str,
    ledger: int | None,
    element: Any,
    stack: str | None = None,
) -> dict[str, Any]:
    """One dead-letter record (the fields of ``DEAD_LETTER_SCHEMA``)."""
    out = {
        "pipeline": pipeline,
        "stage": stage,
        "error_code": code,
        "message": message,
        "ledger_sequence": ledger,
        "element": encode_element(element),
        "stack": stack[-MAX_STACK:] if stack else None,
        "failed_at": datetime.now(UTC).replace(microsecond=0),
    }
    assert list(out) == DEAD_LETTER_SCHEMA.names
    return out


def from_exception(
    pipeline: str, stage: str, ledger: int | None, element: Any, err: BaseException
) -> dict[str, Any]:
    first = (str(err).strip().splitlines() or [""])[0]
    message = f"{type(err).__name__}: {first}" if first else type(err).__name__
    stack = "".join(traceback.format_exception(type(err), err, err.__traceback__))
    return record(pipeline, stage, error_code(err), message, ledger, element, stack)


def from_unreadable(pipeline: str, stage: str, ledger: UnreadableLedger) -> dict[str, Any]:
    return record(pipeline, stage, ledger.code, ledger.error, ledger.sequence, ledger.xdr)
