"""Pass: pipeline settings — ``on_error``, ``checkpoint``, ``retry`` (FC212–FC214).

``on_error: dead_letter(<sink>, max_error_ratio=…)`` names a sink from the catalog that receives
dead-letter records; ``checkpoint`` is a store (``file(path)``, ``postgres(dsn)``, a ``gs://`` /
``s3://`` URL) or ``{store: …, every: N}`` or ``false``; ``retry`` is
``{max_attempts: N, backoff: seconds, max_backoff: seconds}``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import SecretStr, ValidationError

from flowctl_dsl import ir
from flowctl_dsl.catalog.dead_letter import DEAD_LETTER_KEY, DEAD_LETTER_SCHEMA, DEAD_LETTER_TYPE
from flowctl_dsl.catalog.settings import CheckpointConfig, DeadLetterOptions, RetryConfig
from flowctl_dsl.checks import bind
from flowctl_dsl.checks.context import Context, StageInfo
from flowctl_dsl.config import secrets
from flowctl_dsl.errors import Span, suggestion_hints


def run(ctx: Context) -> None:
    settings = ctx.pipeline.settings
    if "on_error" in settings:
        dead_letter(ctx, settings["on_error"])
    if "checkpoint" in settings:
        ctx.checkpoint = checkpoint(ctx, settings["checkpoint"])
    if "retry" in settings and (config := retry(ctx, settings["retry"])) is not None:
        ctx.retry = config


def _span(v: ir.Value) -> Span | None:
    return v.span


def dead_letter(ctx: Context, v: ir.Value) -> None:
    example = 'on_error: dead_letter(jsonl("dlq/errors.jsonl"))'
    if not isinstance(v, ir.CallV) or v.name != "dead_letter":
        hints = [f"e.g. {example}"]
        if isinstance(v, ir.CallV):
            hints = suggestion_hints(v.name, ["dead_letter"], "forms") + hints
        ctx.error("FC212", "`on_error` takes dead_letter(<sink>)", _span(v), hints)
        return
    targets = [a for a in v.args if a.name is None]
    options = {a.name: a for a in v.args if a.name is not None}
    if len(targets) != 1 or not isinstance(targets[0].value, ir.CallV | ir.NameV):
        ctx.error("FC212", "dead_letter(…) takes one sink", _span(v), [f"e.g. {example}"])
        return
    target = targets[0].value
    name = target.value if isinstance(target, ir.NameV) else target.name
    args = target.args if isinstance(target, ir.CallV) else []
    sink = ir.Sink(name=name, args=args, span=target.span, name_span=target.span)
    spec = ctx.catalog.get("sink", name)
    if spec is None:
        ctx.error(
            "FC103",
            f"unknown sink `{name}` for dead letters",
            target.span,
            suggestion_hints(name, ctx.catalog.names("sink"), "sinks"),
        )
        return
    params = bind.bind(ctx, sink, spec)
    try:
        opts = DeadLetterOptions.model_validate(
            {k: bind.python_value(a.value) for k, a in options.items()}, strict=False
        )
    except ValidationError as err:
        first = err.errors()[0]
        where = options.get(str(first["loc"][0])) if first["loc"] else None
        ctx.error(
            "FC212",
            f"dead_letter: {first['msg'].removeprefix('Value error, ')}",
            where.span if where else _span(v),
            ["dead_letter(<sink>, max_error_ratio=0.01) fails the run above 1% bad records"],
        )
        return
    if params is None:
        return
    main_targets = {_target(ctx.params.get(id(s))) for s in ctx.pipeline.sinks} - {None}
    if _target(params) in main_targets:
        ctx.error(
            "FC212",
            "dead letters would be written over the pipeline's own output",
            target.span,
            ["give the dead-letter sink its own path or table"],
        )
    ctx.dead_letter = StageInfo(
        f"dead_letter_{spec.name}",
        DEAD_LETTER_TYPE,
        DEAD_LETTER_SCHEMA,
        spec=spec,
        params=params,
        key_fields=DEAD_LETTER_KEY,
    )
    ctx.max_error_ratio = opts.max_error_ratio


def _target(params: Any) -> str | None:
    for key in ("path", "table"):
        value = getattr(params, key, None)
        if isinstance(value, str):
            return f"{type(params).__name__}:{key}:{value}"
    return None


STORE_HINT = 'checkpoint: file(".flowctl/state"), postgres(dsn), "s3://bucket/state" or {store: …, every: 1000}'


def store(ctx: Context, v: ir.Value) -> dict[str, Any] | None:
    """``{"store": kind, "location": …}`` for a store value, or None after an error."""
    if isinstance(v, ir.StrV):
        for scheme in ("gs", "s3"):
            if v.value.startswith(f"{scheme}://"):
                return {"store": scheme, "location": v.value}
        return {"store": "file", "location": v.value.removeprefix("file://")}
    if isinstance(v, ir.CallV) and v.name in ("file", "postgres") and len(v.args) == 1:
        arg = v.args[0].value
        if v.name == "postgres" and secrets.is_secret(arg):
            assert isinstance(arg, ir.CallV)
            try:
                return {
                    "store": "postgres",
                    "location": secrets.bind(arg, SecretStr, "dsn", "checkpoint"),
                }
            except secrets.SecretError as err:
                ctx.error(err.code, err.reason, arg.span, list(err.hints))
                return None
        if isinstance(arg, ir.StrV):
            location: Any = SecretStr(arg.value) if v.name == "postgres" else arg.value
            return {"store": v.name, "location": location}
    ctx.error("FC213", "`checkpoint` needs a store", _span(v), [STORE_HINT])
    return None


def checkpoint(ctx: Context, v: ir.Value) -> CheckpointConfig | None:
    data: dict[str, Any] = {}
    if isinstance(v, ir.BoolV):
        return CheckpointConfig(enabled=v.value)
    if isinstance(v, ir.MapV):
        for key, item in v.items.items():
            if key == "store":
                found = store(ctx, item)
                if found is None:
                    return None
                data.update(found)
            elif key in ("every", "enabled"):
                data[key] = bind.python_value(item)
            else:
                ctx.error(
                    "FC213",
                    f"`checkpoint` has no setting `{key}`",
                    item.span or _span(v),
                    suggestion_hints(key, ["store", "every", "enabled"], "settings"),
                )
                return None
    else:
        found = store(ctx, v)
        if found is None:
            return None
        data.update(found)
    try:
        return CheckpointConfig.model_validate(data, strict=True)
    except ValidationError as err:
        first = err.errors()[0]
        ctx.error("FC213", f"checkpoint: {first['msg']}", _span(v), [STORE_HINT])
        return None


RETRY_KEYS = {
    "max_attempts": "max_attempts",
    "backoff": "backoff_seconds",
    "max_backoff": "max_backoff_seconds",
}


def retry(ctx: Context, v: ir.Value) -> RetryConfig | None:
    hint = "retry: {max_attempts: 5, backoff: 1.0, max_backoff: 60}"
    if not isinstance(v, ir.MapV):
        ctx.error("FC214", "`retry` takes a mapping", _span(v), [hint])
        return None
    data: dict[str, Any] = {}
    for key, item in v.items.items():
        if key not in RETRY_KEYS:
            ctx.error(
                "FC214",
                f"`retry` has no setting `{key}`",
                item.span or _span(v),
                suggestion_hints(key, RETRY_KEYS, "settings"),
            )
            return None
        value = bind.python_value(item)
        if (
            key != "max_attempts"
            and isinstance(value, int | float | Decimal)
            and not isinstance(value, bool)
        ):
            value = float(value)
        data[RETRY_KEYS[key]] = value
    try:
        return RetryConfig.model_validate(data, strict=True)
    except ValidationError as err:
        first = err.errors()[0]
        ctx.error("FC214", f"retry: {first['loc'][0]}: {first['msg']}", _span(v), [hint])
        return None
