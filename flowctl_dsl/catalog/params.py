"""Parameter types shared by catalog entries (ledger ranges, network names)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, model_validator

from flowctl_dsl.stellar.networks import NETWORKS


class LedgerRange(BaseModel):
    """Ledgers ``start..end``, both inclusive; ``end`` None follows the network tip."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: int
    end: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _single(cls, data: object) -> object:
        """A single ledger ``ledgers=997`` means ``997..997``."""
        if isinstance(data, int) and not isinstance(data, bool):
            return {"start": data, "end": data}
        return data

    @model_validator(mode="after")
    def _ordered(self) -> LedgerRange:
        if self.start < 1:
            raise ValueError("ledger sequences start at 1")
        if self.end is not None and self.end < self.start:
            raise ValueError(f"the range ends ({self.end}) before it starts ({self.start})")
        return self

    def __str__(self) -> str:
        return f"{self.start}..{'' if self.end is None else self.end}"

    def as_tuple(self) -> tuple[int, int | None]:
        return (self.start, self.end)


NETWORK_NAMES = tuple(sorted(name for net in NETWORKS for name in net.names))


def _known_network(name: str) -> str:
    if name.lower() not in NETWORK_NAMES:
        raise ValueError(f"unknown network `{name}`; known: {', '.join(NETWORK_NAMES)}")
    return name.lower()


NetworkName = Annotated[str, AfterValidator(_known_network)]
