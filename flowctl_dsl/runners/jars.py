"""Where the Java pieces of the Flink and Spark runners are: job-server jars and a Flink home.

flowctl never lets Beam download a jar at run time. ``.ci/runners.sh`` builds the job servers from
Maven Central into ``~/.cache/flowctl/jars/`` (``$FLOWCTL_CACHE``) and unpacks a standalone Flink
from PyPI; each can also be given explicitly (runner option ``job_server_jar=PATH`` or the
environment variables below).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from flowctl_dsl.errors import FlowctlError

#: Beam's Java modules used for the job servers (the newest set Maven Central serves here whole).
BEAM_JAVA_VERSION = "2.62.0"
#: The Flink minor version that job server is built for (``--flink_version``).
FLINK_VERSION = "1.19"
#: The Flink distribution ``.ci/runners.sh`` unpacks (``apache-flink``/``-libraries`` on PyPI).
FLINK_DIST_VERSION = "1.19.3"


def cache_dir() -> Path:
    return Path(os.environ.get("FLOWCTL_CACHE") or Path.home() / ".cache" / "flowctl")


@dataclass(frozen=True)
class JobServerJar:
    """One job-server jar: the Maven coordinates it is built from, its env var and file name."""

    runner: str
    artifact: str
    env: str
    main_class: str

    @property
    def coordinates(self) -> str:
        return f"org.apache.beam:{self.artifact}:{BEAM_JAVA_VERSION}"

    @property
    def file_name(self) -> str:
        return f"{self.artifact}-job-server-{BEAM_JAVA_VERSION}.jar"

    def default_path(self) -> Path:
        return cache_dir() / "jars" / self.file_name

    def find(self, explicit: str | None = None) -> Path | None:
        """The jar: ``explicit``, else ``$ENV``, else the cache; ``None`` when none exists."""
        for candidate in (explicit, os.environ.get(self.env), str(self.default_path())):
            if candidate and Path(candidate).is_file():
                return Path(candidate)
        return None

    def require(self, explicit: str | None = None) -> Path:
        """The jar, or FC303 naming what is missing and how to get it."""
        found = self.find(explicit)
        if found is not None:
            return found
        where = explicit or os.environ.get(self.env) or str(self.default_path())
        raise FlowctlError.one(
            "FC303",
            f"the {self.runner} job server jar is missing: {where}",
            None,
            [
                f"run `.ci/runners.sh {self.runner}` (builds it from {self.coordinates} "
                "on Maven Central)",
                f"or point `--runner-option job_server_jar=PATH` / ${self.env} at one",
            ],
        )


FLINK_JOB_SERVER = JobServerJar(
    runner="flink",
    artifact=f"beam-runners-flink-{FLINK_VERSION}",
    env="FLOWCTL_FLINK_JOB_SERVER_JAR",
    main_class="org.apache.beam.runners.flink.FlinkJobServerDriver",
)
SPARK_JOB_SERVER = JobServerJar(
    runner="spark",
    artifact="beam-runners-spark-3",
    env="FLOWCTL_SPARK_JOB_SERVER_JAR",
    main_class="org.apache.beam.runners.spark.SparkJobServerDriver",
)


def flink_home() -> Path | None:
    """A standalone Flink (``bin/start-cluster.sh``): ``$FLOWCTL_FLINK_HOME`` or the cache."""
    for candidate in (
        os.environ.get("FLOWCTL_FLINK_HOME"),
        str(cache_dir() / f"flink-{FLINK_DIST_VERSION}"),
    ):
        if candidate and (Path(candidate) / "bin" / "start-cluster.sh").is_file():
            return Path(candidate)
    return None
