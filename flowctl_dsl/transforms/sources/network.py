"""Builders for the catalog's sources: a data lake by URL, a named network, or localnet.

The lake builders live in :mod:`flowctl_dsl.transforms.sources.remote` (local and remote lakes,
time ranges, following the tip); they are re-exported here for older import paths.
"""

from __future__ import annotations

import apache_beam as beam

from flowctl_dsl.catalog.sources import LocalnetParams
from flowctl_dsl.transforms.context import BuildContext
from flowctl_dsl.transforms.sources.remote import build_datastore, build_network_source

__all__ = ["build_datastore", "build_localnet", "build_network_source"]


def build_localnet(params: LocalnetParams, ctx: BuildContext) -> beam.PTransform:
    # reliability: a GenerateLocalnet that continues across a run's segments and stops on a signal
    from flowctl_dsl.transforms.reliability.sources import ResumableLocalnet

    end = params.ledgers.end
    if end is None:
        raise ValueError("localnet needs a closed range, e.g. ledgers=2..101")
    return ResumableLocalnet(
        (params.ledgers.start, end), seed=params.seed, txs_per_ledger=params.txs_per_ledger
    )
