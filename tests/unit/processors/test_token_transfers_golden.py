"""token_transfers reproduces stellar/go's token-transfer processor on real pubnet ledgers.

Oracles (see the fixtures' PROVENANCE.md):

* ``pubnet/ttp-ledgers-expected-ttp-events.txt``: stellar/go @ d94f5df (March 2025) output for
  ``pubnet/ttp-ledgers-base64.txt`` — 423 fee + 799 transfer events.
* the 7 edge-case ledgers of ``pubnet/ttp/``: stellar/go @ f29c8f3d (March 2025) wrote a
  ``<name>-events`` file next to each. Those files are not in the shared fixtures; when one is
  present there it is used, otherwise the expectation below applies: for the six small ledgers the
  events transcribed from it, for ``revoke-trustline-ledger-56065483`` (548 events) the sha256 of
  the normalized list, checked against the Go file when this test was written.

Both goldens predate two later stellar/go changes, so they are compared with
``order="transaction"`` (each transaction's fee, then its operation events) and
``split_soroban_fees=False`` (one net Soroban fee event). The d94f5df golden also predates the fix
that gives a ``create_claimable_balance`` transfer its ``to`` (the new balance's ``B…`` id): its
102 such events have no ``to``, which is the only field ignored, and only for those events.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import pytest
import ttp_golden as golden

from flowctl_dsl.catalog.event_processors import TokenTransfersParams
from flowctl_dsl.stellar.ledger import LedgerView
from flowctl_dsl.transforms.processors import token_transfers

LoadLedgers = Callable[..., list[LedgerView]]
MARCH_2025 = TokenTransfersParams(order="transaction", split_soroban_fees=False)

#: (transaction_index, operation_index, type, from, to, asset, amount in stroops) per ledger,
#: transcribed from stellar/go @ f29c8f3d ingest/tutorial/ttp-example/<name>-events.
EDGE_CASES: dict[str, list[tuple[int, int | None, str, str | None, str | None, str, int]]] = {
    "mint-ledger-7320888": [
        (
            1,
            None,
            "fee",
            "GBUYUAI75XXWDZEKLY66CFYKQPET5JR4EENXZBUZ3YXZ7DS56Z4OKOFU",
            None,
            "native",
            100,
        ),
        (
            1,
            1,
            "mint",
            None,
            "GDW3CNKSP5AOTDQ2YCKNGC6L65CE4JDX3JS5BV427OB54HCF2J4PUEVG",
            "BTC:GBUYUAI75XXWDZEKLY66CFYKQPET5JR4EENXZBUZ3YXZ7DS56Z4OKOFU",
            90000000,
        ),
    ],
    "burn-ledger-7762802": [
        (
            1,
            None,
            "fee",
            "GDRFRGR2FDUFF2RI6PQE5KFSCJHGSEIOGET22R66XSATP3BYHZ46BPLO",
            None,
            "native",
            100,
        ),
        (
            1,
            1,
            "burn",
            "GDRFRGR2FDUFF2RI6PQE5KFSCJHGSEIOGET22R66XSATP3BYHZ46BPLO",
            None,
            "BITCRYSTALS:GB3XEHZMSIOS63JL6DEAO7KCIT2TNSYDEODNA5BNM72FUGVOMA73TA75",
            7175538,
        ),
    ],
    "xlm-burn-bug-ledger-9722383": [
        (
            1,
            None,
            "fee",
            "GBPAAY5NG7P53XLXRDGMJMXUXBNGGY2JRFDHJXAN2F2LXTHBV6M7PTS3",
            None,
            "native",
            100,
        ),
        (
            1,
            1,
            "transfer",
            "GBPAAY5NG7P53XLXRDGMJMXUXBNGGY2JRFDHJXAN2F2LXTHBV6M7PTS3",
            "GBPAAY5NG7P53XLXRDGMJMXUXBNGGY2JRFDHJXAN2F2LXTHBV6M7PTS3",
            "native",
            10000000,
        ),
        (
            1,
            1,
            "burn",
            "GBPAAY5NG7P53XLXRDGMJMXUXBNGGY2JRFDHJXAN2F2LXTHBV6M7PTS3",
            None,
            "native",
            10000000,
        ),
        (
            2,
            None,
            "fee",
            "GASXQDZACD5DRGVPIVB2LAW5JFGADBPPXAPHD6FTBRWC6RHDLL4YVQ5G",
            None,
            "native",
            100,
        ),
    ],
    "xlm-mint-bug-ledger-9652679": [
        (
            1,
            None,
            "fee",
            "GDPT6UNS63PLCFBTOTMJK5UCOSGUUSEWTBBMAIGAHGAS6HRZHL4RZU4G",
            None,
            "native",
            400,
        ),
        (
            1,
            1,
            "transfer",
            "GDPT6UNS63PLCFBTOTMJK5UCOSGUUSEWTBBMAIGAHGAS6HRZHL4RZU4G",
            "GAF32SPJJRDT6NTIQQIQO57BVCTPDWOS3OILRWIN3LMJ5PXYRACB6SLL",
            "native",
            250000000,
        ),
        (
            1,
            2,
            "transfer",
            "GDPT6UNS63PLCFBTOTMJK5UCOSGUUSEWTBBMAIGAHGAS6HRZHL4RZU4G",
            "GAF32SPJJRDT6NTIQQIQO57BVCTPDWOS3OILRWIN3LMJ5PXYRACB6SLL",
            "native",
            301837715906081,
        ),
        (
            1,
            3,
            "mint",
            None,
            "GDPT6UNS63PLCFBTOTMJK5UCOSGUUSEWTBBMAIGAHGAS6HRZHL4RZU4G",
            "native",
            301837715906081,
        ),
        (
            1,
            3,
            "transfer",
            "GDPT6UNS63PLCFBTOTMJK5UCOSGUUSEWTBBMAIGAHGAS6HRZHL4RZU4G",
            "GAF32SPJJRDT6NTIQQIQO57BVCTPDWOS3OILRWIN3LMJ5PXYRACB6SLL",
            "native",
            301837715906081,
        ),
        (
            1,
            4,
            "mint",
            None,
            "GDPT6UNS63PLCFBTOTMJK5UCOSGUUSEWTBBMAIGAHGAS6HRZHL4RZU4G",
            "native",
            301837715906081,
        ),
        (
            1,
            4,
            "transfer",
            "GDPT6UNS63PLCFBTOTMJK5UCOSGUUSEWTBBMAIGAHGAS6HRZHL4RZU4G",
            "GAF32SPJJRDT6NTIQQIQO57BVCTPDWOS3OILRWIN3LMJ5PXYRACB6SLL",
            "native",
            301837715906081,
        ),
        (
            2,
            None,
            "fee",
            "GDA7DLK5NOB6BQDIGOSQJY3GFXR6CFZMND3HZLINUATEXA4ZE3VSFWX7",
            None,
            "native",
            100,
        ),
        (
            2,
            1,
            "transfer",
            "GDA7DLK5NOB6BQDIGOSQJY3GFXR6CFZMND3HZLINUATEXA4ZE3VSFWX7",
            "GCQDXNPSH524RF7EISN3NLFIFEKJYTVCTL7ZNNW5MGOBLTRHJBRKAWJH",
            "native",
            1462907284,
        ),
    ],
    "xlm-mint-bug-ledger-9652698": [
        (
            1,
            None,
            "fee",
            "GDA7DLK5NOB6BQDIGOSQJY3GFXR6CFZMND3HZLINUATEXA4ZE3VSFWX7",
            None,
            "native",
            100,
        ),
        (
            1,
            1,
            "transfer",
            "GDA7DLK5NOB6BQDIGOSQJY3GFXR6CFZMND3HZLINUATEXA4ZE3VSFWX7",
            "GCQDXNPSH524RF7EISN3NLFIFEKJYTVCTL7ZNNW5MGOBLTRHJBRKAWJH",
            "native",
            1082232771,
        ),
        (
            2,
            None,
            "fee",
            "GAF32SPJJRDT6NTIQQIQO57BVCTPDWOS3OILRWIN3LMJ5PXYRACB6SLL",
            None,
            "native",
            300,
        ),
        (
            2,
            1,
            "transfer",
            "GAF32SPJJRDT6NTIQQIQO57BVCTPDWOS3OILRWIN3LMJ5PXYRACB6SLL",
            "GCH7JC6VXPBHELQTQWPS3AKV5YLOWQSFHUIIUTYD55FJAU2PJYHHTFDS",
            "native",
            250000000,
        ),
        (
            2,
            2,
            "transfer",
            "GAF32SPJJRDT6NTIQQIQO57BVCTPDWOS3OILRWIN3LMJ5PXYRACB6SLL",
            "GCH7JC6VXPBHELQTQWPS3AKV5YLOWQSFHUIIUTYD55FJAU2PJYHHTFDS",
            "native",
            905513147717943,
        ),
        (
            2,
            3,
            "mint",
            None,
            "GAF32SPJJRDT6NTIQQIQO57BVCTPDWOS3OILRWIN3LMJ5PXYRACB6SLL",
            "native",
            905513147717943,
        ),
        (
            2,
            3,
            "transfer",
            "GAF32SPJJRDT6NTIQQIQO57BVCTPDWOS3OILRWIN3LMJ5PXYRACB6SLL",
            "GCH7JC6VXPBHELQTQWPS3AKV5YLOWQSFHUIIUTYD55FJAU2PJYHHTFDS",
            "native",
            905513147717943,
        ),
    ],
    "xlm-mint-bug-ledger-9710976": [
        (
            1,
            None,
            "fee",
            "GDMMXR7DXWIHGYUVI5JIUU5A4WAERIZF33O72FXI5D72I4ZPEDGOSCPS",
            None,
            "native",
            300,
        ),
        (
            1,
            1,
            "transfer",
            "GDMMXR7DXWIHGYUVI5JIUU5A4WAERIZF33O72FXI5D72I4ZPEDGOSCPS",
            "GCHVS3DMUBNTTMAP4DKBOL6YQYRWQQB5KCVT5PUN2NMNX4UG6MYQ6Q22",
            "native",
            250000000,
        ),
        (
            1,
            2,
            "transfer",
            "GDMMXR7DXWIHGYUVI5JIUU5A4WAERIZF33O72FXI5D72I4ZPEDGOSCPS",
            "GCHVS3DMUBNTTMAP4DKBOL6YQYRWQQB5KCVT5PUN2NMNX4UG6MYQ6Q22",
            "native",
            2949998100,
        ),
        (
            1,
            3,
            "mint",
            None,
            "GDMMXR7DXWIHGYUVI5JIUU5A4WAERIZF33O72FXI5D72I4ZPEDGOSCPS",
            "native",
            2949998100,
        ),
        (
            1,
            3,
            "transfer",
            "GDMMXR7DXWIHGYUVI5JIUU5A4WAERIZF33O72FXI5D72I4ZPEDGOSCPS",
            "GCHVS3DMUBNTTMAP4DKBOL6YQYRWQQB5KCVT5PUN2NMNX4UG6MYQ6Q22",
            "native",
            2949998100,
        ),
    ],
}
REVOKE_TRUSTLINE = "revoke-trustline-ledger-56065483"
REVOKE_TRUSTLINE_SHA256 = "5b1ebbb0c3297a620d0bcd334c71c4edff16858beaa396ad1375a2239eaceb2d"


def _rows(records: list[dict]) -> list[tuple]:
    return [
        (
            r["transaction_index"],
            r["operation_index"],
            r["event_type"],
            r["from"],
            r["to"],
            r["asset"],
            int(r["amount_raw"]),
        )
        for r in records
    ]


def _golden_rows(path: Path) -> list[tuple]:
    text = path.read_text()
    indices = [
        json.loads(m.group(2))["meta"]["transactionIndex"] for m in golden._BLOCK.finditer(text)
    ]
    return [
        (i, e.operation_index, e.event_type, e.from_, e.to, e.asset, e.amount_raw)
        for i, e in zip(indices, golden.parse(text), strict=True)
    ]


def test_march_2025_golden_ledgers(load_ledgers: LoadLedgers, stellar_fixtures: Path) -> None:
    expected = defaultdict(list)
    for event in golden.parse_file(stellar_fixtures / "pubnet/ttp-ledgers-expected-ttp-events.txt"):
        expected[event.ledger_sequence].append(event)
    assert sum(len(v) for v in expected.values()) == 1222
    counts = {}
    for ledger in load_ledgers("pubnet/ttp-ledgers-base64.txt"):
        got = [golden.from_record(r) for r in token_transfers.records(ledger, MARCH_2025)]
        want = expected.get(ledger.sequence, [])
        # the golden's create_claimable_balance transfers lack `to` (pre-fix semantics)
        patched = 0
        for i, (g, w) in enumerate(zip(got, want, strict=False)):
            if w.event_type == "transfer" and w.to is None and (g.to or "").startswith("B"):
                got[i] = g._replace(to=None)
                patched += 1
        assert patched == (102 if ledger.sequence == 46154623 else 0)
        assert got == want, ledger.sequence
        counts[ledger.sequence] = len(got)
    assert counts == {6154623: 0, 16154623: 2, 26154623: 27, 36154623: 196, 46154623: 997}


@pytest.mark.parametrize("name", [*EDGE_CASES, REVOKE_TRUSTLINE])
def test_edge_case_ledgers(name: str, load_ledgers: LoadLedgers, stellar_fixtures: Path) -> None:
    (ledger,) = load_ledgers(f"pubnet/ttp/{name}")
    got = _rows(list(token_transfers.records(ledger, MARCH_2025)))
    events_file = stellar_fixtures / "pubnet/ttp" / f"{name}-events"
    if events_file.exists():
        assert got == _golden_rows(events_file)
    elif name == REVOKE_TRUSTLINE:
        assert len(got) == 548
        assert sum(r[2] == "fee" for r in got) == 359
        digest = hashlib.sha256(json.dumps(got, separators=(",", ":")).encode()).hexdigest()
        assert digest == REVOKE_TRUSTLINE_SHA256
    else:
        assert got == EDGE_CASES[name]


def test_default_semantics_split_soroban_fees(load_ledgers: LoadLedgers) -> None:
    """Today's stellar/go: fees first, and a Soroban fee = charge + negative refund (same net)."""
    (ledger,) = load_ledgers(f"pubnet/ttp/{REVOKE_TRUSTLINE}")
    new = list(token_transfers.records(ledger))
    old = list(token_transfers.records(ledger, MARCH_2025))
    n_tx = len(ledger.transactions())
    assert [r["event_type"] for r in new[:n_tx]] == ["fee"] * n_tx
    assert all(r["event_type"] != "fee" or r["amount_raw"] < 0 for r in new[n_tx:])
    refunds = [r for r in new if r["event_type"] == "fee" and r["amount_raw"] < 0]
    assert len(refunds) == 2 and len(new) == len(old) + 2

    def net_fees(records: list[dict]) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for r in records:
            if r["event_type"] == "fee":
                out[r["transaction_hash"]] += int(r["amount_raw"])
        return dict(out)

    assert net_fees(new) == net_fees(old)
    non_fee = [golden.from_record(r) for r in new if r["event_type"] != "fee"]
    assert non_fee == [golden.from_record(r) for r in old if r["event_type"] != "fee"]
