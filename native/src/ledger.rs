//! A decoded `LedgerCloseMeta` (V0/V1/V2) and its transactions matched to their envelopes by hash.

use std::collections::HashMap;

use sha2::{Digest, Sha256};
use stellar_xdr::{
    GeneralizedTransactionSet, LedgerCloseMeta, LedgerEntryChanges, LedgerHeader,
    LedgerHeaderHistoryEntry, Limited, Limits, Memo, MuxedAccount, Operation, OperationResult,
    ReadXdr, SorobanTransactionData, Transaction, TransactionEnvelope, TransactionExt,
    TransactionMeta, TransactionPhase, TransactionResultPair, TransactionResultResult,
    TransactionV0, TxSetComponent, WriteXdr,
};

use crate::error::{Error, Result};
use crate::keys::Account;

/// Nesting depth allowed while decoding (stellar/go's default).
const MAX_DEPTH: u32 = 500;

pub fn decode(xdr: &[u8]) -> Result<LedgerCloseMeta> {
    Ok(LedgerCloseMeta::from_xdr(
        xdr,
        Limits {
            depth: MAX_DEPTH,
            len: xdr.len(),
        },
    )?)
}

pub fn network_id(passphrase: &str) -> [u8; 32] {
    Sha256::digest(passphrase.as_bytes()).into()
}

fn payload_hash(
    network_id: &[u8; 32],
    envelope_type: u32,
    prefix: &[u8],
    body: &impl WriteXdr,
) -> Result<[u8; 32]> {
    thread_local! {
        static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    BUF.with(|buf| {
        let mut buf = buf.borrow_mut();
        buf.clear();
        buf.extend_from_slice(network_id);
        buf.extend_from_slice(&envelope_type.to_be_bytes());
        buf.extend_from_slice(prefix);
        let mut w = Limited::new(&mut *buf, Limits::none());
        body.write_xdr(&mut w)?;
        Ok(Sha256::digest(&buf[..]).into())
    })
}

/// Hash of an envelope (the outer one for fee bumps); `TransactionV0` hashes as a `Transaction`.
pub fn envelope_hash(env: &TransactionEnvelope, network_id: &[u8; 32]) -> Result<[u8; 32]> {
    match env {
        TransactionEnvelope::Tx(e) => payload_hash(network_id, 2, &[], &e.tx),
        TransactionEnvelope::TxV0(e) => payload_hash(network_id, 2, &[0, 0, 0, 0], &e.tx),
        TransactionEnvelope::TxFeeBump(e) => payload_hash(network_id, 5, &[], &e.tx),
    }
}

/// Every envelope of the ledger's transaction set, in set order.
fn envelopes(lcm: &LedgerCloseMeta) -> Result<Vec<&TransactionEnvelope>> {
    let set = match lcm {
        LedgerCloseMeta::V0(v) => return Ok(v.tx_set.txs.iter().collect()),
        LedgerCloseMeta::V1(v) => &v.tx_set,
        LedgerCloseMeta::V2(v) => &v.tx_set,
    };
    let GeneralizedTransactionSet::V1(set) = set;
    let mut out = Vec::new();
    for phase in set.phases.iter() {
        match phase {
            TransactionPhase::V0(components) => {
                for TxSetComponent::TxsetCompTxsMaybeDiscountedFee(c) in components.iter() {
                    out.extend(c.txs.iter());
                }
            }
            TransactionPhase::V1(parallel) => {
                for stage in parallel.execution_stages.iter() {
                    for cluster in stage.0.iter() {
                        out.extend(cluster.0.iter());
                    }
                }
            }
        }
    }
    Ok(out)
}

/// The transaction that carries the operations (the inner one of a fee bump).
pub enum AnyTx<'a> {
    V0(&'a TransactionV0),
    V1(&'a Transaction),
}

/// One applied transaction: envelope, result and meta, matched by hash.
pub struct Tx<'a> {
    /// 1-based application order.
    pub index: u32,
    pub hash: [u8; 32],
    pub envelope: &'a TransactionEnvelope,
    pub result: &'a TransactionResultPair,
    pub fee_changes: &'a LedgerEntryChanges,
    pub meta: &'a TransactionMeta,
    pub post_fee_changes: Option<&'a LedgerEntryChanges>,
}

impl<'a> Tx<'a> {
    pub fn tx(&self) -> AnyTx<'a> {
        match self.envelope {
            TransactionEnvelope::TxV0(e) => AnyTx::V0(&e.tx),
            TransactionEnvelope::Tx(e) => AnyTx::V1(&e.tx),
            TransactionEnvelope::TxFeeBump(e) => {
                let stellar_xdr::FeeBumpTransactionInnerTx::Tx(inner) = &e.tx.inner_tx;
                AnyTx::V1(&inner.tx)
            }
        }
    }

    pub fn operations(&self) -> &'a [Operation] {
        match self.tx() {
            AnyTx::V0(t) => t.operations.as_slice(),
            AnyTx::V1(t) => t.operations.as_slice(),
        }
    }

    pub fn memo(&self) -> &'a Memo {
        match self.tx() {
            AnyTx::V0(t) => &t.memo,
            AnyTx::V1(t) => &t.memo,
        }
    }

    pub fn sequence_number(&self) -> i64 {
        match self.tx() {
            AnyTx::V0(t) => t.seq_num.0,
            AnyTx::V1(t) => t.seq_num.0,
        }
    }

    pub fn source(&self) -> Account {
        match self.tx() {
            AnyTx::V0(t) => Account::plain(&t.source_account_ed25519.0),
            AnyTx::V1(t) => Account::of(&t.source_account),
        }
    }

    pub fn source_muxed(&self) -> Option<&'a MuxedAccount> {
        match self.tx() {
            AnyTx::V0(_) => None,
            AnyTx::V1(t) => Some(&t.source_account),
        }
    }

    /// The fee bump's fee source, else `None`.
    pub fn fee_source(&self) -> Option<Account> {
        match self.envelope {
            TransactionEnvelope::TxFeeBump(e) => Some(Account::of(&e.tx.fee_source)),
            _ => None,
        }
    }

    pub fn soroban_data(&self) -> Option<&'a SorobanTransactionData> {
        match self.tx() {
            AnyTx::V1(Transaction {
                ext: TransactionExt::V1(d),
                ..
            }) => Some(d),
            _ => None,
        }
    }

    pub fn is_soroban(&self) -> bool {
        self.soroban_data().is_some()
    }

    /// txSUCCESS or txFEE_BUMP_INNER_SUCCESS.
    pub fn successful(&self) -> bool {
        matches!(
            self.result.result.result,
            TransactionResultResult::TxSuccess(_)
                | TransactionResultResult::TxFeeBumpInnerSuccess(_)
        )
    }

    /// The outer `TransactionResultCode` value.
    pub fn result_code(&self) -> i32 {
        self.result.result.result.discriminant() as i32
    }

    pub fn fee_charged(&self) -> i64 {
        self.result.result.fee_charged
    }

    /// Per-operation results (inner ones for fee bumps); `None` when none were applied.
    pub fn operation_results(&self) -> Option<&'a [OperationResult]> {
        use stellar_xdr::InnerTransactionResultResult as I;
        use TransactionResultResult as R;
        match &self.result.result.result {
            R::TxSuccess(r) | R::TxFailed(r) => Some(r.as_slice()),
            R::TxFeeBumpInnerSuccess(p) | R::TxFeeBumpInnerFailed(p) => match &p.result.result {
                I::TxSuccess(r) | I::TxFailed(r) => Some(r.as_slice()),
                _ => None,
            },
            _ => None,
        }
    }

    pub fn meta_version(&self) -> i32 {
        self.meta.discriminant()
    }
}

/// One decoded ledger.
pub struct Ledger {
    pub lcm: LedgerCloseMeta,
}

impl Ledger {
    pub fn decode(xdr: &[u8]) -> Result<Self> {
        Ok(Ledger { lcm: decode(xdr)? })
    }

    pub fn header_entry(&self) -> &LedgerHeaderHistoryEntry {
        match &self.lcm {
            LedgerCloseMeta::V0(v) => &v.ledger_header,
            LedgerCloseMeta::V1(v) => &v.ledger_header,
            LedgerCloseMeta::V2(v) => &v.ledger_header,
        }
    }

    pub fn header(&self) -> &LedgerHeader {
        &self.header_entry().header
    }

    pub fn sequence(&self) -> u32 {
        self.header().ledger_seq
    }

    pub fn protocol_version(&self) -> u32 {
        self.header().ledger_version
    }

    pub fn lcm_version(&self) -> i32 {
        self.lcm.discriminant()
    }

    /// Close time in seconds, within what a Python `datetime` can hold.
    pub fn closed_at(&self) -> Result<i64> {
        let t = self.header().scp_value.close_time.0;
        if t > 253_402_300_799 {
            return Err(Error::invalid(format!("close time {t} beyond year 9999")));
        }
        Ok(t as i64)
    }

    /// Transactions in application order, each with the envelope whose hash matches its result.
    pub fn transactions(&self, network_id: &[u8; 32]) -> Result<Vec<Tx<'_>>> {
        let mut by_hash = HashMap::new();
        for env in envelopes(&self.lcm)? {
            by_hash.insert(envelope_hash(env, network_id)?, env);
        }
        let find = |hash: &[u8; 32]| {
            by_hash.get(hash).copied().ok_or_else(|| {
                Error::invalid(format!(
                    "ledger {}: no envelope in the transaction set hashes to {} \
                     (wrong network passphrase?)",
                    self.sequence(),
                    crate::keys::hex(hash)
                ))
            })
        };
        let mut out = Vec::new();
        match &self.lcm {
            LedgerCloseMeta::V0(v) => {
                for (i, m) in v.tx_processing.iter().enumerate() {
                    let hash = m.result.transaction_hash.0;
                    out.push(Tx {
                        index: i as u32 + 1,
                        hash,
                        envelope: find(&hash)?,
                        result: &m.result,
                        fee_changes: &m.fee_processing,
                        meta: &m.tx_apply_processing,
                        post_fee_changes: None,
                    });
                }
            }
            LedgerCloseMeta::V1(v) => {
                for (i, m) in v.tx_processing.iter().enumerate() {
                    let hash = m.result.transaction_hash.0;
                    out.push(Tx {
                        index: i as u32 + 1,
                        hash,
                        envelope: find(&hash)?,
                        result: &m.result,
                        fee_changes: &m.fee_processing,
                        meta: &m.tx_apply_processing,
                        post_fee_changes: None,
                    });
                }
            }
            LedgerCloseMeta::V2(v) => {
                for (i, m) in v.tx_processing.iter().enumerate() {
                    let hash = m.result.transaction_hash.0;
                    out.push(Tx {
                        index: i as u32 + 1,
                        hash,
                        envelope: find(&hash)?,
                        result: &m.result,
                        fee_changes: &m.fee_processing,
                        meta: &m.tx_apply_processing,
                        post_fee_changes: Some(&m.post_tx_apply_fee_processing),
                    });
                }
            }
        }
        Ok(out)
    }
}

/// `u32` → `i32` for an `int32` column (the reference's pyarrow conversion would fail too).
pub fn i32_of(v: u32, what: &str) -> Result<i32> {
    i32::try_from(v).map_err(|_| Error::invalid(format!("{what} {v} does not fit int32")))
}

pub fn i64_of(v: u64, what: &str) -> Result<i64> {
    i64::try_from(v).map_err(|_| Error::invalid(format!("{what} {v} does not fit int64")))
}
