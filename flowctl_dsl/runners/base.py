"""What every runner does: Beam options for a plan, running it, and writing its artifacts."""

from __future__ import annotations

import dataclasses
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
    from flowctl_dsl.transforms.reliability.store import Checkpoint


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
    from_scratch: bool = False  # reliability: ignore the checkpoint, start at the first ledger


@dataclass
class RunReport:
    state: str
    metrics: dict[str, int]
    observed: MetricStore | None = None  # the flowctl_* metrics of the run
    run_id: str = ""
    wall_seconds: float = 0.0
    # -- reliability
    checkpoint: Checkpoint | None = None  # the cursor after the run
    resumed_from: int | None = None  # the first ledger, when earlier ones were committed before
    stopped: bool = False  # a signal stopped the run before its range was done
    segments: int = 0


class Runner:
    name: ClassVar[str]
    summary: ClassVar[str]
    #: What ``--runner-option NAME=VALUE`` may set; anything else is FC304.
    options: ClassVar[tuple[RunnerOption, ...]] = ()
    #: Whether the runner can run an unbounded source (one that follows the network tip).
    streaming: ClassVar[bool] = False
    #: Ledgers per segment of a closed range when the pipeline sets no ``checkpoint`` (None: the
    #: whole range in one Beam run). See :func:`~flowctl_dsl.transforms.reliability.segments.prepare`.
    default_segment: ClassVar[int | None] = None

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
        """Run ``plan``: from its checkpoint, one Beam run per segment (see reliability)."""
        from flowctl_dsl.transforms.reliability.errors import ReliabilityError
        from flowctl_dsl.transforms.reliability.segments import prepare

        try:
            resumption = prepare(plan, settings.from_scratch, default_every=self.default_segment)
            return self._run_segments(plan, settings, resumption)
        except ReliabilityError as err:  # a changed pipeline, the store, the error ratio…
            raise err.to_flowctl() from err

    def _run_segments(self, plan: Plan, settings: RunSettings, resumption: Any) -> RunReport:
        from flowctl_dsl.compile import build_pipeline
        from flowctl_dsl.observability.session import observe
        from flowctl_dsl.transforms.reliability import shutdown

        results: list[Any] = []
        checkpoint = None
        with observe(plan, settings.observe, self.name) as session:  # observability hooks
            options = self.pipeline_options(plan, settings)
            for window in resumption.windows:
                if shutdown.requested():
                    break
                if checkpoint is not None:
                    window = dataclasses.replace(
                        window,
                        prior_ledgers=checkpoint.ledgers,
                        prior_dead_letters=checkpoint.dead_letters,
                    )
                pipeline = build_pipeline(plan, options, self.beam_runner(), window)
                session.instrument(pipeline)
                results.append(run_pipeline(pipeline))
                if window.checkpointing and resumption.store is not None:
                    checkpoint = resumption.store.load(plan.pipeline) or checkpoint
            result = Results(results)
            observed = session.finish(result)
        unbounded = not bounded(plan)
        stopped = shutdown.requested() and not unbounded
        if checkpoint is not None and checkpoint.complete:
            stopped = False
        return RunReport(
            state=result.state,
            metrics=counters(result),
            observed=observed,
            run_id=session.run_id,
            wall_seconds=session.wall,
            checkpoint=checkpoint,
            resumed_from=resumption.resumed_from,
            stopped=stopped,
            segments=len(results),
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


def run_pipeline(pipeline: Any) -> Any:
    """Run one Beam pipeline to the end; reliability failures become coded errors (FC406…)."""
    from flowctl_dsl.transforms.reliability.errors import as_flowctl_error

    try:
        result = pipeline.run()
        result.wait_until_finish()
    except FlowctlError:
        raise
    except Exception as err:  # noqa: BLE001 - mapped when it is one of ours
        mapped = as_flowctl_error(err)
        if mapped is None:
            raise
        raise mapped from err
    return result


class Results:
    """The Beam results of a run's segments, read as one (state, metrics)."""

    def __init__(self, results: list[Any]) -> None:
        self.results = results

    @property
    def state(self) -> str:
        return str(self.results[-1].state) if self.results else "CANCELLED"

    def metrics(self) -> Results:
        return self

    def query(self) -> dict[str, list[Any]]:
        merged: dict[str, dict[Any, Any]] = {"counters": {}, "distributions": {}, "gauges": {}}
        for result in self.results:
            try:
                query = result.metrics().query()
            except Exception:  # noqa: BLE001 - some runners do not support metrics queries
                continue
            for kind, found in merged.items():
                for r in query.get(kind, []):
                    found[r.key] = _merge(kind, found.get(r.key), r)
        return {kind: list(found.values()) for kind, found in merged.items()}


def _merge(kind: str, old: Any, new: Any) -> Any:
    """Two segments' values of one metric: counters add, distributions combine, gauges: last."""
    if old is None or kind == "gauges":
        return new
    from apache_beam.metrics.execution import MetricResult

    def add(a: Any, b: Any) -> Any:
        if a is None or b is None:
            return b if a is None else a
        if kind == "counters":
            return a + b
        from apache_beam.metrics.cells import DistributionResult

        return DistributionResult(a.data.combine(b.data))

    return MetricResult(
        new.key, add(old.committed, new.committed), add(old.attempted, new.attempted)
    )


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
