"""Lakes in Google Cloud Storage, against gcp-storage-emulator on 127.0.0.1 (anonymous client).

The emulator ignores ``startOffset``, so the cursor is also applied client-side (the result is the
same; only the listing is longer than on real GCS).
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from flowctl_dsl.cli import main
from flowctl_dsl.stellar.lake import LocalLake
from flowctl_dsl.stellar.localnet.generate import generate_lake
from flowctl_dsl.stellar.remote_lake import GCSStore, open_lake
from flowctl_dsl.stellar.time_ranges import LakeClock, resolve

pytestmark = pytest.mark.integration
emulator = pytest.importorskip("gcp_storage_emulator.server")

EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def gcs(tmp_path_factory: pytest.TempPathFactory, stellar_fixtures: Path) -> Iterator[dict]:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    logging.getLogger("gcp_storage_emulator").setLevel(logging.ERROR)
    port = _free_port()
    server = emulator.create_server("127.0.0.1", port, in_memory=True, default_bucket="lake")
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    client = storage.Client(
        project="test",
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": endpoint},
    )
    bucket = client.bucket("lake")
    local = tmp_path_factory.mktemp("gcs-localnet")
    generate_lake(local, (2, 41), files_per_partition=16, txs_per_ledger=1)
    for root, prefix in (
        (local, "v1/localnet"),
        (stellar_fixtures / "testnet" / "datalake-testbucket", "v1/testnet"),
    ):
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            blob = bucket.blob(f"{prefix}/{path.relative_to(root).as_posix()}")
            blob.upload_from_string(path.read_bytes())
    yield {"endpoint": endpoint, "local": local}
    server.stop()


def test_partitioned_lake(gcs: dict) -> None:
    lake = open_lake("gs://lake/v1/localnet", endpoint_url=gcs["endpoint"], anonymous=True)
    assert isinstance(lake.store, GCSStore)
    assert lake.layout.partitioned and lake.bounds() == (2, 41)
    assert list(lake.objects_in(10, 20)) == list(range(10, 21))
    assert lake.gaps(35, 45) == [42, 43, 44, 45]
    local = LocalLake(gcs["local"])
    assert [r.xdr for r in lake.read(12, 18)] == [r.xdr for r in local.read(12, 18)]
    got = resolve(LakeClock(lake), since=EPOCH + timedelta(seconds=5 * 30))
    assert (got.start, got.tip) == (30, 41)


def test_flat_bucket_and_missing_objects(gcs: dict) -> None:
    lake = open_lake("gs://lake/v1/testnet", endpoint_url=gcs["endpoint"], anonymous=True)
    assert lake.bounds() == (997, 999) and lake.gaps(995, 1000) == [995, 996, 1000]
    assert lake.store.get("FFFFFC1B--996.xdr.zstd") is None
    assert lake.layout.read_header(999).sequence == 999


def test_pipeline_on_gcs(gcs: dict, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out.jsonl"
    text = (
        f'datastore("gs://lake/v1/localnet", endpoint_url="{gcs["endpoint"]}", anonymous=true, '
        f'ledgers=5..25) | latest_ledger | select sequence | save_to jsonl("{out}")'
    )
    assert main(["run", "-q", "-e", text]) == 0, capsys.readouterr().err
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(r["sequence"] for r in rows) == list(range(5, 26))
