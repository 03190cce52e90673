"""localnet: a deterministic synthetic Stellar network (protocol 23, ``LedgerCloseMeta`` V2).

flowctl's embedded default data: :func:`iter_ledgers` yields ledgers, :func:`generate_lake`
writes them as a galexie data lake. See :mod:`.generate` for the guarantees.
"""

from flowctl_dsl.stellar.localnet.generate import (
    NETWORK_PASSPHRASE,
    Localnet,
    generate_lake,
    iter_ledgers,
)

__all__ = ["NETWORK_PASSPHRASE", "Localnet", "generate_lake", "iter_ledgers"]
