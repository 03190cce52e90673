"""Structured logs: JSON lines (or readable text on a terminal) with the run's context.

Every record carries the run id and pipeline of the active run, the stage and ledger sequence
where known (:func:`bind`), and the trace/span ids of the current OpenTelemetry span. Secrets are
masked in messages and fields: DSN passwords and values of keys naming a password, secret or token.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Literal, TextIO

LogFormat = Literal["json", "text", "auto"]
SECRET_KEYS = ("password", "passwd", "secret", "token", "api_key", "apikey", "credential")
MASK = "****"

_RUN: dict[str, str] = {}  # run_id, pipeline: process-wide while a run is active
_STAGE: ContextVar[str | None] = ContextVar("flowctl_stage", default=None)
_LEDGER: ContextVar[int | None] = ContextVar("flowctl_ledger", default=None)

_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][\w+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@/\s]+)@")
_SECRET_KV = re.compile(
    r"(?P<key>\b[\w.-]*(?:" + "|".join(SECRET_KEYS) + r")[\w.-]*['\"]?)"
    r"(?P<sep>\s*[=:]\s*)(?P<value>'[^']*'|\"[^\"]*\"|[^\s,;&'\"}]+)",
    re.IGNORECASE,
)
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_CONTEXT = ("run_id", "pipeline", "stage", "ledger", "trace_id", "span_id")


def is_secret_key(key: str) -> bool:
    return any(word in key.lower() for word in SECRET_KEYS)


def mask(text: str) -> str:
    """``text`` with DSN passwords and ``password=…``/``token: …`` values replaced by ``****``."""
    text = _URL_USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
    return _SECRET_KV.sub(lambda m: f"{m['key']}{m['sep']}{MASK}", text)


def mask_value(key: str, value: Any) -> Any:
    if is_secret_key(key):
        return MASK
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {k: mask_value(str(k), v) for k, v in value.items()}
    return value


# ---- context ---------------------------------------------------------------------------------
def start_run(run_id: str, pipeline: str) -> None:
    _RUN.update(run_id=run_id, pipeline=pipeline)


def end_run() -> None:
    _RUN.clear()


@contextmanager
def bind(stage: str | None = None, ledger: int | None = None) -> Iterator[None]:
    """Within the block, log records carry ``stage`` and ``ledger``."""
    tokens = (_STAGE.set(stage), _LEDGER.set(ledger))
    try:
        yield
    finally:
        _LEDGER.reset(tokens[1])
        _STAGE.reset(tokens[0])


class ContextFilter(logging.Filter):
    """Adds run/pipeline/stage/ledger/trace fields to each record and masks its message."""

    def filter(self, record: logging.LogRecord) -> bool:
        from flowctl_dsl.observability.tracing import current_ids

        record.run_id = getattr(record, "run_id", None) or _RUN.get("run_id")
        record.pipeline = getattr(record, "pipeline", None) or _RUN.get("pipeline")
        record.stage = getattr(record, "stage", None) or _STAGE.get()
        ledger = getattr(record, "ledger", None)
        record.ledger = ledger if ledger is not None else _LEDGER.get()
        record.trace_id, record.span_id = current_ids()
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not lose the record
            message = str(record.msg)
        record.msg, record.args = mask(message), None
        return True


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {
        k: mask_value(k, v)
        for k, v in vars(record).items()
        if k not in _STANDARD and k not in _CONTEXT and not k.startswith("_")
    }


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, the run context, then any extras."""

    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        out: dict[str, Any] = {
            "ts": f"{ts}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key in _CONTEXT:
            value = getattr(record, key, None)
            if value is not None:
                out[key] = value
        out.update(_extras(record))
        if record.exc_info:
            out["exc"] = mask(self.formatException(record.exc_info))
        return json.dumps(out, default=str)


class TextFormatter(logging.Formatter):
    """``12:00:01 INFO  flowctl.run: message  run=… stage=… ledger=… trace=…``."""

    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%H:%M:%S", time.localtime(record.created))
        ctx = [
            f"{name}={getattr(record, key)}"
            for key, name in (
                ("run_id", "run"),
                ("stage", "stage"),
                ("ledger", "ledger"),
                ("trace_id", "trace"),
            )
            if getattr(record, key, None) is not None
        ]
        ctx += [f"{k}={v}" for k, v in _extras(record).items() if v is not None]
        line = f"{ts} {record.levelname:<5} {record.name}: {record.getMessage()}"
        if ctx:
            line += "  " + " ".join(ctx)
        if record.exc_info:
            line += "\n" + mask(self.formatException(record.exc_info))
        return line


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is now (rich's progress bar redirects it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


_HANDLER: logging.Handler | None = None


def configure(
    level: str = "info", fmt: LogFormat = "auto", stream: TextIO | None = None
) -> logging.Handler:
    """Send log records to stderr (or ``stream``) as JSON or text; ``level`` is flowctl's own.

    Other libraries (Beam) log at WARNING and above. ``auto`` is text on a terminal, else JSON.
    Calling again replaces the handler installed before.
    """
    global _HANDLER
    if fmt == "auto":
        fmt = "text" if (stream or sys.stderr).isatty() else "json"
    handler: logging.Handler = (
        logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    )
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    if _HANDLER is not None:
        root.removeHandler(_HANDLER)
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level < logging.WARNING:
        root.setLevel(logging.WARNING)
    logging.getLogger("flowctl_dsl").setLevel(level.upper())
    _HANDLER = handler
    return handler
