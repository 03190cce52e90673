"""``direct``: Beam's local FnApiRunner, chosen explicitly.

Beam 2.77's ``DirectRunner`` first tries to download Prism; naming FnApiRunner avoids that. One
worker by default: a self-checkpointing splittable DoFn loses its residuals with more than one
worker (apache/beam#19842), and flowctl's sources may checkpoint.
"""

from __future__ import annotations

from typing import Any, ClassVar

from flowctl_dsl.plan import Plan
from flowctl_dsl.runners.base import Runner, RunSettings


class DirectRunner(Runner):
    name: ClassVar[str] = "direct"
    summary: ClassVar[str] = "Beam FnApiRunner in this process (local runs and tests)"

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

    def describe(self, settings: RunSettings) -> str:
        mode = "in-memory" if settings.workers == 1 else "multi-processing"
        return f"direct (Beam FnApiRunner, {settings.workers} worker(s), {mode})"
