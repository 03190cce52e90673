"""What every runner does: Beam options for a plan, running it, and writing its artifacts."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from flowctl_dsl.errors import Diagnostic, FlowctlError, suggestion_hints
from flowctl_dsl.plan import Plan

if TYPE_CHECKING:
    from apache_beam.options.pipeline_options import PipelineOptions

    from flowctl_dsl.observability.metrics import MetricStore
    from flowctl_dsl.observability.session import ObserveSettings


@dataclass(frozen=True)
class RunnerOption:
    """One ``--runner-option NAME=VALUE`` a runner accepts (shown by ``describe`` and docs)."""

    name: str
    help: str
    default: str | None = None


@dataclass
class RunSettings:
    """Command-line choices that shape a run (workers, temp dir, extra Beam flags)."""

    runner_options: dict[str, str] = field(default_factory=dict)  # --runner-option NAME=VALUE
    workers: int = 1
    temp_dir: str | None = None
    beam_args: list[str] = field(default_factory=list)
    observe: ObserveSettings | None = None  # metrics exporters, tracing, progress, profile


@dataclass
class RunReport:
    state: str
    metrics: dict[str, int]
    observed: MetricStore | None = None  # the flowctl_* metrics of the run
    run_id: str = ""
    wall_seconds: float = 0.0


class Runner:
    name: ClassVar[str]
    summary: ClassVar[str]
    #: What ``--runner-option NAME=VALUE`` may set; anything else is FC304.
    options: ClassVar[tuple[RunnerOption, ...]] = ()
    #: Whether the runner can run an unbounded source (one that follows the network tip).
    streaming: ClassVar[bool] = False

    def option(self, settings: RunSettings, name: str) -> str | None:
        """The value of runner option ``name``: given with ``--runner-option``, else its default."""
        if name in settings.runner_options:
            return settings.runner_options[name]
        return next((o.default for o in self.options if o.name == name), None)

    def check(self, plan: Plan, settings: RunSettings) -> list[Diagnostic]:
        """Guard rails before compiling or running: raises FC3xx errors, returns warnings."""
        known = [o.name for o in self.options]
        for key in settings.runner_options:
            if key not in known:
                hints = suggestion_hints(key, known, f"options of `{self.name}`") if known else []
                raise FlowctlError.one(
                    "FC304", f"runner `{self.name}` has no option `{key}`", None, hints
                )
        if not self.streaming and not bounded(plan):
            raise FlowctlError.one(
                "FC302",
                f"source `{plan.source.name}` is unbounded (it follows the network tip); "
                f"runner `{self.name}` only runs bounded (batch) pipelines",
                None,
                ["close the range (`ledgers=A..B`) or use a streaming runner: flink, dataflow"],
            )
        return []

    def beam_options(self, plan: Plan, settings: RunSettings) -> dict[str, Any]:
        raise NotImplementedError

    def beam_runner(self) -> Any:
        return None

    def describe(self, settings: RunSettings) -> str:
        return self.summary

    def pipeline_options(self, plan: Plan, settings: RunSettings) -> PipelineOptions:
        from apache_beam.options.pipeline_options import PipelineOptions

        self.check(plan, settings)
        return PipelineOptions(settings.beam_args, **self.beam_options(plan, settings))

    def run(self, plan: Plan, settings: RunSettings) -> RunReport:
        from flowctl_dsl.compile import build_pipeline
        from flowctl_dsl.observability.session import observe

        with observe(plan, settings.observe, self.name) as session:  # observability hooks
            pipeline = build_pipeline(
                plan, self.pipeline_options(plan, settings), self.beam_runner()
            )
            session.instrument(pipeline)
            result = pipeline.run()
            result.wait_until_finish()
            observed = session.finish(result)
        return RunReport(
            state=str(result.state),
            metrics=counters(result),
            observed=observed,
            run_id=session.run_id,
            wall_seconds=session.wall,
        )

    def compile(self, plan: Plan, out: Path, settings: RunSettings) -> dict[str, Path]:
        """Write what this runner runs; returns artifact name → path."""
        from flowctl_dsl.compile import build_pipeline

        pipeline = build_pipeline(plan, self.pipeline_options(plan, settings), self.beam_runner())
        proto = pipeline.to_runner_api()
        files = {
            "pipeline.pb": out / "pipeline.pb",
            "beam_graph.txt": out / "beam_graph.txt",
            "options.json": out / "options.json",
        }
        files["pipeline.pb"].write_bytes(proto.SerializeToString())
        names = [t.unique_name for t in proto.components.transforms.values() if t.unique_name]
        files["beam_graph.txt"].write_text("\n".join(sorted(names)) + "\n")
        options = {"runner": self.name, **self.beam_options(plan, settings)}
        files["options.json"].write_text(json.dumps(options, indent=2, default=str) + "\n")
        return files


def bounded(plan: Plan) -> bool:
    """False when the source follows the network tip (its params carry ``bounded=False``)."""
    return plan.source.params.get("bounded", True) is not False


def counters(result: Any) -> dict[str, int]:
    """Beam counter values by ``namespace/name`` (committed where the runner supports it)."""
    out: dict[str, int] = {}
    try:
        query = result.metrics().query()
    except Exception:  # some runners do not support metrics queries
        return out
    for c in query.get("counters", []):
        key = f"{c.key.metric.namespace}/{c.key.metric.name}"
        value = c.committed if c.committed is not None else c.attempted
        out[key] = out.get(key, 0) + int(value or 0)
    return out
