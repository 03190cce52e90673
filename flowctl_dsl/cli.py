"""The ``flowctl`` command line: parse arguments, call one function per command, print, exit.

Exit codes: 0 ok; 1 invalid pipeline or failed run; 2 bad command-line usage; 3 internal error.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from flowctl_dsl import __version__
from flowctl_dsl.errors import FlowctlError

OK, INVALID, USAGE, INTERNAL = 0, 1, 2, 3

#: Modules that add commands: each has ``register(command)``, where ``command(name, fn, help)``
#: returns the new subcommand's ``argparse`` parser and ``fn(args, parser) -> exit code``.
COMMAND_MODULES: tuple[str, ...] = (
    "flowctl_dsl.commands.graph",
    "flowctl_dsl.commands.config",
    "flowctl_dsl.commands.migrate",
    "flowctl_dsl.commands.schema",
    "flowctl_dsl.commands.docs",
    "flowctl_dsl.commands.state",
)


def add_input(p: argparse.ArgumentParser, with_sets: bool = True) -> None:
    p.add_argument("file", nargs="?", help="a .flow file")
    p.add_argument("-e", "--expr", metavar="TEXT", help="the pipeline as text instead of a file")
    if with_sets:
        p.add_argument(
            "--set",
            dest="sets",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="NAME=value feeds ${NAME}; source.x=, sink.x=, <processor>.x= set a parameter",
        )


def get_input(args: argparse.Namespace, parser: argparse.ArgumentParser):  # type: ignore[no-untyped-def]
    from flowctl_dsl.driver import Input

    if (args.file is None) == (args.expr is None):
        parser.error("give a pipeline file or -e 'TEXT' (one of them)")
    return Input.inline(args.expr) if args.expr is not None else Input.from_file(args.file)


def runner_settings(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from flowctl_dsl.runners.base import RunSettings

    options: dict[str, str] = {}
    for item in getattr(args, "runner_option", None) or []:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise FlowctlError.one("FC304", f"--runner-option wants NAME=VALUE, not `{item}`")
        options[key.strip()] = value.strip()
    return RunSettings(
        workers=getattr(args, "workers", 1),
        beam_args=list(getattr(args, "beam_arg", []) or []),
        runner_options=options,
    )


def runner_warnings(runner, plan, settings) -> None:  # type: ignore[no-untyped-def]
    """The runner's guard rails: errors raise (FC3xx), warnings go to stderr."""
    from flowctl_dsl.errors import render_all

    warnings = runner.check(plan, settings)
    if warnings:
        print(render_all(warnings, None), file=sys.stderr)


# ---- commands -----------------------------------------------------------------------------------
def cmd_check(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from flowctl_dsl.driver import checked

    inp = get_input(args, parser)
    result = checked(inp, args.sets)
    if args.format == "json":
        out = {
            "ok": True,
            "pipeline": result.pipeline.name,
            "diagnostics": [w.to_dict(inp.source) for w in result.warnings],
        }
        print(json.dumps(out, indent=2))
    else:
        from flowctl_dsl.errors import render_all

        if result.warnings:
            print(render_all(result.warnings, inp.source), file=sys.stderr)
        stages = len(result.pipeline.stages)
        print(
            f"ok: {inp.source.name}: pipeline `{result.pipeline.name}` "
            f"({stages} stage{'s' if stages != 1 else ''}, {len(result.sinks)} sink{'s' if len(result.sinks) != 1 else ''})"
        )
    return OK


def cmd_compile(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from flowctl_dsl import ir
    from flowctl_dsl.driver import planned
    from flowctl_dsl.runners import get_runner

    runner = get_runner(args.runner)
    inp = get_input(args, parser)
    plan = planned(inp, args.sets)
    out = Path(args.output or Path("target") / plan.pipeline)
    out.mkdir(parents=True, exist_ok=True)
    from flowctl_dsl.driver import load

    files = {
        "ir.json": out / "ir.json",
        "plan.json": out / "plan.json",
    }
    # ${VAR} stays unexpanded in ir.json: values from the environment (secrets) never reach disk.
    files["ir.json"].write_text(ir.dump(load(inp, args.sets, keep_env=True)) + "\n")
    files["plan.json"].write_text(plan.model_dump_json(indent=2) + "\n")
    settings = runner_settings(args)
    runner_warnings(runner, plan, settings)
    files.update(run_guarded(lambda: runner.compile(plan, out, settings)))
    manifest = {
        "pipeline": plan.pipeline,
        "runner": runner.name,
        "flowctl_version": __version__,
        "ir_sha256": plan.ir_sha256,
        "artifacts": sorted(files),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"compiled `{plan.pipeline}` for {runner.describe(settings)} → {out}/")
    for name in sorted([*files, "manifest.json"]):
        print(f"  {name}")
    return OK


def cmd_run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from flowctl_dsl.driver import planned
    from flowctl_dsl.runners import get_runner

    # -- observability (flowctl_dsl/observability): logging, exporters, summary
    from flowctl_dsl.observability import cli as obs_cli
    from flowctl_dsl.observability.metrics import MetricsPortError
    from flowctl_dsl.observability.summary import render as render_summary

    obs_cli.configure_logging(args)
    # --
    from flowctl_dsl.transforms.reliability import shutdown

    if not args.debug:  # reliability: a coded failure is one line, not Beam's traceback log
        logging.getLogger("apache_beam.runners.common").addFilter(_CodedFailures())
    runner = get_runner(args.runner)
    plan = planned(get_input(args, parser), args.sets)
    settings = runner_settings(args)
    runner_warnings(runner, plan, settings)
    settings.observe = obs_cli.observe_settings(args)
    settings.from_scratch = args.from_scratch  # reliability: resume by default
    started = time.monotonic()
    with shutdown.handling() as stop:  # reliability: SIGINT/SIGTERM stop after the in-flight work
        try:
            report = run_guarded(lambda: runner.run(plan, settings))
        except MetricsPortError as err:
            parser.error(str(err))
    elapsed = time.monotonic() - started
    if report.stopped:
        print(stopped_line(plan.pipeline, stop.name or "a signal", report), file=sys.stderr)
        return stop.exit_code if stop.requested else INVALID
    if not args.quiet:
        ledgers = sum(v for k, v in report.metrics.items() if k.endswith("_ledgers"))
        records = sum(v for k, v in report.metrics.items() if k.endswith("_records"))
        resumed = f" (resumed at ledger {report.resumed_from})" if report.resumed_from else ""
        print(
            f"done: `{plan.pipeline}` on {runner.name}: {ledgers} ledgers, {records} records "
            f"in {elapsed:.1f}s{resumed}",
            file=sys.stderr,
        )
        if report.observed is not None:
            print(
                render_summary(report.observed, report.wall_seconds, report.run_id, args.profile),
                file=sys.stderr,
            )
    return OK


class _CodedFailures(logging.Filter):
    """Drop Beam's log of a worker exception the CLI reports as a coded line (FC406…)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("[FC40")


def stopped_line(pipeline: str, signal_name: str, report) -> str:  # type: ignore[no-untyped-def]
    """The one line a run stopped by a signal ends with (reliability)."""
    cp = report.checkpoint
    if cp is None:
        return f"stopped by {signal_name}: `{pipeline}` committed no ledgers; run it again to start"
    end = "" if cp.last_ledger is None else f" of {cp.first_ledger}..{cp.last_ledger}"
    return (
        f"stopped by {signal_name}: `{pipeline}` committed through ledger "
        f"{cp.committed_through}{end}; `flowctl run` again resumes at ledger {cp.next_ledger}"
    )


def cmd_explain(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from flowctl_dsl.driver import planned
    from flowctl_dsl.explain import explain
    from flowctl_dsl.runners import get_runner

    runner = get_runner(args.runner)
    plan = planned(get_input(args, parser), args.sets)
    settings = runner_settings(args)
    runner_warnings(runner, plan, settings)
    print(explain(plan, runner.describe(settings)))
    return OK


def cmd_fmt(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from flowctl_dsl import ast
    from flowctl_dsl.driver import load
    from flowctl_dsl.parse import parse
    from flowctl_dsl.printer import Form, print_pipeline

    inp = get_input(args, parser)
    pipeline = load(inp, (), keep_env=True)  # ${VAR} stays as written: fmt never expands secrets
    form: Form = args.to or ("key" if isinstance(parse(inp.source.text), ast.KeyDoc) else "pipe")
    text = print_pipeline(pipeline, form, default_name=inp.default_name)
    if args.check:
        if text != inp.source.text:
            print(f"{inp.source.name}: would reformat", file=sys.stderr)
            return INVALID
        return OK
    if args.write and args.file:
        Path(args.file).write_text(text)
    else:
        sys.stdout.write(text)
    return OK


def cmd_list(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from flowctl_dsl.catalog import catalog
    from flowctl_dsl.runners import RUNNERS

    kinds = {"sources": "source", "processors": "processor", "sinks": "sink"}
    wanted = [args.kind] if args.kind else [*kinds, "runners"]
    for group in wanted:
        print(f"{group}:")
        if group == "runners":
            for name, cls in RUNNERS.items():
                print(f"  {name:<22} {cls.summary}")
            continue
        for spec in catalog().of_kind(kinds[group]):  # type: ignore[arg-type]
            aliases = f" (also: {', '.join(spec.aliases)})" if spec.aliases else ""
            print(f"  {spec.name:<22} {spec.summary}{aliases}")
    return OK


def cmd_describe(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from flowctl_dsl.catalog import catalog
    from flowctl_dsl.describe import describe
    from flowctl_dsl.errors import suggestion_hints

    specs = catalog().find(args.name)
    if not specs:
        all_names = [n for s in catalog().specs for n in s.names]
        raise FlowctlError.one(
            "FC100",
            f"nothing is called `{args.name}`",
            None,
            suggestion_hints(args.name, all_names, "names"),
        )
    print("\n\n".join(describe(s) for s in specs))
    return OK


def cmd_version(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    import apache_beam
    import stellar_sdk

    print(
        f"flowctl {__version__} (apache-beam {apache_beam.__version__}, stellar-sdk {stellar_sdk.__version__}, python {sys.version.split()[0]})"
    )
    return OK


def cmd_debug(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from flowctl_dsl import ir
    from flowctl_dsl.driver import load, planned
    from flowctl_dsl.parse import parse

    inp = get_input(args, parser)
    if args.stage == "ast":
        print(parse(inp.source.text))
    elif args.stage == "ir":
        print(ir.dump(load(inp, args.sets)))
    else:
        print(planned(inp, args.sets).model_dump_json(indent=2))
    return OK


def cmd_localnet(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from flowctl_dsl.stellar.localnet.generate import generate_lake

    summary = generate_lake(Path(args.dir), (2, 1 + args.ledgers), seed=args.seed)
    print(json.dumps(summary, indent=2, default=str))
    return OK


# ---- plumbing -----------------------------------------------------------------------------------
def run_guarded(fn: Callable[[], object]):  # type: ignore[no-untyped-def]
    """Run Beam work; failures caused by inputs/targets become one coded line, not a traceback."""
    from flowctl_dsl.runtime_errors import as_flowctl_error

    try:
        return fn()
    except FlowctlError:
        raise
    except Exception as err:  # noqa: BLE001 - classified below
        mapped = as_flowctl_error(err)
        if mapped is None:
            raise
        raise mapped from err


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flowctl", description="Check, compile and run Stellar data pipelines on Apache Beam."
    )
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, fn: Callable[..., int], help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(func=fn, parser=p)
        return p

    p = command("check", cmd_check, "parse, resolve and type-check a pipeline (no I/O)")
    add_input(p)
    p.add_argument("--format", choices=["text", "json"], default="text")

    for name, fn, text in (
        ("compile", cmd_compile, "write the IR, plan and the runner's artifacts"),
        ("run", cmd_run, "run a pipeline"),
        ("explain", cmd_explain, "show stages, record types, schemas, runner and outputs"),
    ):
        p = command(name, fn, text)
        add_input(p)
        p.add_argument(
            "--runner", default="direct", help="direct, flink, spark, portable or dataflow"
        )
        p.add_argument(
            "--runner-option",
            "-O",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="a runner setting, e.g. flink_master=HOST:PORT (docs/runners.md)",
        )
        p.add_argument("--workers", type=int, default=1, help="local worker processes (direct)")
        p.add_argument("--beam-arg", action="append", default=[], help="extra Beam pipeline flag")
        if name == "compile":
            p.add_argument("-o", "--output", help="artifact directory (default target/<name>/)")
        if name == "run":
            from flowctl_dsl.observability.cli import add_run_flags

            p.add_argument("-q", "--quiet", action="store_true", help="no summary or progress")
            p.add_argument(
                "--from-scratch",
                action="store_true",
                help="ignore the checkpoint: start at the first ledger (default: resume)",
            )
            add_run_flags(p)

    p = command("fmt", cmd_fmt, "print the pipeline in canonical form")
    add_input(p, with_sets=False)
    p.add_argument("--check", action="store_true", help="exit 1 if the file is not formatted")
    p.add_argument("--to", choices=["pipe", "key"], help="convert to this surface form")
    p.add_argument("-w", "--write", action="store_true", help="rewrite the file in place")

    p = command("list", cmd_list, "list sources, processors, sinks and runners")
    p.add_argument("kind", nargs="?", choices=["sources", "processors", "sinks", "runners"])

    p = command("describe", cmd_describe, "show one component: parameters, schema, examples")
    p.add_argument("name")

    command("version", cmd_version, "show versions")

    p = command("debug", cmd_debug, "dump one compiler stage: ast, ir or plan")
    p.add_argument("stage", choices=["ast", "ir", "plan"])
    add_input(p)

    for module in COMMAND_MODULES:
        importlib.import_module(module).register(command)

    p = command("localnet", cmd_localnet, "generate a synthetic local network as a data lake")
    p.add_argument("action", choices=["generate"])
    p.add_argument("dir", help="where to write the lake")
    p.add_argument("--ledgers", type=int, default=100, help="how many ledgers (from genesis, 2)")
    p.add_argument("--seed", type=int, default=0)
    return parser


class _QuietBeamImports(logging.Filter):
    """Drop Beam's import-time notice about optional GCP client libraries."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "apitools not found" not in record.getMessage()


def main(argv: Sequence[str] | None = None) -> int:
    logging.getLogger().addFilter(_QuietBeamImports())
    parser = build_parser()
    args = parser.parse_args(argv)
    if "TMPDIR" not in os.environ:
        tempfile.tempdir = None
    try:
        return int(args.func(args, args.parser))
    except FlowctlError as err:
        if getattr(args, "format", "text") == "json":
            print(err.to_json())
        else:
            print(err.render(), file=sys.stderr)
        if args.debug and err.__cause__ is not None:
            traceback.print_exception(err.__cause__)
        return INVALID
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return OK
    except Exception:  # noqa: BLE001 - a bug in flowctl, not a user mistake
        print(
            "internal error: this is a bug in flowctl; please report it with the trace below",
            file=sys.stderr,
        )
        traceback.print_exc()
        return INTERNAL


if __name__ == "__main__":
    sys.exit(main())
