"""The V1 (cdp-pipeline-workflow) component types flowctl migrates, and what each config key becomes.

Each table maps a V1 ``type`` to what flowctl writes instead; ``KEYS`` says, for every config key
flowctl knows, either ``""`` (carried over by :mod:`flowctl_dsl.config.migrate`) or why it is not.
A key in no table is reported as unknown. Types in ``UNSUPPORTED`` are recognised but have no
flowctl equivalent yet; any other type is a did-you-mean error.
"""

from __future__ import annotations

from typing import Literal

Kind = Literal["source", "processor", "consumer"]

# ---- sources ------------------------------------------------------------------------------------
#: V1 source type → how its ledgers are found.
SOURCES: dict[str, Literal["gcs", "s3", "fs", "core", "rpc"]] = {
    "BufferedStorageSourceAdapter": "gcs",
    "GCSBufferedStorageSourceAdapter": "gcs",
    "S3BufferedStorageSourceAdapter": "s3",
    "FSBufferedStorageSourceAdapter": "fs",
    "CaptiveCoreInboundAdapter": "core",
    "SorobanSourceAdapter": "rpc",
    "RPCSourceAdapter": "rpc",
}

_WORKERS = "no per-source setting: `flowctl run --workers N` sets parallelism"
_LAYOUT = "not needed: flowctl reads the lake layout from its .config.json"
_CHECKPOINT = "no equivalent: flowctl sinks are idempotent on re-runs instead of checkpointing"
_CORE = "not needed: flowctl reads the network's data lake instead of running stellar-core"
_RPC = "no equivalent in flowctl's rpc source (getLedgers)"

_LEDGER_KEYS = {
    "start_ledger": "",
    "end_ledger": "",
    "start_time": "",
    "end_time": "",
    "start_time_ago": "",
    "end_time_ago": "",
    "continuous_mode": "",
    "network": "",
}
_BUFFERED_KEYS = {
    **_LEDGER_KEYS,
    "bucket_name": "",
    "path": "",
    "num_workers": _WORKERS,
    "retry_limit": "no equivalent: the datastore source does not retry reads",
    "retry_wait": "no equivalent: the datastore source does not retry reads",
    "buffer_size": "no equivalent: Beam buffers reads itself",
    "ledgers_per_file": _LAYOUT,
    "files_per_partition": _LAYOUT,
    "access_token": "no equivalent: use Google application default credentials",
    "region": "",
    "endpoint": "",
    "force_path_style": "not needed: S3-compatible endpoints are addressed by path",
    "checkpoint_dir": _CHECKPOINT,
    "checkpoint_interval": _CHECKPOINT,
}
SOURCE_KEYS: dict[str, dict[str, str]] = {
    "gcs": _BUFFERED_KEYS,
    "s3": _BUFFERED_KEYS,
    "fs": _BUFFERED_KEYS,
    "core": {
        **_LEDGER_KEYS,
        "history_archive_urls": _CORE,
        "core_binary_path": _CORE,
        "binary_path": _CORE,
        "storage_path": _CORE,
    },
    "rpc": {
        **_LEDGER_KEYS,
        "rpc_url": "",
        "auth_header": "",
        "batch_size": "",
        "poll_interval": "",
        "rpc_method": "",
        "filters": _RPC,
        "pagination": _RPC,
        "xdrFormat": _RPC,
        "checkpoint_dir": _CHECKPOINT,
        "checkpoint_interval": _CHECKPOINT,
    },
}

# ---- processors ---------------------------------------------------------------------------------
#: V1 processor type → flowctl processor (None: the stage is dropped, e.g. a passthrough).
PROCESSORS: dict[str, str | None] = {
    "LatestLedger": "latest_ledger",
    "LedgerReader": "transactions",
    "LedgerChanges": "ledger_changes",
    "ContractData": "contract_data",
    "ContractEvent": "contract_events",
    "ContractInvocation": "contract_invocations",
    "FilteredContractInvocation": "contract_invocations",
    "ContractFilter": None,  # only filter stages
    "FilterPayments": "payments",
    "TransformToAppPayment": "payments",
    "CreateAccount": "payments",
    "TransformToAppTrade": "trades",
    "BlankProcessor": None,
}

_NP = {"network_passphrase": ""}
_PAYMENT_FILTERS = {"min_amount": "", "max_amount": "", "asset_code": ""}
PROCESSOR_KEYS: dict[str, dict[str, str]] = {
    "LatestLedger": _NP,
    "LedgerReader": _NP,
    "LedgerChanges": {**_NP, "batch_size": "no equivalent: Beam batches records itself"},
    "ContractData": {
        **_NP,
        "include_expired": "no equivalent: contract_data emits every change of an entry",
    },
    "ContractEvent": _NP,
    "ContractInvocation": {
        **_NP,
        "include_raw_xdr": "not needed: contract_invocations always has args_xdr",
        "max_call_depth": "no equivalent: call graphs are not extracted",
        "event_filters": "no equivalent: filter contract_events with a `filter` stage",
    },
    "FilteredContractInvocation": {**_NP, "contract_ids": "", "account_ids": ""},
    "ContractFilter": {"contract_id": "", "contract_ids": ""},
    "FilterPayments": {
        **_NP,
        **_PAYMENT_FILTERS,
        "include_failed": "",
        "include_muxed": "",
    },
    "TransformToAppPayment": {
        **_NP,
        **_PAYMENT_FILTERS,
        "addresses": "",
        "memo_text": "no equivalent: flowctl payment records have no memo",
    },
    "CreateAccount": _NP,
    "TransformToAppTrade": _NP,
    "BlankProcessor": {},
}

# ---- consumers ----------------------------------------------------------------------------------
#: V1 consumer type → flowctl sink.
CONSUMERS: dict[str, str] = {
    "StdoutConsumer": "stdout",
    "DebugLogger": "stdout",
    "LogDebug": "stdout",
    "SaveToParquet": "parquet",
    "SaveToPostgreSQL": "postgres",
    "BufferedPostgreSQL": "postgres",
    "SaveToDuckDB": "duckdb",
}

_LOGGER = "no equivalent: records are printed whole as JSON lines"
_POOL = "no equivalent: the postgres sink opens one connection per worker"
_PG_KEYS = {
    "host": "",
    "port": "",
    "database": "",
    "dbname": "",
    "username": "",
    "user": "",
    "password": "",
    "sslmode": "",
    "connect_timeout": "",
    "connection_string": "",
    "database_url": "",
    "table": "",
    "table_name": "",
    "schema": "",
    "max_open_conns": _POOL,
    "max_idle_conns": _POOL,
}
CONSUMER_KEYS: dict[str, dict[str, str]] = {
    "StdoutConsumer": {},
    "DebugLogger": {"name": _LOGGER, "log_prefix": _LOGGER, "max_fields": _LOGGER},
    "LogDebug": {"log_level": _LOGGER},
    "SaveToParquet": {
        "storage_type": "",
        "local_path": "",
        "bucket_name": "",
        "path_prefix": "",
        "compression": "",
        "partition_by": "",
        "ledgers_per_file": "",
        "region": "no equivalent: the parquet sink writes local files",
        "buffer_size": "no equivalent: rows are grouped per file (row_group_size)",
        "max_file_size_mb": "no equivalent: one file per ledger range (ledgers_per_file)",
        "rotation_interval_minutes": "no equivalent: one file per ledger range (ledgers_per_file)",
        "schema_evolution": "not needed: the schema comes from the processor's declared schema",
        "include_metadata": "no equivalent",
        "debug": "no equivalent: use `flowctl explain`",
        "dry_run": "no equivalent: use `flowctl check` or `flowctl explain`",
    },
    "SaveToPostgreSQL": _PG_KEYS,
    "BufferedPostgreSQL": {
        **_PG_KEYS,
        "buffer_size": "",
        "flush_interval_ms": "no equivalent: rows are written per batch_size",
        "max_retries": "no equivalent: the postgres sink retries connections itself",
        "retry_delay_ms": "no equivalent: the postgres sink retries connections itself",
    },
    "SaveToDuckDB": {
        "db_path": "",
        "table": "",
        "table_name": "",
        "batch_size": "no equivalent: all rows are written in one transaction",
        "flush_interval_seconds": "no equivalent: all rows are written in one transaction",
    },
}

# ---- recognised, not supported ------------------------------------------------------------------
#: V1 types flowctl knows of but cannot migrate yet, with what to do instead.
UNSUPPORTED: dict[str, str] = {
    "BronzeSourceAdapter": "replaying Bronze Parquet is not supported; read the data lake",
    "DuckLakeSourceAdapter": "reading a DuckLake catalog is not supported; read the data lake",
    "KafkaSourceAdapter": "there is no Kafka source",
    "HTTPSourceAdapter": "there is no HTTP source",
    "LatestLedgerRPC": "there is no RPC source; use LatestLedger on a data lake",
    "GetEventsRPC": "there is no RPC source; use contract_events on a data lake",
    "LedgerToJSON": "use the `ledgers` processor",
    "AccountData": "no account_data processor yet; ledger_changes has account entries",
    "AccountDataFilter": "no account_data processor yet; filter ledger_changes instead",
    "TransformToAppAccount": "no account processor yet; ledger_changes has account entries",
    "TransformToAppTrustline": "no trustline processor yet; ledger_changes has trustlines",
    "TransformToAppMetrics": "no metrics processor yet; latest_ledger has per-ledger counts",
    "ContractCreation": "filter contract_invocations on function_type instead",
    "ContractInvocationExtractor": "no extraction schemas; use derive on contract_invocations",
    "ContractLedgerReader": "use contract_data",
    "StellarContractEvent": "use contract_events with a filter stage",
    "FilterEventsProcessor": "use contract_events with a filter stage",
    "BronzeExtractors": "no Bronze tables yet",
    "SaveToGCS": "no GCS sink; write parquet or jsonl locally",
    "SaveToLedgerParquet": "use the parquet sink after a processor",
    "SaveToRedis": "no Redis sink",
    "SaveToZeroMQ": "no ZeroMQ sink",
    "SaveToWebSocket": "no WebSocket sink",
    "SaveToClickHouse": "no ClickHouse sink",
    "SaveToMongoDB": "no MongoDB sink",
    "SaveToTimescaleDB": "use the postgres sink",
    "SaveToExcel": "no Excel sink; use parquet or jsonl",
    "SaveToDuckLake": "no DuckLake sink; use duckdb or parquet",
    "PublishToGooglePubSub": "no Pub/Sub sink",
    "NotificationDispatcher": "no notification sink",
    "AnthropicClaude": "no LLM sink",
}


def known(kind: Kind) -> tuple[str, ...]:
    """Every V1 type name of ``kind`` flowctl recognises (migrated or not)."""
    tables: dict[str, dict[str, object]] = {
        "source": dict(SOURCES),
        "processor": dict(PROCESSORS),
        "consumer": dict(CONSUMERS),
    }
    return tuple(tables[kind])


def all_types() -> tuple[str, ...]:
    return (*SOURCES, *PROCESSORS, *CONSUMERS, *UNSUPPORTED)
