"""Beam sources: each emits a PCollection of :class:`~flowctl_dsl.stellar.raw.RawLedger`."""

from flowctl_dsl.transforms.sources.datastore import ReadDatastore

__all__ = ["ReadDatastore"]
