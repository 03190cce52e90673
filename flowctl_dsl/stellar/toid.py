"""Total Order IDs as stellar-etl/Horizon use them: ``ledger << 32 | tx_index << 12 | op_index``.

``tx_index`` is the 1-based application order of a transaction in its ledger (20 bits) and
``op_index`` the 1-based position of an operation in its transaction (12 bits); 0 means "the
transaction itself" (or, with ``tx_index`` 0 too, the ledger).
"""

from __future__ import annotations

from typing import NamedTuple

LEDGER_BITS = 32
TX_BITS = 20
OP_BITS = 12
_TX_MASK = (1 << TX_BITS) - 1
_OP_MASK = (1 << OP_BITS) - 1


class Toid(NamedTuple):
    ledger_sequence: int
    transaction_order: int
    operation_order: int


def toid(ledger_sequence: int, transaction_order: int = 0, operation_order: int = 0) -> int:
    """Pack a TOID; raises ``ValueError`` when a part overflows its bits."""
    if not 0 <= ledger_sequence < 1 << (LEDGER_BITS - 1):
        raise ValueError(f"ledger sequence {ledger_sequence} out of TOID range")
    if not 0 <= transaction_order <= _TX_MASK:
        raise ValueError(f"transaction order {transaction_order} out of TOID range")
    if not 0 <= operation_order <= _OP_MASK:
        raise ValueError(f"operation order {operation_order} out of TOID range")
    return ledger_sequence << 32 | transaction_order << OP_BITS | operation_order


def parse(value: int) -> Toid:
    """Split a TOID into its ledger, transaction and operation parts."""
    return Toid(value >> 32, (value >> OP_BITS) & _TX_MASK, value & _OP_MASK)
