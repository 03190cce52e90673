"""since/until/last: parsing, and resolution to ledgers by header-only search over lakes."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from flowctl_dsl.stellar.lake import LakeSchema, LocalLake, write_manifest, write_object
from flowctl_dsl.stellar.time_ranges import (
    LakeClock,
    TimeRangeError,
    parse_duration,
    parse_time,
    resolve,
)

EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


def closes(seq: int) -> datetime:
    """Close time of localnet ledger ``seq``."""
    return EPOCH + timedelta(seconds=5 * seq)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-09-01T00:00Z", datetime(2024, 9, 1, tzinfo=UTC)),
        ("2024-09-01", datetime(2024, 9, 1, tzinfo=UTC)),
        ("2024-09-01T02:30:00+02:00", datetime(2024, 9, 1, 0, 30, tzinfo=UTC)),
        ("2024-09-01 00:00:05", datetime(2024, 9, 1, 0, 0, 5, tzinfo=UTC)),
    ],
)
def test_parse_time(text: str, expected: datetime) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize("text", ["yesterday", "2024-13-01", "", "30d", "2024-09-01T25:00Z"])
def test_parse_time_rejects(text: str) -> None:
    with pytest.raises(TimeRangeError, match="ISO 8601"):
        parse_time(text)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("15m", 900),
        ("12h", 43200),
        ("30d", 2592000),
        ("1w", 604800),
        ("1d12h", 129600),
    ],
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["30", "d", "30x", "-5m", "1.5h", "0s", "5 m"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(TimeRangeError):
        parse_duration(text)


@pytest.mark.parametrize("lake_name", ["localnet_lake", "batched_lake"])
def test_every_boundary_on_localnet(lake_name: str, request: pytest.FixtureRequest) -> None:
    """since (inclusive) and until (exclusive) land on the exact ledger, at, just before and after."""
    lake = LocalLake(request.getfixturevalue(lake_name))
    for seq in (2, 3, 7, 8, 9, 100, 150, 297, 300, 301):
        for offset in (-1, 0, 1):
            when = closes(seq) + timedelta(seconds=offset)
            first = max(2, seq if offset <= 0 else seq + 1)  # first ledger closed at/after `when`
            got = resolve(LakeClock(lake), since=when, until=when + timedelta(seconds=50))
            end = first + 9  # until = when + 50 s: ten ledgers later, exclusive
            assert got.start == first, (seq, offset)
            assert got.end == (end if end <= 301 else None), (seq, offset)
            assert got.tip == 301


def test_outside_the_lake(localnet_lake: Path) -> None:
    clock = LakeClock(LocalLake(localnet_lake))
    assert resolve(clock, since=closes(-100)).start == 2
    assert resolve(clock, since=closes(400)).start == 302  # nothing yet: the next ledger
    assert resolve(clock, until=closes(1)).end == 1  # empty: ends before the first ledger
    assert resolve(clock, until=closes(1000)).end is None  # after the tip


def test_last_counts_back_from_the_newest_ledger(batched_lake: Path) -> None:
    got = resolve(LakeClock(LocalLake(batched_lake)), last=timedelta(seconds=100))
    assert (got.start, got.end, got.tip) == (281, None, 301)


def test_header_reads_are_logarithmic(tmp_path: Path) -> None:
    """A 20,000-ledger lake (tiny synthetic objects): a few dozen header reads, not thousands."""
    from flowctl_dsl.stellar.localnet.generate import iter_ledgers

    (one,) = list(iter_ledgers(2, 2, txs_per_ledger=0))
    schema = LakeSchema(1, 64000)
    write_manifest(tmp_path, "x", schema)
    template = bytearray(one.xdr)
    header = _header_offsets(one.xdr)
    for seq in range(10, 20_010):
        body = bytearray(template)
        body[header["seq"] : header["seq"] + 4] = seq.to_bytes(4, "big")
        body[header["close"] : header["close"] + 8] = int(closes(seq).timestamp()).to_bytes(
            8, "big"
        )
        write_object(tmp_path, schema, [bytes(body)], seq, seq)
    clock = LakeClock(LocalLake(tmp_path))
    began = time.perf_counter()
    got = resolve(clock, since=closes(5_000) + timedelta(seconds=2), until=closes(15_000))
    elapsed = time.perf_counter() - began
    assert (got.start, got.end) == (5_001, 14_999)
    assert clock.reads < 80, clock.reads
    assert elapsed < 5


def _header_offsets(xdr: bytes) -> dict[str, int]:
    """Byte offsets of ledgerSeq and closeTime, found by planting known values."""
    from flowctl_dsl.stellar.decode import header_only

    info = header_only(xdr)
    seq_at = xdr.find(info.sequence.to_bytes(4, "big"), 100)
    close_at = xdr.find(int(info.closed_at.timestamp()).to_bytes(8, "big"))
    assert seq_at > 0 and close_at > 0
    return {"seq": seq_at, "close": close_at}


def test_fixture_lakes(stellar_fixtures: Path, tmp_path: Path) -> None:
    """The real testnet bucket (997..999) and the pubnet object 53312000 in a lake of its own."""
    bucket = LocalLake(stellar_fixtures / "testnet" / "datalake-testbucket")
    times = {s: bucket.layout.read_header(s).closed_at for s in (997, 998, 999)}
    assert times[997] < times[998] < times[999]
    clock = LakeClock(bucket)
    assert resolve(clock, since=times[998]).start == 998
    assert resolve(clock, since=times[998] + timedelta(seconds=1)).start == 999
    assert resolve(clock, since=times[997], until=times[999]).end == 998
    assert resolve(clock, last=timedelta(seconds=1)).start == 999

    source = stellar_fixtures / "pubnet" / "FCD285FF--53312000.xdr.zstd"
    part = tmp_path / "FCD285FF--53312000-53375999"
    part.mkdir()
    (part / source.name).write_bytes(source.read_bytes())
    pubnet = LocalLake(tmp_path, network_passphrase="p")
    assert pubnet.bounds() == (53312000, 53312000)
    assert pubnet.layout.read_header(53312000).closed_at == datetime(
        2024, 9, 2, 10, 50, 19, tzinfo=UTC
    )
    got = resolve(LakeClock(pubnet), since=parse_time("2024-09-01T00:00Z"))
    assert got.start == 53312000


def test_empty_lake(tmp_path: Path) -> None:
    write_manifest(tmp_path, "x", LakeSchema())
    with pytest.raises(TimeRangeError, match="empty"):
        resolve(LakeClock(LocalLake(tmp_path)), since=EPOCH)
