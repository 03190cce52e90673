"""``dataflow`` with no network and no credentials: compile writes the job files in seconds;
run fails at once with FC306."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from flowctl_dsl.cli import main
from flowctl_dsl.driver import Input, planned
from flowctl_dsl.runners import get_runner
from flowctl_dsl.runners.base import RunSettings
from flowctl_dsl.runners.dataflow import job_name, launch, sets_from_args

pytestmark = pytest.mark.integration

pytest.importorskip("google.cloud.dataflow", reason="needs apache-beam[gcp] (.ci/runners.sh)")

PIPELINE = (
    'datastore("{lake}", network=testnet, ledgers=997..999) | operations | save_to jsonl("{out}")'
)


@pytest.fixture
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No credentials anywhere: a fresh HOME, no ADC variables."""
    for var in ("GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT", "CLOUDSDK_CORE_PROJECT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "home" / "gcloud"))


@pytest.fixture
def compiled(stellar_fixtures: Path, tmp_path: Path, offline: None) -> tuple[Path, float]:
    lake = stellar_fixtures / "testnet" / "datalake-testbucket"
    out = tmp_path / "target"
    text = PIPELINE.format(lake=lake, out=tmp_path / "ops.jsonl")
    options = ["-O", "project=flowctl-demo", "-O", "region=europe-west1"]
    started = time.monotonic()
    assert main(["compile", "--runner", "dataflow", *options, "-o", str(out), "-e", text]) == 0
    return out, time.monotonic() - started


def test_compile_writes_the_pipeline_and_job_offline(compiled: tuple[Path, float]) -> None:
    from apache_beam.portability.api import beam_runner_api_pb2

    out, seconds = compiled
    assert seconds < 60
    proto = beam_runner_api_pb2.Pipeline.FromString((out / "pipeline.pb").read_bytes())
    names = {t.unique_name for t in proto.components.transforms.values()}
    assert {"00_datastore", "01_operations", "02_jsonl"} <= names
    job = json.loads((out / "dataflow_job.json").read_text())
    assert job["steps"] == ["00_datastore", "01_operations", "02_jsonl"]
    assert job["job"]["type"] == "JOB_TYPE_BATCH"
    assert job["job"]["name"] == "inline"
    [env] = job["environments"]
    assert env["urn"] == "beam:env:docker:v1"
    assert env["image"].startswith("gcr.io/cloud-dataflow/v1beta3/beam_python3.11_sdk:")
    options = json.loads((out / "options.json").read_text())
    assert options["project"] == "flowctl-demo" and options["region"] == "europe-west1"
    assert options["temp_location"] == "gs://flowctl-demo-flowctl/temp"
    assert "dry_run" not in options and "template_location" not in options
    manifest = json.loads((out / "manifest.json").read_text())
    assert "flex_template/metadata.json" in manifest["artifacts"]


def test_compile_writes_a_flex_template(compiled: tuple[Path, float]) -> None:
    flex = compiled[0] / "flex_template"
    metadata = json.loads((flex / "metadata.json").read_text())
    assert metadata["name"] == "inline" and metadata["streaming"] is False
    params = {p["name"]: p for p in metadata["parameters"]}
    assert {"source_url", "source_ledgers", "sink_path"} <= set(params)
    ledgers = params["source_ledgers"]
    assert ledgers["isOptional"] is True and ledgers["paramType"] == "TEXT"
    assert ledgers["customMetadata"] == {"flowctl_set": "source.ledgers"}
    assert "997..999" in ledgers["helpText"]
    for p in metadata["parameters"]:
        assert set(p) >= {"name", "label", "helpText", "isOptional", "regexes", "paramType"}
    spec = json.loads((flex / "spec.json").read_text())
    assert spec["sdkInfo"] == {"language": "PYTHON"}
    assert spec["image"] == "europe-west1-docker.pkg.dev/flowctl-demo/flowctl/inline:latest"
    assert spec["metadata"] == metadata
    dockerfile = (flex / "Dockerfile").read_text()
    assert "FROM gcr.io/dataflow-templates-base/python311-template-launcher-base" in dockerfile
    assert "FLEX_TEMPLATE_PYTHON_PY_FILE=/template/launcher.py" in dockerfile
    assert "apache-beam[gcp]==" in (flex / "requirements.txt").read_text()
    assert "process:\n  - operations" in (flex / "pipeline.flow").read_text()


def test_flex_launcher_plans_with_parameters(compiled: tuple[Path, float]) -> None:
    flow = compiled[0] / "flex_template" / "pipeline.flow"
    argv = [
        "--source_ledgers=998..999",
        "--project=flowctl-demo",
        "--region=europe-west1",
        "--temp_location=gs://flowctl-demo-flowctl/temp",
        "--dry_run=True",
    ]
    result = launch(flow, argv)
    assert str(result.state).endswith("DONE")


def test_launcher_arguments_split_into_sets_and_beam_flags() -> None:
    sets, rest = sets_from_args(
        ["--source_ledgers", "5..9", "--sink_path=x.jsonl", "--source_url=", "--project=p"],
        ["source_ledgers", "sink_path", "source_url"],
    )
    assert sets == ["source.ledgers=5..9", "sink.path=x.jsonl"]
    assert rest == ["--project=p"]


def test_run_without_credentials_fails_at_once(
    offline: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = f'localnet(ledgers=2..3) | ledgers | save_to jsonl("{tmp_path / "x.jsonl"}")'
    started = time.monotonic()
    assert main(["run", "--runner", "dataflow", "-e", text]) == 1
    assert time.monotonic() - started < 10
    err = capsys.readouterr().err
    assert "FC306" in err and "project" in err and "credentials" in err


def test_streaming_without_dead_letters_is_warned() -> None:
    plan = planned(Input.inline("localnet(ledgers=2..3) | ledgers | stdout"))
    dataflow = get_runner("dataflow")
    assert dataflow.check(plan, RunSettings()) == []
    plan.source.params["bounded"] = False
    [warning] = dataflow.check(plan, RunSettings())
    assert (warning.code, warning.severity) == ("FC308", "warning")
    assert dataflow.beam_options(plan, RunSettings())["streaming"] is True


def test_job_names_are_valid_for_dataflow() -> None:
    assert job_name("big_xlm_payments") == "big-xlm-payments"
    assert job_name("2024 run") == "flowctl-2024-run"
