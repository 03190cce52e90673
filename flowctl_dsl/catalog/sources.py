"""Sources: where ledgers come from. Every source emits ``LedgerCloseMeta`` (as RawLedger)."""

from __future__ import annotations

from pydantic import Field

from flowctl_dsl.catalog.params import LedgerRange, NetworkName
from flowctl_dsl.catalog.spec import LEDGER_CLOSE_META, Params, Spec
from flowctl_dsl.stellar.networks import network


class DatastoreParams(Params):
    url: str = Field(description="Data-lake root: a local path, file://, gs:// or s3:// URL.")
    network: NetworkName | None = Field(
        None, description="Network of the lake; its passphrase hashes transactions."
    )
    network_passphrase: str | None = Field(
        None, description="Explicit passphrase (overrides `network` and the lake manifest)."
    )
    ledgers: LedgerRange | None = Field(
        None, description="Ledgers to read, `A..B` inclusive; `A..` reads to the end of the lake."
    )
    skip_gaps: bool = Field(False, description="Skip missing objects instead of failing.")


class NetworkSourceParams(Params):
    ledgers: LedgerRange | None = Field(
        None, description="Ledgers to read, `A..B`; open (`A..`) or absent follows the tip."
    )
    url: str | None = Field(None, description="Read this data lake instead of the public one.")
    skip_gaps: bool = Field(False, description="Skip missing objects instead of failing.")


class LocalnetParams(Params):
    ledgers: LedgerRange = Field(
        LedgerRange(start=2, end=101), description="Ledgers to generate (genesis is ledger 2)."
    )
    seed: int = Field(0, description="Same seed, byte-identical ledgers.")
    txs_per_ledger: int = Field(10, ge=0, le=1000, description="Transactions in each ledger.")


def _network_source(name: str, aliases: tuple[str, ...] = ()) -> Spec:
    net = network(name)
    return Spec(
        kind="source",
        name=name,
        aliases=aliases,
        summary=f"The {name} data lake ({net.lake_url}), passphrase {net.passphrase!r}.",
        params=NetworkSourceParams,
        impl="flowctl_dsl.transforms.sources.network:build_network_source",
        output_type=LEDGER_CLOSE_META,
        defaults={"url": net.lake_url, "network_passphrase": net.passphrase},
        examples=(f"{name}(ledgers=1_000_000..1_000_100) | latest_ledger | stdout",),
    )


SPECS: tuple[Spec, ...] = (
    Spec(
        kind="source",
        name="datastore",
        aliases=("lake", "galexie", "datalake"),
        summary="A galexie / SEP-54 data lake: zstd LedgerCloseMetaBatch objects + .config.json.",
        params=DatastoreParams,
        impl="flowctl_dsl.transforms.sources.network:build_datastore",
        output_type=LEDGER_CLOSE_META,
        positional=("url",),
        examples=('datastore("file:///data/lake", network=testnet, ledgers=997..999)',),
    ),
    _network_source("mainnet", ("pubnet",)),
    _network_source("testnet"),
    Spec(
        kind="source",
        name="localnet",
        aliases=("synthetic",),
        summary="A deterministic synthetic local network that flowctl generates itself.",
        params=LocalnetParams,
        impl="flowctl_dsl.transforms.sources.network:build_localnet",
        output_type=LEDGER_CLOSE_META,
        examples=("localnet(ledgers=2..101) | payments | stdout",),
    ),
)
