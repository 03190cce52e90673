"""Where a portable runner runs flowctl's Python code: the Beam SDK worker environment.

``loopback``: in the submitting ``flowctl`` process (embedded Flink/Spark, local job services).
``external:HOST:PORT``: a Beam worker pool (``python -m apache_beam.runners.worker.worker_pool_main
--service_port=PORT``) next to the cluster, from a Python that has flowctl installed.
``docker[:IMAGE]``: Beam's SDK container on every worker node — the default for real clusters; the
image must have flowctl installed (``compile`` writes a ``Dockerfile.worker`` for that).
``process:COMMAND``: a boot command on every worker node (Beam's ``boot`` executable).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from flowctl_dsl.errors import FlowctlError

Kind = Literal["LOOPBACK", "EXTERNAL", "DOCKER", "PROCESS"]
KINDS: tuple[str, ...] = ("loopback", "external", "docker", "process")


def beam_version() -> str:
    from apache_beam.version import __version__

    return str(__version__)


def default_sdk_image() -> str:
    """Beam's Python SDK container for this Python and Beam: ``apache/beam_python3.11_sdk:2.77.0``."""
    return (
        f"apache/beam_python{sys.version_info.major}.{sys.version_info.minor}_sdk:{beam_version()}"
    )


@dataclass(frozen=True)
class Environment:
    """A Beam SDK environment: its kind and its ``environment_config``."""

    kind: Kind
    config: str | None = None

    def beam_options(self) -> dict[str, Any]:
        opts: dict[str, Any] = {"environment_type": self.kind}
        if self.config:
            opts["environment_config"] = self.config
        return opts

    def describe(self) -> str:
        match self.kind:
            case "LOOPBACK":
                return "LOOPBACK (SDK workers in this flowctl process)"
            case "EXTERNAL":
                return f"EXTERNAL worker pool at {self.config or '(started by flowctl)'}"
            case "DOCKER":
                return f"DOCKER {self.config} (flowctl must be installed in the image)"
        return f"PROCESS {self.config}"


def parse_environment(text: str | None, default: Environment) -> Environment:
    """``loopback``, ``external[:HOST:PORT]``, ``docker[:IMAGE]`` or ``process:COMMAND``."""
    if text is None or not text.strip():
        return default
    kind, _, config = text.strip().partition(":")
    kind = kind.lower()
    if kind not in KINDS:
        raise FlowctlError.one(
            "FC304",
            f"unknown worker environment `{text}`",
            None,
            ["environment=loopback | external:HOST:PORT | docker[:IMAGE] | process:COMMAND"],
        )
    if kind == "docker":
        return Environment("DOCKER", config or default_sdk_image())
    if kind == "process" and not config:
        raise FlowctlError.one("FC304", "`environment=process:` needs the boot command", None)
    return Environment(kind.upper(), config or None)  # type: ignore[arg-type]


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float, proc: subprocess.Popen[bytes]) -> None:
    """Until ``host:port`` accepts connections; fails early if ``proc`` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode} before listening")
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout:.0f}s")


def python_env() -> dict[str, str]:
    """This process's environment with this Python's ``bin`` first on PATH.

    Beam's worker pool starts each SDK worker as a bare ``python -c …``: without the venv first on
    PATH the worker dies with "No module named 'apache_beam'" and the job hangs instead of failing.
    """
    env = dict(os.environ)
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([bindir, env.get("PATH", "")])
    return env


@contextmanager
def worker_pool(port: int | None = None, log: Path | None = None) -> Iterator[str]:
    """A Beam Python worker pool on 127.0.0.1 for the duration; yields ``127.0.0.1:PORT``."""
    port = port or free_port()
    cmd = [
        sys.executable,
        "-m",
        "apache_beam.runners.worker.worker_pool_main",
        f"--service_port={port}",
    ]
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    proc = subprocess.Popen(cmd, env=python_env(), stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for_port("127.0.0.1", port, 60, proc)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log:
            out.close()  # type: ignore[union-attr]
