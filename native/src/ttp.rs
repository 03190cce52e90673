//! `token_transfers`: transfer, mint, burn, clawback and fee events, straight into columns.
//!
//! A line-by-line port of `flowctl_dsl/transforms/processors/token_transfers.py` (stellar/go's
//! token-transfer processor semantics), including the XLM reconciliation before protocol 8.

use std::collections::HashMap;

use sha2::{Digest, Sha256};
use stellar_xdr::{
    AccountId, Asset, ClaimAtom, ContractEvent, ContractEventBody, ContractEventType, Hash,
    HashIdPreimage, HashIdPreimageRevokeId, LedgerEntry, LedgerEntryChange, LedgerEntryData,
    LedgerKey, Limits, ManageBuyOfferResult, ManageSellOfferResult, Memo, Operation, OperationBody,
    OperationResult, OperationResultTr, PathPaymentStrictReceiveResult,
    PathPaymentStrictSendResult, PoolId, PublicKey, ScVal, SequenceNumber, TransactionMeta,
    Uint256, WriteXdr,
};

use crate::cols::{Batch, Kind};
use crate::error::{Error, Result};
use crate::keys::{
    account, account_key, b, hex, l, parse_asset, sc_address, split_account, text, Account, SacIds,
};
use crate::ledger::{Ledger, Tx};

pub const SCHEMA: &[(&str, Kind)] = &[
    ("ledger_sequence", Kind::I64),
    ("closed_at", Kind::Ts),
    ("transaction_hash", Kind::Str),
    ("transaction_index", Kind::I32),
    ("operation_index", Kind::I32),
    ("event_index", Kind::I32),
    ("event_type", Kind::Str),
    ("from", Kind::Str),
    ("to", Kind::Str),
    ("asset", Kind::Str),
    ("asset_type", Kind::Str),
    ("asset_code", Kind::Str),
    ("asset_issuer", Kind::Str),
    ("contract_id", Kind::Str),
    ("amount", Kind::Dec128),
    ("amount_raw", Kind::Dec128),
    ("to_muxed_info_type", Kind::Str),
    ("to_muxed_info", Kind::Str),
];

/// The processor's parameters (`TokenTransfersParams`).
#[derive(Clone, Copy)]
pub struct Params {
    pub include_fees: bool,
    /// `unified_events == "auto"`.
    pub unified_auto: bool,
    pub split_soroban_fees: bool,
    /// `order == "transaction"`.
    pub per_transaction: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum EventKind {
    Transfer,
    Mint,
    Burn,
    Clawback,
    Fee,
}

impl EventKind {
    fn name(self) -> &'static str {
        match self {
            EventKind::Transfer => "transfer",
            EventKind::Mint => "mint",
            EventKind::Burn => "burn",
            EventKind::Clawback => "clawback",
            EventKind::Fee => "fee",
        }
    }

    fn sep41(symbol: &[u8]) -> Option<Self> {
        Some(match symbol {
            b"transfer" => EventKind::Transfer,
            b"mint" => EventKind::Mint,
            b"burn" => EventKind::Burn,
            b"clawback" => EventKind::Clawback,
            _ => return None,
        })
    }
}

/// One token movement before it becomes a row. `op_index` is 0-based.
#[derive(Clone, Debug)]
struct Event {
    kind: EventKind,
    op_index: Option<u32>,
    from: Option<String>,
    to: Option<String>,
    amount: i128,
    asset: Option<Asset>,
    contract_id: String,
    mux: Option<(&'static str, String)>,
}

const ACCOUNT: i32 = 0;
const CLAIMABLE_BALANCE: i32 = 4;
const LIQUIDITY_POOL: i32 = 5;
const CREATED: i32 = 0;
const UPDATED: i32 = 1;
const REMOVED: i32 = 2;
/// Operation types with derived events (Go reconciles only these before protocol 8).
const DERIVED_OPS: [i32; 18] = [
    0, 1, 2, 3, 4, 7, 8, 9, 12, 13, 14, 15, 19, 20, 21, 22, 23, 24,
];

/// `(pool id, asset A, asset B, |ΔA|, |ΔB|)`.
type PoolDelta = ([u8; 32], Asset, Asset, i64, i64);
/// `(kind, value)` of CAP-67 muxed info.
type MuxInfo = (&'static str, String);

const MAX_DECIMAL_RAW: i128 = 10i128.pow(38) - 1;

/// A `state`/`updated` (or `removed`) pair, or a lone `created`/`restored` change.
struct Change<'a> {
    change_type: i32,
    entry_type: i32,
    pre: Option<&'a LedgerEntry>,
    post: Option<&'a LedgerEntry>,
}

impl<'a> Change<'a> {
    fn entry(&self) -> Result<&'a LedgerEntry> {
        self.post
            .or(self.pre)
            .ok_or_else(|| Error::invalid("change without an entry"))
    }
}

fn entry_of(c: &LedgerEntryChange) -> Option<&LedgerEntry> {
    match c {
        LedgerEntryChange::Created(e)
        | LedgerEntryChange::Updated(e)
        | LedgerEntryChange::State(e)
        | LedgerEntryChange::Restored(e) => Some(e),
        LedgerEntryChange::Removed(_) => None,
    }
}

fn key_type(k: &LedgerKey) -> i32 {
    k.discriminant() as i32
}

fn data_type(d: &LedgerEntryData) -> i32 {
    d.discriminant() as i32
}

/// Port of `ledger_changes.pair_changes`.
fn pair_changes<'a>(raw: &[&'a LedgerEntryChange]) -> Vec<Change<'a>> {
    let mut out = Vec::new();
    for (i, change) in raw.iter().enumerate() {
        match change {
            LedgerEntryChange::Created(e) | LedgerEntryChange::Restored(e) => out.push(Change {
                change_type: change.discriminant() as i32,
                entry_type: data_type(&e.data),
                pre: None,
                post: Some(e),
            }),
            LedgerEntryChange::Updated(e) => out.push(Change {
                change_type: UPDATED,
                entry_type: data_type(&e.data),
                pre: if i > 0 { entry_of(raw[i - 1]) } else { None },
                post: Some(e),
            }),
            LedgerEntryChange::Removed(k) => out.push(Change {
                change_type: REMOVED,
                entry_type: key_type(k),
                pre: if i > 0 { entry_of(raw[i - 1]) } else { None },
                post: None,
            }),
            LedgerEntryChange::State(_) => {}
        }
    }
    out
}

fn account_entry(e: &LedgerEntry) -> Result<&stellar_xdr::AccountEntry> {
    match &e.data {
        LedgerEntryData::Account(a) => Ok(a),
        _ => Err(Error::invalid("expected an account entry")),
    }
}

/// `(start, end)` XLM balance of `account` over `updated` account changes.
fn balance_delta(changes: &[Change], key: &[u8; 32]) -> Result<(i64, i64)> {
    let (mut start, mut end) = (0, 0);
    for c in changes {
        if c.entry_type != ACCOUNT || c.change_type != UPDATED {
            continue;
        }
        let post = account_entry(c.post.expect("updated has post"))?;
        if account_key(&post.account_id) == key {
            end = post.balance;
            if let Some(pre) = c.pre {
                start = account_entry(pre)?.balance;
            }
        }
    }
    Ok((start, end))
}

fn changes_of(list: &stellar_xdr::LedgerEntryChanges) -> Vec<&LedgerEntryChange> {
    list.0.iter().collect()
}

/// Each operation's `changes` (empty for failed transactions).
fn operation_metas(meta: &TransactionMeta) -> Vec<&stellar_xdr::LedgerEntryChanges> {
    match meta {
        TransactionMeta::V0(ops) => ops.iter().map(|o| &o.changes).collect(),
        TransactionMeta::V1(m) => m.operations.iter().map(|o| &o.changes).collect(),
        TransactionMeta::V2(m) => m.operations.iter().map(|o| &o.changes).collect(),
        TransactionMeta::V3(m) => m.operations.iter().map(|o| &o.changes).collect(),
        TransactionMeta::V4(m) => m.operations.iter().map(|o| &o.changes).collect(),
    }
}

/// `(op_index, event)` for the contract events of each operation (0-based index).
fn operation_events(meta: &TransactionMeta) -> Vec<(u32, &ContractEvent)> {
    match meta {
        TransactionMeta::V3(m) => m
            .soroban_meta
            .as_ref()
            .map(|s| s.events.iter().map(|e| (0, e)).collect())
            .unwrap_or_default(),
        TransactionMeta::V4(m) => m
            .operations
            .iter()
            .enumerate()
            .flat_map(|(i, op)| op.events.iter().map(move |e| (i as u32, e)))
            .collect(),
        _ => Vec::new(),
    }
}

fn symbol(v: &ScVal) -> Option<&[u8]> {
    match v {
        ScVal::Symbol(s) => Some(s.0.as_slice()),
        _ => None,
    }
}

fn int128(v: &ScVal) -> Option<i128> {
    match v {
        ScVal::I128(p) => Some((i128::from(p.hi) << 64) | i128::from(p.lo)),
        _ => None,
    }
}

fn address(v: &ScVal) -> Result<Option<String>> {
    match v {
        ScVal::Address(a) => sc_address(a).map(Some),
        _ => Ok(None),
    }
}

fn is_fee_topic(e: &ContractEvent) -> bool {
    let ContractEventBody::V0(body) = &e.body;
    body.topics.first().and_then(symbol) == Some(b"fee".as_slice())
}

/// True when `meta` is v4 and carries CAP-67 fee events.
fn uses_unified_events(meta: &TransactionMeta) -> bool {
    match meta {
        TransactionMeta::V4(m) => m.events.iter().any(|e| is_fee_topic(&e.event)),
        _ => false,
    }
}

/// Flattened `ClaimAtom`: seller (`G…` or pool `L…`), sold and bought legs.
fn claim(atom: &ClaimAtom) -> (String, &Asset, i64, &Asset, i64) {
    match atom {
        ClaimAtom::V0(a) => (
            crate::keys::g(&a.seller_ed25519.0),
            &a.asset_sold,
            a.amount_sold,
            &a.asset_bought,
            a.amount_bought,
        ),
        ClaimAtom::OrderBook(a) => (
            account(&a.seller_id),
            &a.asset_sold,
            a.amount_sold,
            &a.asset_bought,
            a.amount_bought,
        ),
        ClaimAtom::LiquidityPool(a) => (
            l(&a.liquidity_pool_id.0 .0),
            &a.asset_sold,
            a.amount_sold,
            &a.asset_bought,
            a.amount_bought,
        ),
    }
}

fn claim_atoms(tr: Option<&OperationResultTr>) -> &[ClaimAtom] {
    match tr {
        Some(OperationResultTr::ManageSellOffer(ManageSellOfferResult::Success(s)))
        | Some(OperationResultTr::CreatePassiveSellOffer(ManageSellOfferResult::Success(s)))
        | Some(OperationResultTr::ManageBuyOffer(ManageBuyOfferResult::Success(s))) => {
            s.offers_claimed.as_slice()
        }
        Some(OperationResultTr::PathPaymentStrictReceive(
            PathPaymentStrictReceiveResult::Success(s),
        )) => s.offers.as_slice(),
        Some(OperationResultTr::PathPaymentStrictSend(PathPaymentStrictSendResult::Success(s))) => {
            s.offers.as_slice()
        }
        _ => &[],
    }
}

/// Derives the events of one transaction.
struct TxEvents<'a, 'b> {
    tx: &'b Tx<'a>,
    sac: &'b mut SacIds,
    protocol: u32,
}

impl<'a> TxEvents<'a, '_> {
    fn sac(&mut self, asset: &Asset) -> Result<String> {
        Ok(self.sac.get(asset)?.sac.clone())
    }

    fn native(&mut self) -> Result<String> {
        self.sac(&Asset::Native)
    }

    fn memo_info(&self) -> Option<(&'static str, String)> {
        match self.tx.memo() {
            Memo::None => None,
            Memo::Text(t) => Some(("text", text(t.as_slice()))),
            Memo::Id(id) => Some(("id", id.to_string())),
            Memo::Hash(h) | Memo::Return(h) => Some(("hash", hex(&h.0))),
        }
    }

    fn mux_info(&self, to: &str) -> Result<Option<(&'static str, String)>> {
        Ok(match split_account(to)? {
            None => None,
            Some((_, Some(id))) => Some(("id", id.to_string())),
            Some((_, None)) => self.memo_info(),
        })
    }

    /// Go's `mintOrBurnOrTransferEvent`.
    fn movement(
        &mut self,
        op: u32,
        asset: &Asset,
        from: &str,
        to: &str,
        amount: i64,
        include_mux: bool,
    ) -> Result<Event> {
        let info = self.sac.get(asset)?;
        let issuer = info.parts.issuer.clone();
        let contract_id = info.sac.clone();
        let src = split_account(from)?.map(|(g, _)| g);
        let dst = split_account(to)?.map(|(g, _)| g);
        let from_issuer = issuer.is_some() && src.is_some() && src == issuer;
        let to_issuer = issuer.is_some() && dst.is_some() && dst == issuer;
        let from_out = src.unwrap_or_else(|| from.to_owned());
        let to_out = dst.unwrap_or_else(|| to.to_owned());
        let mux = if include_mux {
            self.mux_info(to)?
        } else {
            None
        };
        let (kind, from, to, mux) = if from_issuer && !to_issuer {
            (EventKind::Mint, None, Some(to_out), mux)
        } else if to_issuer && !from_issuer {
            (EventKind::Burn, Some(from_out), None, None)
        } else {
            (EventKind::Transfer, Some(from_out), Some(to_out), mux)
        };
        Ok(Event {
            kind,
            op_index: Some(op),
            from,
            to,
            amount: i128::from(amount),
            asset: Some(asset.clone()),
            contract_id,
            mux,
        })
    }

    fn fee(&mut self, payer: String, amount: i128) -> Result<Event> {
        Ok(Event {
            kind: EventKind::Fee,
            op_index: None,
            from: Some(payer),
            to: None,
            amount,
            asset: Some(Asset::Native),
            contract_id: self.native()?,
            mux: None,
        })
    }

    fn fee_events(&mut self, split: bool) -> Result<Vec<Event>> {
        let tx = self.tx;
        let payer = tx.fee_source().unwrap_or_else(|| tx.source());
        if !tx.is_soroban() || !split {
            return Ok(vec![self.fee(payer.g, i128::from(tx.fee_charged()))?]);
        }
        let (start, end) = balance_delta(&pair_changes(&changes_of(tx.fee_changes)), &payer.key)?;
        let mut events = vec![self.fee(payer.g.clone(), i128::from(start) - i128::from(end))?];
        let mut after: Vec<&LedgerEntryChange> = match tx.meta {
            TransactionMeta::V3(m) => changes_of(&m.tx_changes_after),
            TransactionMeta::V4(m) => changes_of(&m.tx_changes_after),
            _ => Vec::new(),
        };
        if let Some(post) = tx.post_fee_changes {
            after.extend(post.0.iter());
        }
        let (start, end) = balance_delta(&pair_changes(&after), &payer.key)?;
        if end > start {
            events.push(self.fee(payer.g, i128::from(start) - i128::from(end))?);
        }
        Ok(events)
    }

    fn unified_fee_events(&mut self) -> Result<Vec<Event>> {
        let TransactionMeta::V4(m) = self.tx.meta else {
            return Ok(Vec::new());
        };
        let native_raw = self.sac.get(&Asset::Native)?.sac_raw;
        let mut out = Vec::new();
        for te in m.events.iter() {
            let event = &te.event;
            let ContractEventBody::V0(body) = &event.body;
            if body.topics.is_empty() || symbol(&body.topics[0]) != Some(b"fee".as_slice()) {
                continue;
            }
            match &event.contract_id {
                Some(id) if id.0 .0 == native_raw => {}
                _ => continue,
            }
            let payer = if body.topics.len() == 2 {
                address(&body.topics[1])?
            } else {
                None
            };
            let (Some(payer), Some(amount)) = (payer, int128(&body.data)) else {
                continue;
            };
            out.push(self.fee(payer, amount)?);
        }
        Ok(out)
    }

    fn operation_events(&mut self, unified: bool) -> Result<Vec<Event>> {
        let mut out = Vec::new();
        if unified {
            for (i, e) in operation_events(self.tx.meta) {
                if let Some(ev) = self.contract_event(i, e)? {
                    out.push(ev);
                }
            }
            return Ok(out);
        }
        for (i, op) in self.tx.operations().iter().enumerate() {
            let events = self.derive(i as u32, op)?;
            if self.protocol < 8 && DERIVED_OPS.contains(&(op.body.discriminant() as i32)) {
                out.extend(self.reconcile(i as u32, op, events)?);
            } else {
                out.extend(events);
            }
        }
        Ok(out)
    }

    /// Protocol < 8: mint/burn XLM the ledger changes show but the events do not explain.
    fn reconcile(&mut self, i: u32, op: &Operation, events: Vec<Event>) -> Result<Vec<Event>> {
        let src = self.operation_source(op);
        let mut delta: i128 = 0;
        for c in self.operation_changes(i) {
            if c.entry_type != ACCOUNT
                || account_key(&account_entry(c.entry()?)?.account_id) != &src.key
            {
                continue;
            }
            let post = c
                .post
                .map(account_entry)
                .transpose()?
                .map_or(0, |a| a.balance);
            let pre = c
                .pre
                .map(account_entry)
                .transpose()?
                .map_or(0, |a| a.balance);
            delta += i128::from(post) - i128::from(pre);
        }
        for e in &events {
            if e.asset != Some(Asset::Native) {
                continue;
            }
            if e.from.as_deref() == Some(src.g.as_str()) {
                delta += e.amount;
            }
            if e.to.as_deref() == Some(src.g.as_str()) && e.kind != EventKind::Burn {
                delta -= e.amount;
            }
        }
        if delta == 0 {
            return Ok(events);
        }
        let contract_id = self.native()?;
        let (kind, from, to, amount) = if delta > 0 {
            (EventKind::Mint, None, Some(src.g), delta)
        } else {
            (EventKind::Burn, Some(src.g), None, -delta)
        };
        let extra = Event {
            kind,
            op_index: Some(i),
            from,
            to,
            amount,
            asset: Some(Asset::Native),
            contract_id,
            mux: None,
        };
        Ok(if delta > 0 {
            std::iter::once(extra).chain(events).collect()
        } else {
            events.into_iter().chain(std::iter::once(extra)).collect()
        })
    }

    fn operation_source(&self, op: &Operation) -> Account {
        match &op.source_account {
            Some(m) => Account::of(m),
            None => match self.tx.source_muxed() {
                Some(m) => Account::of(m),
                None => self.tx.source(),
            },
        }
    }

    fn result_tr(&self, i: u32) -> Option<&'a OperationResultTr> {
        match self.tx.operation_results()?.get(i as usize)? {
            OperationResult::OpInner(tr) => Some(tr),
            _ => None,
        }
    }

    /// Paired changes of operation `i` (ignored for txINTERNAL_ERROR before protocol 13).
    fn operation_changes(&self, i: u32) -> Vec<Change<'a>> {
        if self.tx.result_code() == -11 && self.protocol <= 12 {
            return Vec::new();
        }
        match operation_metas(self.tx.meta).get(i as usize) {
            Some(changes) => pair_changes(&changes_of(changes)),
            None => Vec::new(),
        }
    }

    fn derive(&mut self, i: u32, op: &Operation) -> Result<Vec<Event>> {
        let src_account = self.operation_source(op);
        let src = src_account.address().to_owned();
        let tr = self.result_tr(i);
        let native = Asset::Native;
        Ok(match &op.body {
            OperationBody::CreateAccount(c) => {
                let dest = account(&c.destination);
                vec![self.movement(i, &native, &src, &dest, c.starting_balance, true)?]
            }
            OperationBody::Payment(p) => {
                let dest = Account::of(&p.destination);
                vec![self.movement(i, &p.asset, &src, dest.address(), p.amount, true)?]
            }
            OperationBody::AccountMerge(dest) => {
                let balance = match tr {
                    Some(OperationResultTr::AccountMerge(
                        stellar_xdr::AccountMergeResult::Success(b),
                    )) => *b,
                    _ => return Ok(Vec::new()),
                };
                let dest = Account::of(dest);
                vec![self.movement(i, &native, &src, dest.address(), balance, true)?]
            }
            OperationBody::Inflation => {
                let payouts = match tr {
                    Some(OperationResultTr::Inflation(stellar_xdr::InflationResult::Success(
                        p,
                    ))) => p.as_slice(),
                    _ => &[],
                };
                let contract_id = self.native()?;
                payouts
                    .iter()
                    .map(|p| Event {
                        kind: EventKind::Mint,
                        op_index: Some(i),
                        from: None,
                        to: Some(account(&p.destination)),
                        amount: i128::from(p.amount),
                        asset: Some(Asset::Native),
                        contract_id: contract_id.clone(),
                        mux: None,
                    })
                    .collect()
            }
            OperationBody::ManageSellOffer(_)
            | OperationBody::CreatePassiveSellOffer(_)
            | OperationBody::ManageBuyOffer(_)
            | OperationBody::PathPaymentStrictReceive(_)
            | OperationBody::PathPaymentStrictSend(_) => self.trade_events(i, op, &src, tr)?,
            OperationBody::CreateClaimableBalance(cb) => {
                let balance = match tr {
                    Some(OperationResultTr::CreateClaimableBalance(
                        stellar_xdr::CreateClaimableBalanceResult::Success(id),
                    )) => b(id),
                    _ => return Err(Error::invalid("create claimable balance without result")),
                };
                vec![self.movement(i, &cb.asset, &src, &balance, cb.amount, false)?]
            }
            OperationBody::ClaimClaimableBalance(op_body) => {
                let (asset, amount) = self.removed_balance(i)?;
                let balance = b(&op_body.balance_id);
                vec![self.movement(i, &asset, &balance, &src, amount, true)?]
            }
            OperationBody::Clawback(claw) => {
                let holder = Account::of(&claw.from).g;
                vec![Event {
                    kind: EventKind::Clawback,
                    op_index: Some(i),
                    from: Some(holder),
                    to: None,
                    amount: i128::from(claw.amount),
                    asset: Some(claw.asset.clone()),
                    contract_id: self.sac(&claw.asset)?,
                    mux: None,
                }]
            }
            OperationBody::ClawbackClaimableBalance(op_body) => {
                let (asset, amount) = self.removed_balance(i)?;
                vec![Event {
                    kind: EventKind::Clawback,
                    op_index: Some(i),
                    from: Some(b(&op_body.balance_id)),
                    to: None,
                    amount: i128::from(amount),
                    contract_id: self.sac(&asset)?,
                    asset: Some(asset),
                    mux: None,
                }]
            }
            OperationBody::AllowTrust(_) | OperationBody::SetTrustLineFlags(_) => {
                self.revocation_events(i)?
            }
            OperationBody::LiquidityPoolDeposit(_) => self.pool_events(i, &src, true)?,
            OperationBody::LiquidityPoolWithdraw(_) => self.pool_events(i, &src, false)?,
            OperationBody::InvokeHostFunction(_) => {
                let mut out = Vec::new();
                for (n, e) in operation_events(self.tx.meta) {
                    if n == i {
                        if let Some(ev) = self.contract_event(i, e)? {
                            out.push(ev);
                        }
                    }
                }
                out
            }
            _ => Vec::new(),
        })
    }

    fn trade_events(
        &mut self,
        i: u32,
        op: &Operation,
        src: &str,
        tr: Option<&'a OperationResultTr>,
    ) -> Result<Vec<Event>> {
        let buyer = match &op.source_account {
            Some(m) => Account::of(m).g,
            None => self.tx.source().g,
        };
        let mut out = Vec::new();
        for atom in claim_atoms(tr) {
            let (seller, sold, amount_sold, bought, amount_bought) = claim(atom);
            out.push(self.movement(i, sold, &seller, &buyer, amount_sold, false)?);
            out.push(self.movement(i, bought, &buyer, &seller, amount_bought, false)?);
        }
        match &op.body {
            OperationBody::PathPaymentStrictSend(send) => {
                let amount = match tr {
                    Some(OperationResultTr::PathPaymentStrictSend(
                        PathPaymentStrictSendResult::Success(s),
                    )) => s.last.amount,
                    _ => return Err(Error::invalid("strict send without a success result")),
                };
                let dest = Account::of(&send.destination);
                out.push(self.movement(i, &send.dest_asset, src, dest.address(), amount, true)?);
            }
            OperationBody::PathPaymentStrictReceive(recv) => {
                let dest = Account::of(&recv.destination);
                let amount = recv.dest_amount;
                out.push(self.movement(i, &recv.dest_asset, src, dest.address(), amount, true)?);
            }
            _ => {}
        }
        Ok(out)
    }

    /// The asset and amount of the one claimable balance operation `i` removed.
    fn removed_balance(&self, i: u32) -> Result<(Asset, i64)> {
        let mut removed = Vec::new();
        for c in self.operation_changes(i) {
            if c.entry_type == CLAIMABLE_BALANCE && c.change_type == REMOVED {
                match c.pre.map(|e| &e.data) {
                    Some(LedgerEntryData::ClaimableBalance(cb)) => removed.push(cb),
                    _ => return Err(Error::invalid("removed claimable balance without state")),
                }
            }
        }
        if removed.len() != 1 {
            return Err(Error::invalid(format!(
                "tx {} op {i}: expected 1 removed claimable balance, got {}",
                hex(&self.tx.hash),
                removed.len()
            )));
        }
        Ok((removed[0].asset.clone(), removed[0].amount))
    }

    /// `(pool id, asset A, asset B, |ΔA|, |ΔB|)` per pool touched, sorted by pool id.
    fn pool_deltas(&self, i: u32) -> Result<Vec<PoolDelta>> {
        let reserves = |e: Option<&LedgerEntry>| -> Result<(i64, i64)> {
            match e.map(|e| &e.data) {
                None => Ok((0, 0)),
                Some(LedgerEntryData::LiquidityPool(p)) => {
                    let stellar_xdr::LiquidityPoolEntryBody::LiquidityPoolConstantProduct(cp) =
                        &p.body;
                    Ok((cp.reserve_a, cp.reserve_b))
                }
                Some(_) => Err(Error::invalid("expected a liquidity pool entry")),
            }
        };
        let mut out = Vec::new();
        for c in self.operation_changes(i) {
            if c.entry_type != LIQUIDITY_POOL {
                continue;
            }
            let LedgerEntryData::LiquidityPool(pool) = &c.entry()?.data else {
                return Err(Error::invalid("expected a liquidity pool entry"));
            };
            let stellar_xdr::LiquidityPoolEntryBody::LiquidityPoolConstantProduct(cp) = &pool.body;
            let (pre_a, pre_b) = reserves(c.pre)?;
            let (post_a, post_b) = reserves(c.post)?;
            let da = (i128::from(post_a) - i128::from(pre_a)).abs();
            let db = (i128::from(post_b) - i128::from(pre_b)).abs();
            out.push((
                pool.liquidity_pool_id.0 .0,
                cp.params.asset_a.clone(),
                cp.params.asset_b.clone(),
                i64::try_from(da).map_err(|_| Error::invalid("pool delta overflow"))?,
                i64::try_from(db).map_err(|_| Error::invalid("pool delta overflow"))?,
            ));
        }
        out.sort_by_key(|d| d.0);
        Ok(out)
    }

    fn pool_events(&mut self, i: u32, src: &str, deposit: bool) -> Result<Vec<Event>> {
        let deltas = self.pool_deltas(i)?;
        if deltas.len() != 1 {
            return Err(Error::invalid(format!(
                "tx {} op {i}: expected 1 liquidity pool, got {}",
                hex(&self.tx.hash),
                deltas.len()
            )));
        }
        let (pid, asset_a, asset_b, amt_a, amt_b) = &deltas[0];
        let pool = l(pid);
        Ok(if deposit {
            vec![
                self.movement(i, asset_a, src, &pool, *amt_a, false)?,
                self.movement(i, asset_b, src, &pool, *amt_b, false)?,
            ]
        } else {
            vec![
                self.movement(i, asset_a, &pool, src, *amt_a, true)?,
                self.movement(i, asset_b, &pool, src, *amt_b, true)?,
            ]
        })
    }

    /// Pool shares drained into claimable balances by a trustline revocation (CAP-38).
    fn revocation_events(&mut self, i: u32) -> Result<Vec<Event>> {
        let pools = self.pool_deltas(i)?;
        if pools.is_empty() {
            return Ok(Vec::new());
        }
        let mut created: HashMap<[u8; 32], (Asset, i64, stellar_xdr::ClaimableBalanceId)> =
            HashMap::new();
        for c in self.operation_changes(i) {
            if c.entry_type == CLAIMABLE_BALANCE && c.change_type == CREATED {
                if let Some(LedgerEntryData::ClaimableBalance(cb)) = c.post.map(|e| &e.data) {
                    let stellar_xdr::ClaimableBalanceId::ClaimableBalanceIdTypeV0(h) =
                        &cb.balance_id;
                    created.insert(h.0, (cb.asset.clone(), cb.amount, cb.balance_id.clone()));
                }
            }
        }
        if created.is_empty() {
            return Ok(Vec::new());
        }
        let source = AccountId(PublicKey::PublicKeyTypeEd25519(Uint256(
            self.tx.source().key,
        )));
        let seq = self.tx.sequence_number();
        let mut out = Vec::new();
        for (pid, asset_a, asset_b, amt_a, amt_b) in pools {
            let mut found = Vec::new();
            for asset in [&asset_a, &asset_b] {
                let preimage = HashIdPreimage::PoolRevokeOpId(HashIdPreimageRevokeId {
                    source_account: source.clone(),
                    seq_num: SequenceNumber(seq),
                    op_num: i,
                    liquidity_pool_id: PoolId(Hash(pid)),
                    asset: asset.clone(),
                });
                let id: [u8; 32] = Sha256::digest(preimage.to_xdr(Limits::none())?).into();
                if let Some(cb) = created.get(&id) {
                    found.push(cb.clone());
                }
            }
            let pool = l(&pid);
            for (asset, amount, id) in &found {
                let balance = b(id);
                out.push(self.movement(i, asset, &pool, &balance, *amount, false)?);
            }
            if found.len() == 1 {
                let (burned, amount) = if found[0].0 == asset_a {
                    (asset_b, amt_b)
                } else {
                    (asset_a, amt_a)
                };
                out.push(Event {
                    kind: EventKind::Burn,
                    op_index: Some(i),
                    from: Some(pool),
                    to: None,
                    amount: i128::from(amount),
                    contract_id: self.sac(&burned)?,
                    asset: Some(burned),
                    mux: None,
                });
            }
        }
        Ok(out)
    }

    /// SEP-41 contract events (Go's `parseEvent`).
    fn contract_event(&mut self, i: u32, event: &ContractEvent) -> Result<Option<Event>> {
        if event.type_ != ContractEventType::Contract {
            return Ok(None);
        }
        let Some(contract_raw) = &event.contract_id else {
            return Ok(None);
        };
        let ContractEventBody::V0(body) = &event.body;
        let (topics, data) = (body.topics.as_slice(), &body.data);
        if topics.len() < 2 {
            return Ok(None);
        }
        let Some(kind) = symbol(&topics[0]).and_then(EventKind::sep41) else {
            return Ok(None);
        };
        let version = self.tx.meta_version();
        let mut mux = None;
        let amount = match data {
            ScVal::Map(m) if version == 4 => match amount_map(m.as_ref())? {
                Some((amount, m)) => {
                    mux = m;
                    amount
                }
                None => return Ok(None),
            },
            ScVal::I128(_) => int128(data).expect("i128"),
            _ => return Ok(None),
        };
        let with_admin = version == 3 && matches!(kind, EventKind::Mint | EventKind::Clawback);
        let need = if kind == EventKind::Transfer || with_admin {
            3
        } else {
            2
        };
        if topics.len() < need {
            return Ok(None);
        }
        let mut addrs = Vec::with_capacity(2);
        for t in &topics[1..need] {
            match address(t)? {
                Some(a) => addrs.push(a),
                None => return Ok(None),
            }
        }
        let (mut from, mut to) = (None, None);
        match kind {
            EventKind::Transfer => {
                from = Some(addrs[0].clone());
                to = Some(addrs[1].clone());
            }
            EventKind::Mint => to = addrs.pop(),
            _ => from = addrs.pop(),
        }
        let contract_id = crate::keys::c(&contract_raw.0 .0);
        let mut asset = None;
        let expected = if kind == EventKind::Transfer || with_admin {
            4
        } else {
            3
        };
        if topics.len() == expected {
            let candidate = match topics.last() {
                Some(ScVal::String(s)) if !s.0.is_empty() => parse_asset(&text(s.0.as_slice())),
                _ => None,
            };
            if let Some(candidate) = candidate {
                if self.sac.get(&candidate)?.sac_raw == contract_raw.0 .0 {
                    if version == 3 && kind == EventKind::Transfer {
                        let (f, t) = (from.unwrap(), to.unwrap());
                        let amount64 = i64::try_from(amount).ok();
                        let mut moved = match amount64 {
                            Some(a) => self.movement(i, &candidate, &f, &t, a, false)?,
                            None => self.movement_i128(i, &candidate, &f, &t, amount)?,
                        };
                        moved.contract_id = contract_id;
                        return Ok(Some(moved));
                    }
                    asset = Some(candidate);
                }
            }
        }
        Ok(Some(Event {
            kind,
            op_index: Some(i),
            from,
            to,
            amount,
            asset,
            contract_id,
            mux,
        }))
    }

    /// [`Self::movement`] for an i128 amount (SAC transfers beyond int64).
    fn movement_i128(
        &mut self,
        op: u32,
        asset: &Asset,
        from: &str,
        to: &str,
        amount: i128,
    ) -> Result<Event> {
        let mut e = self.movement(op, asset, from, to, 0, false)?;
        e.amount = amount;
        Ok(e)
    }
}

/// `{amount, to_muxed_id}` map data of v4 events; `None` when not that shape.
fn amount_map(map: Option<&stellar_xdr::ScMap>) -> Result<Option<(i128, Option<MuxInfo>)>> {
    let mut amount = None;
    let mut mux = None;
    for entry in map.map(|m| m.0.as_slice()).unwrap_or_default() {
        let Some(key) = symbol(&entry.key) else {
            return Ok(None);
        };
        let key = text(key);
        if key == "amount" {
            match int128(&entry.val) {
                Some(a) => amount = Some(a),
                None => return Ok(None),
            }
        } else if key == "to_muxed_id" {
            mux = Some(match &entry.val {
                ScVal::U64(v) => ("id", v.to_string()),
                ScVal::Bytes(bytes) => {
                    let mut raw = [0u8; 32];
                    let n = bytes.0.len().min(32);
                    raw[..n].copy_from_slice(&bytes.0.as_slice()[..n]);
                    ("hash", hex(&raw))
                }
                ScVal::String(s) => ("text", text(s.0.as_slice())),
                _ => return Ok(None),
            });
        }
    }
    Ok(amount.map(|a| (a, mux)))
}

/// Append the token transfer rows of one ledger (see the Python module for the order).
pub fn rows(
    batch: &mut Batch,
    ledger: &Ledger,
    txs: &[Tx],
    sac: &mut SacIds,
    params: Params,
) -> Result<()> {
    let closed_at = ledger.closed_at()?;
    let protocol = ledger.protocol_version();
    let p23 = protocol >= 23;
    let mut head = Vec::new();
    let mut body = Vec::new();
    let mut tail = Vec::new();
    for tx in txs {
        let use_unified = params.unified_auto && uses_unified_events(tx.meta);
        let mut derive = TxEvents {
            tx,
            sac: &mut *sac,
            protocol,
        };
        let mut fees = if use_unified {
            let mut fees = derive.unified_fee_events()?;
            if !params.split_soroban_fees && fees.len() > 1 {
                let total = fees.iter().map(|f| f.amount).sum();
                fees.truncate(1);
                fees[0].amount = total;
            }
            fees
        } else {
            derive.fee_events(params.split_soroban_fees)?
        };
        if !params.include_fees {
            fees.clear();
        }
        let ops = if tx.successful() {
            derive.operation_events(use_unified)?
        } else {
            Vec::new()
        };
        let n_ops = ops.len();
        let mut seq: Vec<Event> = fees.iter().take(1).cloned().collect();
        seq.extend(ops);
        seq.extend(fees.into_iter().skip(1));
        for (k, e) in seq.into_iter().enumerate() {
            let item = (tx, k, e);
            if params.per_transaction {
                body.push(item);
            } else if item.2.kind == EventKind::Fee && k == 0 {
                head.push(item);
            } else if item.2.kind == EventKind::Fee && item.2.op_index.is_none() && k > n_ops {
                if p23 {
                    tail.push(item);
                } else {
                    body.push(item);
                }
            } else {
                body.push(item);
            }
        }
    }
    let seq = i64::from(ledger.sequence());
    for (tx, k, e) in head.into_iter().chain(body).chain(tail) {
        let c = &mut batch.cols;
        c[0].i64(Some(seq));
        c[1].i64(Some(closed_at));
        c[2].str(Some(&hex(&tx.hash)))?;
        c[3].i32(Some(tx.index as i32));
        c[4].i32(e.op_index.map(|i| i as i32 + 1));
        c[5].i32(Some(k as i32));
        c[6].str(Some(e.kind.name()))?;
        c[7].str(e.from.as_deref())?;
        c[8].str(e.to.as_deref())?;
        let info = match &e.asset {
            Some(asset) => Some(sac.get(asset)?),
            None => None,
        };
        match info.map(|i| &i.parts) {
            Some(p) => {
                c[9].str(Some(&p.canonical))?;
                c[10].str(Some(p.asset_type))?;
                c[11].str(p.code.as_deref())?;
                c[12].str(p.issuer.as_deref())?;
            }
            None => {
                for col in &mut c[9..13] {
                    col.str(None)?;
                }
            }
        }
        c[13].str(Some(&e.contract_id))?;
        let amount = (e.amount.unsigned_abs() <= MAX_DECIMAL_RAW as u128).then_some(e.amount);
        c[14].i128(amount);
        c[15].i128(amount);
        let (kind, info) = match e.mux {
            Some((k, v)) => (Some(k), Some(v)),
            None => (None, None),
        };
        c[16].str(kind)?;
        c[17].str(info.as_deref())?;
    }
    Ok(())
}
