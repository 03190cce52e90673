"""Semantics of compiled conditions and derived values (plain functions, no Beam)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pyarrow as pa
import pytest

from flowctl_dsl.catalog import catalog
from flowctl_dsl.lower import lower
from flowctl_dsl.parse import parse
from flowctl_dsl.transforms.expressions import Compiler, compile_predicate
from flowctl_dsl.transforms.records import sort_key, to_json
from flowctl_dsl.transforms.relational import project

SCHEMA = pa.schema(
    [
        ("amount", pa.decimal128(38, 7)),
        ("n", pa.int64()),
        ("code", pa.string()),
        ("ok", pa.bool_()),
        ("at", pa.timestamp("s", tz="UTC")),
        ("inner", pa.struct([("x", pa.int64())])),
    ]
)
ROW = {
    "amount": Decimal("150.5000000"),
    "n": 7,
    "code": "USDC",
    "ok": True,
    "at": datetime(2024, 9, 2, 10, 50, 19, tzinfo=UTC),
    "inner": {"x": 3},
}


def cond(text: str):  # type: ignore[no-untyped-def]
    p = lower(parse(f"a | filter {text} | stdout"), catalog(), {})
    return compile_predicate(p.stages[0].expr, SCHEMA)  # type: ignore[union-attr]


def value(text: str, row: dict = ROW):  # type: ignore[no-untyped-def,type-arg]
    p = lower(parse(f"a | derive v = {text} | stdout"), catalog(), {})
    return Compiler(SCHEMA).compile(p.stages[0].assignments[0].expr)(row)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("amount > 100", True),
        ("amount > 150.5", False),
        ("amount >= 150.5", True),
        ('code == "USDC" and ok', True),
        ('code in ["EURC", "USDC"]', True),
        ('code not in ["EURC", "USDC"]', False),
        ("not ok or n == 7", True),
        ('at >= "2024-09-02T00:00:00Z"', True),
        ('at < "2024-09-02T10:50:19Z"', False),
        ("inner.x == 3", True),
        ("missing > 1", False),
        ("missing == null", True),
        ("n * 2 + 1 == 15", True),
        ("-n < 0", True),
    ],
)
def test_conditions(text: str, expected: bool) -> None:
    assert cond(text)(ROW) is expected


def test_arithmetic_is_exact_and_null_safe() -> None:
    assert value("amount * 2") == Decimal("301.0000000")
    assert value("n / 2") == Decimal("3.5")
    assert value("n / 0") is None
    assert value("missing + 1") is None
    assert value("n - 10") == -3
    assert value("-amount") == Decimal("-150.5000000")


def test_projection_and_json_encoding() -> None:
    row = project(ROW, [["amount"], ["inner", "x"]])
    assert row == {"amount": Decimal("150.5000000"), "inner_x": 3}
    assert to_json(ROW) == (
        '{"amount":"150.5000000","n":7,"code":"USDC","ok":true,'
        '"at":"2024-09-02T10:50:19Z","inner":{"x":3}}'
    )
    assert to_json({"b": b"\x00\x01"}) == '{"b":"AAE="}'


def test_sort_key_orders_by_key_then_content() -> None:
    rows = [{"k": 2, "v": "a"}, {"k": None, "v": "b"}, {"k": 1, "v": "c"}, {"k": 1, "v": "a"}]
    ordered = sorted(rows, key=sort_key(("k",)))
    assert [(r["k"], r["v"]) for r in ordered] == [(None, "b"), (1, "a"), (1, "c"), (2, "a")]


def test_runtime_errors_are_classified() -> None:
    from flowctl_dsl.runtime_errors import as_flowctl_error
    from flowctl_dsl.stellar.lake import LakeError, MissingLedgerError

    try:
        try:
            raise MissingLedgerError(995, "/lake")
        except MissingLedgerError as inner:
            raise RuntimeError("beam wrapped it") from inner
    except RuntimeError as outer:
        err = as_flowctl_error(outer)
    assert err is not None and err.diagnostics[0].code == "FC401"
    err = as_flowctl_error(LakeError("bad manifest"))
    assert err is not None and err.diagnostics[0].code == "FC402"
    err = as_flowctl_error(RuntimeError("Traceback ... PermissionError: [Errno 13] denied: 'out'"))
    assert err is not None and err.diagnostics[0].code == "FC403"
    assert as_flowctl_error(RuntimeError("some bug")) is None
