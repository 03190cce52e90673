"""JSON/text log lines carry the run context and never a secret."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from flowctl_dsl.observability import logging as obs_logging
from flowctl_dsl.observability import tracing


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("postgresql://flow:hunter2@db:5432/x", "hunter2"),
        ("connect host=db password=hunter2 dbname=x", "hunter2"),
        ("token: abc.def.ghi and more", "abc.def.ghi"),
        ("{'client_secret': 's3cr3t'}", "s3cr3t"),
        ('API_KEY="k-123"', "k-123"),
    ],
)
def test_mask_hides_secrets(text: str, secret: str) -> None:
    masked = obs_logging.mask(text)
    assert secret not in masked and "****" in masked


def test_mask_keeps_ordinary_text() -> None:
    text = "read 10 ledgers from file:///lake/x at http://127.0.0.1:9464/metrics"
    assert obs_logging.mask(text) == text


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    out = io.StringIO()
    handler = obs_logging.configure("debug", "json", stream=out)
    yield out
    logging.getLogger().removeHandler(handler)
    obs_logging._HANDLER = None
    logging.getLogger("flowctl_dsl").setLevel(logging.NOTSET)


def lines(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_json_lines_carry_run_stage_ledger_and_trace(captured: io.StringIO) -> None:
    log = logging.getLogger("flowctl_dsl.test")
    obs_logging.start_run("run123", "pipe")
    tracing.start("pipe", "run123")
    try:
        with obs_logging.bind(stage="payments", ledger=42):
            with tracing.span("flowctl.stage", stage="payments", ledger=42):
                log.info("decoded %d ops", 3, extra={"dsn": "postgresql://u:pw@h/db"})
        log.warning("outside a stage", extra={"password": "pw", "count": 2})
        run_trace = tracing.current_ids()[0]
    finally:
        tracing.stop()
        obs_logging.end_run()
    first, second = lines(captured)
    assert first["msg"] == "decoded 3 ops"
    assert (first["run_id"], first["pipeline"], first["stage"], first["ledger"]) == (
        "run123",
        "pipe",
        "payments",
        42,
    )
    assert first["dsn"] == "postgresql://u:****@h/db"
    assert first["trace_id"] == second["trace_id"] == run_trace
    assert first["span_id"] != second["span_id"]  # the stage span, then the run span
    assert "stage" not in second and second["password"] == "****" and second["count"] == 2
    assert "pw" not in captured.getvalue().replace("password", "")


def test_secrets_in_messages_and_exceptions_are_masked(captured: io.StringIO) -> None:
    log = logging.getLogger("flowctl_dsl.test")
    try:
        raise ConnectionError("could not connect to postgresql://u:topsecret@h/db")
    except ConnectionError:
        log.exception("sink failed with dsn=%s", "host=h password=topsecret")
    assert "topsecret" not in captured.getvalue()
    [line] = lines(captured)
    assert line["level"] == "error" and "exc" in line


def test_text_format_and_levels() -> None:
    out = io.StringIO()
    handler = obs_logging.configure("warning", "text", stream=out)
    try:
        log = logging.getLogger("flowctl_dsl.test")
        log.info("hidden")
        with obs_logging.bind(stage="trades", ledger=7):
            log.warning("shown %s", "token=abc")
    finally:
        logging.getLogger().removeHandler(handler)
        obs_logging._HANDLER = None
        logging.getLogger("flowctl_dsl").setLevel(logging.NOTSET)
    text = out.getvalue()
    assert "hidden" not in text
    assert "WARNING flowctl_dsl.test: shown token=****" in text
    assert "stage=trades ledger=7" in text


def test_auto_format_is_json_off_a_terminal() -> None:
    out = io.StringIO()
    handler = obs_logging.configure("info", "auto", stream=out)
    try:
        logging.getLogger("flowctl_dsl.test").info("x")
    finally:
        logging.getLogger().removeHandler(handler)
        obs_logging._HANDLER = None
        logging.getLogger("flowctl_dsl").setLevel(logging.NOTSET)
    assert json.loads(out.getvalue())["msg"] == "x"
