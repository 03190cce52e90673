"""Records survive the trip through a batch: ``to_records(from_records(rs, schema)) == rs``.

Columnar execution carries each processor's records as one ``pyarrow.RecordBatch`` per ledger
(:func:`flowctl_dsl.transforms.columnar.rows.from_records`) and turns them back into records at
record-at-a-time edges (:func:`~flowctl_dsl.transforms.columnar.rows.to_records`). That is only
invisible if nothing is lost on the way. ``RecordBatch.from_pylist`` drops keys the schema does
not name and coerces values to the column types, so a processor whose records disagree with its
declared schema would silently change a pipeline's output. Checked here:

* every processor of the catalog (read from the catalog, so a new one is covered), with its
  default parameters and each variant that changes one boolean or choice parameter, on every
  fixture ledger (mainnet protocols 2–22, testnet, the p22–p25 load-test ledgers, whose big
  generated ledgers are sampled) and on generated localnet ledgers: each record has exactly the
  schema's columns, in order, and comes back with the same keys in the same order and the same
  Python values *and types* (``int`` vs ``Decimal``, ``Decimal`` exponent, ``datetime`` time zone,
  ``-0.0``, nested lists, ``None``);
* the same on synthetic records (hypothesis) of every column type the schemas use, nulls included.
"""

from __future__ import annotations

import math
import typing
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stellar_fixture_files import XDR_LEDGER_FILES, Ledger

from flowctl_dsl.catalog import catalog
from flowctl_dsl.catalog.spec import Params, Spec
from flowctl_dsl.stellar.formats import read_ledger_file
from flowctl_dsl.stellar.localnet import iter_ledgers
from flowctl_dsl.transforms.columnar.rows import from_records, to_records

Record = dict[str, Any]

FIXTURE_FILES = XDR_LEDGER_FILES  # PROVENANCE.md
#: Load-test files whose big ledgers (1.2–1.9 MB of near-identical generated Soroban traffic)
#: would dominate the runtime: this many of their ledgers, evenly spaced (first and last kept).
SAMPLED = {
    "standalone/galexie-load-test-ledgers-v23-standalone.xdr.zstd": 2,
    "standalone/horizon-load-test-ledgers-v22.xdr.zstd": 1,
    "standalone/horizon-load-test-ledgers-v23.xdr.zstd": 2,
    "standalone/rpc-load-test-ledgers-v25.xdr.zstd": 2,
}
#: Generated ledgers: these localnet seeds, ledgers 2..LOCALNET_END (bootstrap, DEX, Soroban).
LOCALNET_SEEDS = (0, 7)
LOCALNET_END = 41

PROCESSORS = [s for s in catalog().of_kind("processor") if s.schema is not None]


# --- comparing values with their types --------------------------------------------------------


def same(a: Any, b: Any) -> bool:
    """``a == b`` with the same Python types all the way down: ``5 != Decimal(5)``,
    ``Decimal("1.5") != Decimal("1.5000000")``, a UTC ``datetime`` differs from one in another
    ``tzinfo``, ``0.0 != -0.0`` and ``nan`` equals ``nan``; dicts also keep their key order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    if isinstance(a, Decimal):
        return a.as_tuple() == b.as_tuple()
    if isinstance(a, datetime):
        return a == b and a.tzinfo == b.tzinfo
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return bool(a == b)


def show(value: Any) -> str:
    tz = f", tzinfo={value.tzinfo!r}" if isinstance(value, datetime) else ""
    return f"{value!r} ({type(value).__name__}{tz})"


def roundtrip_mismatches(records: list[Record], schema: pa.Schema, where: str) -> list[str]:
    """What ``to_records(from_records(records, schema))`` changes, one line per difference."""
    out: list[str] = []
    for i, record in enumerate(records):
        if list(record) != schema.names:
            missing = [n for n in schema.names if n not in record]
            extra = [k for k in record if k not in schema.names]
            if missing or extra:
                why = f"missing {missing}, not in the schema (dropped by from_records) {extra}"
            else:
                why = f"same names in another order {list(record)} (schema: {schema.names})"
            out.append(f"{where} record {i}: keys differ from the schema: {why}")
    batch = from_records(records, schema)
    assert batch.schema.equals(schema, check_metadata=True), where
    back = to_records(batch)
    if len(back) != len(records):
        return [*out, f"{where}: {len(records)} records in, {len(back)} out"]
    for i, (record, got) in enumerate(zip(records, back, strict=True)):
        if list(got) != schema.names:
            out.append(f"{where} record {i}: to_records keys {list(got)} != {schema.names}")
        for name in schema.names:
            want = record.get(name, "<missing>")
            if not same(want, got.get(name, "<missing>")):
                out.append(
                    f"{where} record {i} field {name!r} ({schema.field(name).type}): "
                    f"{show(want)} came back as {show(got.get(name, '<missing>'))}"
                )
    return out


def assert_roundtrip(records: list[Record], schema: pa.Schema, where: str) -> None:
    problems = roundtrip_mismatches(records, schema, where)
    if problems:
        more = f"\n… and {len(problems) - 10} more" if len(problems) > 10 else ""
        pytest.fail("\n".join(problems[:10]) + more)


# --- the ledgers --------------------------------------------------------------------------------


def _sample(items: list[Any], n: int) -> list[Any]:
    if len(items) <= n:
        return items
    if n == 1:
        return items[-1:]
    step = (len(items) - 1) / (n - 1)
    return [items[round(k * step)] for k in range(n)]


@pytest.fixture(scope="module")
def ledgers(stellar_fixtures: Path) -> list[Ledger]:
    """The fixture ledgers (sampled where :data:`SAMPLED` says) and the localnet ones."""
    out: list[Ledger] = []
    for name, passphrase in FIXTURE_FILES.items():
        raws = read_ledger_file(stellar_fixtures / name)
        for raw in _sample(raws, SAMPLED.get(name, len(raws))):
            out.append(Ledger(f"{name}#{raw.sequence}", raw.xdr, passphrase))
    for seed in LOCALNET_SEEDS:
        for raw in iter_ledgers(2, LOCALNET_END, seed=seed):
            out.append(
                Ledger(f"localnet seed {seed} #{raw.sequence}", raw.xdr, raw.network_passphrase)
            )
    return out


# --- parameter variants -------------------------------------------------------------------------


def variants(params: type[Params]) -> list[Params]:
    """The defaults, then one variant per other value of each boolean or ``Literal`` parameter
    (the options that change which records, or which values, a processor emits; filters on
    free-form values only drop records)."""
    default = params()
    out = [default]
    for name, info in params.model_fields.items():
        current = getattr(default, name)
        if info.annotation is bool:
            choices: tuple[Any, ...] = (not current,)
        elif typing.get_origin(info.annotation) is typing.Literal:
            choices = tuple(v for v in typing.get_args(info.annotation) if v != current)
        else:
            continue
        out.extend(params(**{name: value}) for value in choices)
    return out


def test_variants_cover_the_token_transfer_options() -> None:
    spec = catalog().get("processor", "token_transfers")
    assert spec is not None
    changed = {next(iter(p.model_dump(exclude_defaults=True)), "") for p in variants(spec.params)}
    assert {"", "include_fees", "unified_events", "split_soroban_fees", "order"} <= changed


# --- every processor on every ledger ------------------------------------------------------------


def test_every_processor_has_a_schema() -> None:
    assert PROCESSORS and len(PROCESSORS) == len(catalog().of_kind("processor"))


@pytest.mark.parametrize("spec", PROCESSORS, ids=[s.name for s in PROCESSORS])
def test_processor_records_survive_a_batch(spec: Spec, ledgers: list[Ledger]) -> None:
    assert spec.schema is not None
    extract = spec.load()
    rows = 0
    problems: list[str] = []
    for params in variants(spec.params):
        if len(problems) > 10:
            break
        shown = params.model_dump(exclude_defaults=True)
        for ledger in ledgers:
            records = list(extract(ledger.view, params))
            rows += len(records)
            where = f"{spec.name}({shown or ''}) on {ledger.label}"
            problems += roundtrip_mismatches(records, spec.schema, where)
            if len(problems) > 10:
                break
    if problems:
        more = f"\n… and more ({len(problems)} so far)" if len(problems) > 10 else ""
        pytest.fail("\n".join(problems[:10]) + more)
    assert rows > 0, f"{spec.name} emitted no record on any ledger: nothing was checked"


# --- synthetic records (hypothesis) ----------------------------------------------------------------

_DECIMAL_MAX = 10**38 - 1
_SECONDS = (
    int(datetime(1, 1, 1, tzinfo=UTC).timestamp()),
    int(datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp()),
)


def _scaled(raw: int, scale: int) -> Decimal:
    """``raw`` × 10^-scale with exactly ``scale`` places, as the processors build amounts."""
    sign, digits, _ = Decimal(raw).as_tuple()
    return Decimal((sign, digits, -scale))


def value_strategy(kind: pa.DataType) -> st.SearchStrategy[Any] | None:
    """Values of ``kind`` as the reference processors build them; ``None`` for a type this test
    does not know (the catalog check below fails then)."""
    if kind.equals(pa.bool_()):
        return st.booleans()
    if pa.types.is_integer(kind):
        bits = kind.bit_width
        return st.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    if pa.types.is_floating(kind) and kind.bit_width == 64:
        return st.floats(allow_nan=True, allow_infinity=True)
    if pa.types.is_string(kind):
        return st.text(max_size=20)
    if pa.types.is_decimal128(kind) and kind.precision == 38:
        raw = st.integers(-_DECIMAL_MAX, _DECIMAL_MAX) | st.integers(-(2**64), 2**64)
        if kind.scale == 0:
            return raw  # ``int``, never ``Decimal``
        return raw.map(lambda r: _scaled(r, kind.scale))
    if pa.types.is_timestamp(kind) and kind.unit == "s" and kind.tz == "UTC":
        return st.integers(*_SECONDS).map(lambda s: datetime.fromtimestamp(s, UTC))
    if pa.types.is_list(kind):
        item = value_strategy(kind.value_type)
        return None if item is None else st.lists(st.none() | item, max_size=4)
    return None


def _schema_types() -> set[pa.DataType]:
    return {field.type for spec in PROCESSORS for field in spec.schema or ()}


def test_every_schema_column_type_has_a_strategy() -> None:
    unknown = {str(t) for t in _schema_types() if value_strategy(t) is None}
    assert not unknown, f"add these column types to value_strategy: {sorted(unknown)}"


def records_of(schema: pa.Schema, all_nullable: bool = False) -> st.SearchStrategy[list[Record]]:
    columns: dict[str, st.SearchStrategy[Any]] = {}
    for field in schema:
        values = value_strategy(field.type)
        assert values is not None, field
        columns[field.name] = st.none() | values if all_nullable or field.nullable else values
    names = list(columns)
    record = st.tuples(*columns.values()).map(lambda values: dict(zip(names, values, strict=True)))
    return st.lists(record, max_size=8)


@st.composite
def processor_records(draw: st.DrawFn) -> tuple[str, pa.Schema, list[Record]]:
    spec = draw(st.sampled_from(PROCESSORS))
    assert spec.schema is not None
    return spec.name, spec.schema, draw(records_of(spec.schema))


@cache
def _types() -> list[pa.DataType]:
    return sorted(_schema_types() | {pa.list_(pa.string())}, key=str)


@st.composite
def any_records(draw: st.DrawFn) -> tuple[pa.Schema, list[Record]]:
    """Records of a schema of 1–6 columns of the schemas' types, nulls anywhere; the same type
    often repeats so that a column of only nulls, of big and small ints, … comes up."""
    kinds = draw(st.lists(st.sampled_from(_types()), min_size=1, max_size=6))
    schema = pa.schema([pa.field(f"c{i}", kind) for i, kind in enumerate(kinds)])
    return schema, draw(records_of(schema, all_nullable=True))


_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(processor_records())
def test_synthetic_processor_records_survive_a_batch(
    case: tuple[str, pa.Schema, list[Record]],
) -> None:
    name, schema, records = case
    assert_roundtrip(records, schema, f"synthetic {name} records")


@_SETTINGS
@given(any_records())
def test_synthetic_records_of_any_column_types_survive_a_batch(
    case: tuple[pa.Schema, list[Record]],
) -> None:
    schema, records = case
    assert_roundtrip(records, schema, f"synthetic records of {schema.types}")


def test_big_raw_amounts_stay_int_beside_small_ones() -> None:
    """A ``decimal128(38, 0)`` column mixing int64 and wider values comes back as ``int``."""
    schema = pa.schema([pa.field("raw", pa.decimal128(38, 0))])
    records: list[Record] = [
        {"raw": 5},
        {"raw": None},
        {"raw": _DECIMAL_MAX},
        {"raw": -(2**63) - 1},
    ]
    assert_roundtrip(records, schema, "mixed raw amounts")


def test_empty_batch() -> None:
    for spec in PROCESSORS:
        assert spec.schema is not None
        assert to_records(from_records([], spec.schema)) == []
