"""``flink``: Beam's FlinkRunner through Beam's Flink job server jar (never downloaded at run time).

``run`` submits to an embedded Flink (``flink_master=[local]``, LOOPBACK workers) or a cluster's
REST address (``flink_master=HOST:PORT``; DOCKER workers unless ``environment=`` says otherwise).
``compile`` writes ``pipeline.jar``, a self-contained executable jar (Beam's
``--output_executable_path``): ``flink run DIR/pipeline.jar`` deploys it. Checkpointing is always
on (``checkpointing_interval``, default 60000 ms): Beam-on-Flink leaves it off by default.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

from flowctl_dsl.errors import FlowctlError
from flowctl_dsl.plan import Plan
from flowctl_dsl.runners.base import RunnerOption, RunSettings
from flowctl_dsl.runners.environments import Environment, beam_version, default_sdk_image
from flowctl_dsl.runners.jars import BEAM_JAVA_VERSION, FLINK_JOB_SERVER, FLINK_VERSION
from flowctl_dsl.runners.portable import (
    ENVIRONMENT_HELP,
    PortableRunner,
    jvm_properties,
    stop_job_servers,
    tracking,
)

LOCAL_MASTERS = ("[local]", "[auto]")
DEFAULT_CHECKPOINTING_MS = 60_000


def worker_dockerfile(base_image: str) -> str:
    """A Dockerfile for an SDK worker image with flowctl installed (for ``environment=docker``)."""
    return (
        f"# SDK worker image for DOCKER environments: Beam's container + flowctl.\n"
        f"FROM {base_image}\n"
        "COPY requirements.txt /tmp/requirements.txt\n"
        "RUN pip install --no-cache-dir -r /tmp/requirements.txt\n"
    )


def requirements() -> str:
    from flowctl_dsl import __version__

    return f"flowctl=={__version__}\napache-beam[gcp]=={beam_version()}\n"


class FlinkRunner(PortableRunner):
    name: ClassVar[str] = "flink"
    summary: ClassVar[str] = "Apache Flink via Beam's Flink job server ([local] or a cluster)"
    streaming: ClassVar[bool] = True
    options: ClassVar[tuple[RunnerOption, ...]] = (
        RunnerOption(
            "flink_master",
            "[local] (embedded Flink) or HOST:PORT of a cluster's REST API",
            "[local]",
        ),
        RunnerOption(
            "checkpointing_interval",
            "milliseconds between checkpoints (always on)",
            str(DEFAULT_CHECKPOINTING_MS),
        ),
        RunnerOption("parallelism", "Flink parallelism (default: the cluster's)"),
        RunnerOption(
            "environment",
            ENVIRONMENT_HELP + "; default loopback on [local], docker on a cluster or a jar",
        ),
        RunnerOption("job_server_jar", "Beam's Flink job server jar (default: the cache)"),
    )

    def beam_runner(self) -> Any:
        from apache_beam.runners.portability.flink_runner import FlinkRunner as Beam

        return tracking(Beam)()

    def master(self, settings: RunSettings) -> str:
        return (self.option(settings, "flink_master") or "[local]").strip()

    def default_environment(self, settings: RunSettings) -> Environment:
        if self.master(settings) in LOCAL_MASTERS:
            return Environment("LOOPBACK")
        return Environment("DOCKER", default_sdk_image())

    def checkpointing_interval(self, settings: RunSettings) -> int:
        raw = self.option(settings, "checkpointing_interval") or str(DEFAULT_CHECKPOINTING_MS)
        try:
            value = int(raw)
        except ValueError:
            value = 0
        if value <= 0:
            raise FlowctlError.one(
                "FC304",
                f"checkpointing_interval must be a positive number of milliseconds, not `{raw}`",
                None,
                ["flowctl keeps checkpointing on for Flink, e.g. checkpointing_interval=60000"],
            )
        return value

    def beam_options(self, plan: Plan, settings: RunSettings) -> dict[str, Any]:
        jar = FLINK_JOB_SERVER.require(self.option(settings, "job_server_jar"))
        opts = self.common_options(plan, settings)
        opts.update(
            flink_job_server_jar=str(jar),
            flink_version=FLINK_VERSION,
            flink_master=self.master(settings),
            checkpointing_interval=self.checkpointing_interval(settings),
            job_server_jvm_properties=jvm_properties(),
        )
        parallelism = self.option(settings, "parallelism")
        if parallelism:
            opts["parallelism"] = int(parallelism)
        return opts

    def describe(self, settings: RunSettings) -> str:
        master = self.master(settings)
        where = "embedded Flink" if master in LOCAL_MASTERS else f"Flink cluster {master}"
        workers = self.environment(settings).describe()
        if self.option(settings, "environment") is None and master in LOCAL_MASTERS:
            jar_env = self.compile_environment(settings).describe()
            workers += f"; a compiled pipeline.jar: {jar_env}"
        return (
            f"flink ({where} {FLINK_VERSION} via Beam job server {BEAM_JAVA_VERSION}; "
            f"workers: {workers}; checkpointing every {self.checkpointing_interval(settings)} ms)"
        )

    def before_run(self, settings: RunSettings) -> None:
        FLINK_JOB_SERVER.require(self.option(settings, "job_server_jar"))

    def compile_environment(self, settings: RunSettings) -> Environment:
        """A jar runs on a cluster: DOCKER unless ``environment=`` is given."""
        from flowctl_dsl.runners.environments import parse_environment

        return parse_environment(
            self.option(settings, "environment"), Environment("DOCKER", default_sdk_image())
        )

    def compile(self, plan: Plan, out: Path, settings: RunSettings) -> dict[str, Path]:
        from apache_beam.options.pipeline_options import PipelineOptions

        from flowctl_dsl.compile import build_pipeline

        env = self.compile_environment(settings)
        if env.kind == "LOOPBACK":
            raise FlowctlError.one(
                "FC304",
                "a Flink jar cannot use LOOPBACK workers (there is no flowctl process to loop to)",
                None,
                ["environment=external:HOST:PORT (a worker pool) or environment=docker[:IMAGE]"],
            )
        options = {**settings.runner_options, "environment": f"{env.kind.lower()}:{env.config}"}
        jar_settings = RunSettings(
            runner_options=options, temp_dir=settings.temp_dir, beam_args=settings.beam_args
        )
        files = super().compile(plan, out, jar_settings)
        jar = out / "pipeline.jar"
        opts = self.beam_options(plan, jar_settings)
        opts.update(flink_master="[auto]", output_executable_path=str(jar))
        self.check(plan, jar_settings)
        pipeline = build_pipeline(
            plan, PipelineOptions(settings.beam_args, **opts), self.beam_runner()
        )
        try:
            pipeline.run().wait_until_finish()
        finally:
            stop_job_servers()
        files["pipeline.jar"] = jar
        deploy = {
            "command": f"flink run {jar.name}",
            "flink_version": FLINK_VERSION,
            "beam_job_server": f"{FLINK_JOB_SERVER.coordinates}",
            "environment": env.beam_options(),
            "checkpointing_interval_ms": opts["checkpointing_interval"],
            "streaming": bool(opts.get("streaming")),
        }
        files["deploy.json"] = out / "deploy.json"
        files["deploy.json"].write_text(json.dumps(deploy, indent=2) + "\n")
        if env.kind == "DOCKER":
            files["Dockerfile.worker"] = out / "Dockerfile.worker"
            files["Dockerfile.worker"].write_text(worker_dockerfile(str(env.config)))
            files["requirements.txt"] = out / "requirements.txt"
            files["requirements.txt"].write_text(requirements())
        return files
