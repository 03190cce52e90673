"""Stroops ↔ lumens-style decimal amounts (1 unit = 10,000,000 stroops, 7 decimal places)."""

from __future__ import annotations

from decimal import Decimal

#: Stroops per whole unit of any Stellar asset.
STROOPS_PER_UNIT = 10_000_000
#: Decimal places of every Stellar amount.
SCALE = 7
_QUANTUM = Decimal(1).scaleb(-SCALE)


def to_decimal(stroops: int) -> Decimal:
    """``1234567`` → ``Decimal("0.1234567")`` (always exactly 7 places)."""
    return Decimal(int(stroops)).scaleb(-SCALE).quantize(_QUANTUM)


def to_stroops(amount: Decimal | str | int) -> int:
    """``Decimal("0.1234567")`` → ``1234567``; raises ``ValueError`` below 1 stroop precision."""
    value = Decimal(amount) * STROOPS_PER_UNIT
    if value != value.to_integral_value():
        raise ValueError(f"{amount} has more than {SCALE} decimal places")
    return int(value)
