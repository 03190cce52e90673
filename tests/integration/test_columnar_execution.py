"""Columnar execution end to end: the same pipelines with ``FLOWCTL_EXECUTION=batches`` and
``records`` write identical outputs, and batches really are the Beam elements."""

from __future__ import annotations

import json
from pathlib import Path

import apache_beam as beam
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from flowctl_dsl.cli import main
from flowctl_dsl.compile import build_pipeline
from flowctl_dsl.driver import Input, planned
from flowctl_dsl.explain import explain
from flowctl_dsl.transforms.columnar.coder import RecordBatchCoder
from flowctl_dsl.transforms.columnar.execution import EXECUTION_ENV

pytestmark = pytest.mark.integration

#: Pipelines over generated ledgers, each writing ``{out}``; every stage kind is in one of them.
PIPELINES = {
    "payments_filter_select_derive": (
        "localnet(ledgers=2..61) | payments"
        " | filter amount > 100 and successful"
        " | select ledger_sequence, transaction_index, operation_index, from, to, amount, closed_at"
        " | derive doubled = amount * 2, large = amount > 500"
        ' | jsonl("{out}")'
    ),
    "token_transfers_parquet": (
        "localnet(ledgers=2..61) | token_transfers"
        ' | filter asset_code != null or event_type == "fee"'
        ' | parquet("{out}", ledgers_per_file=16)'
    ),
    "ledgers_division_limit": (
        "localnet(ledgers=2..41) | ledgers"
        " | derive per_tx = fee_pool / transaction_count, next = sequence + 1"
        ' | limit 7 | jsonl("{out}")'
    ),
    "transactions_duckdb": (
        "localnet(ledgers=2..41) | transactions"
        " | filter not successful or fee_charged >= 200"
        ' | duckdb("{out}", table=txs)'
    ),
    "operations_in_list_gzip": (
        "localnet(ledgers=2..41) | operations"
        ' | filter type in ["payment", "create_account"] and closed_at >= "2020-01-01T00:00:00Z"'
        ' | jsonl("{out}", gzip=true)'
    ),
}


def output_of(path: Path) -> object:
    """What a sink wrote, in a comparable form."""
    if path.is_dir():
        return {str(f.relative_to(path)): pq.read_table(f) for f in sorted(path.rglob("*.parquet"))}
    if path.suffix == ".duckdb":
        with duckdb.connect(str(path), read_only=True) as db:
            return db.execute("select * from txs order by all").fetchall()
    return path.read_bytes()


def run(text: str, out: Path, mode: str, monkeypatch: pytest.MonkeyPatch) -> object:
    monkeypatch.setenv(EXECUTION_ENV, mode)
    assert main(["run", "-q", "-e", text.format(out=out)]) == 0
    return output_of(out)


@pytest.mark.parametrize("name", sorted(PIPELINES))
def test_batches_and_records_write_the_same(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    suffix = {"token_transfers_parquet": "", "transactions_duckdb": ".duckdb"}.get(name, ".jsonl")
    text = PIPELINES[name]
    records = run(text, tmp_path / f"records{suffix}", "records", monkeypatch)
    batches = run(text, tmp_path / f"batches{suffix}", "batches", monkeypatch)
    assert records, "the pipeline wrote nothing: the comparison would prove nothing"
    if isinstance(records, dict):
        assert isinstance(batches, dict) and records.keys() == batches.keys()
        for file, table in records.items():
            assert batches[file].equals(table), file
    else:
        assert batches == records


def test_real_testnet_lake_token_transfers(
    stellar_fixtures: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = stellar_fixtures / "testnet" / "datalake-testbucket"
    text = (
        f'datastore("{lake}", network=testnet, ledgers=997..999) | token_transfers'
        ' | filter amount >= 1 | derive fee_xlm = amount / 10 | jsonl("{out}")'
    )
    records = run(text, tmp_path / "r.jsonl", "records", monkeypatch)
    batches = run(text, tmp_path / "b.jsonl", "batches", monkeypatch)
    assert isinstance(records, bytes) and records.count(b"\n") > 0
    assert batches == records
    rows = [json.loads(line) for line in records.decode().splitlines()]
    assert all(float(r["amount"]) >= 1 for r in rows)


def element_types(pipeline: beam.Pipeline) -> dict[str, object]:
    """Each top-level transform's label → the element type of its last leaf's output."""
    types: dict[str, object] = {}

    class Visitor(beam.pipeline.PipelineVisitor):  # type: ignore[misc]
        def visit_transform(self, node: beam.pipeline.AppliedPTransform) -> None:
            for pcoll in node.outputs.values():
                types[node.full_label.split("/")[0]] = pcoll.element_type

    pipeline.visit(Visitor())
    return types


def test_elements_are_record_batches_from_processor_to_sink(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(EXECUTION_ENV, "batches")
    plan = planned(
        Input.inline(
            "localnet(ledgers=2..5) | payments | filter amount > 1 | derive x = amount + 1"
            f' | parquet("{tmp_path}/p")'
        )
    )
    pipeline = build_pipeline(plan, PipelineOptions())
    types = element_types(pipeline)
    stages = ("01_payments", "02_filter", "03_derive")
    assert all(types[label] is pa.RecordBatch for label in stages), types
    assert isinstance(beam.coders.registry.get_coder(pa.RecordBatch), RecordBatchCoder)


def test_record_batch_coder_round_trips() -> None:
    schema = pa.schema([("a", pa.int64()), ("d", pa.decimal128(38, 7)), ("s", pa.string())])
    batch = pa.RecordBatch.from_pylist([{"a": 1, "d": None, "s": "x"}], schema=schema)
    coder = RecordBatchCoder()
    assert coder.decode(coder.encode(batch)).equals(batch)
    empty = batch.slice(0, 0)
    assert coder.decode(coder.encode(empty)).schema.equals(schema)


def test_explain_names_the_execution(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "localnet(ledgers=2..5) | payments | filter amount > 1000 | stdout"
    monkeypatch.setenv(EXECUTION_ENV, "batches")
    shown = explain(planned(Input.inline(text)), "direct")
    assert "execution Arrow batches, one RecordBatch per ledger from `payments`" in shown
    assert "row by row" not in shown
    derived = explain(
        planned(
            Input.inline(
                text.replace("| stdout", "| derive x = amount * 2, y = amount / 3 | stdout")
            )
        ),
        "direct",
    )
    assert (
        "03_derive x: cast(cast(cast(multiply_checked(cast(amount, decimal256(38, 7)), 2)"
        in derived
    )
    assert "allow_" not in derived  # cast options are left out
    assert "03_derive y: row by row: division" in derived
    monkeypatch.setenv(EXECUTION_ENV, "records")
    shown = explain(planned(Input.inline(text)), "direct")
    assert "execution records, one dict per record (FLOWCTL_EXECUTION=records)" in shown


def test_unknown_execution_mode_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(EXECUTION_ENV, "batchs")
    assert main(["check", "-e", "localnet | payments | stdout"]) == 1
    err = capsys.readouterr().err
    assert "FC504" in err and "did you mean `batches`?" in err and "Traceback" not in err


def test_per_ledger_batches_are_coalesced_for_the_stages_after_the_processor() -> None:
    from apache_beam.testing.util import assert_that, equal_to

    from flowctl_dsl.transforms.columnar.relational import Coalesce

    schema = pa.schema([("ledger_sequence", pa.int64())])
    ledgers = [
        pa.RecordBatch.from_pylist([{"ledger_sequence": n}] * 3, schema=schema) for n in range(10)
    ]
    with beam.Pipeline(runner="DirectRunner") as p:
        out = p | beam.Create(ledgers) | Coalesce(rows=7) | beam.Map(lambda b: b.num_rows)
        # one bundle: a batch goes out at 9 rows (≥ 7) three times; 3 rows at the bundle's end
        assert_that(out, equal_to([9, 9, 9, 3]))
