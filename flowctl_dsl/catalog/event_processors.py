"""Event-level processors over ``LedgerCloseMeta``: token transfers, contract events, contract data,
contract invocations, trades and ledger entry changes.

Conventions shared with :mod:`flowctl_dsl.catalog.ledger_processors`: ``transaction_index`` and
``operation_index`` are 1-based (application order, as in TOIDs); amounts are
``decimal128(38, 7)`` with the exact integer alongside (``*_raw``). Because Soroban token amounts
are i128, raw amounts here are ``decimal128(38, 0)`` (Python ``int``), not ``int64``; a value
beyond 38 digits is null. Addresses are strkeys: ``G…`` accounts, ``M…`` muxed, ``C…``
contracts, ``B…`` claimable balances, ``L…`` liquidity pools. ScVal columns are JSON text (see
:mod:`flowctl_dsl.transforms.processors.scval`) with the XDR alongside in base64.
"""

from __future__ import annotations

from typing import Literal

import pyarrow as pa
from pydantic import Field

from flowctl_dsl.catalog.spec import LEDGER_CLOSE_META, Params, Spec

_IMPL = "flowctl_dsl.transforms.processors"
AMOUNT = pa.decimal128(38, 7)
RAW = pa.decimal128(38, 0)
TIMESTAMP = pa.timestamp("s", tz="UTC")


def _f(name: str, type_: pa.DataType, doc: str, nullable: bool = False) -> pa.Field:
    return pa.field(name, type_, nullable=nullable, metadata={"description": doc})


# --- params -----------------------------------------------------------------------------------


class TokenTransfersParams(Params):
    """Options of ``token_transfers``."""

    include_fees: bool = Field(True, description="Emit fee events (and Soroban fee refunds).")
    unified_events: Literal["auto", "never"] = Field(
        "auto",
        description="auto: read CAP-67 events from v4 metas that carry fee events; "
        "never: always derive events from operations, results and ledger changes.",
    )
    split_soroban_fees: bool = Field(
        True,
        description="Soroban fee as the charged amount plus a negative refund event (stellar/go "
        "since May 2025); false: one net fee_charged event (stellar/go March 2025).",
    )
    order: Literal["ledger", "transaction"] = Field(
        "ledger",
        description="ledger: every fee event first, then operation events (chronological, "
        "stellar/go today); transaction: each transaction's events together (March 2025).",
    )


class ContractEventsParams(Params):
    """Options of ``contract_events``."""

    include_diagnostic: bool = Field(False, description="Also emit diagnostic events.")


class LedgerChangesParams(Params):
    """Options of ``ledger_changes``."""

    include_state: bool = Field(
        True, description="Emit the `state` change that precedes each update/removal."
    )


class NoParams(Params):
    """This processor takes no parameters."""


# --- shared columns ---------------------------------------------------------------------------

_LEDGER = _f("ledger_sequence", pa.int64(), "Sequence of the ledger.")
_CLOSED_AT = _f("closed_at", TIMESTAMP, "Ledger close time (UTC).")
_TX_HASH = _f("transaction_hash", pa.string(), "Hex hash of the transaction (outer for fee bumps).")
_TX_INDEX = _f("transaction_index", pa.int32(), "1-based application order in the ledger.")
_OP_INDEX = _f("operation_index", pa.int32(), "1-based position of the operation in its tx.", True)
_IN_SUCCESSFUL = _f("in_successful_transaction", pa.bool_(), "Whether the transaction succeeded.")


def _asset(prefix: str, what: str) -> tuple[pa.Field, ...]:
    p = f"{prefix}_" if prefix else ""
    return (
        _f(f"{p}asset", pa.string(), f"{what}: native or CODE:ISSUER.", bool(not prefix)),
        _f(
            f"{p}asset_type",
            pa.string(),
            "native, credit_alphanum4 or credit_alphanum12.",
            not prefix,
        ),
        _f(f"{p}asset_code", pa.string(), "Asset code (null for native).", True),
        _f(f"{p}asset_issuer", pa.string(), "G… issuer (null for native).", True),
    )


TOKEN_TRANSFERS_SCHEMA = pa.schema(
    [
        _LEDGER,
        _CLOSED_AT,
        _TX_HASH,
        _TX_INDEX,
        _f("operation_index", pa.int32(), "1-based operation; null for fee events.", True),
        _f("event_index", pa.int32(), "0-based: fee, operation events, fee refund of the tx."),
        _f("event_type", pa.string(), "transfer, mint, burn, clawback or fee."),
        _f("from", pa.string(), "Sender (G/C/B/L…); null for mint.", True),
        _f("to", pa.string(), "Recipient (G/C/B/L…); null for burn, clawback, fee.", True),
        *_asset("", "Classic asset (null for non-SAC contract tokens)"),
        _f("contract_id", pa.string(), "C… token contract (the asset's SAC for classic assets)."),
        _f("amount", AMOUNT, "Amount in units (7 places; negative for fee refunds).", True),
        _f("amount_raw", RAW, "Amount as the integer the chain holds (stroops for assets).", True),
        _f("to_muxed_info_type", pa.string(), "id, text or hash (CAP-67 muxed info).", True),
        _f("to_muxed_info", pa.string(), "Mux id, memo text or hex hash of the recipient.", True),
    ]
)

CONTRACT_EVENTS_SCHEMA = pa.schema(
    [
        _LEDGER,
        _CLOSED_AT,
        _TX_HASH,
        _TX_INDEX,
        _f(
            "operation_index",
            pa.int32(),
            "1-based operation; null for tx-level and diagnostic events.",
            True,
        ),
        _f("event_index", pa.int32(), "0-based position among the transaction's events."),
        _f(
            "stage", pa.string(), "v4 tx-level events: before_all_txs/after_tx/after_all_txs.", True
        ),
        _f("contract_id", pa.string(), "C… contract that emitted the event.", True),
        _f("type", pa.string(), "contract, system or diagnostic."),
        _f("topics", pa.string(), "JSON array of the decoded topics."),
        _f("data", pa.string(), "JSON of the decoded data.", True),
        _f("topics_xdr", pa.list_(pa.string()), "Base64 XDR of each topic."),
        _f("data_xdr", pa.string(), "Base64 XDR of the data.", True),
        _f(
            "in_successful_contract_call",
            pa.bool_(),
            "Diagnostic events: whether the call succeeded.",
            True,
        ),
        _IN_SUCCESSFUL,
    ]
)

TRADES_SCHEMA = pa.schema(
    [
        _LEDGER,
        _CLOSED_AT,
        _TX_HASH,
        _TX_INDEX,
        _f("operation_index", pa.int32(), "1-based position of the operation in its tx."),
        _f("trade_index", pa.int32(), "0-based position of the claim in the operation result."),
        _f("trade_type", pa.string(), "orderbook or liquidity_pool."),
        _f("seller", pa.string(), "Owner of the claimed offer (G…) or the pool (L…)."),
        _f("seller_offer_id", pa.int64(), "Id of the claimed offer (null for pools).", True),
        _f("liquidity_pool_id", pa.string(), "L… pool traded against.", True),
        _f("buyer", pa.string(), "G… source account of the operation."),
        *_asset("base", "Asset the seller sold"),
        _f("base_amount", AMOUNT, "Amount of base the buyer received."),
        _f("base_amount_raw", pa.int64(), "base_amount in stroops."),
        *_asset("counter", "Asset the seller received"),
        _f("counter_amount", AMOUNT, "Amount of counter the seller received."),
        _f("counter_amount_raw", pa.int64(), "counter_amount in stroops."),
        _f("price", pa.float64(), "counter_amount / base_amount.", True),
    ]
)

LEDGER_CHANGES_SCHEMA = pa.schema(
    [
        _LEDGER,
        _CLOSED_AT,
        _f("transaction_hash", pa.string(), "Hex transaction hash; null for upgrades.", True),
        _f("transaction_index", pa.int32(), "1-based application order; null for upgrades.", True),
        _f("operation_index", pa.int32(), "1-based operation for operation changes.", True),
        _f("change_index", pa.int32(), "0-based position of the change in the ledger."),
        _f(
            "source",
            pa.string(),
            "fee, tx_before, operation, tx_after, post_apply_fee or upgrade.",
        ),
        _f("change_type", pa.string(), "created, updated, removed, state or restored."),
        _f(
            "entry_type",
            pa.string(),
            "account, trustline, offer, data, claimable_balance, liquidity_pool, contract_data, "
            "contract_code, config_setting or ttl.",
        ),
        _f("account_id", pa.string(), "G… account owning the entry (account-like entries).", True),
        _f("contract_id", pa.string(), "C… contract owning contract data.", True),
        _f(
            "entry_id",
            pa.string(),
            "Readable id: G…, G…:ASSET, offer id, G…:name, B…, L…, C…, code hash, setting, ttl hash.",
        ),
        _f("key_xdr", pa.string(), "Base64 XDR of the LedgerKey."),
        _f("entry_xdr", pa.string(), "Base64 XDR of the LedgerEntry (null when removed).", True),
        _f("last_modified_ledger", pa.int64(), "lastModifiedLedgerSeq of the entry.", True),
        _f(
            "in_successful_transaction",
            pa.bool_(),
            "Whether the transaction succeeded (null for upgrades).",
            True,
        ),
    ]
)

CONTRACT_DATA_SCHEMA = pa.schema(
    [
        _LEDGER,
        _CLOSED_AT,
        _TX_HASH,
        _TX_INDEX,
        _OP_INDEX,
        _f(
            "change_index", pa.int32(), "0-based position among the ledger's contract-data changes."
        ),
        _f("source", pa.string(), "fee, tx_before, operation, tx_after or post_apply_fee."),
        _f("change_type", pa.string(), "created, updated, removed or restored."),
        _f("contract_id", pa.string(), "C… contract owning the entry."),
        _f("durability", pa.string(), "persistent or temporary."),
        _f("is_instance", pa.bool_(), "Whether this is the contract instance entry."),
        _f("key", pa.string(), "JSON of the decoded key."),
        _f("key_xdr", pa.string(), "Base64 XDR of the key ScVal."),
        _f("value", pa.string(), "JSON of the value after the change (null when removed).", True),
        _f("value_xdr", pa.string(), "Base64 XDR of the value (null when removed).", True),
        _f("asset", pa.string(), "SAC instance: native or CODE:ISSUER.", True),
        _f("balance_holder", pa.string(), "SAC balance entry: holder address.", True),
        _f("balance", AMOUNT, "SAC balance entry: amount in units.", True),
        _f("balance_raw", RAW, "SAC balance entry: amount in stroops.", True),
        _f("last_modified_ledger", pa.int64(), "lastModifiedLedgerSeq of the entry."),
        _IN_SUCCESSFUL,
    ]
)

CONTRACT_INVOCATIONS_SCHEMA = pa.schema(
    [
        _LEDGER,
        _CLOSED_AT,
        _TX_HASH,
        _TX_INDEX,
        _f("operation_index", pa.int32(), "1-based position of the operation in its tx."),
        _f("source_account", pa.string(), "G… source of the operation."),
        _f(
            "function_type",
            pa.string(),
            "invoke_contract, create_contract, create_contract_v2 or upload_wasm.",
        ),
        _f("contract_id", pa.string(), "C… contract called or created.", True),
        _f("function_name", pa.string(), "Function called (invoke_contract).", True),
        _f("args", pa.string(), "JSON array of the arguments (or constructor arguments).", True),
        _f("args_xdr", pa.list_(pa.string()), "Base64 XDR of each argument.", True),
        _f("executable", pa.string(), "Created/uploaded executable: wasm or stellar_asset.", True),
        _f("wasm_hash", pa.string(), "Hex hash of the Wasm uploaded or instantiated.", True),
        _f("auth_entries", pa.int32(), "Number of Soroban authorization entries."),
        _f("return_value", pa.string(), "JSON of the return value (successful txs).", True),
        _f("return_value_xdr", pa.string(), "Base64 XDR of the return value.", True),
        _f("successful", pa.bool_(), "Whether the transaction succeeded."),
        _f(
            "result_code", pa.string(), "InvokeHostFunctionResultCode, e.g. success, trapped.", True
        ),
    ]
)

# --- specs ------------------------------------------------------------------------------------

SPECS: tuple[Spec, ...] = (
    Spec(
        kind="processor",
        name="token_transfers",
        aliases=(
            "token-transfers",
            "token_transfer",
            "token-transfer",
            "ttp",
            "token_transfer_events",
        ),
        summary="Unified transfer/mint/burn/clawback/fee events of classic and Soroban assets "
        "(stellar/go token-transfer processor semantics).",
        params=TokenTransfersParams,
        impl=f"{_IMPL}.token_transfers:records",
        native_impl="flowctl_dsl.stellar.native:token_transfers",
        input_type=LEDGER_CLOSE_META,
        output_type="token_transfer",
        schema=TOKEN_TRANSFERS_SCHEMA,
        primary_field="amount",
        key_fields=("ledger_sequence", "transaction_index", "event_index"),
        examples=(
            "mainnet(ledgers=53312000..53312000) | token_transfers | stdout",
            "testnet(ledgers=997..999) | token-transfers(include_fees=false) | stdout",
        ),
    ),
    Spec(
        kind="processor",
        name="contract_events",
        aliases=("contract-events", "contract_event", "contract-event", "events"),
        summary="One record per Soroban contract event (optionally diagnostic events), "
        "topics and data decoded to JSON.",
        params=ContractEventsParams,
        impl=f"{_IMPL}.contract_events:records",
        input_type=LEDGER_CLOSE_META,
        output_type="contract_event",
        schema=CONTRACT_EVENTS_SCHEMA,
        primary_field="contract_id",
        key_fields=("ledger_sequence", "transaction_index", "event_index"),
        examples=("localnet(ledgers=2..11) | contract_events(include_diagnostic=true) | stdout",),
    ),
    Spec(
        kind="processor",
        name="contract_data",
        aliases=("contract-data", "contract_data_changes", "contract-data-changes"),
        summary="Changes of contract data entries, with SAC balance holder/amount decoded.",
        params=NoParams,
        impl=f"{_IMPL}.contract_data:records",
        input_type=LEDGER_CLOSE_META,
        output_type="contract_data",
        schema=CONTRACT_DATA_SCHEMA,
        primary_field="contract_id",
        key_fields=("ledger_sequence", "change_index"),
    ),
    Spec(
        kind="processor",
        name="contract_invocations",
        aliases=(
            "contract-invocations",
            "contract_invocation",
            "contract-invocation",
            "invocations",
            "contract_calls",
        ),
        summary="One record per invoke_host_function operation: contract, function, args, result.",
        params=NoParams,
        impl=f"{_IMPL}.contract_invocations:records",
        input_type=LEDGER_CLOSE_META,
        output_type="contract_invocation",
        schema=CONTRACT_INVOCATIONS_SCHEMA,
        primary_field="function_name",
        key_fields=("ledger_sequence", "transaction_index", "operation_index"),
    ),
    Spec(
        kind="processor",
        name="trades",
        aliases=("trade", "history_trades"),
        summary="Order-book and liquidity-pool fills of offers and path payments.",
        params=NoParams,
        impl=f"{_IMPL}.trades:records",
        input_type=LEDGER_CLOSE_META,
        output_type="trade",
        schema=TRADES_SCHEMA,
        primary_field="base_amount",
        key_fields=("ledger_sequence", "transaction_index", "operation_index", "trade_index"),
        examples=("mainnet(ledgers=53312000..53312000) | trades | stdout",),
    ),
    Spec(
        kind="processor",
        name="ledger_changes",
        aliases=(
            "ledger-changes",
            "ledger_change",
            "ledger-change",
            "ledger_entry_changes",
            "changes",
        ),
        summary="One record per LedgerEntryChange (fee, transaction, operation, upgrade).",
        params=LedgerChangesParams,
        impl=f"{_IMPL}.ledger_changes:records",
        input_type=LEDGER_CLOSE_META,
        output_type="ledger_change",
        schema=LEDGER_CHANGES_SCHEMA,
        primary_field="entry_type",
        key_fields=("ledger_sequence", "change_index"),
    ),
    Spec(
        kind="processor",
        name="account_changes",
        aliases=("account-changes", "account_change", "account-change"),
        summary="The account entries among the ledger entry changes (balances, sequence numbers, …).",
        params=LedgerChangesParams,
        impl=f"{_IMPL}.ledger_changes:account_records",
        input_type=LEDGER_CLOSE_META,
        output_type="account_change",
        schema=LEDGER_CHANGES_SCHEMA,
        primary_field="entry_type",
        key_fields=("ledger_sequence", "change_index"),
    ),
)
