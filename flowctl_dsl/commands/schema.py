"""``flowctl schema [-o FILE]``: the JSON Schema of the key form (for yaml-language-server)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path


def cmd_schema(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from flowctl_dsl.config.schema import key_form_schema

    text = json.dumps(key_form_schema(), indent=2) + "\n"
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def register(command: Callable[..., argparse.ArgumentParser]) -> None:
    p = command("schema", cmd_schema, "print the JSON Schema of the key form (for editors)")
    p.add_argument("-o", "--output", help="write the schema to this file")
