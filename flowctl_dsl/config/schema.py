"""A JSON Schema (draft-07) of the key form, generated from the catalog, for editors.

The key form is YAML-compatible (``source: mainnet``, ``process: [contract_data, filter > 1000]``),
so yaml-language-server can complete and check it with::

    # yaml-language-server: $schema=flowctl.schema.json

Component names and aliases are enums (completion); a call such as ``datastore("…", network=…)`` is
a YAML string, matched by a pattern on its name. Each component's parameter model is included under
``definitions`` (``source.datastore``, ``sink.jsonl``, …) and summarised in its description; JSON
Schema cannot look inside the call text, so ``flowctl check`` remains the full check.
"""

from __future__ import annotations

import re
from typing import Any

from flowctl_dsl.catalog import Catalog, catalog
from flowctl_dsl.catalog.spec import Spec

DRAFT = "http://json-schema.org/draft-07/schema#"
SCHEMA_ID = "https://flowctl.dev/schema/pipeline-key-form.json"
STAGE_WORDS = ("filter", "select", "derive", "limit")


def params_schema(spec: Spec) -> dict[str, Any]:
    """The JSON Schema of a component's parameters (pydantic's, serialisation mode)."""
    schema = spec.params.model_json_schema(mode="serialization")
    schema.pop("title", None)
    schema["title"] = f"{spec.kind} {spec.name}"
    if spec.positional:
        schema["x-flowctl-positional"] = list(spec.positional)
    return schema


def describe(spec: Spec) -> str:
    fields = spec.params.model_fields
    params = ", ".join(f"{name}{'' if f.is_required() else '?'}" for name, f in fields.items())
    return f"{spec.summary} Parameters: {params or 'none'}."


def _names_pattern(names: list[str]) -> str:
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return rf"^\s*({alternatives})\s*(\(.*\))?\s*$"


def component_branches(cat: Catalog, kind: str) -> list[dict[str, Any]]:
    """One branch per component: the bare names as an enum, calls by a name pattern."""
    out: list[dict[str, Any]] = []
    for spec in cat.of_kind(kind):  # type: ignore[arg-type]
        names = list(spec.names)
        desc = describe(spec)
        out.append({"enum": names, "description": desc})
        out.append(
            {
                "type": "string",
                "pattern": _names_pattern(names),
                "description": desc,
                "$comment": f"parameters: #/definitions/{kind}.{spec.name}",
            }
        )
    return out


def key_form_schema(cat: Catalog | None = None) -> dict[str, Any]:
    """The schema document."""
    cat = cat or catalog()
    env_or_url = {
        "type": "string",
        "pattern": r"^\s*(\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}|[a-z][a-z0-9+.-]*://.+)\s*$",
        "description": "A data-lake URL (file://, gs://, s3://) or a ${VAR}.",
    }
    stage_word = {
        "type": "string",
        "pattern": rf"^\s*({'|'.join(STAGE_WORDS)})\b.*$",
        "description": "filter <condition> | filter > N | select(a, b) | derive(x = …) | limit N",
    }
    processor = {"anyOf": [*component_branches(cat, "processor"), stage_word]}
    sink = {"anyOf": component_branches(cat, "sink")}
    definitions: dict[str, Any] = {
        f"{spec.kind}.{spec.name}": params_schema(spec) for spec in cat.specs
    }
    definitions["processor"] = processor
    definitions["sink"] = sink
    return {
        "$schema": DRAFT,
        "$id": SCHEMA_ID,
        "title": "flowctl pipeline (key form)",
        "description": "source / process / save_to; `flowctl check FILE` checks everything.",
        "type": "object",
        "additionalProperties": False,
        "required": ["source"],
        "properties": {
            "name": {
                "type": "string",
                "pattern": r"^[A-Za-z_][A-Za-z0-9_]*(-[A-Za-z0-9_]+)*$",
                "description": "Pipeline name (default: the file name).",
            },
            "source": {
                "description": "Where ledgers come from.",
                "anyOf": [*component_branches(cat, "source"), env_or_url],
            },
            "process": {
                "description": "Stages in order: processors, filter, select, derive, limit.",
                "anyOf": [
                    {"$ref": "#/definitions/processor"},
                    {"type": "array", "items": {"$ref": "#/definitions/processor"}},
                ],
            },
            "save_to": {
                "description": "One sink, or a list to fan out.",
                "anyOf": [
                    {"$ref": "#/definitions/sink"},
                    {"type": "array", "minItems": 1, "items": {"$ref": "#/definitions/sink"}},
                    env_or_url,
                ],
            },
        },
        "definitions": definitions,
    }
