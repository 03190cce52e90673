"""Whether a plan runs columnar (no Beam here: ``explain`` and ``check`` read it).

``FLOWCTL_EXECUTION`` picks how records travel between stages: ``batches`` (the default: one
``pyarrow.RecordBatch`` per ledger from the processor to the sinks) or ``records`` (one dict per
record, the reference). A plan runs columnar when it has exactly one processor with a declared
schema; stages after it run on batches, and a sink that cannot take batches gets records
converted at its edge (:func:`flowctl_dsl.transforms.columnar.rows.to_records`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from flowctl_dsl.errors import FlowctlError, suggestion_hints
from flowctl_dsl.plan import Plan

EXECUTION_ENV = "FLOWCTL_EXECUTION"
MODES = ("batches", "records")
#: The decoder switch (see :mod:`flowctl_dsl.stellar.native`), checked here with this one.
DECODER_ENV = "FLOWCTL_DECODER"
DECODER_MODES = ("python", "native", "auto")


def check_environment(env: Mapping[str, str] | None = None) -> None:
    """FC504 when ``FLOWCTL_EXECUTION`` or ``FLOWCTL_DECODER`` has a value flowctl does not know."""
    env = os.environ if env is None else env
    for name, modes in ((EXECUTION_ENV, MODES), (DECODER_ENV, DECODER_MODES)):
        value = env.get(name, "").strip().lower()
        if value and value not in modes:
            raise FlowctlError.one(
                "FC504",
                f"{name}={env[name]!r} is not a value flowctl knows",
                None,
                [
                    f"use one of: {', '.join(modes)}",
                    *suggestion_hints(value, list(modes), "values")[:1],
                ],
            )


def mode() -> str:
    """``batches`` or ``records`` from ``FLOWCTL_EXECUTION`` (default ``batches``)."""
    value = os.environ.get(EXECUTION_ENV, "batches").strip().lower() or "batches"
    if value not in MODES:
        raise ValueError(f"{EXECUTION_ENV}={value!r}: expected one of {', '.join(MODES)}")
    return value


def why_not_columnar(plan: Plan) -> str | None:
    """None when ``plan`` runs on batches, else the reason it runs on records."""
    if mode() == "records":
        return f"{EXECUTION_ENV}=records"
    processors = [s for s in plan.stages if s.kind == "processor"]
    if not processors:
        return "no processor: the source's ledgers go straight to the sinks"
    if len(processors) > 1 or plan.stages[0].kind != "processor":
        return "more than one processor"
    if processors[0].arrow_schema is None:
        return f"`{processors[0].name}` declares no schema"
    return None
