"""BigQuery sink: table resource, load-job configuration, MERGE and the writer, on a fake client."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytest.importorskip("google.cloud.bigquery")

from google.api_core import exceptions as api  # noqa: E402
from google.cloud import bigquery  # noqa: E402

from flowctl_dsl.catalog import catalog  # noqa: E402
from flowctl_dsl.catalog.warehouse_sinks import BigqueryParams  # noqa: E402
from flowctl_dsl.errors import FlowctlError  # noqa: E402
from flowctl_dsl.transforms.context import BuildContext  # noqa: E402
from flowctl_dsl.transforms.sinks import bigquery as bq  # noqa: E402
from flowctl_dsl.transforms.sinks.targets import SinkUnreachableError  # noqa: E402

PAYMENTS = catalog().get("processor", "payments")
assert PAYMENTS is not None and PAYMENTS.schema is not None
SCHEMA = PAYMENTS.schema
KEY = PAYMENTS.key_fields
TABLE = bq.BqTable("my-project.stellar.payments", SCHEMA, KEY, "load")
NOW = datetime(2024, 9, 2, 12, tzinfo=UTC)


def payment(ledger: int, op: int, amount: str = "1.5") -> dict[str, Any]:
    row: dict[str, Any] = {name: None for name in SCHEMA.names}
    row.update(
        operation_id=ledger << 32 | 1 << 12 | op,
        transaction_hash="ab" * 32,
        ledger_sequence=ledger,
        closed_at=datetime(2024, 9, 2, 10, ledger % 60, tzinfo=UTC),
        transaction_index=1,
        operation_index=op,
        type="payment",
        **{"from": "GA", "to": "GB"},
        asset="native",
        asset_type="native",
        amount=Decimal(amount),
        amount_raw=15,
        source_asset="native",
        source_asset_type="native",
        successful=True,
    )
    return row


class FakeJob:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error

    def result(self) -> None:
        if self.error:
            raise self.error


class FakeClient:
    project = "fake-project"

    def __init__(self, load_error: Exception | None = None) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.loaded: bytes = b""
        self.load_error = load_error

    def create_table(self, table: bigquery.Table, exists_ok: bool = False) -> None:
        self.calls.append(("create_table", (table, exists_ok)))

    def load_table_from_file(self, f: io.BufferedReader, dest: str, **kw: Any) -> FakeJob:
        self.loaded = f.read()
        self.calls.append(("load", (dest, kw["job_config"])))
        return FakeJob(self.load_error)

    def query(self, sql: str, job_config: Any = None, location: Any = None) -> FakeJob:
        self.calls.append(("query", (sql, job_config)))
        return FakeJob()

    def delete_table(self, table: str, not_found_ok: bool = False) -> None:
        self.calls.append(("delete_table", table))

    def insert_rows_json(self, table: str, rows: list[dict[str, Any]], row_ids: Any) -> list[Any]:
        self.calls.append(("insert", (table, rows, row_ids)))
        return []


def test_target_is_partitioned_by_day_on_closed_at_and_clustered_on_the_key() -> None:
    resource = bq.table_resource(TABLE)
    assert resource.time_partitioning.type_ == bigquery.TimePartitioningType.DAY
    assert resource.time_partitioning.field == "closed_at"
    assert resource.clustering_fields == ["ledger_sequence", "transaction_index", "operation_index"]
    by_name = {f.name: f for f in resource.schema}
    assert by_name["amount"].field_type == "BIGNUMERIC"
    assert by_name["closed_at"].field_type == "TIMESTAMP"
    assert by_name["ledger_sequence"].mode == "REQUIRED"
    assert by_name["from_muxed"].mode == "NULLABLE"


def test_no_partitioning_without_closed_at() -> None:
    schema = pa.schema([pa.field("sequence", pa.int64(), False)])
    resource = bq.table_resource(bq.BqTable("p-123456.d.t", schema, ("sequence",), "load"))
    assert resource.time_partitioning is None
    assert resource.clustering_fields == ["sequence"]


def test_load_job_replaces_the_staging_table_from_parquet() -> None:
    config = bq.load_job_config(TABLE)
    assert config.source_format == bigquery.SourceFormat.PARQUET
    assert config.write_disposition == bigquery.WriteDisposition.WRITE_TRUNCATE
    assert config.create_disposition == bigquery.CreateDisposition.CREATE_NEVER
    assert set(config.decimal_target_types) == {"NUMERIC", "BIGNUMERIC"}
    assert [f.name for f in config.schema] == SCHEMA.names


def test_merge_upserts_on_the_key_within_the_batch_time_range() -> None:
    sql = bq.merge_sql(TABLE, "my-project.stellar.payments__flowctl_stage_x")
    assert sql.startswith(
        "MERGE `my-project.stellar.payments` T USING (SELECT * EXCEPT(_flowctl_n)"
    )
    assert "PARTITION BY `ledger_sequence`, `transaction_index`, `operation_index`" in sql
    assert (
        "ON T.`ledger_sequence` = S.`ledger_sequence` AND T.`transaction_index` = "
        "S.`transaction_index` AND T.`operation_index` = S.`operation_index` "
        "AND T.`closed_at` BETWEEN @lo AND @hi"
    ) in sql
    assert "WHEN MATCHED THEN UPDATE SET `operation_id` = S.`operation_id`," in sql
    assert "`ledger_sequence` = S." not in sql.split("UPDATE SET")[1].split("WHEN NOT")[0]
    assert sql.endswith("S.`successful`)")


def test_load_and_merge_sends_the_records_and_cleans_up() -> None:
    client = FakeClient()
    records = [payment(997, 1), payment(998, 2, "10.0000001"), payment(999, 1)]
    count = bq.load_and_merge(TABLE, records, lambda _: client, now=lambda: NOW)
    assert count == 3
    names = [c[0] for c in client.calls]
    assert names == ["create_table", "create_table", "load", "query", "delete_table"]
    target, exists_ok = client.calls[0][1]
    assert target.table_id == "payments" and exists_ok
    staging, _ = client.calls[1][1]
    assert staging.table_id.startswith("payments__flowctl_stage_")
    assert staging.expires == NOW + bq.STAGING_TTL
    dest, _config = client.calls[2][1]
    assert dest == f"my-project.stellar.{staging.table_id}"
    loaded = pq.read_table(io.BytesIO(client.loaded), schema=SCHEMA)
    assert loaded.to_pylist() == records
    sql, config = client.calls[3][1]
    assert dest in sql
    params = {p.name: p.value for p in config.query_parameters}
    assert params == {"lo": records[0]["closed_at"], "hi": records[2]["closed_at"]}
    assert client.calls[4][1] == dest


def test_a_failed_load_is_one_error_naming_the_table_and_drops_staging() -> None:
    client = FakeClient(load_error=api.ServiceUnavailable("backend down"))
    with pytest.raises(SinkUnreachableError) as info:
        bq.load_and_merge(TABLE, [payment(997, 1)], lambda _: client, now=lambda: NOW)
    assert str(info.value).startswith(
        "cannot reach bigquery target my-project.stellar.payments after 1 attempt: 503"
    )
    assert client.calls[-1][0] == "delete_table"


def test_no_records_no_jobs() -> None:
    client = FakeClient()
    assert bq.load_and_merge(TABLE, [], lambda _: client) == 0
    assert client.calls == []


def test_streaming_uses_the_key_as_insert_id() -> None:
    client = FakeClient()
    fn = bq.StreamFn(bq.BqTable("d.t", SCHEMA, KEY, "streaming"), lambda _: client)
    fn.setup()
    fn.start_bundle()
    fn.process(payment(997, 1))
    fn.process(payment(997, 2))
    fn.finish_bundle()
    fn.teardown()
    _, (table, rows, ids) = client.calls[-1]
    assert table == "fake-project.d.t"
    assert ids == ["997/1/1", "997/1/2"]
    assert rows[0]["amount"] == "1.5" and rows[0]["closed_at"] == "2024-09-02T10:37:00+00:00"


def test_load_needs_the_key() -> None:
    ctx = BuildContext(pipeline="p", schema=SCHEMA, key_fields=())
    with pytest.raises(FlowctlError, match="mode=upsert needs"):
        bq.build(BigqueryParams(table="d.t"), ctx)
    assert bq.build(BigqueryParams(table="d.t", method="streaming"), ctx).table.key == ()
