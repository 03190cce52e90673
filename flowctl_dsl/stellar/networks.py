"""The Stellar networks flowctl knows: passphrase, default data lake and default RPC endpoint.

Look a network up by name or alias with :func:`network` (``mainnet``/``pubnet``/``public``,
``testnet``, ``futurenet``, ``localnet``/``standalone``), or by passphrase with
:func:`by_passphrase`.
"""

from __future__ import annotations

from dataclasses import dataclass

from flowctl_dsl.stellar.lake import LakeSchema

MAINNET_PASSPHRASE = "Public Global Stellar Network ; September 2015"
TESTNET_PASSPHRASE = "Test SDF Network ; September 2015"
FUTURENET_PASSPHRASE = "Test SDF Future Network ; October 2022"
STANDALONE_PASSPHRASE = "Standalone Network ; February 2017"

#: The public AWS Open Data lake (populated by Goldsky), region us-east-2.
AWS_PUBLIC_LAKE = "s3://aws-public-blockchain/v1.1/stellar/ledgers"
AWS_PUBLIC_LAKE_REGION = "us-east-2"


@dataclass(frozen=True)
class Network:
    """One Stellar network.

    ``lake_url`` is the default galexie data lake (``None`` when there is no public one);
    ``rpc_url`` the default Stellar RPC endpoint (``None`` when there is no free public one).
    """

    name: str
    passphrase: str
    aliases: tuple[str, ...] = ()
    lake_url: str | None = None
    lake_region: str | None = None
    lake_schema: LakeSchema = LakeSchema(ledgers_per_file=1, files_per_partition=64000)
    rpc_url: str | None = None
    horizon_url: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


NETWORKS: tuple[Network, ...] = (
    Network(
        name="mainnet",
        aliases=("pubnet", "public"),
        passphrase=MAINNET_PASSPHRASE,
        lake_url=f"{AWS_PUBLIC_LAKE}/pubnet",
        lake_region=AWS_PUBLIC_LAKE_REGION,
        # SDF runs no free public mainnet RPC; pick a provider explicitly.
        rpc_url=None,
        horizon_url="https://horizon.stellar.org",
    ),
    Network(
        name="testnet",
        passphrase=TESTNET_PASSPHRASE,
        # The public testnet lake has one sub-folder per testnet reset (``<genesis-date>/``);
        # append the current one when reading.
        lake_url=f"{AWS_PUBLIC_LAKE}/testnet",
        lake_region=AWS_PUBLIC_LAKE_REGION,
        rpc_url="https://soroban-testnet.stellar.org",
        horizon_url="https://horizon-testnet.stellar.org",
    ),
    Network(
        name="futurenet",
        passphrase=FUTURENET_PASSPHRASE,
        rpc_url="https://rpc-futurenet.stellar.org",
        horizon_url="https://horizon-futurenet.stellar.org",
    ),
    Network(
        name="localnet",
        aliases=("standalone", "local"),
        passphrase=STANDALONE_PASSPHRASE,
        # stellar/quickstart defaults.
        rpc_url="http://localhost:8000/rpc",
        horizon_url="http://localhost:8000",
    ),
)

_BY_NAME: dict[str, Network] = {n.lower(): net for net in NETWORKS for n in net.names}
_BY_PASSPHRASE: dict[str, Network] = {net.passphrase: net for net in NETWORKS}


class UnknownNetworkError(KeyError):
    """No network has that name."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown network"


def network(name: str) -> Network:
    """The network called ``name`` (case-insensitive; aliases accepted)."""
    try:
        return _BY_NAME[name.strip().lower()]
    except KeyError:
        known = ", ".join(sorted(_BY_NAME))
        raise UnknownNetworkError(f"unknown Stellar network {name!r}; known: {known}") from None


def by_passphrase(passphrase: str) -> Network | None:
    """The known network with this passphrase, or ``None``."""
    return _BY_PASSPHRASE.get(passphrase)


def passphrase_for(name_or_passphrase: str) -> str:
    """A passphrase from a network name, or the argument itself when it already is a passphrase."""
    if name_or_passphrase.strip().lower() in _BY_NAME:
        return network(name_or_passphrase).passphrase
    return name_or_passphrase
