"""The checker: passes that run in order over the IR, one pass per module.

Each pass reads the :class:`~flowctl_dsl.checks.context.Context` and adds what it learns (the
spec of each component, bound parameters, the record type and schema after each stage) and the
diagnostics it finds. Every pass runs even when an earlier one found problems, so one ``check``
reports every error it can; later passes skip what earlier ones could not resolve.
"""

from __future__ import annotations

from collections.abc import Callable

from flowctl_dsl import ir
from flowctl_dsl.catalog import Catalog
from flowctl_dsl.checks import bind, records, resolve, settings, sinks
from flowctl_dsl.checks.context import Checked, Context
from flowctl_dsl.errors import FlowctlError

Pass = Callable[[Context], None]

PASSES: tuple[Pass, ...] = (
    resolve.run,  # names → catalog specs (did-you-mean)
    bind.run,  # arguments → each spec's typed parameter model
    records.run,  # record type and schema through every stage; fields and expression types
    sinks.run,  # a sink is present, and each sink accepts what reaches it
    settings.run,  # on_error (dead letters), checkpoint, retry
)


def check(pipeline: ir.Pipeline, catalog: Catalog) -> Checked:
    """Run every pass; raise :class:`FlowctlError` with all errors, else return what was learned."""
    ctx = Context(pipeline=pipeline, catalog=catalog)
    for run in PASSES:
        run(ctx)
    if ctx.errors:
        raise FlowctlError(ctx.errors)
    return ctx.result()
