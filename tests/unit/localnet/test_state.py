"""Invariants of the localnet state machine after every ledger, and the order-book engine."""

from __future__ import annotations

from collections import Counter, defaultdict
from fractions import Fraction

from stellar_sdk import Keypair
from stellar_sdk import xdr as sx

from flowctl_dsl.stellar.localnet import Localnet
from flowctl_dsl.stellar.localnet.engine import cross
from flowctl_dsl.stellar.localnet.state import (
    NATIVE,
    Account,
    LedgerState,
    Offer,
    TrustLine,
    View,
    issuer_of,
)

PASS = "Standalone Network ; February 2017"


def check_invariants(state: LedgerState) -> None:
    selling: Counter[tuple[str, str]] = Counter()
    buying: Counter[tuple[str, str]] = Counter()
    sub_entries: Counter[str] = Counter()
    for offer in state.offers():
        assert offer.amount > 0
        sub_entries[offer.seller_id] += 1
        if issuer_of(offer.selling) != offer.seller_id:
            selling[(offer.seller_id, offer.selling)] += offer.amount
        if issuer_of(offer.buying) != offer.seller_id:
            buying[(offer.seller_id, offer.buying)] += offer.buying_liabilities()
    lines: dict[str, list[TrustLine]] = defaultdict(list)
    for entry in state.entries.values():
        if isinstance(entry, TrustLine):
            sub_entries[entry.account_id] += 1
            lines[entry.account_id].append(entry)
            assert 0 <= entry.balance <= entry.limit
            assert entry.selling_liabilities == selling[(entry.account_id, entry.asset)]
            assert entry.buying_liabilities == buying[(entry.account_id, entry.asset)]
            assert entry.selling_liabilities <= entry.balance
    for acc in state.accounts():
        assert acc.num_sub_entries == sub_entries[acc.account_id], acc.account_id
        assert acc.selling_liabilities == selling[(acc.account_id, NATIVE)]
        assert acc.buying_liabilities == buying[(acc.account_id, NATIVE)]
        assert acc.balance >= acc.min_balance() + acc.selling_liabilities
    total = sum(a.balance for a in state.accounts())
    assert total + state.fee_pool == state.total_coins
    ids = [o.offer_id for o in state.offers()]
    assert len(set(ids)) == len(ids) and max(ids, default=0) <= state.id_pool


def test_invariants_hold_after_every_ledger() -> None:
    net = Localnet(seed=11, txs_per_ledger=15)
    for _ in range(50):
        net.close()
        check_invariants(net.state)
    assert any(True for _ in net.state.offers())


def _book(*offers: Offer) -> tuple[LedgerState, str, str]:
    maker, taker = Keypair.random().public_key, Keypair.random().public_key
    issuer = Keypair.random().public_key
    usd = f"USD:{issuer}"
    state = LedgerState()
    state.apply(
        {
            ("account", maker): Account(maker, 10**12, 1, num_sub_entries=1 + len(offers)),
            ("account", taker): Account(taker, 10**12, 1, num_sub_entries=1),
            ("account", issuer): Account(issuer, 10**10, 1),
            ("trustline", maker, usd): TrustLine(maker, usd, balance=10**12),
            ("trustline", taker, usd): TrustLine(taker, usd, balance=10**12),
        }
    )
    for i, o in enumerate(offers, start=1):
        placed = Offer(maker, i, usd, NATIVE, o.amount, o.price_n, o.price_d)
        state.apply({placed.key: placed})
    return state, taker, usd


def test_cross_takes_best_price_first_and_rounds_for_the_maker() -> None:
    state, taker, usd = _book(
        Offer("", 0, "", "", 100, 3, 1),  # 100 USD at 3 XLM each
        Offer("", 0, "", "", 50, 2, 1),  # 50 USD at 2 XLM each (better)
    )
    view = View(state, 9)
    got = cross(view, taker, NATIVE, usd, PASS, want_buy=70)
    assert not isinstance(got, str)
    assert (got.bought, got.sold) == (70, 50 * 2 + 20 * 3)
    assert [a.order_book.offer_id.int64 for a in got.atoms] == [2, 1]
    assert view.get(next(k for k in view.writes if k[0] == "offer" and k[2] == "2")) is None
    # strict send: the last partial fill takes all that is left of the budget
    view = View(state, 9)
    got = cross(view, taker, NATIVE, usd, PASS, max_sell=105, exact_send=True)
    assert not isinstance(got, str)
    assert (got.sold, got.bought) == (105, 50 + 1)
    events = [e.body.v0.topics[0].sym.sc_symbol for e in got.events]
    assert events == [b"transfer"] * 4
    assert got.atoms[0].type == sx.ClaimAtomType.CLAIM_ATOM_TYPE_ORDER_BOOK


def test_cross_respects_the_price_limit_and_refuses_self_trades() -> None:
    state, taker, usd = _book(Offer("", 0, "", "", 100, 3, 1))
    got = cross(View(state, 9), taker, NATIVE, usd, PASS, want_buy=10, limit=Fraction(2))
    assert not isinstance(got, str) and got.bought == 0
    maker = next(iter(state.offers())).seller_id
    assert cross(View(state, 9), maker, NATIVE, usd, PASS, want_buy=10) == "CROSS_SELF"
