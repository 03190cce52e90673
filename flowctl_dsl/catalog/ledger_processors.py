"""Core processors over ``LedgerCloseMeta``: ledgers, latest_ledger, transactions, operations, payments.

Column names follow stellar-etl / Hubble where an equivalent exists. Amounts of assets are
``decimal128(38, 7)`` (``amount``) with the exact stroops alongside (``amount_raw``); ledger-level
coin and fee totals stay in stroops (``int64``) as in stellar-etl. Every processor includes
failed transactions and marks them with ``successful``.

Counting rules (``ledgers`` and ``latest_ledger``): ``transaction_count`` is every transaction in
the ledger's set (``tx_processing``), successful or failed — unlike stellar-etl's
``history_ledgers.transaction_count``, which counts successful ones only.
``operation_count`` is the operations of all those transactions, failed ones included (a fee
bump counts its inner transaction's operations, nothing for the bump itself);
``successful_operation_count`` (stellar-etl's ``operation_count``) only those of successful
transactions; ``tx_set_operation_count`` equals ``operation_count`` (stellar-etl's name).
"""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
from pydantic import Field

from flowctl_dsl.catalog.spec import LEDGER_CLOSE_META, Params, Spec

_IMPL = "flowctl_dsl.transforms.processors"
AMOUNT = pa.decimal128(38, 7)
TIMESTAMP = pa.timestamp("s", tz="UTC")


def _f(name: str, type_: pa.DataType, doc: str, nullable: bool = False) -> pa.Field:
    return pa.field(name, type_, nullable=nullable, metadata={"description": doc})


def _schema(*fields: pa.Field) -> pa.Schema:
    return pa.schema(fields)


# --- params -----------------------------------------------------------------------------------


class NoParams(Params):
    """This processor takes no parameters."""


class PaymentsParams(Params):
    asset: str | None = Field(
        None,
        description="Keep payments of this asset: `native`, `CODE:ISSUER`, or a bare `CODE`.",
    )
    account: str | None = Field(None, description="Keep payments from or to this G… account.")
    min_amount: Decimal | None = Field(
        None, ge=0, description="Keep payments whose amount is at least this (in units)."
    )
    successful_only: bool = Field(False, description="Drop payments of failed transactions.")


# --- shared column groups ---------------------------------------------------------------------

_LEDGER_SEQUENCE = _f("ledger_sequence", pa.int64(), "Sequence of the ledger.")
_CLOSED_AT = _f("closed_at", TIMESTAMP, "Ledger close time (UTC).")
_TX_HASH = _f("transaction_hash", pa.string(), "Hex hash of the transaction (outer for fee bumps).")
_TX_INDEX = _f("transaction_index", pa.int32(), "1-based application order in the ledger.")
_OP_INDEX = _f("operation_index", pa.int32(), "1-based position of the operation in its tx.")
_OP_ID = _f("operation_id", pa.int64(), "TOID: ledger<<32 | transaction_index<<12 | op index.")
_SUCCESSFUL = _f("successful", pa.bool_(), "Whether the transaction succeeded.")


LEDGERS_SCHEMA = _schema(
    _f("sequence", pa.int64(), "Ledger sequence."),
    _f("ledger_id", pa.int64(), "TOID of the ledger (sequence << 32)."),
    _f("ledger_hash", pa.string(), "Hex sha256 of the ledger header XDR."),
    _f("previous_ledger_hash", pa.string(), "Hex hash of the previous ledger."),
    _CLOSED_AT,
    _f("protocol_version", pa.int32(), "Protocol version of the ledger."),
    _f("transaction_count", pa.int32(), "All transactions in the set, successful or failed."),
    _f("successful_transaction_count", pa.int32(), "Successful transactions."),
    _f("failed_transaction_count", pa.int32(), "Failed transactions."),
    _f("operation_count", pa.int32(), "Operations of all transactions, failed included."),
    _f("successful_operation_count", pa.int32(), "Operations of successful transactions."),
    _f("tx_set_operation_count", pa.int32(), "Operations in the transaction set (all)."),
    _f("soroban_transaction_count", pa.int32(), "Transactions carrying Soroban data."),
    _f("total_coins", pa.int64(), "Lumens in existence, in stroops."),
    _f("fee_pool", pa.int64(), "Fees collected and not yet redistributed, in stroops."),
    _f("base_fee", pa.int64(), "Base fee per operation, in stroops."),
    _f("base_reserve", pa.int64(), "Base reserve, in stroops."),
    _f("max_tx_set_size", pa.int32(), "Maximum transaction set size (operations)."),
    _f("lcm_version", pa.int32(), "LedgerCloseMeta union arm (0, 1, 2)."),
    _f("soroban_fee_write_1kb", pa.int64(), "Soroban write fee per 1 KB (LCM ext v1).", True),
    _f(
        "total_byte_size_of_live_soroban_state",
        pa.int64(),
        "Live Soroban state size in bytes (LCM V1/V2).",
        True,
    ),
    _f("node_id", pa.string(), "G… key of the validator that signed the close value.", True),
    _f("signature", pa.string(), "Base64 signature of the close value.", True),
)

LATEST_LEDGER_SCHEMA = _schema(
    _f("sequence", pa.int64(), "Ledger sequence."),
    _f("hash", pa.string(), "Hex ledger hash."),
    _CLOSED_AT,
    _f("protocol_version", pa.int32(), "Protocol version of the ledger."),
    _f("transaction_count", pa.int32(), "All transactions in the set, successful or failed."),
    _f("successful_transaction_count", pa.int32(), "Successful transactions."),
    _f("failed_transaction_count", pa.int32(), "Failed transactions."),
    _f("operation_count", pa.int32(), "Operations of all transactions, failed included."),
    _f("total_fee_charged", pa.int64(), "Sum of fee_charged over all transactions, stroops."),
    _f("base_fee", pa.int64(), "Base fee per operation, in stroops."),
    _f("soroban_transaction_count", pa.int32(), "Transactions carrying Soroban data."),
    _f("total_soroban_fees", pa.int64(), "Sum of declared Soroban resource fees, stroops."),
    _f("total_resource_instructions", pa.int64(), "Sum of declared Soroban CPU instructions."),
)

TRANSACTIONS_SCHEMA = _schema(
    _TX_HASH,
    _LEDGER_SEQUENCE,
    _CLOSED_AT,
    _TX_INDEX,
    _f("transaction_id", pa.int64(), "TOID: ledger<<32 | transaction_index<<12."),
    _f("account", pa.string(), "G… source account of the (inner) transaction."),
    _f("account_muxed", pa.string(), "M… source account when muxed.", True),
    _f("account_sequence", pa.int64(), "Sequence number the transaction consumed."),
    _f("fee_account", pa.string(), "G… fee payer of a fee bump.", True),
    _f("fee_account_muxed", pa.string(), "M… fee payer of a fee bump when muxed.", True),
    _f("fee_charged", pa.int64(), "Fee actually charged, in stroops."),
    _f("max_fee", pa.int64(), "Fee bid of the (inner) transaction, in stroops."),
    _f("new_max_fee", pa.int64(), "Fee bid of the fee bump, in stroops.", True),
    _f("inner_transaction_hash", pa.string(), "Hex hash of a fee bump's inner tx.", True),
    _f("operation_count", pa.int32(), "Operations in the transaction."),
    _SUCCESSFUL,
    _f("result_code", pa.string(), "TransactionResultCode (the inner one for fee bumps)."),
    _f("memo_type", pa.string(), "none, text, id, hash or return."),
    _f("memo", pa.string(), "Text, decimal id, or base64 hash.", True),
    _f("is_fee_bump", pa.bool_(), "Whether the envelope is a fee bump."),
    _f("is_soroban", pa.bool_(), "Whether the transaction carries Soroban data."),
    _f("resource_fee", pa.int64(), "Declared Soroban resource fee, in stroops.", True),
)

OPERATIONS_SCHEMA = _schema(
    _OP_ID,
    _TX_HASH,
    _LEDGER_SEQUENCE,
    _CLOSED_AT,
    _TX_INDEX,
    _OP_INDEX,
    _f("type", pa.string(), "snake_case operation type, e.g. payment."),
    _f("type_code", pa.int32(), "OperationType value."),
    _f("source_account", pa.string(), "G… source (the op's own, else the transaction's)."),
    _f("source_account_muxed", pa.string(), "M… source when muxed.", True),
    _SUCCESSFUL,
    _f(
        "operation_result_code",
        pa.string(),
        "Result code of the operation (inner code, e.g. PAYMENT_SUCCESS); null when not applied.",
        True,
    ),
    _f(
        "details",
        pa.string(),
        "JSON of the operation body (stellar-sdk XDR JSON; stroops as strings).",
    ),
)

_ASSET_COLUMNS = (
    _f("asset", pa.string(), "Asset received: native or CODE:ISSUER."),
    _f("asset_type", pa.string(), "native, credit_alphanum4 or credit_alphanum12."),
    _f("asset_code", pa.string(), "Asset code (null for native).", True),
    _f("asset_issuer", pa.string(), "Asset issuer (null for native).", True),
)

PAYMENTS_SCHEMA = _schema(
    _OP_ID,
    _TX_HASH,
    _LEDGER_SEQUENCE,
    _CLOSED_AT,
    _TX_INDEX,
    _OP_INDEX,
    _f(
        "type",
        pa.string(),
        "payment, path_payment_strict_send/receive, create_account, account_merge.",
    ),
    _f("from", pa.string(), "G… account that paid."),
    _f("from_muxed", pa.string(), "M… payer when muxed.", True),
    _f("to", pa.string(), "G… account that received."),
    _f("to_muxed", pa.string(), "M… recipient when muxed.", True),
    *_ASSET_COLUMNS,
    _f(
        "amount",
        AMOUNT,
        "Amount received (strict send: delivered per result; account merge: merged balance). "
        "Null when unknown because the transaction failed.",
        True,
    ),
    _f("amount_raw", pa.int64(), "amount in stroops.", True),
    _f("source_asset", pa.string(), "Asset sent (path payments; else = asset)."),
    _f("source_asset_type", pa.string(), "Type of the asset sent."),
    _f("source_asset_code", pa.string(), "Code of the asset sent.", True),
    _f("source_asset_issuer", pa.string(), "Issuer of the asset sent.", True),
    _f(
        "source_amount",
        AMOUNT,
        "Amount sent (strict receive: spent per result; null when unknown).",
        True,
    ),
    _f("source_amount_raw", pa.int64(), "source_amount in stroops.", True),
    _f("source_max", AMOUNT, "Strict receive: most the payer would send.", True),
    _f("destination_min", AMOUNT, "Strict send: least the recipient must get.", True),
    _SUCCESSFUL,
)

_OP_KEY = ("ledger_sequence", "transaction_index", "operation_index")

SPECS: tuple[Spec, ...] = (
    Spec(
        kind="processor",
        name="ledgers",
        aliases=("ledger", "history_ledgers"),
        summary="One record per ledger: header fields and transaction/operation counts.",
        params=NoParams,
        impl=f"{_IMPL}.ledgers:records",
        native_impl="flowctl_dsl.stellar.native:ledgers",
        input_type=LEDGER_CLOSE_META,
        output_type="ledger",
        schema=LEDGERS_SCHEMA,
        primary_field="sequence",
        key_fields=("sequence",),
        examples=("testnet(ledgers=997..999) | ledgers | stdout",),
    ),
    Spec(
        kind="processor",
        name="latest_ledger",
        aliases=("latest-ledger",),
        summary="One compact record per ledger: counts, fees and Soroban totals.",
        params=NoParams,
        impl=f"{_IMPL}.ledgers:latest_ledger",
        native_impl="flowctl_dsl.stellar.native:latest_ledger",
        input_type=LEDGER_CLOSE_META,
        output_type="latest_ledger",
        schema=LATEST_LEDGER_SCHEMA,
        primary_field="sequence",
        key_fields=("sequence",),
        examples=("mainnet(ledgers=53312000..53312010) | latest-ledger | stdout",),
    ),
    Spec(
        kind="processor",
        name="transactions",
        aliases=("transaction", "history_transactions"),
        summary="One record per transaction, in application order, failed ones included.",
        params=NoParams,
        impl=f"{_IMPL}.transactions:records",
        input_type=LEDGER_CLOSE_META,
        output_type="transaction",
        schema=TRANSACTIONS_SCHEMA,
        primary_field="fee_charged",
        key_fields=("ledger_sequence", "transaction_index"),
        examples=("testnet(ledgers=997..999) | transactions | stdout",),
    ),
    Spec(
        kind="processor",
        name="operations",
        aliases=("operation", "history_operations"),
        summary="One record per operation, with its body as JSON.",
        params=NoParams,
        impl=f"{_IMPL}.operations:records",
        input_type=LEDGER_CLOSE_META,
        output_type="operation",
        schema=OPERATIONS_SCHEMA,
        primary_field="type",
        key_fields=_OP_KEY,
        examples=("testnet(ledgers=997..999) | operations | stdout",),
    ),
    Spec(
        kind="processor",
        name="payments",
        aliases=("payment", "filter_payments"),
        summary="Lumen and asset movements: payments, path payments, create_account, account_merge.",
        params=PaymentsParams,
        impl=f"{_IMPL}.payments:records",
        input_type=LEDGER_CLOSE_META,
        output_type="payment",
        schema=PAYMENTS_SCHEMA,
        primary_field="amount",
        key_fields=_OP_KEY,
        examples=(
            "testnet(ledgers=997..999) | payments | stdout",
            'mainnet(ledgers=53312000..53312000) | payments(asset="native", min_amount=100) | stdout',
        ),
    ),
)
