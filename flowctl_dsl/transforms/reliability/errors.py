"""Failures of the delivery machinery, and how they become one coded line for the CLI.

Workers raise these plain (picklable) exceptions; Beam wraps them, so :func:`as_flowctl_error`
looks through the cause chain and, across process boundaries, for a marker in the message text.
"""

from __future__ import annotations

import re

from flowctl_dsl.errors import FlowctlError

#: The codes of this module (listed in :mod:`flowctl_dsl.error_codes`).
STAGE_FAILED = "FC406"
ERROR_RATIO = "FC407"
CHECKPOINT_MISMATCH = "FC408"
CHECKPOINT_STORE = "FC409"
INTERRUPTED = "FC410"

DEAD_LETTER_HINT = 'send bad records aside: on_error: dead_letter(jsonl("dlq/errors.jsonl"))'


class ReliabilityError(Exception):
    """Base class: ``code``, a one-line ``reason`` and ``hints`` for the CLI."""

    code = "FC406"

    def __init__(self, reason: str, hints: tuple[str, ...] = ()) -> None:
        super().__init__(f"[{self.code}] {reason}")
        self.reason = reason
        self.hints = hints

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.reason, self.hints))

    def to_flowctl(self) -> FlowctlError:
        return FlowctlError.one(self.code, self.reason, None, list(self.hints))


class StageFailedError(ReliabilityError):
    """A stage could not handle a ledger or record and no dead-letter output is declared."""

    code = STAGE_FAILED

    @classmethod
    def of(cls, stage: str, ledger: int | None, err: BaseException) -> StageFailedError:
        where = f"ledger {ledger}" if ledger is not None else "a record"
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        return cls(
            f"stage `{stage}` failed on {where}: {type(err).__name__}: {first}",
            (DEAD_LETTER_HINT, "rerun with --debug for the Python traceback"),
        )


class ErrorRatioExceeded(ReliabilityError):
    """More dead letters than ``max_error_ratio`` allows."""

    code = ERROR_RATIO


class CheckpointMismatch(ReliabilityError):
    """The stored checkpoint was written by another version of the pipeline."""

    code = CHECKPOINT_MISMATCH


class CheckpointStoreError(ReliabilityError):
    """The checkpoint store cannot be read or written (after retries)."""

    code = CHECKPOINT_STORE


class Interrupted(ReliabilityError):
    """The run was stopped by a signal after committing what was in flight."""

    code = INTERRUPTED


_KINDS: dict[str, type[ReliabilityError]] = {
    k.code: k
    for k in (StageFailedError, ErrorRatioExceeded, CheckpointMismatch, CheckpointStoreError)
}
_MARKER = re.compile(r"\[(FC40[6-9])\] ([^\n]*)")


def as_flowctl_error(err: BaseException) -> FlowctlError | None:
    """The coded error for a reliability failure anywhere in ``err``'s chain, else None."""
    seen: list[BaseException] = []
    current: BaseException | None = err
    while current is not None and current not in seen:
        if isinstance(current, ReliabilityError):
            return current.to_flowctl()
        seen.append(current)
        current = current.__cause__ or current.__context__
    found = _MARKER.search(str(err))
    if found is None:
        return None
    code, reason = found.group(1), found.group(2).strip()
    reason = re.sub(r"\s*\[while running '[^']*'\]$", "", reason)
    hints = (DEAD_LETTER_HINT,) if _KINDS.get(code) is StageFailedError else ()
    return FlowctlError.one(code, reason, None, list(hints))
