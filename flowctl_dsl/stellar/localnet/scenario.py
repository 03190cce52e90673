"""What happens on the localnet, ledger by ledger: real signed transactions built with stellar-sdk.

Cast (all keys derived from the seed, except the network root which, as in stellar-core, is
``sha256(passphrase)``): three issuers (``USD``, ``EUR`` and the 12-character ``CARBONCREDIT``),
two market makers quoting both sides of every asset against XLM, a fee-bump sponsor and a growing
crowd of users.

Bootstrap: ledger 2 creates the accounts, 3 opens trustlines, 4 mints the assets, 5 places the
makers' offers. From ledger 6 on, each ledger carries about ``txs_per_ledger`` user transactions
drawn from a seeded RNG: XLM and asset payments (some with memos, some batched), mints and burns,
account creations, trustline changes, path payments both ways, taker offers that cross the book,
resting offers and cancellations, a few deliberately failing transactions and ~10% fee bumps.
Makers re-quote depleted offers and get replenished by the issuers and the root.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Sequence
from fractions import Fraction
from functools import cached_property

from stellar_sdk import Account as SdkAccount
from stellar_sdk import Asset, Keypair, StrKey, TransactionBuilder, TransactionEnvelope
from stellar_sdk.price import Price

from flowctl_dsl.stellar.localnet.builder import PlannedTx, close_time
from flowctl_dsl.stellar.localnet.engine import cross
from flowctl_dsl.stellar.localnet.soroban import call_sac, deploy_sac, is_deployed
from flowctl_dsl.stellar.localnet.state import (
    BASE_RESERVE,
    NATIVE,
    Account,
    LedgerState,
    Offer,
    TrustLine,
    View,
)

UNIT = 10**7  # stroops per unit of any asset
PRICE_SCALE = 10_000  # mids are XLM per unit × PRICE_SCALE
ASSET_CODES = ("USD", "EUR", "CARBONCREDIT")
INITIAL_MIDS = {"USD": 50_000, "EUR": 55_000, "CARBONCREDIT": 20_000}
MAX_USERS = 20_000
FEE_BUMP_SHARE = 0.1

Builder = TransactionBuilder
Envelope = TransactionEnvelope


class _Keypair(Keypair):
    """A ``Keypair`` that encodes its ``G...`` address once (the scenario reads it constantly)."""

    @cached_property
    def public_key(self) -> str:  # type: ignore[override]
        return StrKey.encode_ed25519_public_key(self.raw_public_key())


def derive_keypair(seed: int, name: str) -> Keypair:
    """``Keypair.from_raw_ed25519_seed(sha256(seed ‖ name))`` with ``seed`` as 8 big-endian bytes."""
    raw = hashlib.sha256(seed.to_bytes(8, "big", signed=True) + name.encode()).digest()
    return _Keypair.from_raw_ed25519_seed(raw)


def network_root(passphrase: str) -> Keypair:
    """The root account stellar-core creates at genesis: seed ``sha256(passphrase)``."""
    return _Keypair.from_raw_ed25519_seed(hashlib.sha256(passphrase.encode()).digest())


def amount(stroops: int) -> str:
    """Stroops as the decimal string stellar-sdk operation builders take."""
    return f"{stroops // UNIT}.{stroops % UNIT:07d}"


def _price(value: Fraction) -> Price:
    p = value.limit_denominator(1_000_000)
    while p.numerator >= 2**31:
        p = Fraction(p.numerator // 2, max(1, p.denominator // 2))
    return Price(p.numerator, p.denominator)


class Scenario:
    """Plans each ledger's transactions from the current state (deterministic given the seed)."""

    def __init__(self, seed: int, txs_per_ledger: int, passphrase: str) -> None:
        self.seed = seed
        self.txs_per_ledger = max(1, txs_per_ledger)
        self.passphrase = passphrase
        self.root = network_root(passphrase)
        self.validator = derive_keypair(seed, "validator")
        self.issuers = {code: derive_keypair(seed, f"issuer/{code}") for code in ASSET_CODES}
        self.assets = [f"{code}:{kp.public_key}" for code, kp in self.issuers.items()]
        self.issuer_of = {a: self.issuers[a.split(":")[0]] for a in self.assets}
        self.makers = [derive_keypair(seed, f"maker/{i}") for i in range(2)]
        self.sponsor = derive_keypair(seed, "sponsor")
        self.initial_users = max(12, 2 * self.txs_per_ledger)
        self.n_users = 0
        self.mids = {a: INITIAL_MIDS[a.split(":")[0]] for a in self.assets}
        self._users: list[Keypair] = []
        self._sdk_assets: dict[str, Asset] = {}
        self._user_index: dict[str, int] = {}
        #: Assets whose Stellar Asset Contract the scenario deploys (ledger 5) and then calls.
        self.sac_assets = [NATIVE, self.assets[0]]
        self.actions: list[tuple[Callable[..., Envelope | PlannedTx | None], int]] = [
            (self._pay_xlm, 22),
            (self._pay_credit, 14),
            (self._mint, 5),
            (self._burn, 4),
            (self._create_account, 8),
            (self._change_trust, 6),
            (self._path_send, 8),
            (self._path_receive, 8),
            (self._taker_sell, 6),
            (self._taker_buy, 5),
            (self._resting_offer, 3),
            (self._cancel_offer, 3),
            (self._batch_pay, 4),
            (self._fail_underfunded, 2),
            (self._fail_no_trust, 1),
            (self._fail_multi_op, 1),
            (self._fail_exists, 1),
            (self._sac_transfer, 4),
            (self._sac_mint, 1),
            (self._sac_burn, 1),
        ]

    # --- helpers -------------------------------------------------------------------------------------

    def sdk_asset(self, asset: str) -> Asset:
        found = self._sdk_assets.get(asset)
        if found is None:
            found = Asset.native() if asset == NATIVE else Asset(*asset.split(":"))
            self._sdk_assets[asset] = found
        return found

    def user(self, i: int) -> Keypair:
        while len(self._users) <= i:
            kp = derive_keypair(self.seed, f"user/{len(self._users)}")
            self._user_index[kp.public_key] = len(self._users)
            self._users.append(kp)
        return self._users[i]

    def _builder(
        self, state: LedgerState, kp: Keypair, seq: int, offset: int = 0, fee: int = 100
    ) -> Builder:
        acc = state.get(("account", kp.public_key))
        assert isinstance(acc, Account), kp.public_key
        return TransactionBuilder(
            SdkAccount(kp.public_key, acc.seq_num + offset), self.passphrase, base_fee=fee
        ).add_time_bounds(0, close_time(seq) + 300)

    def _sign(self, builder: Builder, kp: Keypair) -> Envelope:
        env = builder.build()
        env.sign(kp)
        return env

    def _account(self, state: LedgerState, kp: Keypair) -> Account | None:
        e = state.get(("account", kp.public_key))
        return e if isinstance(e, Account) else None

    def _line(self, state: LedgerState, kp: Keypair, asset: str) -> TrustLine | None:
        e = state.get(("trustline", kp.public_key, asset))
        return e if isinstance(e, TrustLine) else None

    def _holding(self, state: LedgerState, kp: Keypair, asset: str) -> int:
        if asset == NATIVE:
            acc = self._account(state, kp)
            return 0 if acc is None else acc.available()
        line = self._line(state, kp, asset)
        return 0 if line is None else line.available()

    def _pick_user(
        self,
        state: LedgerState,
        rng: random.Random,
        used: set[str],
        ok: Callable[[Keypair, Account], bool] = lambda kp, acc: True,
        tries: int = 24,
    ) -> tuple[Keypair, Account] | None:
        for _ in range(tries):
            if self.n_users == 0:
                return None
            kp = self.user(rng.randrange(self.n_users))
            if kp.public_key in used:
                continue
            acc = self._account(state, kp)
            if acc is not None and ok(kp, acc):
                return kp, acc
        return None

    def _other_user(
        self,
        state: LedgerState,
        rng: random.Random,
        not_: Keypair,
        ok: Callable[[Keypair], bool] = lambda kp: True,
    ) -> Keypair | None:
        for _ in range(24):
            kp = self.user(rng.randrange(self.n_users))
            if kp.public_key != not_.public_key and self._account(state, kp) and ok(kp):
                return kp
        return None

    def _fee(self, rng: random.Random) -> int:
        return rng.choice((100, 100, 100, 100, 200, 500, 1000))

    def _memo(self, builder: Builder, rng: random.Random) -> Builder:
        r = rng.random()
        if r < 0.2:
            return builder.add_id_memo(rng.randrange(1, 10**12))
        if r < 0.3:
            return builder.add_text_memo(f"inv-{rng.randrange(10**6):06d}")
        return builder

    # --- ledger plans ----------------------------------------------------------------------------------

    def plan(self, seq: int, state: LedgerState) -> list[PlannedTx]:
        """The transactions of ledger ``seq``, in application order."""
        rng = random.Random(f"localnet/{self.seed}/{seq}")
        if seq == 2:
            return self._bootstrap_accounts(seq, state)
        if seq == 3:
            return self._bootstrap_trustlines(seq, state)
        if seq == 4:
            return self._bootstrap_mint(seq, state)
        used: set[str] = set()
        txs = self._maker_upkeep(seq, state, rng, used)
        if seq == 5:
            return txs + self._deploy_sacs(seq, state, used)
        spread = self.txs_per_ledger // 3
        target = max(1, self.txs_per_ledger + rng.randint(-spread, spread))
        actions, weights = zip(*self.actions, strict=True)
        planned = 0
        for _ in range(6 * target):
            if planned >= target:
                break
            action = rng.choices(actions, weights)[0]
            env = action(seq, state, rng, used)
            if env is None:
                continue
            planned += 1
            txs.append(env if isinstance(env, PlannedTx) else self._maybe_fee_bump(env, rng))
        return txs

    def _maybe_fee_bump(self, env: Envelope, rng: random.Random) -> PlannedTx:
        source = env.transaction.source.account_id
        is_user = source not in {
            self.root.public_key,
            *(k.public_key for k in self.issuers.values()),
        }
        if is_user and rng.random() < FEE_BUMP_SHARE:
            inner_rate = env.transaction.fee // len(env.transaction.operations)
            bump = TransactionBuilder.build_fee_bump_transaction(
                fee_source=self.sponsor.public_key,
                base_fee=max(200, inner_rate) + rng.choice((0, 100)),
                inner_transaction_envelope=env,
                network_passphrase=self.passphrase,
            )
            bump.sign(self.sponsor)
            return PlannedTx.of(bump)
        return PlannedTx.of(env)

    def _chunked(
        self,
        state: LedgerState,
        kp: Keypair,
        seq: int,
        ops: Sequence[tuple[str, tuple[object, ...]]],
        size: int = 100,
    ) -> list[PlannedTx]:
        """``(builder method, args)`` ops from ``kp`` in txs of at most ``size`` ops, in sequence."""
        out: list[PlannedTx] = []
        for i in range(0, len(ops), size):
            b = self._builder(state, kp, seq, offset=len(out))
            for method, args in ops[i : i + size]:
                b = getattr(b, method)(*args)
            out.append(PlannedTx.of(self._sign(b, kp)))
        return out

    def _bootstrap_accounts(self, seq: int, state: LedgerState) -> list[PlannedTx]:
        funded = [(kp, 1_000 * UNIT) for kp in self.issuers.values()]
        funded += [(kp, 2_000_000 * UNIT) for kp in self.makers]
        funded += [(self.sponsor, 100_000 * UNIT)]
        funded += [(self.user(i), 10_000 * UNIT) for i in range(self.initial_users)]
        self.n_users = self.initial_users
        ops = [("append_create_account_op", (kp.public_key, amount(b))) for kp, b in funded]
        return self._chunked(state, self.root, seq, ops, size=50)

    def _user_assets(self, i: int) -> list[str]:
        return self.assets if i % 3 == 0 else self.assets[:2]

    def _bootstrap_trustlines(self, seq: int, state: LedgerState) -> list[PlannedTx]:
        txs = []
        holders = [(kp, self.assets) for kp in self.makers]
        holders += [(self.user(i), self._user_assets(i)) for i in range(self.n_users)]
        for kp, assets in holders:
            b = self._builder(state, kp, seq)
            for a in assets:
                b = b.append_change_trust_op(self.sdk_asset(a))
            txs.append(PlannedTx.of(self._sign(b, kp)))
        return txs

    def _bootstrap_mint(self, seq: int, state: LedgerState) -> list[PlannedTx]:
        txs = []
        for asset in self.assets:
            sdk = self.sdk_asset(asset)
            grants = [(kp, 1_000_000 * UNIT) for kp in self.makers]
            grants += [
                (self.user(i), 5_000 * UNIT)
                for i in range(self.n_users)
                if asset in self._user_assets(i)
            ]
            ops = [("append_payment_op", (kp.public_key, sdk, amount(n))) for kp, n in grants]
            txs += self._chunked(state, self.issuer_of[asset], seq, ops)
        return txs

    # --- market makers -----------------------------------------------------------------------------

    def _quotes(self, maker: int, asset: str) -> list[tuple[str, str, int, Fraction]]:
        """(selling, buying, amount, price) of maker ``maker``'s ask and bid for ``asset``."""
        mid = self.mids[asset]
        spread = 100 + 100 * maker  # basis points of PRICE_SCALE
        units = 3_000 + 2_000 * maker
        ask = Fraction(mid * (10_000 + spread), PRICE_SCALE * 10_000)  # XLM per unit
        bid = Fraction(mid * (10_000 - spread), PRICE_SCALE * 10_000)
        return [
            (asset, NATIVE, units * UNIT, ask),
            (NATIVE, asset, int(units * UNIT * bid), 1 / bid),
        ]

    def _maker_upkeep(
        self, seq: int, state: LedgerState, rng: random.Random, used: set[str]
    ) -> list[PlannedTx]:
        for a in self.assets:
            self.mids[a] += rng.randint(-self.mids[a] // 200, self.mids[a] // 200)
        txs: list[PlannedTx] = []
        for i, mk in enumerate(self.makers):
            mine = {
                (o.selling, o.buying): o for o in state.offers() if o.seller_id == mk.public_key
            }
            b = self._builder(state, mk, seq)
            n_ops = 0
            for asset in self.assets:
                for selling, buying, size, price in self._quotes(i, asset):
                    old = mine.get((selling, buying))
                    if old is not None and old.amount * 10 >= size * 6 and (seq + i) % 12:
                        continue
                    free = self._holding(state, mk, selling) + (old.amount if old else 0)
                    if free < size:
                        self._replenish(state, mk, selling, used, seq, txs)
                        continue
                    b = b.append_manage_sell_offer_op(
                        self.sdk_asset(selling),
                        self.sdk_asset(buying),
                        amount(size),
                        _price(price),
                        offer_id=old.offer_id if old else 0,
                    )
                    n_ops += 1
            if n_ops:
                txs.append(PlannedTx.of(self._sign(b, mk)))
                used.add(mk.public_key)
        return txs

    def _replenish(
        self,
        state: LedgerState,
        maker: Keypair,
        asset: str,
        used: set[str],
        seq: int,
        txs: list[PlannedTx],
    ) -> None:
        """Top a maker up: the issuer mints more of ``asset``, or the root sends XLM."""
        src = self.root if asset == NATIVE else self.issuer_of[asset]
        if src.public_key in used:
            return
        size = 2_000_000 * UNIT if asset == NATIVE else 500_000 * UNIT
        b = self._builder(state, src, seq).append_payment_op(
            maker.public_key, self.sdk_asset(asset), amount(size)
        )
        txs.insert(0, PlannedTx.of(self._sign(b, src)))
        used.add(src.public_key)

    # --- user actions (each returns one signed envelope or None) -----------------------------------

    def _pay_xlm(
        self, seq: int, state: LedgerState, rng: random.Random, used: set[str]
    ) -> Envelope | None:
        got = self._pick_user(state, rng, used, lambda kp, a: a.available() > 30 * UNIT)
        if got is None:
            return None
        kp, acc = got
        dst = self._other_user(state, rng, kp)
        if dst is None:
            return None
        amt = rng.randint(UNIT, min(acc.available() // 4, 500 * UNIT))
        b = self._memo(self._builder(state, kp, seq, fee=self._fee(rng)), rng)
        used.add(kp.public_key)
        return self._sign(b.append_payment_op(dst.public_key, Asset.native(), amount(amt)), kp)

    def _holder(
        self, state: LedgerState, rng: random.Random, used: set[str], minimum: int = 10 * UNIT
    ) -> tuple[Keypair, str, int] | None:
        asset = rng.choice(self.assets)
        got = self._pick_user(
            state, rng, used, lambda kp, a: self._holding(state, kp, asset) > minimum
        )
        if got is None:
            return None
        return got[0], asset, self._holding(state, got[0], asset)

    def _pay_credit(
        self, seq: int, state: LedgerState, rng: random.Random, used: set[str]
    ) -> Envelope | None:
        got = self._holder(state, rng, used)
        if got is None:
            return None
        kp, asset, held = got
        dst = self._other_user(state, rng, kp, lambda d: self._line(state, d, asset) is not None)
        if dst is None:
            return None
        amt = rng.randint(UNIT, held // 3)
        b = self._memo(self._builder(state, kp, seq, fee=self._fee(rng)), rng)
        used.add(kp.public_key)
        b = b.append_payment_op(dst.public_key, self.sdk_asset(asset), amount(amt))
        return self._sign(b, kp)

    def _mint(
        self, seq: int, state: LedgerState, rng: random.Random, used: set[str]
    ) -> Envelope | None:
        asset = rng.choice(self.assets)
        issuer = self.issuer_of[asset]
        if issuer.public_key in used or self.n_users == 0:
            return None
        dst = self._other_user(
            state, rng, issuer, lambda d: self._line(state, d, asset) is not None
        )
        if dst is None:
            return None
        used.add(issuer.public_key)
        b = self._builder(state, issuer, seq).append_payment_op(
            dst.public_key, self.sdk_asset(asset), amount(rng.randint(100, 2_000) * UNIT)
        )
        return self._sign(b, issuer)

    def _burn(
        self, seq: int, state: LedgerState, rng: random.Random, used: set[str]
    ) -> Envelope | None:
        got = self._holder(state, rng, used)
        if got is None:
            return None
        kp, asset, held = got
        used.add(kp.public_key)
        b = self._builder(state, kp, seq, fee=self._fee(rng)).append_payment_op(
            self.issuer_of[asset].public_key,
            self.sdk_asset(asset),
            amount(rng.randint(1, held // 5)),
        )
        return self._sign(b, kp)

    def _create_account(
        self, seq: int, state: LedgerState, rng: random.Random, used: set[str]
    ) -> Envelope | None:
        if self.n_users >= MAX_USERS:
            return None
        if self.root.public_key not in used and rng.random() < 0.6:
            funder, start = self.root, 10_000 * UNIT
        else:
            got = self._pick_user(state, rng, used, lambda kp, a: a.available() > 1_000 * UNIT)
            if got is None:
                return None
            funder, start = got[0], rng.randint(50, 500) * UNIT
        new = self.user(self.n_users)
        self.n_users += 1
        used.add(funder.public_key)
        b = self._builder(state, funder, seq).append_create_account_op(
            new.public_key, amount(start)
        )
        return self._sign(b, funder)

    def _change_trust(
        self, seq: int, state: LedgerState, rng: random.Random, used: set[str]
    ) -> Envelope | None:
        def empty_lines(kp: Keypair) -> list[str]:
            out = []
            for a in self.assets:
                line = self._line(state, kp, a)
                if line and not (
                    line.balance or line.buying_liabilities or line.selling_liabilities
                ):
                    out.append(a)
            return out

        if rng.random() < 0.15:
            got = self._pick_user(state, rng, used, lambda kp, a: bool(empty_lines(kp)))
            if got is not None:
                kp = got[0]
                used.add(kp.public_key)
                b = self._builder(state, kp, seq).append_change_trust_op(
                    self.sdk_asset(rng.choice(empty_lines(kp))), limit="0"
                )
                return self._sign(b, kp)

        def missing(kp: Keypair) -> list[str]:
            return [a for a in self.assets if self._line(state, kp, a) is None]

        got = self._pick_user(
            state, rng, used, lambda kp, a: bool(missing(kp)) and a.available() > 30 * UNIT
        )
        if got is None:
            return None
        kp, acc = got
        used.add(kp.public_key)
        b = self._builder(state, kp, seq, fee=self._fee(rng))
        room = acc.available() // BASE_RESERVE - 1
        for a in missing(kp)[: max(1, min(2, room))]:
            limit = None if rng.random() < 0.7 else amount(rng.choice((10_000, 1_000_000)) * UNIT)
            b = b.append_change_trust_op(self.sdk_asset(a), limit=limit)
        return self._sign(b, kp)

    def _receivable(self, state: LedgerState, kp: Keypair, asset: str) -> bool:
        return asset == NATIVE or self._line(state, kp, asset) is not None

    def _route(self, send: str, dest: str) -> list[str]:
        return [send, NATIVE, dest] if NATIVE not in (send, dest) else [send, dest]

    def _quote(
        self, state: LedgerState, taker: str, hops: list[str], *, send: int = 0, receive: int = 0
    ) -> int | None:
        """What ``send`` buys along ``hops`` (or what ``receive`` costs), from a scratch view."""
        view = View(state, 0)
        pairs = list(zip(hops, hops[1:], strict=False))
        if send:
            for a, b in pairs:
                got = cross(view, taker, a, b, self.passphrase, max_sell=send, exact_send=True)
                if isinstance(got, str) or got.sold < send or got.bought == 0:
                    return None
                send = got.bought
            return send
        for a, b in reversed(pairs):
            got = cross(view, taker, a, b, self.passphrase, want_buy=receive)
            if isinstance(got, str) or got.bought < receive:
                return None
            receive = got.sold
        return receive

    def _path_pair(
        self, state: LedgerState, rng: random.Random, used: set[str]
    ) -> tuple[Keypair, str, int, Keypair, str] | None:
        send = rng.choice([NATIVE, *self.assets])
        got = self._pick_user(
            state, rng, used, lambda kp, a: self._holding(state, kp, send) > 20 * UNIT
        )
        if got is None:
            return None
        kp = got[0]
        dest_asset = rng.choice([a for a in [NATIVE, *self.assets] if a != send])
        dst = self._other_user(state, rng, kp, lambda d: self._receivable(state, d, dest_asset))
        if dst is None:
            return None
        return kp, send, self._holding(state, kp, send), dst, dest_asset

    def _path_send(
        self, seq: int, state: LedgerState, rng: random.Random, used: set[str]
    ) -> Envelope | None:
        got = self._path_pair(state, rng, used)
        if got is None:
            return None
        kp, send, held, dst, dest_asset = got
        cap = 1_000 * UNIT if send == NATIVE else 200 * UNIT
        amt = rng.randint(UNIT, min(held // 4, cap))
        hops = self._route(send, dest_asset)
        est = self._quote(state, kp.public_key, hops, send=amt)
        if est is None:
            return None
        dest_min = est * 11 // 10 if rng.random() < 0.03 else est * 95 // 100
        used.add(kp.public_key)
        b = self._memo(self._builder(state, kp, seq, fee=self._fee(rng)), rng)
        b = b.append_path_payment_strict_send_op(
            dst.public_key,
            self.sdk_asset(send),
            amount(amt),
            self.sdk_asset(dest_asset),
            amount(max(1, dest_min)),
            [self.sdk_asset(a) for a in hops[1:-1]],
        )
        return self._sign(b, kp)

    def _path_receive(
        self, seq: int, state: LedgerState, rng: random.Random, used: set[str]
    ) -> Envelope | None:
        got = self._path_pair(state, rng, used)
        if got is None:
            return None
        kp, send, held, dst, dest_asset = got
        want = rng.randint(1, 200 if dest_asset == NATIVE else 40) * UNIT
        hops = self._route(send, dest_asset)
        need = self._quote(state, kp.public_key, hops, receive=want)
        if need is None or need * 11 // 10 > held:
            return None
        send_max = need * 9 // 10 if rng.random() < 0.03 else need * 105 // 100
        used.add(kp.public_key)
        b = self._builder(state, kp, seq, fee=self._fee(rng)).append_path_payment_strict_receive_op(
            dst.public_key,
            self.sdk_asset(send),
            amount(send_max),
            self.sdk_asset(dest_asset),
            amount(want),
            [self.sdk_asset(a) for a in hops[1:-1]],
        )
        return self._sign(b, kp)

    def _best(self, state: LedgerState, selling: str, buying: str) -> Offer | None:
        """Best resting offer selling ``selling`` for ``buying``."""
        offers = View(state, 0).offers(selling, buying)
        return offers[0] if offers else None

    def _market_side(
        self, state: LedgerState, rng: random.Random, used: set[str]
    ) -> tuple[Keypair, str, str, int, Offer] | None:
        """A user able to sell ``sell`` for ``buy``, and the best offer on the other side."""
        asset = rng.choice(self.assets)
        sell, buy = (asset, NATIVE) if rng.random() < 0.5 else (NATIVE, asset)
        got = self._pick_user(
            state,
            rng,
            used,
            lambda kp, a: (
                self._holding(state, kp, sell) > 20 * UNIT and self._receivable(state, kp, buy)
            ),
        )
        best = self._best(state, buy, sell)
        if got is None or best is None:
            return None
        return got[0], sell, buy, self._holding(state, got[0], sell), best

    def _taker_sell(
        self, seq: int, state: LedgerState, rng: random.Random, used: set[str]
    ) -> Envelope | None:
        got = self._market_side(state, rng, used)
        if got is None:
            return None
        kp, sell, buy, held, best = got
        slip = Fraction(rng.randint(0, 300), 10_000)
        price = (1 / best.price) * (1 - slip)  # units of buy per unit sold
        amt = rng.randint(UNIT, min(held // 3, (2_000 if sell == NATIVE else 400) * UNIT))
        used.add(kp.public_key)
        b = self._builder(state, kp, seq, fee=self._fee(rng)).append_manage_sell_offer_op(
            self.sdk_asset(sell), self.sdk_asset(buy), amount(amt), _price(price)
        )
        return self._sign(b, kp)

    def _taker_buy(
        self, seq: int, state: LedgerState, rng: random.Random, used: set[str]
    ) -> Envelope | None:
        got = self._market_side(state, rng, used)
        if got is None:
            return None
        kp, sell, buy, held, best = got
        price = best.price * (1 + Fraction(rng.randint(0, 300), 10_000))  # units of sell per unit
        want = rng.randint(1, 100 if buy == NATIVE else 20) * UNIT
        if want * price * 2 > held:
            return None
        used.add(kp.public_key)
        b = self._builder(state, kp, seq, fee=self._fee(rng)).append_manage_buy_offer_op(
            self.sdk_asset(sell), self.sdk_asset(buy), amount(want), _price(price)
        )
        return self._sign(b, kp)

    def _user_offers(self, state: LedgerState, kp: Keypair) -> list[Offer]:
        return [o for o in state.offers() if o.seller_id == kp.public_key]

    def _resting_offer(
        self, seq: int, state: LedgerState, rng: random.Random, used: set[str]
    ) -> Envelope | None:
        got = self._market_side(state, rng, used)
        if got is None:
            return None
        kp, sell, buy, held, best = got
        acc = self._account(state, kp)
        if acc is None or acc.available() < 20 * UNIT or len(self._user_offers(state, kp)) >= 3:
            return None
        price = (1 / best.price) * (1 + Fraction(rng.randint(500, 2_000), 10_000))
        amt = rng.randint(UNIT, min(held // 4, 500 * UNIT))
        used.add(kp.public_key)
        b = self._builder(state, kp, seq).append_manage_sell_offer_op(
            self.sdk_asset(sell), self.sdk_asset(buy), amount(amt), _price(price)
        )
        return self._sign(b, kp)

    def _cancel_offer(
        self, seq: int, state: LedgerState, rng: random.Random, used: set[str]
    ) -> Envelope | None:
        makers = {k.public_key for k in self.makers}
        offers = [
            o for o in state.offers() if o.seller_id not in makers and o.seller_id not in used
        ]
        if not offers:
            return None
        o = rng.choice(offers)
        if o.seller_id not in self._user_index:
            return None
        kp = self.user(self._user_index[o.seller_id])
        used.add(kp.public_key)
        b = self._builder(state, kp, seq).append_manage_sell_offer_op(
            self.sdk_asset(o.selling),
            self.sdk_asset(o.buying),
            "0",
            Price(o.price_n, o.price_d),
            offer_id=o.offer_id,
        )
        return self._sign(b, kp)

    def _batch_pay(
        self, seq: int, state: LedgerState, rng: random.Random, used: set[str]
    ) -> Envelope | None:
        got = self._pick_user(state, rng, used, lambda kp, a: a.available() > 200 * UNIT)
        if got is None:
            return None
        kp, acc = got
        b = self._builder(state, kp, seq, fee=self._fee(rng))
        budget = acc.available() // 2
        for _ in range(rng.randint(2, 4)):
            dst = self._other_user(state, rng, kp)
            if dst is None:
                return None
            amt = rng.randint(UNIT, budget // 4)
            b = b.append_payment_op(dst.public_key, Asset.native(), amount(amt))
        used.add(kp.public_key)
        return self._sign(b, kp)

    # --- deliberate failures ---------------------------------------------------------------------------

    def _fail_underfunded(
        self, seq: int, state: LedgerState, rng: random.Random, used: set[str]
    ) -> Envelope | None:
        got = self._pick_user(state, rng, used, lambda kp, a: a.balance > 30 * UNIT)
        if got is None:
            return None
        kp, acc = got
        dst = self._other_user(state, rng, kp)
        if dst is None:
            return None
        used.add(kp.public_key)
        b = self._builder(state, kp, seq).append_payment_op(
            dst.public_key, Asset.native(), amount(acc.balance + rng.randint(1, 1_000) * UNIT)
        )
        return self._sign(b, kp)

    def _fail_no_trust(
        self, seq: int, state: LedgerState, rng: random.Random, used: set[str]
    ) -> Envelope | None:
        got = self._holder(state, rng, used)
        if got is None:
            return None
        kp, asset, held = got
        dst = self._other_user(state, rng, kp, lambda d: self._line(state, d, asset) is None)
        if dst is None:
            return None
        used.add(kp.public_key)
        b = self._builder(state, kp, seq).append_payment_op(
            dst.public_key, self.sdk_asset(asset), amount(min(held, 5 * UNIT))
        )
        return self._sign(b, kp)

    def _fail_multi_op(
        self, seq: int, state: LedgerState, rng: random.Random, used: set[str]
    ) -> Envelope | None:
        got = self._holder(state, rng, used)
        if got is None:
            return None
        kp, asset, held = got
        dst = self._other_user(state, rng, kp, lambda d: self._line(state, d, asset) is not None)
        if dst is None:
            return None
        used.add(kp.public_key)
        b = self._builder(state, kp, seq).append_payment_op(dst.public_key, Asset.native(), "1")
        b = b.append_payment_op(dst.public_key, self.sdk_asset(asset), amount(held + UNIT))
        return self._sign(b, kp)

    def _fail_exists(
        self, seq: int, state: LedgerState, rng: random.Random, used: set[str]
    ) -> Envelope | None:
        got = self._pick_user(state, rng, used, lambda kp, a: a.available() > 100 * UNIT)
        if got is None:
            return None
        kp = got[0]
        dst = self._other_user(state, rng, kp)
        if dst is None:
            return None
        used.add(kp.public_key)
        b = self._builder(state, kp, seq).append_create_account_op(dst.public_key, "50")
        return self._sign(b, kp)

    # --- Soroban: Stellar Asset Contract calls ----------------------------------------------------

    def _deploy_sacs(self, seq: int, state: LedgerState, used: set[str]) -> list[PlannedTx]:
        txs = []
        for asset in self.sac_assets:
            kp = self.root if asset == NATIVE else self.issuer_of[asset]
            if kp.public_key in used:
                continue
            used.add(kp.public_key)
            env, apply = deploy_sac(self._builder(state, kp, seq), kp, asset, self.passphrase)
            txs.append(PlannedTx.of(env, apply))
        return txs

    def _sac_asset(self, state: LedgerState, rng: random.Random) -> str | None:
        asset = rng.choice(self.sac_assets)
        return asset if is_deployed(state, asset, self.passphrase) else None

    def _sac_transfer(
        self, seq: int, state: LedgerState, rng: random.Random, used: set[str]
    ) -> PlannedTx | None:
        asset = self._sac_asset(state, rng)
        if asset is None:
            return None
        got = self._pick_user(
            state, rng, used, lambda kp, a: self._holding(state, kp, asset) > 20 * UNIT
        )
        if got is None:
            return None
        kp = got[0]
        dst = self._other_user(state, rng, kp, lambda d: self._receivable(state, d, asset))
        if dst is None:
            return None
        amt = rng.randint(UNIT, self._holding(state, kp, asset) // 5)
        used.add(kp.public_key)
        env, apply = call_sac(
            self._builder(state, kp, seq),
            kp,
            asset,
            "transfer",
            [kp.public_key, dst.public_key, amt],
            self.passphrase,
            instructions=rng.randint(200_000, 320_000),
        )
        return PlannedTx.of(env, apply)

    def _sac_mint(
        self, seq: int, state: LedgerState, rng: random.Random, used: set[str]
    ) -> PlannedTx | None:
        asset = self._sac_asset(state, rng)
        if asset is None or asset == NATIVE:
            return None
        issuer = self.issuer_of[asset]
        if issuer.public_key in used:
            return None
        dst = self._other_user(
            state, rng, issuer, lambda d: self._line(state, d, asset) is not None
        )
        if dst is None:
            return None
        used.add(issuer.public_key)
        env, apply = call_sac(
            self._builder(state, issuer, seq),
            issuer,
            asset,
            "mint",
            [dst.public_key, rng.randint(10, 500) * UNIT],
            self.passphrase,
        )
        return PlannedTx.of(env, apply)

    def _sac_burn(
        self, seq: int, state: LedgerState, rng: random.Random, used: set[str]
    ) -> PlannedTx | None:
        asset = self._sac_asset(state, rng)
        if asset is None or asset == NATIVE:
            return None
        got = self._pick_user(
            state, rng, used, lambda kp, a: self._holding(state, kp, asset) > 20 * UNIT
        )
        if got is None:
            return None
        kp = got[0]
        used.add(kp.public_key)
        amt = rng.randint(UNIT, self._holding(state, kp, asset) // 10)
        env, apply = call_sac(
            self._builder(state, kp, seq), kp, asset, "burn", [kp.public_key, amt], self.passphrase
        )
        return PlannedTx.of(env, apply)
