"""ReadDatastore on the real testnet test bucket, run on Beam's in-process FnApiRunner."""

from __future__ import annotations

from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to

from flowctl_dsl.stellar.formats import read_ledger_file
from flowctl_dsl.stellar.lake import LakeSchema, MissingLedgerError, write_manifest, write_object
from flowctl_dsl.transforms.sources import ReadDatastore

pytestmark = pytest.mark.integration

TESTNET = "Test SDF Network ; September 2015"


def _options() -> PipelineOptions:
    return PipelineOptions(runner="FnApiRunner")


def test_reads_exactly_the_test_bucket(stellar_fixtures: Path) -> None:
    lake = stellar_fixtures / "testnet" / "datalake-testbucket"
    with beam.Pipeline(options=_options()) as p:
        ledgers = p | ReadDatastore(lake.as_uri(), ledgers=(997, None))
        assert_that(
            ledgers | beam.Map(lambda r: (r.sequence, r.network_passphrase, len(r.xdr) > 0)),
            equal_to([(997, TESTNET, True), (998, TESTNET, True), (999, TESTNET, True)]),
        )


def test_missing_ledgers_fail_at_construction(stellar_fixtures: Path) -> None:
    lake = stellar_fixtures / "testnet" / "datalake-testbucket"
    with pytest.raises(MissingLedgerError) as info:
        ReadDatastore(str(lake), ledgers=(995, 999)).plan()
    assert info.value.sequence == 995


def test_partitioned_lake_and_empty_lake(tmp_path: Path, stellar_fixtures: Path) -> None:
    schema = LakeSchema(ledgers_per_file=2, files_per_partition=4)
    ledgers = read_ledger_file(
        stellar_fixtures / "standalone" / "rpc-load-test-ledgers-v25.xdr.zstd"
    )[:6]
    lake = tmp_path / "lake"
    write_manifest(lake, "Standalone Network ; February 2017", schema)
    for i in range(0, 6, 2):
        pair = ledgers[i : i + 2]
        write_object(lake, schema, [b.xdr for b in pair], pair[0].sequence, pair[1].sequence)
    empty = tmp_path / "empty"
    write_manifest(empty, "Standalone Network ; February 2017", schema)
    with beam.Pipeline(options=_options()) as p:
        got = p | "lake" >> ReadDatastore(str(lake), ledgers=(10049, 10052))
        assert_that(
            got | beam.Map(lambda r: r.sequence),
            equal_to([10049, 10050, 10051, 10052]),
            label="range",
        )
        nothing = p | "empty" >> ReadDatastore(str(empty))
        assert_that(nothing, equal_to([]), label="empty")
