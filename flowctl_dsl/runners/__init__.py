"""Runners: one module each; :func:`get_runner` looks one up by name with a did-you-mean."""

from __future__ import annotations

from flowctl_dsl.errors import FlowctlError, suggestion_hints
from flowctl_dsl.runners.base import Runner
from flowctl_dsl.runners.dataflow import DataflowRunner
from flowctl_dsl.runners.direct import DirectRunner
from flowctl_dsl.runners.flink import FlinkRunner
from flowctl_dsl.runners.portable import PortableRunner
from flowctl_dsl.runners.spark import SparkRunner

RUNNERS: dict[str, type[Runner]] = {
    cls.name: cls
    for cls in (DirectRunner, FlinkRunner, SparkRunner, PortableRunner, DataflowRunner)
}


def get_runner(name: str) -> Runner:
    """The runner called ``name``, or an FC301 error listing the runners there are."""
    cls = RUNNERS.get(name.strip().lower())
    if cls is None:
        raise FlowctlError.one(
            "FC301",
            f"unknown runner `{name}`",
            None,
            suggestion_hints(name, RUNNERS, "runners") + [f"runners: {', '.join(RUNNERS)}"],
        )
    return cls()
