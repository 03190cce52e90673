"""``spark``: Beam's SparkRunner through Beam's Spark job server jar (batch pipelines).

``spark_master=local[N]`` runs Spark inside the job server with LOOPBACK workers; a
``spark://HOST:PORT`` master gets DOCKER workers unless ``environment=`` says otherwise.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from flowctl_dsl.plan import Plan
from flowctl_dsl.runners.base import RunnerOption, RunReport, RunSettings
from flowctl_dsl.runners.environments import Environment, default_sdk_image
from flowctl_dsl.runners.jars import BEAM_JAVA_VERSION, SPARK_JOB_SERVER
from flowctl_dsl.runners.portable import ENVIRONMENT_HELP, PortableRunner, jvm_properties, tracking

LOCAL_MASTER = re.compile(r"^local(\[.+\])?$")


class SparkRunner(PortableRunner):
    name: ClassVar[str] = "spark"
    summary: ClassVar[str] = "Apache Spark via Beam's Spark job server (batch)"
    streaming: ClassVar[bool] = False
    options: ClassVar[tuple[RunnerOption, ...]] = (
        RunnerOption(
            "spark_master", "local[N] (Spark in the job server) or spark://HOST:PORT", "local[2]"
        ),
        RunnerOption("environment", ENVIRONMENT_HELP + "; default loopback on local[N]"),
        RunnerOption("job_server_jar", "Beam's Spark job server jar (default: the cache)"),
    )

    def beam_runner(self) -> Any:
        from apache_beam.runners.portability.spark_runner import SparkRunner as Beam

        return tracking(Beam)()

    def master(self, settings: RunSettings) -> str:
        return (self.option(settings, "spark_master") or "local[2]").strip()

    def default_environment(self, settings: RunSettings) -> Environment:
        if LOCAL_MASTER.match(self.master(settings)):
            return Environment("LOOPBACK")
        return Environment("DOCKER", default_sdk_image())

    def beam_options(self, plan: Plan, settings: RunSettings) -> dict[str, Any]:
        jar = SPARK_JOB_SERVER.require(self.option(settings, "job_server_jar"))
        opts = self.common_options(plan, settings)
        opts.update(
            spark_job_server_jar=str(jar),
            spark_master_url=self.master(settings),
            job_server_jvm_properties=jvm_properties(),
        )
        return opts

    def describe(self, settings: RunSettings) -> str:
        return (
            f"spark (Spark {self.master(settings)} via Beam job server {BEAM_JAVA_VERSION}, batch; "
            f"workers: {self.environment(settings).describe()})"
        )

    def before_run(self, settings: RunSettings) -> None:
        SPARK_JOB_SERVER.require(self.option(settings, "job_server_jar"))

    def run(self, plan: Plan, settings: RunSettings) -> RunReport:
        from apache_beam.runners.portability import spark_runner

        try:
            return super().run(plan, settings)
        finally:  # Beam caches Spark job servers until exit; a finished run needs none
            for server in spark_runner.JOB_SERVER_CACHE.values():
                server.stop()
            spark_runner.JOB_SERVER_CACHE.clear()
