"""Failures during a run caused by inputs or targets, turned into coded one-line errors.

Beam wraps an exception raised in a worker; the original is found in the cause/context chain or,
across process boundaries, only in the message text.
"""

from __future__ import annotations

from flowctl_dsl.errors import FlowctlError
from flowctl_dsl.stellar.lake import LakeError, MissingLedgerError
from flowctl_dsl.transforms.sinks.targets import SinkError


def _chain(err: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = err
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def as_flowctl_error(err: BaseException) -> FlowctlError | None:
    """A :class:`FlowctlError` for a known kind of failure, or None for a bug."""
    for e in _chain(err):
        if isinstance(e, MissingLedgerError):
            return FlowctlError.one(
                "FC401",
                str(e),
                None,
                ["pass skip_gaps=true to skip missing objects", "or narrow ledgers=A..B"],
            )
        if isinstance(e, SinkError):  # FC404 cannot reach the sink target, FC405 target mismatch
            return FlowctlError.one(e.code, str(e), None, e.hints)
        if isinstance(e, LakeError):
            return FlowctlError.one("FC402", f"cannot read the data lake: {e}")
        if isinstance(
            e, PermissionError | FileNotFoundError | IsADirectoryError | NotADirectoryError
        ):
            return FlowctlError.one("FC403", f"cannot write output: {e}")
    text = str(err)
    for marker, code in (
        ("MissingLedgerError", "FC401"),
        ("LakeError", "FC402"),
        ("PermissionError", "FC403"),
        ("SinkUnreachableError", "FC404"),
        ("SinkSchemaError", "FC405"),
    ):
        if marker in text:
            line = next((ln for ln in text.splitlines() if marker in ln), text.splitlines()[0])
            return FlowctlError.one(code, f"the run failed: {line.strip()}")
    return None
