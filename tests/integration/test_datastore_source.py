"""ReadDatastore on the real testnet test bucket, run on Beam's in-process FnApiRunner."""

from __future__ import annotations

from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to

from flowctl_dsl.stellar.lake import MissingLedgerError
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
