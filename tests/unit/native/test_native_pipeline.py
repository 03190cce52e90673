"""The processor DoFn uses a spec's native implementation when enabled and falls back to the
reference, with the same records either way; the batch-emitting path yields RecordBatches."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pytest
from apache_beam.testing.util import assert_that, equal_to

from flowctl_dsl.catalog import catalog
from flowctl_dsl.catalog.spec import Spec
from flowctl_dsl.stellar import native
from flowctl_dsl.stellar.localnet import iter_ledgers
from flowctl_dsl.stellar.raw import RawLedger
from flowctl_dsl.transforms.processors import base

needs_native = pytest.mark.skipif(not native.available(), reason="flowctl_native is not built")
ACCELERATED = ("ledgers", "latest_ledger", "token_transfers")


def spec_of(name: str) -> Spec:
    spec = catalog().get("processor", name)
    assert spec is not None
    return spec


@pytest.fixture(scope="module")
def raws() -> list[RawLedger]:
    return list(iter_ledgers(2, 13, seed=3))


def run_dofn(dofn: beam.DoFn, raws: list[RawLedger]) -> list[Any]:
    dofn.setup()
    return [out for raw in raws for out in dofn.process(raw)]


@pytest.mark.parametrize("name", ACCELERATED)
def test_native_and_python_modes_give_the_same_records(
    name: str, raws: list[RawLedger], monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = spec_of(name)
    params = spec.params()
    monkeypatch.setenv(native.DECODER_ENV, "python")
    python_dofn = base.ProcessLedgers(spec, params)
    reference = run_dofn(python_dofn, raws)
    assert python_dofn.native_fn is None
    monkeypatch.setenv(native.DECODER_ENV, "auto")
    auto_dofn = base.ProcessLedgers(spec, params)
    got = run_dofn(auto_dofn, raws)
    assert (auto_dofn.native_fn is not None) == native.available()
    assert len(got) > 0
    assert [{k: (type(v), v) for k, v in r.items()} for r in got] == [
        {k: (type(v), v) for k, v in r.items()} for r in reference
    ]


def test_specs_without_native_impl_stay_on_the_reference(raws: list[RawLedger]) -> None:
    dofn = base.ProcessLedgers(spec_of("payments"), spec_of("payments").params())
    dofn.setup()
    assert dofn.native_fn is None


def test_unsupported_ledgers_go_to_the_reference(raws: list[RawLedger]) -> None:
    spec = spec_of("latest_ledger")

    def unsupported(xdrs: Sequence[bytes], passphrase: str, params: Any) -> pa.RecordBatch:
        raise NotImplementedError("not here")

    dofn = base.ProcessLedgers(spec, spec.params())
    dofn.setup()
    dofn.native_fn = unsupported
    python = base.ProcessLedgers(spec, spec.params())
    python.setup()
    python.native_fn = None
    expected = [r for raw in raws for r in python.process(raw)]
    assert [r for raw in raws for r in dofn.process(raw)] == expected


@needs_native
def test_native_errors_surface_as_the_reference_error(raws: list[RawLedger]) -> None:
    spec = spec_of("ledgers")
    wrong = raws[3]._replace(network_passphrase="not this network")
    native_dofn = base.ProcessLedgers(spec, spec.params())
    native_dofn.setup()
    python_dofn = base.ProcessLedgers(spec, spec.params())
    python_dofn.setup()
    python_dofn.native_fn = None
    with pytest.raises(Exception) as from_native:
        list(native_dofn.process(wrong))
    with pytest.raises(Exception) as from_python:
        list(python_dofn.process(wrong))
    assert type(from_native.value) is type(from_python.value)
    assert str(from_native.value) == str(from_python.value)


@pytest.mark.parametrize("decoder", ["python", "auto"])
def test_batch_path_emits_record_batches_of_the_schema(
    decoder: str, raws: list[RawLedger], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(native.DECODER_ENV, decoder)
    spec = spec_of("token_transfers")
    batches = run_dofn(base.ProcessLedgers(spec, spec.params(), batches=True), raws)
    assert 0 < len(batches) <= len(raws)  # none for a ledger without transfers
    assert all(b.num_rows for b in batches)
    assert all(b.schema.equals(spec.schema, check_metadata=True) for b in batches)
    records = run_dofn(base.ProcessLedgers(spec, spec.params()), raws)
    assert pa.Table.from_batches(batches).to_pylist() == records


def test_beam_pipeline_with_the_native_path(raws: list[RawLedger]) -> None:
    spec = spec_of("latest_ledger")
    python = base.ProcessLedgers(spec, spec.params())
    python.setup()
    python.native_fn = None
    expected = [r for raw in raws for r in python.process(raw)]
    with beam.Pipeline(runner="DirectRunner") as p:
        out = p | beam.Create(raws) | base.build(spec, spec.params())
        assert_that(out, equal_to(expected))
