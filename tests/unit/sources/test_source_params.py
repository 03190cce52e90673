"""Source parameters: checker errors (not runtime) for bad times and contradictory ranges, the
``bounded`` fact in the plan, and the catalog entries of the new sources."""

from __future__ import annotations

import json

import pytest

from flowctl_dsl.catalog import catalog
from flowctl_dsl.cli import main
from flowctl_dsl.describe import describe
from flowctl_dsl.driver import Input, planned

LAKE = '"/nonexistent/lake"'

BAD = [
    ('mainnet(since="yesterday") | ledgers | stdout', "since", "ISO 8601"),
    ('mainnet(until="2024-02-30") | ledgers | stdout', "until", "ISO 8601"),
    ('mainnet(last="30x") | ledgers | stdout', "last", "not a duration"),
    ('mainnet(last="0d") | ledgers | stdout', "last", "empty duration"),
    (
        'mainnet(ledgers=5.., since="2024-09-01") | ledgers | stdout',
        "since",
        "where the range starts",
    ),
    (
        'mainnet(ledgers=5..9, until="2024-09-01") | ledgers | stdout',
        "until",
        "where the range ends",
    ),
    ('mainnet(last="1d", since="2024-09-01") | ledgers | stdout', "last", "where the range starts"),
    ('mainnet(last="1d", ledgers=5..) | ledgers | stdout', "last", "where the range starts"),
    ('mainnet(last="1d", until="2024-09-01") | ledgers | stdout', "last", "cannot end at `until`"),
    (
        'mainnet(since="2024-09-02", until="2024-09-01T23:00Z") | ledgers | stdout',
        "until",
        "range is empty",
    ),
    ("mainnet(ledgers=5..9, follow=true) | ledgers | stdout", "follow", "open end"),
    ('mainnet(poll="fast") | ledgers | stdout', "poll", "not a duration"),
    ("mainnet(stop_after=0) | ledgers | stdout", "stop_after", "greater than or equal to 1"),
    (f'datastore({LAKE}, since="2024-09-01", ledgers=1..) | ledgers | stdout', "since", "starts"),
    (f"datastore({LAKE}, region=1) | ledgers | stdout", "region", "string"),
    ('rpc("http://127.0.0.1:1", page_size=500) | ledgers | stdout', "page_size", "200"),
    ('rpc("http://127.0.0.1:1", last="2x") | ledgers | stdout', "last", "duration"),
    ('xdr_file("x.txt", format=jsonish, network=testnet) | ledgers | stdout', "format", "batch"),
]


@pytest.mark.parametrize(("text", "param", "phrase"), BAD)
def test_checker_rejects(text: str, param: str, phrase: str, capsys: pytest.CaptureFixture) -> None:
    assert main(["check", "--format", "json", "-e", text]) == 1
    doc = json.loads(capsys.readouterr().out)
    errors = [d for d in doc["diagnostics"] if d["severity"] == "error"]
    assert len(errors) == 1, errors
    assert errors[0]["code"] == "FC105"
    assert f"`{param}`" in errors[0]["reason"]
    assert phrase in errors[0]["reason"]


GOOD = [
    "mainnet | latest_ledger | stdout",
    'mainnet(ledgers=5.., until="2024-09-01T00:00Z") | ledgers | stdout',
    'mainnet(since="2024-09-01T00:00Z", until="2024-09-02") | ledgers | stdout',
    'testnet(last="30d", follow=false, region="us-east-1") | ledgers | stdout',
    f'datastore({LAKE}, last="1w", endpoint_url="http://127.0.0.1:9000") | ledgers | stdout',
    'rpc("http://127.0.0.1:1", network=testnet, ledgers=1..400, page_size=50) | ledgers | stdout',
    'xdr_file("ledgers.xdr.zstd") | contract_events | stdout',
    'xdr_file("a.txt", format=b64lines, network=mainnet, ledgers=5..) | ledgers | stdout',
]


@pytest.mark.parametrize("text", GOOD)
def test_checker_accepts(text: str) -> None:
    assert main(["check", "-e", text]) == 0


@pytest.mark.parametrize(
    ("text", "bounded"),
    [
        ("mainnet | latest_ledger | stdout", False),
        ("mainnet(ledgers=5..) | latest_ledger | stdout", False),
        ("mainnet(ledgers=5..9) | latest_ledger | stdout", True),
        ('mainnet(since="2024-09-01") | latest_ledger | stdout', False),
        ('mainnet(since="2024-09-01", until="2024-09-02") | latest_ledger | stdout', True),
        ('mainnet(last="1h", follow=false) | latest_ledger | stdout', True),
        (f"datastore({LAKE}) | latest_ledger | stdout", True),
        (f"datastore({LAKE}, ledgers=5..) | latest_ledger | stdout", False),
        (f"datastore({LAKE}, ledgers=5.., follow=false) | latest_ledger | stdout", True),
        (f'datastore({LAKE}, last="1h") | latest_ledger | stdout', True),
        (f'datastore({LAKE}, last="1h", follow=true) | latest_ledger | stdout', False),
        ('rpc("http://x") | latest_ledger | stdout', False),
        ('rpc("http://x", ledgers=1..9) | latest_ledger | stdout', True),
        ('xdr_file("f") | latest_ledger | stdout', True),
    ],
)
def test_plan_knows_whether_the_source_is_bounded(text: str, bounded: bool) -> None:
    plan = planned(Input.inline(text))
    assert plan.source.params["bounded"] is bounded


def test_network_alias_defaults_name_the_public_lake() -> None:
    plan = planned(Input.inline("mainnet(ledgers=5..9) | latest_ledger | stdout"))
    assert plan.source.params["url"] == "s3://aws-public-blockchain/v1.1/stellar/ledgers/pubnet"
    assert plan.source.params["region"] == "us-east-2"


@pytest.mark.parametrize("name", ["datastore", "mainnet", "testnet", "rpc", "xdr_file"])
def test_catalog_entries(name: str) -> None:
    (spec,) = catalog().find(name)
    text = describe(spec)
    for param in spec.params.model_fields:
        assert f"    {param}:" in text
        assert spec.params.model_fields[param].description
    assert spec.examples
    for example in spec.examples:
        pipeline = example if "|" in example else f"{example} | ledgers | stdout"
        assert main(["check", "-e", pipeline]) == 0, example
