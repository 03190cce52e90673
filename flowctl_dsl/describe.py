"""``flowctl describe NAME``: one catalog entry — parameters, record types, schema, examples."""

from __future__ import annotations

from flowctl_dsl.catalog.spec import Spec


def describe(spec: Spec) -> str:
    lines = [f"{spec.kind} {spec.name}", f"  {spec.summary}"]
    if spec.aliases:
        lines.append(f"  aliases: {', '.join(spec.aliases)}")
    if spec.input_type:
        lines.append(f"  reads: {'any records' if spec.input_type == '*' else spec.input_type}")
    if spec.output_type:
        lines.append(f"  emits: {spec.output_type}")
    if spec.guarantee:
        lines.append(f"  guarantee: {spec.guarantee}")
    fields = spec.params.model_fields
    lines.append("  parameters:" if fields else "  parameters: none")
    for name, field in fields.items():
        default = (
            "required"
            if field.is_required()
            else f"default {spec.defaults.get(name, field.default)!r}"
        )
        positional = " (positional)" if name in spec.positional else ""
        annotation = getattr(field.annotation, "__name__", None) or str(field.annotation).replace(
            "typing.", ""
        )
        lines.append(f"    {name}: {annotation}{positional}, {default}")
        if field.description:
            lines.append(f"        {field.description}")
    if spec.schema is not None:
        lines.append("  schema:")
        for f in spec.schema:
            doc = (f.metadata or {}).get(b"description", b"").decode()
            mark = " (primary)" if f.name == spec.primary_field else ""
            lines.append(f"    {f.name}: {f.type}{mark}{'  — ' + doc if doc else ''}")
    if spec.key_fields:
        lines.append(f"  key: {', '.join(spec.key_fields)}")
    for example in spec.examples:
        lines.append(f"  example: {example}")
    return "\n".join(lines)
