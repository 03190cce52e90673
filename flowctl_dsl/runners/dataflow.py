"""``dataflow``: Google Cloud Dataflow.

``compile`` works with no network and no credentials, in seconds: Beam's ``--dry_run=True`` path
builds the job without staging anything, and ``runner.proto_pipeline`` is the runner-API pipeline
Dataflow would run. (Never ``--template_location``/``--dataflow_job_file`` offline: they stage to
GCS first and hang for many minutes; ``--dry_run=False`` is still a dry run.) It also writes a
Flex Template: metadata with the pipeline's parameters, a launcher program, a Dockerfile and
requirements for the launcher image, and the container spec.

``run`` submits only when a project, a ``gs://`` temp location and credentials are present;
otherwise it fails at once with FC306 (no retry loop, no metadata-server probing).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from flowctl_dsl.errors import Diagnostic, FlowctlError
from flowctl_dsl.plan import Plan, Step
from flowctl_dsl.runners.base import Runner, RunnerOption, RunReport, RunSettings, bounded
from flowctl_dsl.runners.environments import beam_version

DEFAULT_REGION = "us-central1"
PLACEHOLDER_PROJECT = "your-gcp-project"
LAUNCHER_BASE = "gcr.io/dataflow-templates-base/python311-template-launcher-base"
SECRET_WORDS = ("password", "secret", "token", "dsn", "credential")
DEAD_LETTER_WORDS = ("dead_letter", "dlq", "errors")


def job_name(pipeline: str) -> str:
    """A valid Dataflow job name: lower case, ``[-a-z0-9]``, starting with a letter."""
    name = re.sub(r"[^a-z0-9-]+", "-", pipeline.lower()).strip("-") or "flowctl"
    return name if name[0].isalpha() else f"flowctl-{name}"


def project_from_env() -> str | None:
    return os.environ.get("GOOGLE_CLOUD_PROJECT") or os.environ.get("CLOUDSDK_CORE_PROJECT")


def credentials_file() -> Path | None:
    """Application default credentials on disk (never probes the metadata server)."""
    explicit = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
    if explicit:
        return Path(explicit) if Path(explicit).is_file() else None
    gcloud = (
        Path(os.environ.get("CLOUDSDK_CONFIG") or Path.home() / ".config" / "gcloud")
        / "application_default_credentials.json"
    )
    return gcloud if gcloud.is_file() else None


def has_dead_letter(plan: Plan) -> bool:
    """Whether any sink takes failed records (flowctl has no dead-letter stage yet)."""
    return any(any(w in s.name or w in s.params for w in DEAD_LETTER_WORDS) for s in plan.sinks)


def flow_value(value: Any) -> str:
    """A parameter value as written in a pipeline: ranges as ``A..B``, the rest as JSON."""
    if isinstance(value, dict) and set(value) == {"start", "end"}:
        return f"{value['start']}..{'' if value['end'] is None else value['end']}"
    return json.dumps(value, default=str)


def template_parameters(plan: Plan) -> list[dict[str, Any]]:
    """Flex Template parameters: the source's (and a single sink's) settable parameters."""
    roles: list[tuple[str, Step]] = [("source", plan.source)]
    if len(plan.sinks) == 1:
        roles.append(("sink", plan.sinks[0]))
    out: list[dict[str, Any]] = []
    for role, step in roles:
        model = step.spec.params if step.spec is not None else None
        fields = model.model_fields if model is not None else {}
        for key, info in fields.items():
            if any(w in key.lower() for w in SECRET_WORDS):
                continue
            default = step.params.get(key)
            text = (info.description or key).rstrip(".")
            if default not in (None, "", [], {}):
                text += f" (compiled with {flow_value(default)})"
            out.append(
                {
                    "name": f"{role}_{key}",
                    "label": f"{step.name} {key}",
                    "helpText": text,
                    "isOptional": True,
                    "regexes": [r"^[^\n]*$"],
                    "paramType": "TEXT",
                    "customMetadata": {"flowctl_set": f"{role}.{key}"},
                }
            )
    return out


def sets_from_args(argv: Sequence[str], parameters: Sequence[str]) -> tuple[list[str], list[str]]:
    """Split launcher arguments: ``--source_ledgers=…`` → ``source.ledgers=…``; the rest → Beam."""
    sets: list[str] = []
    rest: list[str] = []
    args = list(argv)
    while args:
        arg = args.pop(0)
        name, eq, value = arg.removeprefix("--").partition("=")
        if arg.startswith("--") and name in parameters:
            if not eq:
                value = args.pop(0) if args else ""
            role, _, key = name.partition("_")
            if value != "":
                sets.append(f"{role}.{key}={value}")
        else:
            rest.append(arg)
    return sets, rest


def launch(flow: Path, argv: Sequence[str]) -> Any:
    """The Flex Template launcher: plan the bundled pipeline with the parameters and submit it.

    Returns the Beam result without waiting (Dataflow's launcher must exit after submitting).
    """
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.runners.dataflow.dataflow_runner import DataflowRunner as Beam

    from flowctl_dsl.compile import build_pipeline
    from flowctl_dsl.driver import Input, planned

    metadata = json.loads(flow.with_name("metadata.json").read_text())
    names = [p["name"] for p in metadata["parameters"]]
    sets, rest = sets_from_args(argv, names)
    plan = planned(Input.from_file(str(flow)), sets)
    options = PipelineOptions(rest, job_name=job_name(plan.pipeline), streaming=not bounded(plan))
    return build_pipeline(plan, options, Beam()).run()


LAUNCHER = '''"""Flex Template entry point: run the bundled flowctl pipeline on Dataflow."""

import sys
from pathlib import Path

from flowctl_dsl.runners.dataflow import launch

if __name__ == "__main__":
    launch(Path(__file__).resolve().with_name("pipeline.flow"), sys.argv[1:])
'''


def dockerfile(base: str) -> str:
    return (
        "# Flex Template launcher image: flowctl + the compiled pipeline.\n"
        f"FROM {base}\n"
        "WORKDIR /template\n"
        "COPY requirements.txt launcher.py pipeline.flow metadata.json /template/\n"
        "RUN pip install --no-cache-dir -r /template/requirements.txt\n"
        "ENV FLEX_TEMPLATE_PYTHON_PY_FILE=/template/launcher.py\n"
        "ENV FLEX_TEMPLATE_PYTHON_REQUIREMENTS_FILE=/template/requirements.txt\n"
        'ENTRYPOINT ["/opt/google/dataflow/python_template_launcher"]\n'
    )


class DataflowRunner(Runner):
    name: ClassVar[str] = "dataflow"
    summary: ClassVar[str] = "Google Cloud Dataflow (compile offline; run needs a project)"
    streaming: ClassVar[bool] = True
    options: ClassVar[tuple[RunnerOption, ...]] = (
        RunnerOption("project", "GCP project (default: $GOOGLE_CLOUD_PROJECT)"),
        RunnerOption("region", "Dataflow region", DEFAULT_REGION),
        RunnerOption(
            "temp_location", "gs:// path for temporary files (default gs://PROJECT-flowctl/temp)"
        ),
        RunnerOption(
            "sdk_container_image", "worker image with flowctl installed (default: Beam's)"
        ),
        RunnerOption("max_num_workers", "upper bound for autoscaling"),
        RunnerOption(
            "image",
            "Flex Template launcher image (default REGION-docker.pkg.dev/PROJECT/flowctl/NAME)",
        ),
    )

    def beam_runner(self) -> Any:
        try:
            from apache_beam.runners.dataflow.dataflow_runner import DataflowRunner as Beam
            from apache_beam.runners.dataflow.internal import apiclient  # noqa: F401
        except ImportError as err:
            raise FlowctlError.one(
                "FC303",
                f"the Dataflow runner's client libraries are missing: {err}",
                None,
                ["pip install 'apache-beam[gcp]' (or google-cloud-dataflow-client)"],
            ) from err
        return Beam()

    def project(self, settings: RunSettings) -> str | None:
        return self.option(settings, "project") or project_from_env()

    def beam_options(self, plan: Plan, settings: RunSettings) -> dict[str, Any]:
        project = self.project(settings) or PLACEHOLDER_PROJECT
        opts: dict[str, Any] = {
            "project": project,
            "region": self.option(settings, "region") or DEFAULT_REGION,
            "temp_location": self.option(settings, "temp_location")
            or f"gs://{project}-flowctl/temp",
            "job_name": job_name(plan.pipeline),
        }
        if not bounded(plan):
            opts["streaming"] = True
        for key in ("sdk_container_image", "max_num_workers"):
            value = self.option(settings, key)
            if value:
                opts[key] = int(value) if key == "max_num_workers" else value
        return opts

    def describe(self, settings: RunSettings) -> str:
        project = self.project(settings) or "(no project)"
        region = self.option(settings, "region") or DEFAULT_REGION
        image = self.option(settings, "sdk_container_image") or "Beam's Dataflow SDK image"
        return f"dataflow (project {project}, {region}; workers: {image})"

    def check(self, plan: Plan, settings: RunSettings) -> list[Diagnostic]:
        warnings = super().check(plan, settings)
        if not bounded(plan) and not has_dead_letter(plan):
            warnings.append(
                Diagnostic(
                    "FC308",
                    "Dataflow streaming retries a failing record forever: with no dead-letter "
                    "output one bad ledger stalls the pipeline",
                    None,
                    ("add a dead-letter output, or run bounded ranges (`ledgers=A..B`)",),
                    "warning",
                )
            )
        return warnings

    def require_submission(self, settings: RunSettings) -> None:
        """FC306 at once unless a project, a gs:// temp location and credentials are present."""
        missing: list[str] = []
        if not self.project(settings):
            missing.append("a project: --runner-option project=ID or $GOOGLE_CLOUD_PROJECT")
        temp = self.option(settings, "temp_location")
        if temp is not None and not temp.startswith("gs://"):
            missing.append(f"a gs:// temp_location (got {temp})")
        if credentials_file() is None:
            missing.append(
                "credentials: $GOOGLE_APPLICATION_CREDENTIALS or "
                "`gcloud auth application-default login`"
            )
        if missing:
            raise FlowctlError.one(
                "FC306",
                "cannot submit to Dataflow: missing " + "; ".join(missing),
                None,
                ["`flowctl compile --runner=dataflow` works offline and writes the job files"],
            )

    def run(self, plan: Plan, settings: RunSettings) -> RunReport:
        self.check(plan, settings)
        self.require_submission(settings)
        return super().run(plan, settings)

    def compile(self, plan: Plan, out: Path, settings: RunSettings) -> dict[str, Path]:
        from apache_beam.options.pipeline_options import PipelineOptions
        from apache_beam.portability.api import beam_runner_api_pb2

        from flowctl_dsl.compile import build_pipeline

        self.check(plan, settings)
        opts = self.beam_options(plan, settings)
        runner = self.beam_runner()
        pipeline = build_pipeline(
            plan, PipelineOptions(settings.beam_args, dry_run=True, **opts), runner
        )
        result = pipeline.run()
        proto = runner.proto_pipeline
        environments = []
        for env_id, env in proto.components.environments.items():
            entry: dict[str, Any] = {"id": env_id, "urn": env.urn}
            if env.urn == "beam:env:docker:v1":
                payload = beam_runner_api_pb2.DockerPayload.FromString(env.payload)
                entry["image"] = payload.container_image
            environments.append(entry)
        steps = [
            proto.components.transforms[t].unique_name
            for root in proto.root_transform_ids
            for t in proto.components.transforms[root].subtransforms
        ]
        job = {
            "job": json.loads(result.job.json()),  # type: ignore[attr-defined]
            "steps": steps,
            "environments": environments,
            "options": opts,
            "sdk": {"language": "PYTHON", "beam_version": beam_version()},
        }
        files: dict[str, Path] = {name: out / name for name in ("pipeline.pb", "beam_graph.txt")}
        files["pipeline.pb"].write_bytes(proto.SerializeToString())
        names = sorted(t.unique_name for t in proto.components.transforms.values() if t.unique_name)
        files["beam_graph.txt"].write_text("\n".join(names) + "\n")
        files["options.json"] = out / "options.json"
        files["options.json"].write_text(json.dumps({"runner": self.name, **opts}, indent=2) + "\n")
        files["dataflow_job.json"] = out / "dataflow_job.json"
        files["dataflow_job.json"].write_text(json.dumps(job, indent=2, default=str) + "\n")
        files.update(self.flex_template(plan, out / "flex_template", settings, opts))
        return files

    def flex_template(
        self, plan: Plan, out: Path, settings: RunSettings, opts: dict[str, Any]
    ) -> dict[str, Path]:
        """The Flex Template files: metadata, launcher, pipeline text, Dockerfile, spec."""
        out.mkdir(parents=True, exist_ok=True)
        files = {
            f"flex_template/{n}": out / n
            for n in (
                "metadata.json",
                "launcher.py",
                "Dockerfile",
                "requirements.txt",
                "spec.json",
                "pipeline.flow",
            )
        }
        metadata = {
            "name": plan.pipeline,
            "description": f"flowctl pipeline `{plan.pipeline}` (IR sha256:{plan.ir_sha256[:16]})",
            "streaming": not bounded(plan),
            "supportsAtLeastOnce": True,
            "supportsExactlyOnce": True,
            "defaultStreamingMode": "EXACTLY_ONCE" if not bounded(plan) else None,
            "parameters": template_parameters(plan),
        }
        metadata = {k: v for k, v in metadata.items() if v is not None}
        files["flex_template/metadata.json"].write_text(json.dumps(metadata, indent=2) + "\n")
        files["flex_template/launcher.py"].write_text(LAUNCHER)
        files["flex_template/Dockerfile"].write_text(dockerfile(LAUNCHER_BASE))
        from flowctl_dsl.runners.flink import requirements

        files["flex_template/requirements.txt"].write_text(requirements())
        files["flex_template/pipeline.flow"].write_text(pipeline_text(out.parent, plan))
        image = self.option(settings, "image") or (
            f"{opts['region']}-docker.pkg.dev/{opts['project']}/flowctl/{job_name(plan.pipeline)}:latest"
        )
        spec = {
            "image": image,
            "sdkInfo": {"language": "PYTHON"},
            "metadata": metadata,
            "defaultEnvironment": {
                "tempLocation": opts["temp_location"],
                **(
                    {"sdkContainerImage": opts["sdk_container_image"]}
                    if "sdk_container_image" in opts
                    else {}
                ),
            },
        }
        files["flex_template/spec.json"].write_text(json.dumps(spec, indent=2) + "\n")
        return files


def pipeline_text(compiled: Path, plan: Plan) -> str:
    """The pipeline as key-form text, from the ``ir.json`` that ``flowctl compile`` wrote."""
    from flowctl_dsl import ir
    from flowctl_dsl.printer import print_pipeline

    ir_file = compiled / "ir.json"
    if not ir_file.is_file():
        raise FlowctlError.one(
            "FC303", f"no ir.json in {compiled}: compile with `flowctl compile`", None
        )
    return print_pipeline(ir.load(ir_file.read_text()), "key")
