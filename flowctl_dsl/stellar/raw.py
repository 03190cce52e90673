"""The element every source emits: one undecoded ``LedgerCloseMeta``."""

from __future__ import annotations

from typing import NamedTuple


class RawLedger(NamedTuple):
    """One ledger as XDR bytes, with the passphrase of the network it belongs to.

    Sources emit these; processors decode them (see :mod:`flowctl_dsl.stellar.decode`). Keeping the
    bytes undecoded makes the element cheap to move between Beam workers.
    """

    sequence: int
    xdr: bytes
    network_passphrase: str
