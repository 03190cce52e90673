"""Lakes in S3, for real: a moto S3 server on 127.0.0.1 holds lakes written from the localnet and
the testnet fixture bucket; flowctl lists and reads them anonymously through boto3."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from flowctl_dsl.cli import main
from flowctl_dsl.stellar.lake import LakeError, LocalLake
from flowctl_dsl.stellar.localnet.generate import generate_lake
from flowctl_dsl.stellar.remote_lake import S3Store, open_lake, open_store
from flowctl_dsl.stellar.time_ranges import LakeClock, resolve

pytestmark = pytest.mark.integration
boto3 = pytest.importorskip("boto3")
moto_server = pytest.importorskip("moto.server")

REGION = "us-east-2"
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


def _public(bucket: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": ["s3:GetObject", "s3:ListBucket"],
                    "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                }
            ],
        }
    )


def upload(client, bucket: str, prefix: str, root: Path) -> int:  # type: ignore[no-untyped-def]
    count = 0
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        key = f"{prefix}/{path.relative_to(root).as_posix()}"
        client.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
        count += 1
    return count


@pytest.fixture(scope="module")
def s3(
    tmp_path_factory: pytest.TempPathFactory, stellar_fixtures: Path
) -> Iterator[dict[str, object]]:
    """A loopback S3 server with a public bucket `lake` and a private bucket `private`."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client(
        "s3",
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    for bucket in ("lake", "private"):
        client.create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
    client.put_bucket_policy(Bucket="lake", Policy=_public("lake"))
    local = tmp_path_factory.mktemp("s3-localnet")
    generate_lake(local, (2, 61), files_per_partition=16, txs_per_ledger=1)  # 4 partitions
    gaps = tmp_path_factory.mktemp("s3-gaps")
    generate_lake(gaps, (2, 21), files_per_partition=8, txs_per_ledger=1)
    for seq in (9, 10):
        next(gaps.rglob(f"*--{seq}.xdr.zst")).unlink()
    bucket = stellar_fixtures / "testnet" / "datalake-testbucket"
    upload(client, "lake", "v1/localnet", local)
    upload(client, "lake", "v1/gaps", gaps)
    upload(client, "lake", "v1/testnet", bucket)
    upload(client, "private", "lake", bucket)
    yield {"endpoint": endpoint, "local": local, "client": client}
    server.stop()


def test_listing_bounds_and_gaps_across_partitions(s3: dict) -> None:
    lake = open_lake(
        "s3://lake/v1/localnet", region=REGION, endpoint_url=s3["endpoint"], anonymous=True
    )
    assert isinstance(lake.store, S3Store)
    assert lake.layout.partitioned and lake.schema.files_per_partition == 16
    assert lake.bounds() == (2, 61)
    assert list(lake.objects_in(14, 35)) == list(range(14, 36))  # cursor listing, 3 partitions
    assert lake.gaps(50, 70) == list(range(62, 71))
    local = LocalLake(s3["local"])
    got = list(lake.read(14, 35))
    assert [(r.sequence, r.xdr) for r in got] == [(r.sequence, r.xdr) for r in local.read(14, 35)]
    assert lake.layout.read_header(33).closed_at == EPOCH + timedelta(seconds=5 * 33)


def test_header_only_read_is_a_ranged_get(s3: dict) -> None:
    store = open_store("s3://lake/v1/testnet", REGION, s3["endpoint"], anonymous=True)
    whole = store.get("FFFFFC19--998.xdr.zstd")
    assert whole is not None and store.get_prefix("FFFFFC19--998.xdr.zstd", 100) == whole[:100]
    assert store.get("nope.xdr.zst") is None and store.get_prefix("nope", 10) is None


def test_time_range_over_s3(s3: dict) -> None:
    lake = open_lake(
        "s3://lake/v1/localnet", region=REGION, endpoint_url=s3["endpoint"], anonymous=True
    )
    clock = LakeClock(lake)
    got = resolve(
        clock, since=EPOCH + timedelta(seconds=5 * 20), until=EPOCH + timedelta(seconds=5 * 40 + 1)
    )
    assert (got.start, got.end, got.tip) == (20, 40, 61)
    assert clock.reads < 20


def test_flat_fixture_bucket_and_private_bucket(s3: dict) -> None:
    lake = open_lake(
        "s3://lake/v1/testnet", region=REGION, endpoint_url=s3["endpoint"], anonymous=True
    )
    assert not lake.layout.partitioned and lake.schema.extension == "zstd"
    assert lake.bounds() == (997, 999)
    assert lake.network_passphrase == "Test SDF Network ; September 2015"
    with pytest.raises(LakeError, match="403|AccessDenied"):
        open_lake("s3://private/lake", region=REGION, endpoint_url=s3["endpoint"], anonymous=True)


def _run(text: str, out: Path, capsys: pytest.CaptureFixture) -> tuple[int, list[dict], str]:
    code = main(["run", "-q", "-e", text])
    err = capsys.readouterr().err
    rows = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    return code, rows, err


def test_pipelines_read_s3(s3: dict, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    ep = s3["endpoint"]
    remote = f'endpoint_url="{ep}", region="{REGION}", anonymous=true'
    out = tmp_path / "a.jsonl"
    code, rows, err = _run(
        f'datastore("s3://lake/v1/localnet", {remote}, ledgers=10..40) | latest_ledger '
        f'| select sequence, closed_at | save_to jsonl("{out}")',
        out,
        capsys,
    )
    assert code == 0, err
    assert sorted(r["sequence"] for r in rows) == list(range(10, 41))

    out = tmp_path / "b.jsonl"
    code, rows, err = _run(
        f'datastore("s3://lake/v1/localnet", {remote}, since="2025-01-01T00:02:00Z", '
        f'until="2025-01-01T00:03:00Z") | latest_ledger | select sequence | save_to jsonl("{out}")',
        out,
        capsys,
    )
    assert code == 0, err
    assert sorted(r["sequence"] for r in rows) == list(range(24, 36))  # 120 s / 5 .. 180 s / 5 - 1

    out = tmp_path / "c.jsonl"
    code, rows, err = _run(
        f'testnet(url="s3://lake/v1/testnet", {remote}, ledgers=997..999) | latest_ledger '
        f'| select sequence | save_to jsonl("{out}")',
        out,
        capsys,
    )
    assert code == 0, err
    assert sorted(r["sequence"] for r in rows) == [997, 998, 999]


def test_missing_objects_on_s3(s3: dict, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    ep = s3["endpoint"]
    remote = f'endpoint_url="{ep}", region="{REGION}", anonymous=true'
    out = tmp_path / "gaps.jsonl"
    text = (
        f'datastore("s3://lake/v1/gaps", {remote}, ledgers=5..15{{}}) | latest_ledger '
        f'| select sequence | save_to jsonl("{out}")'
    )
    code, _, err = _run(text.format(""), out, capsys)
    assert code == 1
    assert "FC401" in err and "ledger 9 is missing" in err and "Traceback" not in err
    code, rows, err = _run(text.format(", skip_gaps=true"), out, capsys)
    assert code == 0, err
    assert sorted(r["sequence"] for r in rows) == [5, 6, 7, 8, 11, 12, 13, 14, 15]
