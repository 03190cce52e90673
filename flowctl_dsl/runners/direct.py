"""``direct``: Beam's local FnApiRunner, chosen explicitly.

Beam 2.77's ``DirectRunner`` first tries to download Prism; naming FnApiRunner avoids that.
``--workers N`` (N > 1) runs CPU-bound stages in N worker processes (``multi_processing``). That is
safe only for bounded sources: today's sources are ``Create → Reshuffle → read`` (no splittable
DoFn), while a self-checkpointing splittable DoFn — e.g. one following the network tip — loses
its deferred residuals with more than one worker (apache/beam#19842). So an unbounded source with
``--workers`` > 1 is refused (FC305).
"""

from __future__ import annotations

from typing import Any, ClassVar

from flowctl_dsl.errors import Diagnostic, FlowctlError
from flowctl_dsl.plan import Plan
from flowctl_dsl.runners.base import Runner, RunSettings, bounded


class DirectRunner(Runner):
    name: ClassVar[str] = "direct"
    summary: ClassVar[str] = "Beam FnApiRunner in this process (local runs and tests)"
    #: FnApiRunner runs a self-checkpointing source, with one worker.
    streaming: ClassVar[bool] = True
    #: FnApiRunner keeps a stage's whole input in memory: cut long ranges (as the default
    #: ``checkpoint.every`` does) so that a backfill's peak memory does not grow with its length.
    default_segment: ClassVar[int | None] = 1000

    def beam_runner(self) -> Any:
        from apache_beam.runners.portability.fn_api_runner import FnApiRunner

        return FnApiRunner()

    def beam_options(self, plan: Plan, settings: RunSettings) -> dict[str, Any]:
        opts: dict[str, Any] = {
            "direct_num_workers": settings.workers,
            "direct_running_mode": "in_memory" if settings.workers == 1 else "multi_processing",
            "job_name": plan.pipeline,
        }
        if settings.temp_dir:
            opts["temp_location"] = settings.temp_dir
        return opts

    def check(self, plan: Plan, settings: RunSettings) -> list[Diagnostic]:
        warnings = super().check(plan, settings)
        if settings.workers < 1:
            raise FlowctlError.one(
                "FC304", f"--workers must be 1 or more, not {settings.workers}", None
            )
        if settings.workers > 1 and not bounded(plan):
            raise FlowctlError.one(
                "FC305",
                f"source `{plan.source.name}` is unbounded: with --workers {settings.workers} "
                "the direct runner would silently lose ledgers (apache/beam#19842)",
                None,
                ["use --workers 1 for a source that follows the tip, or close its range"],
            )
        return warnings

    def describe(self, settings: RunSettings) -> str:
        mode = "in-memory" if settings.workers == 1 else "multi-processing"
        return f"direct (Beam FnApiRunner, {settings.workers} worker(s), {mode})"
