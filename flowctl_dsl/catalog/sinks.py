"""Sinks: where records go. Each declares its delivery guarantee, shown by ``explain``."""

from __future__ import annotations

from pydantic import Field

from flowctl_dsl.catalog.spec import Params, Spec

ANY_RECORD = "*"


class StdoutParams(Params):
    pass


class JsonlParams(Params):
    path: str = Field(description="Output file (local path or file:// URL).")
    gzip: bool = Field(False, description="Compress the file with gzip.")


SPECS: tuple[Spec, ...] = (
    Spec(
        kind="sink",
        name="stdout",
        aliases=("print", "console"),
        summary="One JSON object per line on standard output, ordered by the record's key.",
        params=StdoutParams,
        impl="flowctl_dsl.transforms.sinks.stdout:build",
        input_type=ANY_RECORD,
        streaming=True,
        batches=True,
        guarantee="at-least-once (a re-run prints again)",
    ),
    Spec(
        kind="sink",
        name="jsonl",
        aliases=("json", "ndjson", "jsonlines"),
        summary="JSON lines in one file, written to a temporary name and renamed when complete.",
        params=JsonlParams,
        impl="flowctl_dsl.transforms.sinks.jsonl:build",
        input_type=ANY_RECORD,
        positional=("path",),
        batches=True,
        guarantee="idempotent replay (the file is replaced whole)",
        examples=('save_to jsonl("out/payments.jsonl")',),
    ),
)
