//! `ledgers` and `latest_ledger`: one row per ledger (header fields and counts).
//!
//! Mirrors `flowctl_dsl/transforms/processors/ledgers.py` column for column.

use base64::Engine;
use stellar_xdr::{LedgerCloseMeta, LedgerCloseMetaExt, StellarValueExt};

use crate::cols::{Batch, Kind};
use crate::error::Result;
use crate::keys::{hex, public_key};
use crate::ledger::{i32_of, i64_of, Ledger, Tx};

pub const LEDGERS: &[(&str, Kind)] = &[
    ("sequence", Kind::I64),
    ("ledger_id", Kind::I64),
    ("ledger_hash", Kind::Str),
    ("previous_ledger_hash", Kind::Str),
    ("closed_at", Kind::Ts),
    ("protocol_version", Kind::I32),
    ("transaction_count", Kind::I32),
    ("successful_transaction_count", Kind::I32),
    ("failed_transaction_count", Kind::I32),
    ("operation_count", Kind::I32),
    ("successful_operation_count", Kind::I32),
    ("tx_set_operation_count", Kind::I32),
    ("soroban_transaction_count", Kind::I32),
    ("total_coins", Kind::I64),
    ("fee_pool", Kind::I64),
    ("base_fee", Kind::I64),
    ("base_reserve", Kind::I64),
    ("max_tx_set_size", Kind::I32),
    ("lcm_version", Kind::I32),
    ("soroban_fee_write_1kb", Kind::I64),
    ("total_byte_size_of_live_soroban_state", Kind::I64),
    ("node_id", Kind::Str),
    ("signature", Kind::Str),
];

pub const LATEST_LEDGER: &[(&str, Kind)] = &[
    ("sequence", Kind::I64),
    ("hash", Kind::Str),
    ("closed_at", Kind::Ts),
    ("protocol_version", Kind::I32),
    ("transaction_count", Kind::I32),
    ("successful_transaction_count", Kind::I32),
    ("failed_transaction_count", Kind::I32),
    ("operation_count", Kind::I32),
    ("total_fee_charged", Kind::I64),
    ("base_fee", Kind::I64),
    ("soroban_transaction_count", Kind::I32),
    ("total_soroban_fees", Kind::I64),
    ("total_resource_instructions", Kind::I64),
];

fn count(n: usize) -> Option<i32> {
    Some(i32::try_from(n).expect("count fits int32"))
}

/// TOID of a ledger (`sequence << 32`); the sequence must fit 31 bits.
fn ledger_toid(seq: u32) -> Result<i64> {
    if seq >= 1 << 31 {
        return Err(crate::error::Error::invalid(format!(
            "ledger sequence {seq} out of TOID range"
        )));
    }
    Ok(i64::from(seq) << 32)
}

pub fn ledgers_row(b: &mut Batch, ledger: &Ledger, txs: &[Tx]) -> Result<()> {
    let h = ledger.header();
    let ok: Vec<&Tx> = txs.iter().filter(|t| t.successful()).collect();
    let ops: usize = txs.iter().map(|t| t.operations().len()).sum();
    let ok_ops: usize = ok.iter().map(|t| t.operations().len()).sum();
    let (fee_write, live_state) = match &ledger.lcm {
        LedgerCloseMeta::V0(_) => (None, None),
        LedgerCloseMeta::V1(v) => (
            ext_fee(&v.ext),
            Some(v.total_byte_size_of_live_soroban_state),
        ),
        LedgerCloseMeta::V2(v) => (
            ext_fee(&v.ext),
            Some(v.total_byte_size_of_live_soroban_state),
        ),
    };
    let (node_id, signature) = match &h.scp_value.ext {
        StellarValueExt::Signed(sig) => (
            Some(public_key(&sig.node_id.0)),
            Some(base64::engine::general_purpose::STANDARD.encode(sig.signature.as_slice())),
        ),
        _ => (None, None),
    };
    let c = &mut b.cols;
    let seq = ledger.sequence();
    c[0].i64(Some(i64::from(seq)));
    c[1].i64(Some(ledger_toid(seq)?));
    c[2].str(Some(&hex(&ledger.header_entry().hash.0)))?;
    c[3].str(Some(&hex(&h.previous_ledger_hash.0)))?;
    c[4].i64(Some(ledger.closed_at()?));
    c[5].i32(Some(i32_of(h.ledger_version, "protocol version")?));
    c[6].i32(count(txs.len()));
    c[7].i32(count(ok.len()));
    c[8].i32(count(txs.len() - ok.len()));
    c[9].i32(count(ops));
    c[10].i32(count(ok_ops));
    c[11].i32(count(ops));
    c[12].i32(count(txs.iter().filter(|t| t.is_soroban()).count()));
    c[13].i64(Some(h.total_coins));
    c[14].i64(Some(h.fee_pool));
    c[15].i64(Some(i64::from(h.base_fee)));
    c[16].i64(Some(i64::from(h.base_reserve)));
    c[17].i32(Some(i32_of(h.max_tx_set_size, "max_tx_set_size")?));
    c[18].i32(Some(ledger.lcm_version()));
    c[19].i64(fee_write);
    c[20].i64(
        live_state
            .map(|v| i64_of(v, "live Soroban state size"))
            .transpose()?,
    );
    c[21].str(node_id.as_deref())?;
    c[22].str(signature.as_deref())?;
    Ok(())
}

fn ext_fee(ext: &LedgerCloseMetaExt) -> Option<i64> {
    match ext {
        LedgerCloseMetaExt::V0 => None,
        LedgerCloseMetaExt::V1(v1) => Some(v1.soroban_fee_write1_kb),
    }
}

pub fn latest_ledger_row(b: &mut Batch, ledger: &Ledger, txs: &[Tx]) -> Result<()> {
    let h = ledger.header();
    let ok = txs.iter().filter(|t| t.successful()).count();
    let soroban: Vec<_> = txs.iter().filter_map(|t| t.soroban_data()).collect();
    let c = &mut b.cols;
    c[0].i64(Some(i64::from(ledger.sequence())));
    c[1].str(Some(&hex(&ledger.header_entry().hash.0)))?;
    c[2].i64(Some(ledger.closed_at()?));
    c[3].i32(Some(i32_of(h.ledger_version, "protocol version")?));
    c[4].i32(count(txs.len()));
    c[5].i32(count(ok));
    c[6].i32(count(txs.len() - ok));
    c[7].i32(count(txs.iter().map(|t| t.operations().len()).sum()));
    c[8].i64(Some(checked_sum(txs.iter().map(|t| t.fee_charged()))?));
    c[9].i64(Some(i64::from(h.base_fee)));
    c[10].i32(count(soroban.len()));
    c[11].i64(Some(checked_sum(soroban.iter().map(|d| d.resource_fee))?));
    c[12].i64(Some(
        soroban
            .iter()
            .map(|d| i64::from(d.resources.instructions))
            .sum(),
    ));
    Ok(())
}

fn checked_sum(mut values: impl Iterator<Item = i64>) -> Result<i64> {
    values.try_fold(0i64, |acc, v| {
        acc.checked_add(v)
            .ok_or_else(|| crate::error::Error::invalid("sum overflows int64"))
    })
}
