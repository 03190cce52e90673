"""Builders for the catalog's sources: a data lake by URL, a named network, or localnet."""

from __future__ import annotations

import apache_beam as beam

from flowctl_dsl.catalog.sources import DatastoreParams, LocalnetParams, NetworkSourceParams
from flowctl_dsl.stellar.networks import network
from flowctl_dsl.transforms.context import BuildContext
from flowctl_dsl.transforms.sources.datastore import ReadDatastore


def build_datastore(params: DatastoreParams, ctx: BuildContext) -> beam.PTransform:
    passphrase = params.network_passphrase
    if passphrase is None and params.network is not None:
        passphrase = network(params.network).passphrase
    return ReadDatastore(
        params.url,
        params.ledgers.as_tuple() if params.ledgers else None,
        network_passphrase=passphrase,
        skip_gaps=params.skip_gaps,
    )


def build_network_source(params: NetworkSourceParams, ctx: BuildContext) -> beam.PTransform:
    net = network(ctx.component)
    url = params.url or net.lake_url
    if url is None:
        raise ValueError(f"{net.name} has no public data lake; give url=…")
    return ReadDatastore(
        url,
        params.ledgers.as_tuple() if params.ledgers else None,
        network_passphrase=net.passphrase,
        skip_gaps=params.skip_gaps,
    )


def build_localnet(params: LocalnetParams, ctx: BuildContext) -> beam.PTransform:
    from flowctl_dsl.transforms.sources.localnet import GenerateLocalnet

    end = params.ledgers.end
    if end is None:
        raise ValueError("localnet needs a closed range, e.g. ledgers=2..101")
    return GenerateLocalnet(
        (params.ledgers.start, end), seed=params.seed, txs_per_ledger=params.txs_per_ledger
    )
