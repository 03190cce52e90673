"""``flowctl migrate V1.yaml [-o OUT] [--to key|pipe] [--strict]``: legacy YAML → ``.flow``.

Writes the shortest equivalent ``.flow`` (key form by default, which keeps the V1 pipeline name)
and lists on stderr, with YAML line numbers, every V1 setting that was not carried over.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path

from flowctl_dsl.errors import FlowctlError, Source


def snake(name: str) -> str:
    """``ContractDataToGCS`` → ``contract_data_to_gcs`` (file names for several pipelines)."""
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name)
    return re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_").lower() or "pipeline"


def cmd_migrate(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from flowctl_dsl.config.migrate import migrate
    from flowctl_dsl.printer import print_pipeline

    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise FlowctlError.one("FC012", f"cannot read {path}: {type(err).__name__}") from None
    source = Source(str(path), text)
    results = migrate(source, default_name=snake(path.stem))
    form = args.to
    out = Path(args.output) if args.output else None
    several = len(results) > 1
    if several and out is not None and out.suffix == ".flow":
        raise FlowctlError.one(
            "FC513",
            f"{path} has {len(results)} pipelines; -o takes a folder for them",
            None,
            [f"flowctl migrate {path} -o {out.with_suffix('')}/"],
        )
    notes = changed = 0
    for result in results:
        target = None
        if out is not None:
            target = out / f"{snake(result.name)}.flow" if several or out.is_dir() else out
        body = print_pipeline(result.pipeline, form, default_name=None)
        for note in result.notes:
            print(note.render(str(path)), file=sys.stderr)
        notes += sum(n.dropped for n in result.notes)
        changed += sum(not n.dropped for n in result.notes)
        if form == "pipe":
            print(
                f"{path}: note: the pipe form has no name; `{result.name}` is named after the "
                "file it is saved in (use --to key to keep it)",
                file=sys.stderr,
            )
        if target is None:
            sys.stdout.write((f"# {result.name}\n" if several else "") + body)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(body, encoding="utf-8")
            print(f"wrote {target}", file=sys.stderr)
    print(
        f"migrated {len(results)} pipeline{'s' if several else ''} from {path}; "
        f"{notes} V1 setting{'s' if notes != 1 else ''} not carried over, {changed} carried over "
        "differently" + (" (listed above)" if notes or changed else ""),
        file=sys.stderr,
    )
    return 1 if args.strict and notes else 0


def register(command: Callable[..., argparse.ArgumentParser]) -> None:
    p = command("migrate", cmd_migrate, "convert a V1 (cdp-pipeline-workflow) YAML file to .flow")
    p.add_argument("file", help="a V1 YAML file (pipelines: or pipeline:)")
    p.add_argument("-o", "--output", help="write here (a folder when there are several pipelines)")
    p.add_argument("--to", choices=["key", "pipe"], default="key", help="form to write (key)")
    p.add_argument(
        "--strict", action="store_true", help="exit 1 if any V1 setting was not carried over"
    )
