"""Local galexie lakes: flat test bucket, partitioned lakes written with write_object, gaps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flowctl_dsl.stellar import lake as lk
from flowctl_dsl.stellar.lake import (
    Chunk,
    LakeError,
    LakeSchema,
    LocalLake,
    MissingLedgerError,
    UnsupportedLakeError,
)
from flowctl_dsl.stellar.networks import STANDALONE_PASSPHRASE, TESTNET_PASSPHRASE

RPC = "standalone/rpc-load-test-ledgers-v25.xdr.zstd"


@pytest.fixture
def bucket(stellar_fixtures: Path) -> Path:
    return stellar_fixtures / "testnet" / "datalake-testbucket"


def test_flat_test_bucket(bucket: Path) -> None:
    lake = LocalLake(bucket)
    assert lake.manifest == lk.Manifest(TESTNET_PASSPHRASE, 1, 64000, "zstd", "1.0")
    assert lake.layout.partitioned is False
    assert lake.schema.extension == "zstd"
    assert lake.bounds() == (997, 999)
    assert lake.resolve(None) == (997, 999)
    assert lake.resolve((998, None)) == (998, 999)
    ledgers = list(lake.read(997, 999))
    assert [r.sequence for r in ledgers] == [997, 998, 999]
    assert {r.network_passphrase for r in ledgers} == {TESTNET_PASSPHRASE}
    assert [r.sequence for r in LocalLake(bucket.as_uri()).read(998, 998)] == [998]


def test_missing_object_names_first_missing_ledger(bucket: Path) -> None:
    lake = LocalLake(bucket)
    assert lake.gaps(995, 999) == [995, 996]
    with pytest.raises(MissingLedgerError) as info:
        list(lake.read(995, 999))
    assert info.value.sequence == 995
    assert "995" in str(info.value) and "skip_gaps" in str(info.value)
    with pytest.raises(MissingLedgerError) as info:
        list(lake.read(999, 1001))
    assert info.value.sequence == 1000
    assert [r.sequence for r in lake.read(995, 1001, skip_gaps=True)] == [997, 998, 999]


def test_passphrase_argument_overrides_manifest(bucket: Path) -> None:
    lake = LocalLake(bucket, network_passphrase="other")
    assert next(lake.read(997, 997)).network_passphrase == "other"


@pytest.mark.parametrize("extension", ["zst", "zstd"])
def test_partitioned_lake_written_with_write_object(
    tmp_path: Path, raw_ledgers, extension: str
) -> None:
    by_seq = {b.sequence: b.xdr for b in raw_ledgers(RPC)[:12]}  # 10048..10059
    schema = LakeSchema(ledgers_per_file=4, files_per_partition=2, extension=extension)
    lk.write_manifest(tmp_path, STANDALONE_PASSPHRASE, schema)
    for start in (10048, 10052, 10056):
        path = lk.write_object(
            tmp_path, schema, [by_seq[s] for s in range(start, start + 4)], start, start + 3
        )
        assert path.name.endswith(f".xdr.{extension}")
    assert (tmp_path / "FFFFD8BF--10048-10055" / f"FFFFD8BF--10048-10051.xdr.{extension}").is_file()
    assert (tmp_path / "FFFFD8B7--10056-10063" / f"FFFFD8B7--10056-10059.xdr.{extension}").is_file()
    assert not list(tmp_path.rglob("*.tmp"))

    lake = LocalLake(f"file://{tmp_path}")
    assert lake.layout.partitioned and lake.schema == schema
    assert lake.network_passphrase == STANDALONE_PASSPHRASE
    assert lake.bounds() == (10048, 10059)
    assert lake.plan(10050, 10057) == [
        Chunk(10050, 10051),
        Chunk(10052, 10055),
        Chunk(10056, 10057),
    ]
    got = list(lake.read(10050, 10057))
    assert [(r.sequence, r.xdr) for r in got] == [(s, by_seq[s]) for s in range(10050, 10058)]
    with pytest.raises(MissingLedgerError) as info:
        list(lake.read(10058, 10061))
    assert info.value.sequence == 10060


def test_mixed_extensions_and_single_ledger_objects(tmp_path: Path, raw_ledgers) -> None:
    ledgers = raw_ledgers(RPC)[:3]
    for item, ext in zip(ledgers, ["zst", "zstd", "zst"], strict=True):
        lk.write_object(
            tmp_path, LakeSchema(1, 64000, ext), [item.xdr], item.sequence, item.sequence
        )
    lake = LocalLake(tmp_path, network_passphrase=STANDALONE_PASSPHRASE)
    assert lake.manifest is None
    assert lake.schema.extension == "zst"
    assert [r.sequence for r in lake.read(10048, 10050)] == [10048, 10049, 10050]


def test_no_passphrase_is_an_error(tmp_path: Path, raw_ledgers) -> None:
    (item,) = raw_ledgers(RPC)[:1]
    lk.write_object(tmp_path, LakeSchema(), [item.xdr], item.sequence, item.sequence)
    with pytest.raises(LakeError, match="passphrase"):
        list(LocalLake(tmp_path).read(item.sequence, item.sequence))


def test_write_object_checks_its_range(tmp_path: Path) -> None:
    schema = LakeSchema(ledgers_per_file=4)
    with pytest.raises(ValueError, match="ledgers for range"):
        lk.write_object(tmp_path, schema, [b"x"], 8, 9)
    with pytest.raises(ValueError, match="more than one object"):
        lk.write_object(tmp_path, schema, [b"x", b"y"], 11, 12)


def test_manifest_round_trip_and_conflict(tmp_path: Path) -> None:
    schema = LakeSchema(1, 64000, "zst")
    path = lk.write_manifest(tmp_path, TESTNET_PASSPHRASE, schema)
    assert json.loads(path.read_text()) == {
        "networkPassphrase": TESTNET_PASSPHRASE,
        "version": "1.0",
        "compression": "zstd",
        "ledgersPerBatch": 1,
        "batchesPerPartition": 64000,
    }
    assert lk.write_manifest(tmp_path, TESTNET_PASSPHRASE, schema) == path
    with pytest.raises(LakeError, match="different settings"):
        lk.write_manifest(tmp_path, STANDALONE_PASSPHRASE, schema)


@pytest.mark.parametrize(
    "url", ["s3://aws-public-blockchain/v1.1/stellar/ledgers/pubnet", "gs://b/x"]
)
def test_remote_lakes_not_supported_yet(url: str) -> None:
    with pytest.raises(UnsupportedLakeError, match="not supported yet"):
        LocalLake(url)


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(LakeError, match="no such directory"):
        LocalLake(tmp_path / "nope")


def test_plan_chunks() -> None:
    schema = LakeSchema(ledgers_per_file=10)
    assert lk.plan_chunks(schema, 5, 4) == []
    assert lk.plan_chunks(schema, 5, 34) == [
        Chunk(5, 9),
        Chunk(10, 19),
        Chunk(20, 29),
        Chunk(30, 34),
    ]
    assert lk.plan_chunks(schema, 5, 34, objects_per_chunk=2) == [Chunk(5, 19), Chunk(20, 34)]
    assert lk.plan_chunks(LakeSchema(), 997, 999) == [
        Chunk(997, 997),
        Chunk(998, 998),
        Chunk(999, 999),
    ]
