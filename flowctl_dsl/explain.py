"""``flowctl explain``: the plan in words — stages, record types, schemas, guarantees, outputs."""

from __future__ import annotations

from pydantic import SecretStr

from flowctl_dsl import printer
from flowctl_dsl.plan import Plan, Step
from flowctl_dsl.transforms.columnar import expressions
from flowctl_dsl.transforms.columnar.execution import why_not_columnar

SECRET_WORDS = ("password", "secret", "token", "dsn")


def shown(key: str, value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, SecretStr):
        return "****"
    if any(w in key.lower() for w in SECRET_WORDS):
        return "****"
    return str(value)


def describe_step(step: Step) -> str:
    match step.kind:
        case "filter":
            assert step.expr is not None
            return f"filter {printer.expr(step.expr)}"
        case "select":
            return "select " + ", ".join(".".join(f) for f in step.fields or [])
        case "derive":
            return "derive " + ", ".join(
                f"{a.name} = {printer.expr(a.expr)}" for a in step.assignments or []
            )
        case "limit":
            return f"limit {step.count}"
    return step.name


def explain(plan: Plan, runner: str) -> str:
    lines = [
        f"pipeline  {plan.pipeline}",
        f"runner    {runner}",
        f"ir        sha256:{plan.ir_sha256[:16]}",
        "",
    ]
    for n, step in enumerate(plan.steps):
        head = f"{n:>2}. {step.kind:<9} {describe_step(step)}"
        if step.kind != "sink":
            head += f"  →  {step.record_type or '?'}"
        lines.append(head)
        if step.kind in ("source", "sink", "processor"):
            params = ", ".join(
                f"{k}={shown(k, v)}"
                for k, v in step.params.items()
                if v not in (None, False, [], {})
            )
            if params:
                lines.append(f"      params: {params}")
        if step.kind == "sink":
            lines.append(f"      guarantee: {step.guarantee or 'unknown'}")
            where = step.params.get("path") or step.params.get("table") or step.params.get("url")
            lines.append(f"      output: {shown('path', where) if where else 'standard output'}")
        for note in step.notes:
            lines.append(f"      note: {note}")
        if step.kind in ("processor", "select", "derive") and step.columns:
            cols = ", ".join(f"{c.name}:{c.type}" for c in step.columns)
            lines.append(f"      schema: {cols}")
        if step.kind == "processor" and step.key_fields:
            lines.append(f"      key: {', '.join(step.key_fields)}")
    lines.append("")
    lines.extend(reliability(plan))
    lines.extend(execution(plan))
    return "\n".join(lines)


def execution(plan: Plan) -> list[str]:
    """How records travel: Arrow batches (and which steps run vectorised) or one dict each."""
    why = why_not_columnar(plan)
    if why is not None:
        return [f"execution records, one dict per record ({why})"]
    processor = plan.stages[0].name
    out = [f"execution Arrow batches, one RecordBatch per ledger from `{processor}` to the sinks"]
    for step in plan.stages:
        if step.kind == "filter" and step.expr is not None and step.input_schema is not None:
            out.append(f"  {step.id}: {expressions.describe(step.expr, step.input_schema)}")
        if step.kind == "derive" and step.assignments and step.arrow_schema is not None:
            for a, seen, field in expressions.derived_columns(step.assignments, step.arrow_schema):
                shown = expressions.describe(a.expr, seen, field.type)
                out.append(f"  {step.id} {a.name}: {shown}")
    records = [s.name for s in plan.sinks if s.spec is not None and not s.spec.batches]
    if records:
        out.append(f"  records at the edge of: {', '.join(records)}")
    return out


def reliability(plan: Plan) -> list[str]:
    """Dead letters, checkpoint and retry, as the run will use them."""
    out = []
    dl = plan.dead_letter
    if dl is None:
        out.append("on_error  fail fast: the first record a stage cannot handle stops the run")
    else:
        where = dl.params.get("path") or dl.params.get("table") or "standard output"
        ratio = f", fail above {plan.max_error_ratio:.2%} bad" if plan.max_error_ratio else ""
        out.append(f"on_error  dead letters → {dl.name} ({shown('path', where)}){ratio}")
    cp = plan.checkpoint
    if cp is None:
        out.append("checkpoint  default")
    elif not cp.enabled:
        out.append("checkpoint  off")
    else:
        out.append(
            f"checkpoint  {cp.store} {shown(cp.store, cp.location)} every {cp.every} ledgers"
        )
    r = plan.retry
    out.append(
        f"retry     {r.max_attempts} attempts, backoff {r.backoff_seconds:g}s "
        f"(max {r.max_backoff_seconds:g}s) on transient errors"
    )
    return out
