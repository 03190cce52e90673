"""``portable`` against Beam's Python job service on loopback: same records as ``direct``."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from flowctl_dsl.cli import main
from flowctl_dsl.runners.environments import free_port, python_env, wait_for_port

pytestmark = pytest.mark.integration

PIPELINE = 'localnet(ledgers=2..11) | payments | save_to jsonl("{out}")'


@pytest.fixture(scope="module")
def job_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``local_job_service_main`` on 127.0.0.1 for this module's tests."""
    port = free_port()
    tmp = tmp_path_factory.mktemp("job-service")
    env = {**python_env(), "TMPDIR": str(tmp)}
    cmd = [
        sys.executable,
        "-m",
        "apache_beam.runners.portability.local_job_service_main",
        "--port",
        str(port),
    ]
    with open(tmp / "service.log", "wb") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for_port("127.0.0.1", port, 60, proc)
            yield f"localhost:{port}"
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def records(runner: str, out: Path, *options: str) -> Counter[str]:
    text = PIPELINE.format(out=out)
    assert main(["run", "-q", "--runner", runner, *options, "-e", text]) == 0
    return Counter(out.read_text().splitlines())


def test_portable_loopback_matches_direct(job_endpoint: str, tmp_path: Path) -> None:
    direct = records("direct", tmp_path / "direct.jsonl")
    portable = records("portable", tmp_path / "p.jsonl", "-O", f"job_endpoint={job_endpoint}")
    assert sum(direct.values()) > 0
    assert portable == direct


def test_portable_with_a_worker_pool_flowctl_starts(job_endpoint: str, tmp_path: Path) -> None:
    """EXTERNAL with no address: flowctl runs ``worker_pool_main`` (venv first on PATH)."""
    direct = records("direct", tmp_path / "direct.jsonl")
    pooled = records(
        "portable",
        tmp_path / "pool.jsonl",
        "-O",
        f"job_endpoint={job_endpoint}",
        "-O",
        "environment=external",
    )
    assert pooled == direct


def test_no_job_service_fails_at_once(capsys: pytest.CaptureFixture[str]) -> None:
    started = time.monotonic()
    endpoint = f"job_endpoint=127.0.0.1:{free_port()}"
    text = "localnet(ledgers=2..3) | ledgers | stdout"
    assert main(["run", "-q", "--runner", "portable", "-O", endpoint, "-e", text]) == 1
    assert time.monotonic() - started < 10
    assert "FC307" in capsys.readouterr().err


def test_portable_needs_an_endpoint(capsys: pytest.CaptureFixture[str]) -> None:
    text = "localnet(ledgers=2..3) | ledgers | stdout"
    assert main(["run", "-q", "--runner", "portable", "-e", text]) == 1
    assert "FC307" in capsys.readouterr().err
