"""Checkpoint stores: a local file (atomic), PostgreSQL, S3 (moto) and GCS (emulator) on loopback."""

from __future__ import annotations

import logging
import os
import pickle
import socket
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

from flowctl_dsl.catalog.settings import CheckpointConfig
from flowctl_dsl.transforms.reliability.errors import CheckpointStoreError
from flowctl_dsl.transforms.reliability.retry import RetryPolicy
from flowctl_dsl.transforms.reliability.store import (
    STATE_DIR_ENV,
    Checkpoint,
    FileStore,
    Guarded,
    ObjectStore,
    PostgresStore,
    open_store,
    parse_location,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "integration"))
from conftest_pg import PgServer, pg  # noqa: E402, F401


def checkpoint(through: int = 99, name: str = "demo") -> Checkpoint:
    return Checkpoint(
        pipeline=name,
        ir_sha256="ab" * 32,
        source="localnet",
        first_ledger=2,
        last_ledger=401,
        committed_through=through,
        updated_at=datetime(2025, 1, 1, tzinfo=UTC),
    )


def roundtrip(store: object) -> None:
    assert store.load("demo") is None  # type: ignore[attr-defined]
    store.save(checkpoint(99))  # type: ignore[attr-defined]
    store.save(checkpoint(199))  # type: ignore[attr-defined]
    got = store.load("demo")  # type: ignore[attr-defined]
    assert got == checkpoint(199) and got.next_ledger == 200
    assert store.delete("demo") and not store.delete("demo")  # type: ignore[attr-defined]
    assert store.load("demo") is None  # type: ignore[attr-defined]


def test_file_store_replaces_atomically(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "state")
    roundtrip(store)
    store.save(checkpoint(150, name="a/b c"))
    assert [p.name for p in (tmp_path / "state").iterdir()] == ["a_b_c.json"]  # no temp files


def test_a_damaged_checkpoint_is_a_coded_error(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    (tmp_path / "demo.json").write_text('{"pipeline": "demo", "committed_')
    with pytest.raises(CheckpointStoreError, match="is not a flowctl checkpoint") as info:
        store.load("demo")
    assert info.value.code == "FC409"


def test_unwritable_store_fails_after_retries(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    store = Guarded(FileStore(tmp_path / "file" / "sub"), RetryPolicy(2, 0.0, 0.0))
    with pytest.raises(CheckpointStoreError, match="cannot write checkpoint"):
        store.save(checkpoint())


def test_open_store_and_locations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(STATE_DIR_ENV, raising=False)
    assert open_store(None).url == ".flowctl/state"  # type: ignore[union-attr]
    monkeypatch.setenv(STATE_DIR_ENV, str(tmp_path))
    assert open_store(None).url == str(tmp_path)  # type: ignore[union-attr]
    assert open_store(CheckpointConfig()).url == str(tmp_path)  # the default dir moves too
    assert isinstance(open_store(CheckpointConfig(store="file", location="x/")), FileStore)
    assert isinstance(open_store(CheckpointConfig(store="s3", location="s3://b/p")), ObjectStore)
    assert parse_location("gs://b/state").store == "gs"
    pg_config = parse_location("postgresql://u:pw@h/db")
    assert pg_config.store == "postgres" and isinstance(pg_config.location, SecretStr)
    assert parse_location("file:///tmp/s").location == "/tmp/s"


def test_postgres_store(pg: PgServer) -> None:  # noqa: F811
    store = PostgresStore(SecretStr(pg.dsn))
    payload = pickle.dumps(store)
    if pg.password:
        assert pg.password.encode() not in payload and pg.password not in store.url
    roundtrip(store)
    roundtrip(pickle.loads(payload))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def s3_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    moto_server = pytest.importorskip("moto.server")
    boto3 = pytest.importorskip("boto3")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    for key, value in {
        "AWS_ENDPOINT_URL_S3": endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="state")
    yield endpoint
    server.stop()


def test_s3_store(s3_env: str) -> None:
    roundtrip(open_store(CheckpointConfig(store="s3", location="s3://state/flowctl/")))


def test_gcs_store(monkeypatch: pytest.MonkeyPatch) -> None:
    emulator = pytest.importorskip("gcp_storage_emulator.server")
    logging.getLogger("gcp_storage_emulator").setLevel(logging.ERROR)
    port = _free_port()
    server = emulator.create_server("127.0.0.1", port, in_memory=True, default_bucket="state")
    server.start()
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "test")
    try:
        roundtrip(open_store(CheckpointConfig(store="gs", location="gs://state/flowctl")))
    finally:
        server.stop()
        os.environ.pop("STORAGE_EMULATOR_HOST", None)
