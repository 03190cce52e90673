"""One pipeline, three runners: direct, Flink ([local], via Beam's job server jar) and Spark
(local[2]) must write the same records (compared as multisets) from real testnet ledgers."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from flowctl_dsl.cli import main
from flowctl_dsl.runners.jars import FLINK_JOB_SERVER, SPARK_JOB_SERVER, JobServerJar

pytestmark = pytest.mark.integration

PIPELINE = (
    'datastore("{lake}", network=testnet, ledgers=997..999) | operations | save_to jsonl("{out}")'
)


def require_jar(jar: JobServerJar) -> None:
    if jar.find() is None:
        pytest.skip(f"missing {jar.default_path()} ({jar.coordinates}): run .ci/runners.sh")


def run_on(runner: str, lake: Path, out: Path, *options: str) -> Counter[str]:
    text = PIPELINE.format(lake=lake, out=out)
    assert main(["run", "-q", "--runner", runner, *options, "-e", text]) == 0
    return Counter(out.read_text().splitlines())


@pytest.mark.slow
def test_direct_flink_and_spark_write_the_same_records(
    stellar_fixtures: Path, tmp_path: Path
) -> None:
    require_jar(FLINK_JOB_SERVER)
    require_jar(SPARK_JOB_SERVER)
    lake = stellar_fixtures / "testnet" / "datalake-testbucket"
    direct = run_on("direct", lake, tmp_path / "direct.jsonl")
    flink = run_on("flink", lake, tmp_path / "flink.jsonl", "-O", "flink_master=[local]")
    spark = run_on("spark", lake, tmp_path / "spark.jsonl", "-O", "spark_master=local[2]")
    assert sum(direct.values()) == 31  # every operation of ledgers 997..999
    assert flink == direct
    assert spark == direct
