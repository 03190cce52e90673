"""Lake URLs → stores: buckets, prefixes and keys for s3:// and gs://, local paths, errors."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from flowctl_dsl.stellar.lake import LakeError, LakeLayout, LakeSchema, LocalStore, _before
from flowctl_dsl.stellar.remote_lake import GCSStore, S3Store, is_remote, open_store, split_url


@pytest.mark.parametrize(
    ("url", "parts"),
    [
        (
            "s3://aws-public-blockchain/v1.1/stellar/ledgers/pubnet",
            ("s3", "aws-public-blockchain", "v1.1/stellar/ledgers/pubnet/"),
        ),
        ("s3://b/", ("s3", "b", "")),
        ("s3://b", ("s3", "b", "")),
        (
            "gs://sdf-ledger-close-meta/v1/ledgers/pubnet/",
            ("gs", "sdf-ledger-close-meta", "v1/ledgers/pubnet/"),
        ),
    ],
)
def test_split_url(url: str, parts: tuple[str, str, str]) -> None:
    assert split_url(url) == parts
    assert is_remote(url)


@pytest.mark.parametrize("url", ["s3:///x", "http://host/x", "/local/path"])
def test_split_url_rejects(url: str) -> None:
    with pytest.raises(LakeError):
        split_url(url)


def test_open_store(tmp_path: Path) -> None:
    s3 = open_store(
        "s3://b/p/q", region="us-east-2", endpoint_url="http://127.0.0.1:9", anonymous=True
    )
    assert s3 == S3Store("b", "p/q/", "us-east-2", "http://127.0.0.1:9", True)
    assert s3.url == "s3://b/p/q"
    gs = open_store("gs://b/p")
    assert gs == GCSStore("b", "p/")
    assert gs.url == "gs://b/p"
    assert open_store(tmp_path.as_uri()) == LocalStore(str(tmp_path))
    with pytest.raises(LakeError, match="no such directory"):
        open_store(str(tmp_path / "nope"))


def test_stores_and_layouts_pickle_without_clients() -> None:
    layout = LakeLayout("s3://b/p", LakeSchema(), True, "pp", S3Store("b", "p/", "r"))
    assert pickle.loads(pickle.dumps(layout)) == layout
    assert (
        layout.candidates(53312000)[0] == "FCD285FF--53312000-53375999/FCD285FF--53312000.xdr.zst"
    )


def test_listing_cursor_sorts_between_objects() -> None:
    """Keys sort newest first; the cursor for ledger N sits after N+1's keys and before N's."""
    schema = LakeSchema(ledgers_per_file=1)
    names = sorted(schema.file_name(s, ext) for s in (99, 100, 101) for ext in ("zst", "zstd"))
    cursor = _before(100)
    assert [n for n in names if n > cursor] == sorted(
        schema.file_name(s, e) for s in (99, 100) for e in ("zst", "zstd")
    )
    batched = LakeSchema(ledgers_per_file=64)
    assert batched.file_name(128) > _before(128) > batched.file_name(192)


def test_local_store_listing(tmp_path: Path) -> None:
    (tmp_path / "A--1-2").mkdir()
    (tmp_path / "A--1-2" / "k2").write_bytes(b"2")
    (tmp_path / "A--1-2" / "k1").write_bytes(b"1")
    (tmp_path / ".config.json").write_text("{}")
    store = LocalStore(str(tmp_path))
    assert list(store.list(delimiter="/")) == [".config.json", "A--1-2/"]
    assert list(store.list("A--1-2/")) == ["A--1-2/k1", "A--1-2/k2"]
    assert list(store.list("A--1-2/", start_after="A--1-2/k1")) == ["A--1-2/k2"]
    assert list(store.list("missing/")) == []
    assert store.get_prefix("A--1-2/k2", 10) == b"2" and store.get("nope") is None
