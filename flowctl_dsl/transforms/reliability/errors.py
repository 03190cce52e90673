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

DEAD_LETTER_HINT = 'send bad records aside: on_error: dead_letter(jsonl("dlq/errors.jsonl"))'


_WRAPPED = re.compile(r"^(?:\[FC4\d\d\] )+|(?: \[while running '[^']*'\])+$")


class ReliabilityError(Exception):
    """Base class: ``code``, a one-line ``reason`` and ``hints`` for the CLI.

    Beam re-raises a worker's exception as ``type(err)(message + " [while running …]")``; the
    reason is cleaned of that (and of the code prefix) so the CLI shows the original line.
    """

    code = "FC406"
    default_hints: tuple[str, ...] = ()

    def __init__(self, reason: str, hints: tuple[str, ...] | None = None) -> None:
        reason = _WRAPPED.sub("", reason.strip())
        super().__init__(f"[{self.code}] {reason}")
        self.reason = reason
        self.hints = self.default_hints if hints is None else hints

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.reason, self.hints))

    def to_flowctl(self) -> FlowctlError:
        return FlowctlError.one(self.code, self.reason, None, list(self.hints))


class StageFailedError(ReliabilityError):
    """A stage could not handle a ledger or record and no dead-letter output is declared."""

    code = STAGE_FAILED
    default_hints = (DEAD_LETTER_HINT, "rerun with --debug for the Python traceback")

    @classmethod
    def of(cls, stage: str, ledger: int | None, err: BaseException) -> StageFailedError:
        where = f"ledger {ledger}" if ledger is not None else "a record"
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        return cls(f"stage `{stage}` failed on {where}: {type(err).__name__}: {first}")


class ErrorRatioExceeded(ReliabilityError):
    """More dead letters than ``max_error_ratio`` allows."""

    code = ERROR_RATIO


class CheckpointMismatch(ReliabilityError):
    """The stored checkpoint was written by another version of the pipeline."""

    code = CHECKPOINT_MISMATCH


class CheckpointStoreError(ReliabilityError):
    """The checkpoint store cannot be read or written (after retries)."""

    code = CHECKPOINT_STORE


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
    kind = _KINDS.get(found.group(1), ReliabilityError)
    return kind(found.group(2)).to_flowctl()
