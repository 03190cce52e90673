"""Sources: where ledgers come from. Every source emits ``LedgerCloseMeta`` (as RawLedger).

Ranges are ``ledgers=A..B`` or times (``since``/``until`` instants, ``last`` a duration); the
checker rejects malformed times and contradictory combinations. A range with an open end follows
the network tip (unbounded: the run goes on until stopped) on network aliases and ``rpc``, and on
``datastore`` when written ``ledgers=A..``; ``follow=`` overrides. Each parameter model exposes
``bounded`` (a computed field, so it is in the plan's ``params``): runners must use one worker
for an unbounded source (apache/beam#19842).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, ValidationInfo, computed_field, field_validator

from flowctl_dsl.catalog.params import LedgerRange, NetworkName
from flowctl_dsl.catalog.spec import LEDGER_CLOSE_META, Params, Spec
from flowctl_dsl.stellar.networks import network
from flowctl_dsl.stellar.time_ranges import parse_duration, parse_time


def _duration(text: str) -> str:
    parse_duration(text)
    return text


#: A duration such as ``30d`` (checked); plain ``str`` so docs and hints read "a string".
DurationText = Annotated[str, AfterValidator(_duration)]

_LEDGERS = "Ledgers to read, `A..B` inclusive; `A..` follows the tip."
_SINCE = "Start at the first ledger closed at or after this ISO 8601 time (UTC unless given)."
_UNTIL = "End before the first ledger closed at or after this time (exclusive)."
_LAST = "Start this long before the newest ledger: a number and s, m, h, d or w (`30d`, `1d12h`)."
_FOLLOW = "Keep reading new ledgers as they appear (default: when the range has no end)."
_STOP_AFTER = "Stop after this many ledgers (ends a followed range)."
_POLL = "How often to look for new ledgers when following (a duration, e.g. `2s`)."
_SKIP_GAPS = "Skip missing objects instead of failing (the error names the first missing ledger)."
_REGION = "S3 region of the bucket (s3:// URLs)."
_ENDPOINT = "S3-compatible endpoint (MinIO, R2, a local server) or GCS API endpoint."
_ANONYMOUS = "Read without credentials; default: use credentials when configured, else anonymous."


class RangeParams(Params):
    """Shared range checks: the fields they look at must be declared in this order in subclasses:
    ``ledgers``, ``since``, ``until``, ``last``, ``follow``."""

    @field_validator("since", check_fields=False)
    @classmethod
    def _since(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return value
        parse_time(value)
        if info.data.get("ledgers") is not None:
            raise ValueError(
                "`since` and `ledgers` both say where the range starts; give one "
                "(`ledgers=A..` with `until=` ends a ledger range by time)"
            )
        return value

    @field_validator("until", check_fields=False)
    @classmethod
    def _until(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return value
        parse_time(value)
        ledgers = info.data.get("ledgers")
        if ledgers is not None and ledgers.end is not None:
            raise ValueError("`until` and `ledgers=A..B` both say where the range ends; give one")
        since = info.data.get("since")
        if since is not None and parse_time(value) <= parse_time(since):
            raise ValueError(
                f"`until` ({value}) is not after `since` ({since}): the range is empty"
            )
        return value

    @field_validator("last", check_fields=False)
    @classmethod
    def _last(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return value
        parse_duration(value)
        for other in ("ledgers", "since"):
            if info.data.get(other) is not None:
                raise ValueError(f"`last` and `{other}` both say where the range starts; give one")
        if info.data.get("until") is not None:
            raise ValueError(
                "`last` counts back from the newest ledger, so it cannot end at `until`; "
                "use `since` and `until`"
            )
        return value

    @field_validator("follow", check_fields=False)
    @classmethod
    def _follow(cls, value: bool | None, info: ValidationInfo) -> bool | None:
        ledgers = info.data.get("ledgers")
        closed = (ledgers is not None and ledgers.end is not None) or info.data.get("until")
        if value and closed:
            raise ValueError("`follow=true` needs an open end: drop the range's end or `until`")
        return value

    def open_ended(self) -> bool:
        """No end given: neither ``ledgers=A..B`` nor ``until``."""
        ledgers: LedgerRange | None = getattr(self, "ledgers", None)
        return (ledgers is None or ledgers.end is None) and getattr(self, "until", None) is None

    def follows(self) -> bool:
        """Whether the source runs unbounded, following the tip."""
        follow: bool | None = getattr(self, "follow", None)
        return self.open_ended() if follow is None else follow

    @computed_field  # type: ignore[prop-decorator]
    @property
    def bounded(self) -> bool:
        """False when the source follows the tip (runs until stopped)."""
        return not self.follows()


class DatastoreParams(RangeParams):
    url: str = Field(description="Data-lake root: a local path, file://, gs:// or s3:// URL.")
    network: NetworkName | None = Field(
        None, description="Network of the lake; its passphrase hashes transactions."
    )
    network_passphrase: str | None = Field(
        None, description="Explicit passphrase (overrides `network` and the lake manifest)."
    )
    ledgers: LedgerRange | None = Field(
        None,
        description="Ledgers to read, `A..B` inclusive; `A..` follows the tip; absent: the whole "
        "lake as listed now.",
    )
    since: str | None = Field(None, description=_SINCE)
    until: str | None = Field(None, description=_UNTIL)
    last: str | None = Field(None, description=_LAST)
    follow: bool | None = Field(
        None, description="Keep reading new objects as they appear (default: with `ledgers=A..`)."
    )
    stop_after: int | None = Field(None, ge=1, description=_STOP_AFTER)
    poll: DurationText = Field("1s", description=_POLL)
    skip_gaps: bool = Field(False, description=_SKIP_GAPS)
    region: str | None = Field(None, description=_REGION)
    endpoint_url: str | None = Field(None, description=_ENDPOINT)
    anonymous: bool | None = Field(None, description=_ANONYMOUS)

    def follows(self) -> bool:
        if self.follow is not None:
            return self.follow
        return self.ledgers is not None and self.ledgers.end is None


class NetworkSourceParams(RangeParams):
    ledgers: LedgerRange | None = Field(
        None, description="Ledgers to read, `A..B`; open (`A..`) or absent follows the tip."
    )
    since: str | None = Field(None, description=_SINCE)
    until: str | None = Field(None, description=_UNTIL)
    last: str | None = Field(None, description=_LAST)
    follow: bool | None = Field(None, description=_FOLLOW)
    stop_after: int | None = Field(None, ge=1, description=_STOP_AFTER)
    poll: DurationText = Field("2s", description=_POLL)
    url: str | None = Field(None, description="Read this data lake instead of the public one.")
    skip_gaps: bool = Field(False, description=_SKIP_GAPS)
    region: str | None = Field(None, description=_REGION)
    endpoint_url: str | None = Field(None, description=_ENDPOINT)
    anonymous: bool | None = Field(None, description=_ANONYMOUS)


class RpcParams(RangeParams):
    url: str = Field(description="Stellar RPC endpoint (JSON-RPC over HTTP), e.g. http://host/rpc.")
    network: NetworkName | None = Field(
        None, description="Network the RPC serves; its passphrase hashes transactions."
    )
    network_passphrase: str | None = Field(
        None, description="Explicit passphrase (default: the server's, from getNetwork)."
    )
    ledgers: LedgerRange | None = Field(
        None, description="Ledgers to read, `A..B`; open (`A..`) or absent follows the tip."
    )
    since: str | None = Field(None, description=_SINCE)
    until: str | None = Field(None, description=_UNTIL)
    last: str | None = Field(None, description=_LAST)
    follow: bool | None = Field(None, description=_FOLLOW)
    stop_after: int | None = Field(None, ge=1, description=_STOP_AFTER)
    poll: DurationText = Field("2s", description=_POLL)
    page_size: int = Field(200, ge=1, le=200, description="Ledgers per getLedgers call (≤ 200).")
    chunk: int = Field(1000, ge=1, description="Ledgers per parallel read task of a bounded range.")
    retries: int = Field(
        8, ge=0, le=50, description="Retries of a call on 429, 5xx and connection errors."
    )
    timeout: int = Field(30, ge=1, description="Seconds to wait for one HTTP response.")
    headers: dict[str, str] | None = Field(
        None, description="Extra HTTP headers (e.g. a provider's API key)."
    )

    def passphrase(self) -> str | None:
        if self.network_passphrase is not None:
            return self.network_passphrase
        return network(self.network).passphrase if self.network else None


FileFormat = Literal["batch", "framed", "b64lines", "getledgers"]


class XdrFileParams(Params):
    path: str = Field(description="A ledger file, or a glob of them (`dir/*.xdr.zst`).")
    network: NetworkName | None = Field(
        None,
        description="Network of the ledgers (default: the lake manifest beside a batch file, "
        "else the known network whose passphrase hashes the transactions).",
    )
    network_passphrase: str | None = Field(
        None, description="Explicit passphrase (overrides `network`)."
    )
    format: FileFormat | None = Field(
        None,
        description="batch (galexie object), framed (stellar-core meta stream), b64lines, "
        "getledgers (RPC JSON); detected from the content when omitted.",
    )
    ledgers: LedgerRange | None = Field(
        None, description="Keep only these ledgers, `A..B` (`A..`: from A on)."
    )

    def passphrase(self) -> str | None:
        if self.network_passphrase is not None:
            return self.network_passphrase
        return network(self.network).passphrase if self.network else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def bounded(self) -> bool:
        return True


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
        impl="flowctl_dsl.transforms.sources.remote:build_network_source",
        output_type=LEDGER_CLOSE_META,
        defaults={
            "url": net.lake_url,
            "network_passphrase": net.passphrase,
            "region": net.lake_region,
        },
        examples=(
            f"{name}(ledgers=1_000_000..1_000_100) | latest_ledger | stdout",
            f"{name} | latest_ledger | stdout",
            f'{name}(since="2024-09-01T00:00Z", until="2024-09-01T01:00Z") | payments | stdout',
        ),
    )


SPECS: tuple[Spec, ...] = (
    Spec(
        kind="source",
        name="datastore",
        aliases=("lake", "galexie", "datalake"),
        summary="A galexie / SEP-54 data lake (local, s3:// or gs://): zstd "
        "LedgerCloseMetaBatch objects + .config.json.",
        params=DatastoreParams,
        impl="flowctl_dsl.transforms.sources.remote:build_datastore",
        output_type=LEDGER_CLOSE_META,
        positional=("url",),
        examples=(
            'datastore("file:///data/lake", network=testnet, ledgers=997..999)',
            'datastore("s3://my-bucket/ledgers", region="us-east-2", last="1h") | payments | stdout',
            'datastore("file:///data/lake", ledgers=2..) | latest_ledger | stdout',
        ),
    ),
    _network_source("mainnet", ("pubnet",)),
    _network_source("testnet"),
    Spec(
        kind="source",
        name="rpc",
        aliases=("stellar_rpc",),
        summary="A Stellar RPC server's getLedgers (LedgerCloseMeta by page, retried on "
        "429/5xx/connection errors with backoff and jitter).",
        params=RpcParams,
        impl="flowctl_dsl.transforms.sources.rpc:build_rpc",
        output_type=LEDGER_CLOSE_META,
        positional=("url",),
        examples=(
            'rpc("https://soroban-testnet.stellar.org", network=testnet, ledgers=100..200)',
            'rpc("http://localhost:8000/rpc", network=localnet) | latest_ledger | stdout',
        ),
    ),
    Spec(
        kind="source",
        name="xdr_file",
        aliases=("ledger_file",),
        summary="Ledgers from files: galexie batch objects, framed meta streams, base64 lines or "
        "getLedgers JSON (format detected unless given).",
        params=XdrFileParams,
        impl="flowctl_dsl.transforms.sources.xdr_file:build_xdr_file",
        output_type=LEDGER_CLOSE_META,
        positional=("path",),
        examples=(
            'xdr_file("ledgers.xdr.zstd", network=localnet) | contract_events | stdout',
            'xdr_file("ledgers.txt", format=b64lines, network=mainnet) | ledgers | stdout',
        ),
    ),
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
