"""``portable``: any Beam job service (the Job API), e.g. a Flink/Spark job server or Beam's
``python -m apache_beam.runners.portability.local_job_service_main``.

Also the base of ``flink`` and ``spark``, which start their own job server from a jar.
"""

from __future__ import annotations

import dataclasses
import socket
import tempfile
from typing import Any, ClassVar

from flowctl_dsl.errors import FlowctlError
from flowctl_dsl.plan import Plan
from flowctl_dsl.runners.base import Runner, RunnerOption, RunReport, RunSettings, bounded
from flowctl_dsl.runners.environments import Environment, parse_environment, worker_pool

#: Job servers started by the Beam runners flowctl made; stopped when a run or compile ends.
STARTED: list[Any] = []


def tracking(beam_cls: type) -> type:
    """A subclass of a Beam portable runner that records the job servers it starts.

    Beam stops a Flink/Spark job server only when the Python process exits; flowctl stops it as
    soon as the run or compile is over (tests and long-lived processes run several pipelines).
    """

    class Tracking(beam_cls):  # type: ignore[misc, valid-type]
        def default_job_server(self, options: Any) -> Any:
            server = super().default_job_server(options)
            STARTED.append(server)
            return server

    Tracking.__name__ = beam_cls.__name__
    return Tracking


def jvm_properties() -> list[str]:
    """The job server JVM keeps its temporary files where this process does (``$TMPDIR``)."""
    return [f"-Djava.io.tmpdir={tempfile.gettempdir()}"]


def stop_job_servers() -> None:
    while STARTED:
        STARTED.pop().stop()


ENVIRONMENT_HELP = (
    "SDK workers: loopback | external[:HOST:PORT] (no address: flowctl starts a worker pool) "
    "| docker[:IMAGE] | process:COMMAND"
)


class PortableRunner(Runner):
    name: ClassVar[str] = "portable"
    summary: ClassVar[str] = "any Beam job service (--runner-option job_endpoint=HOST:PORT)"
    streaming: ClassVar[bool] = True
    options: ClassVar[tuple[RunnerOption, ...]] = (
        RunnerOption("job_endpoint", "HOST:PORT of a Beam job service (Job API)"),
        RunnerOption("environment", ENVIRONMENT_HELP, "loopback"),
    )

    def beam_runner(self) -> Any:
        from apache_beam.runners.portability.portable_runner import PortableRunner as Beam

        return Beam()

    def default_environment(self, settings: RunSettings) -> Environment:
        return Environment("LOOPBACK")

    def environment(self, settings: RunSettings) -> Environment:
        return parse_environment(
            self.option(settings, "environment"), self.default_environment(settings)
        )

    def common_options(self, plan: Plan, settings: RunSettings) -> dict[str, Any]:
        opts: dict[str, Any] = {
            "job_name": plan.pipeline,
            **self.environment(settings).beam_options(),
        }
        if not bounded(plan):
            opts["streaming"] = True
        if settings.temp_dir:
            opts["temp_location"] = settings.temp_dir
        return opts

    def beam_options(self, plan: Plan, settings: RunSettings) -> dict[str, Any]:
        opts = self.common_options(plan, settings)
        endpoint = self.option(settings, "job_endpoint")
        if endpoint:
            opts["job_endpoint"] = endpoint
        return opts

    def describe(self, settings: RunSettings) -> str:
        endpoint = self.option(settings, "job_endpoint") or "(set job_endpoint=HOST:PORT)"
        return f"portable (Beam job service at {endpoint}; workers: {self.environment(settings).describe()})"

    def before_run(self, settings: RunSettings) -> None:
        """Fail fast (FC307) when no job service answers at ``job_endpoint``."""
        endpoint = self.option(settings, "job_endpoint")
        if not endpoint:
            raise FlowctlError.one(
                "FC307",
                "runner `portable` needs a job service address",
                None,
                ["--runner-option job_endpoint=HOST:PORT"],
            )
        host, _, port = endpoint.rpartition(":")
        try:
            with socket.create_connection((host or "localhost", int(port)), timeout=5):
                pass
        except (OSError, ValueError) as err:
            raise FlowctlError.one(
                "FC307",
                f"no Beam job service answers at {endpoint}: {err}",
                None,
                [
                    "start one, e.g. `python -m apache_beam.runners.portability."
                    "local_job_service_main --port PORT`"
                ],
            ) from err

    def run(self, plan: Plan, settings: RunSettings) -> RunReport:
        self.check(plan, settings)
        self.before_run(settings)
        env = self.environment(settings)
        try:
            if env.kind == "EXTERNAL" and not env.config:
                with worker_pool() as address:
                    options = {**settings.runner_options, "environment": f"external:{address}"}
                    return super().run(plan, dataclasses.replace(settings, runner_options=options))
            return super().run(plan, settings)
        finally:
            stop_job_servers()
