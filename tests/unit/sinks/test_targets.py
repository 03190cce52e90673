"""Identifier and DSN validation, secret masking and sealing, bounded retries."""

from __future__ import annotations

import os
import pickle

import pytest

from flowctl_dsl.catalog.warehouse_sinks import PostgresParams
from flowctl_dsl.transforms.sinks import targets
from flowctl_dsl.transforms.sinks.targets import (
    Dsn,
    Sealed,
    SinkUnreachableError,
    Target,
    check_identifier,
    describe_dsn,
    parse_dsn,
    with_retries,
)

GOOD_IDENTIFIERS = ["payments", "_x", "a1", "from", "Payments_2024", "a" * 63]
BAD_IDENTIFIERS = [
    "x; DROP TABLE y",
    '"a"',
    "1abc",
    "",
    "a-b",
    "a b",
    "ü",
    "a" * 64,
    "t--",
    "a.b",
    "$$",
]


@pytest.mark.parametrize("name", GOOD_IDENTIFIERS)
def test_plain_identifiers_pass(name: str) -> None:
    assert check_identifier(name) == name


@pytest.mark.parametrize("name", BAD_IDENTIFIERS)
def test_other_identifiers_are_rejected(name: str) -> None:
    with pytest.raises(ValueError, match="not a plain identifier"):
        check_identifier(name, "table name")


VALID_DSNS = [
    "postgresql://u:p@h:5432/db",
    "postgres://h/db",
    "postgresql://",
    "postgresql://u:p@h1:1,h2:2/db?sslmode=require",
    "postgresql://[::1]:5432/db",
    "postgresql:///db?host=/tmp",
    "postgresql://u:p%40x@h/d%20b",
    "host=h port=5432 dbname=db user=u password='a b\\'c'",
    "dbname=x",
    "port=5432,5433 host=a,b",
    "host = h   dbname=d",
]


@pytest.mark.parametrize("dsn", VALID_DSNS)
def test_dsn_parsing_agrees_with_libpq(dsn: str) -> None:
    conninfo = pytest.importorskip("psycopg.conninfo")
    libpq = {k: str(v) for k, v in conninfo.conninfo_to_dict(dsn).items()}
    assert parse_dsn(dsn) == libpq


INVALID_DSNS = [
    "",
    "   ",
    "not a dsn",
    "host=h bogus=1",
    "postgresql://u:pw@h:port/db",
    "mysql://u:pw@h/db",
    "host='unterminated password=pw",
    "host=h port=abc password=pw",
    "postgresql://h/db?nope=1",
]


@pytest.mark.parametrize("dsn", INVALID_DSNS)
def test_malformed_dsns_are_rejected_without_echoing_them(dsn: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_dsn(dsn)
    if "pw" in dsn:
        assert "pw" not in str(info.value)


@pytest.mark.parametrize(
    ("dsn", "shown"),
    [
        (
            "postgresql://bob:s3cret@db.example:6543/flow",
            "postgresql://bob:****@db.example:6543/flow",
        ),
        ("host=h user=bob password=s3cret dbname=d", "postgresql://bob:****@h/d"),
        ("postgresql://h/db", "postgresql://h/db"),
        ("garbage s3cret", "postgresql://(malformed connection string)"),
    ],
)
def test_describe_dsn_masks_the_password(dsn: str, shown: str) -> None:
    assert describe_dsn(dsn) == shown


def test_dsn_params_are_masked_in_repr_and_dump() -> None:
    params = PostgresParams.model_validate(
        {"dsn": "postgresql://u:s3cret@h/db", "table": "t"}, strict=True
    )
    assert isinstance(params.dsn, Dsn)
    assert "s3cret" not in repr(params)
    assert "s3cret" not in params.model_dump_json()
    assert params.dsn.get_secret_value() == "postgresql://u:s3cret@h/db"


def test_sealed_secret_pickles_as_a_reference() -> None:
    from apache_beam.internal import pickler

    sealed = Sealed("s3cret-value")
    for blob in (pickle.dumps(sealed), pickler.dumps(sealed)):
        assert b"s3cret-value" not in blob
    assert pickle.loads(pickle.dumps(sealed)).reveal() == "s3cret-value"
    assert pickler.loads(pickler.dumps(sealed)).reveal() == "s3cret-value"
    assert "s3cret" not in repr(sealed)


def test_sealed_secret_is_none_where_it_was_never_given() -> None:
    sealed = Sealed("elsewhere")
    blob = pickle.dumps(sealed)
    del targets._SEALED[sealed.token]
    del os.environ["FLOWCTL_SECRET_" + sealed.token]
    assert pickle.loads(blob).reveal() is None


def test_retries_back_off_then_fail_with_one_masked_line() -> None:
    delays: list[float] = []
    calls = 0

    def fail() -> None:
        nonlocal calls
        calls += 1
        raise ConnectionError("password s3cret rejected\n\tsecond line")

    with pytest.raises(SinkUnreachableError) as info:
        with_retries(
            fail,
            Target("postgres", "postgresql://u:****@h/db"),
            (ConnectionError,),
            sleep=delays.append,
            hide=("s3cret",),
        )
    assert calls == 3
    assert delays == [0.5, 1.0]
    message = str(info.value)
    assert message == (
        "cannot reach postgres target postgresql://u:****@h/db after 3 attempts: "
        "password **** rejected"
    )
    assert "\n" not in message


def test_retries_return_the_first_success() -> None:
    results = iter([ConnectionError("down"), "ok"])

    def flaky() -> str:
        value = next(results)
        if isinstance(value, Exception):
            raise value
        return value

    delays: list[float] = []
    assert with_retries(flaky, Target("x", "y"), (ConnectionError,), sleep=delays.append) == "ok"
    assert delays == [0.5]


def test_other_errors_are_not_retried() -> None:
    with pytest.raises(KeyError):
        with_retries(lambda: {}["k"], Target("x", "y"), (ConnectionError,), sleep=lambda _: None)


def test_runtime_errors_map_sink_failures_to_fc404() -> None:
    from flowctl_dsl.runtime_errors import as_flowctl_error

    err = SinkUnreachableError("postgres", "postgresql://u:****@h/db", "refused", 3)
    try:
        try:
            raise err
        except SinkUnreachableError as inner:
            raise RuntimeError("wrapped by Beam") from inner
    except RuntimeError as outer:
        mapped = as_flowctl_error(outer)
    assert mapped is not None
    assert mapped.diagnostics[0].code == "FC404"
    assert "cannot reach postgres target" in mapped.diagnostics[0].reason
    text = as_flowctl_error(RuntimeError(f"Traceback...\nSinkUnreachableError: {err}"))
    assert text is not None and text.diagnostics[0].code == "FC404"
