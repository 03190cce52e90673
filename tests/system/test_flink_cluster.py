"""``flowctl compile --runner=flink`` → ``pipeline.jar`` → ``flink run`` on a real standalone
Flink cluster (loopback only) → the same records as the direct runner."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from flowctl_dsl.cli import main
from flowctl_dsl.runners.environments import free_port, worker_pool
from flowctl_dsl.runners.jars import FLINK_DIST_VERSION, FLINK_JOB_SERVER, flink_home

pytestmark = [pytest.mark.system, pytest.mark.slow]

PIPELINE = (
    'datastore("{lake}", network=testnet, ledgers=997..999) | operations | save_to jsonl("{out}")'
)


def overview(rest: str) -> dict[str, object]:
    with urllib.request.urlopen(f"http://{rest}/v1/overview", timeout=2) as resp:
        return dict(json.load(resp))


def cluster_config(home: Path, conf: Path, rpc_port: int, rest_port: int, tmp: Path) -> None:
    """Flink's default conf with every address on 127.0.0.1, free ports, temp files in ``tmp``."""
    shutil.copytree(home / "conf", conf)
    text = (conf / "config.yaml").read_text()
    for old, new in (
        ("      all: ", f"      all: -Djava.io.tmpdir={tmp} "),
        ("bind-host: localhost", "bind-host: 127.0.0.1"),
        ("address: localhost", "address: 127.0.0.1"),
        ("host: localhost", "host: 127.0.0.1"),
        ("port: 6123", f"port: {rpc_port}"),
        ("numberOfTaskSlots: 1", "numberOfTaskSlots: 2"),
    ):
        assert old in text, f"Flink's config.yaml changed: no `{old}`"
        text = text.replace(old, new)
    text += f"\nrest.port: {rest_port}\nio.tmp.dirs: {tmp}\nweb.tmpdir: {tmp}\n"
    (conf / "config.yaml").write_text(text)


@pytest.fixture(scope="module")
def flink_cluster(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[dict[str, str], str]]:
    """A standalone Flink (``bin/start-cluster.sh``); yields its env and REST address."""
    tmp_path = tmp_path_factory.mktemp("flink")
    home = flink_home()
    if home is None:
        pytest.skip(f"no Flink {FLINK_DIST_VERSION} distribution: run .ci/runners.sh")
    rest_port = free_port()
    conf = tmp_path / "flink-conf"
    flink_tmp = tmp_path / "flink-tmp"
    flink_tmp.mkdir()
    cluster_config(home, conf, free_port(), rest_port, flink_tmp)
    env = {
        **os.environ,
        "FLINK_HOME": str(home),
        "FLINK_CONF_DIR": str(conf),
        "FLINK_LOG_DIR": str(tmp_path / "flink-log"),
        "FLINK_PID_DIR": str(tmp_path / "flink-pid"),
    }
    for var in ("FLINK_LOG_DIR", "FLINK_PID_DIR"):
        Path(env[var]).mkdir()
    rest = f"127.0.0.1:{rest_port}"
    subprocess.run([home / "bin" / "start-cluster.sh"], env=env, check=True, timeout=120)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if int(overview(rest)["taskmanagers"]) >= 1:  # type: ignore[call-overload]
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the Flink cluster did not come up"
            time.sleep(0.5)
        yield env, rest
    finally:
        subprocess.run([home / "bin" / "stop-cluster.sh"], env=env, timeout=120)


def test_compiled_jar_runs_on_a_standalone_flink_cluster(
    stellar_fixtures: Path, tmp_path: Path, flink_cluster: tuple[dict[str, str], str]
) -> None:
    if FLINK_JOB_SERVER.find() is None:
        pytest.skip(f"missing {FLINK_JOB_SERVER.default_path()}: run .ci/runners.sh")
    env, rest = flink_cluster
    lake = stellar_fixtures / "testnet" / "datalake-testbucket"
    direct_out, cluster_out = tmp_path / "direct.jsonl", tmp_path / "cluster.jsonl"
    assert main(["run", "-q", "-e", PIPELINE.format(lake=lake, out=direct_out)]) == 0
    with worker_pool(log=tmp_path / "worker-pool.log") as pool:
        target = tmp_path / "target"
        compile_args = ["compile", "--runner", "flink", "-o", str(target)]
        compile_args += ["-O", f"environment=external:{pool}", "-O", "checkpointing_interval=30000"]
        assert main([*compile_args, "-e", PIPELINE.format(lake=lake, out=cluster_out)]) == 0
        deploy = json.loads((target / "deploy.json").read_text())
        assert deploy["checkpointing_interval_ms"] == 30000
        assert deploy["environment"] == {"environment_type": "EXTERNAL", "environment_config": pool}
        flink = Path(env["FLINK_HOME"]) / "bin" / "flink"
        done = subprocess.run(
            [flink, "run", "-m", rest, target / "pipeline.jar"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert overview(rest)["jobs-finished"] == 1
    direct = Counter(direct_out.read_text().splitlines())
    assert sum(direct.values()) == 31
    assert Counter(cluster_out.read_text().splitlines()) == direct


def test_run_submits_to_the_cluster_address(
    stellar_fixtures: Path, tmp_path: Path, flink_cluster: tuple[dict[str, str], str]
) -> None:
    """``flowctl run --runner=flink -O flink_master=HOST:PORT``: the job server submits to the
    cluster; ``environment=external`` makes flowctl start a worker pool for the run."""
    if FLINK_JOB_SERVER.find() is None:
        pytest.skip(f"missing {FLINK_JOB_SERVER.default_path()}: run .ci/runners.sh")
    _, rest = flink_cluster
    lake = stellar_fixtures / "testnet" / "datalake-testbucket"
    finished = int(overview(rest)["jobs-finished"])  # type: ignore[call-overload]
    out = tmp_path / "submitted.jsonl"
    options = ["-O", f"flink_master={rest}", "-O", "environment=external"]
    text = PIPELINE.format(lake=lake, out=out)
    assert main(["run", "-q", "--runner", "flink", *options, "-e", text]) == 0
    assert overview(rest)["jobs-finished"] == finished + 1
    assert sum(Counter(out.read_text().splitlines()).values()) == 31
