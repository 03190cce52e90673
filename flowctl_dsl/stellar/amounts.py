"""Stroops ↔ lumens-style decimal amounts (1 unit = 10,000,000 stroops, 7 decimal places)."""

from __future__ import annotations

from decimal import Context, Decimal

#: Stroops per whole unit of any Stellar asset.
STROOPS_PER_UNIT = 10_000_000
#: Decimal places of every Stellar amount.
SCALE = 7
#: Wide enough for any i128 amount, so `to_decimal` never rounds or raises.
_EXACT = Context(prec=80)


def to_decimal(stroops: int) -> Decimal:
    """``1234567`` → ``Decimal("0.1234567")`` (always exactly 7 places, exact up to 80 digits:
    SEP-41 amounts are i128, beyond the default context's 28)."""
    return Decimal(int(stroops)).scaleb(-SCALE, _EXACT)


def to_stroops(amount: Decimal | str | int) -> int:
    """``Decimal("0.1234567")`` → ``1234567``; raises ``ValueError`` below 1 stroop precision."""
    value = _EXACT.multiply(Decimal(amount), STROOPS_PER_UNIT)
    if value != value.to_integral_value():
        raise ValueError(f"{amount} has more than {SCALE} decimal places")
    return int(value)
