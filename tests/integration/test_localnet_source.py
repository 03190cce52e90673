"""GenerateLocalnet in a real Beam pipeline on the in-process FnApiRunner."""

from __future__ import annotations

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to

from flowctl_dsl.stellar.localnet import NETWORK_PASSPHRASE, iter_ledgers
from flowctl_dsl.transforms.sources.localnet import GenerateLocalnet

pytestmark = pytest.mark.integration


def _options() -> PipelineOptions:
    return PipelineOptions(runner="FnApiRunner")


def test_counts_the_ledgers() -> None:
    with beam.Pipeline(options=_options()) as p:
        count = p | GenerateLocalnet(ledgers=(2, 21)) | beam.combiners.Count.Globally()
        assert_that(count, equal_to([20]))


def test_emits_the_same_ledgers_as_iter_ledgers() -> None:
    expected = [(r.sequence, r.xdr, r.network_passphrase) for r in iter_ledgers(8, 12, seed=3)]
    assert all(passphrase == NETWORK_PASSPHRASE for _, _, passphrase in expected)
    with beam.Pipeline(options=_options()) as p:
        ledgers = p | GenerateLocalnet(ledgers=(8, 12), seed=3)
        assert_that(
            ledgers | beam.Map(lambda r: (r.sequence, r.xdr, r.network_passphrase)),
            equal_to(expected),
        )


def test_rejects_ledger_one() -> None:
    with pytest.raises(ValueError):
        GenerateLocalnet(ledgers=(1, 5))
