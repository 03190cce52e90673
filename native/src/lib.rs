//! `flowctl_native`: native `LedgerCloseMeta` decoding (SDF's `stellar-xdr` crate) and the hot
//! flowctl processors emitted straight as Arrow column buffers.
//!
//! Every function takes a list of raw LCM XDR byte strings and returns a [`ffi::NativeBatch`]: a
//! record batch built in Rust (see [`cols`]) that Python (`flowctl_dsl/stellar/native.py`)
//! imports as a `pyarrow.RecordBatch` under the catalog schema through the Arrow C data
//! interface. The GIL is released while decoding.
//! `NotImplementedError` means "valid, but use the Python reference for this input";
//! `ValueError` means bad input.

use pyo3::prelude::*;
use pyo3::types::PyBytes;

mod cols;
mod error;
mod ffi;
mod header;
mod keys;
mod ledger;
mod ledger_rows;
mod ttp;

use cols::{Batch, Kind};
use error::Result;
use ledger::{network_id, Ledger};

fn slices<'a>(items: &'a [Bound<'_, PyBytes>]) -> Vec<&'a [u8]> {
    items.iter().map(|b| b.as_bytes()).collect()
}

/// Decode each ledger, match its transactions, and append rows with `row`.
fn per_ledger(
    xdrs: &[&[u8]],
    passphrase: &str,
    fields: &[(&'static str, Kind)],
    mut row: impl FnMut(&mut Batch, &Ledger, &[ledger::Tx]) -> Result<()>,
) -> Result<Batch> {
    let net = network_id(passphrase);
    let mut batch = Batch::new(fields);
    for xdr in xdrs {
        let ledger = Ledger::decode(xdr)?;
        let txs = ledger.transactions(&net)?;
        row(&mut batch, &ledger, &txs)?;
    }
    Ok(batch)
}

/// Columns of the `ledgers` processor for these ledgers.
#[pyfunction]
fn ledgers<'py>(
    py: Python<'py>,
    xdrs: Vec<Bound<'py, PyBytes>>,
    passphrase: &str,
) -> PyResult<ffi::NativeBatch> {
    let raw = slices(&xdrs);
    let batch = py.detach(|| {
        per_ledger(
            &raw,
            passphrase,
            ledger_rows::LEDGERS,
            ledger_rows::ledgers_row,
        )
    })?;
    Ok(ffi::NativeBatch::new(&batch))
}

/// Columns of the `latest_ledger` processor for these ledgers.
#[pyfunction]
fn latest_ledger<'py>(
    py: Python<'py>,
    xdrs: Vec<Bound<'py, PyBytes>>,
    passphrase: &str,
) -> PyResult<ffi::NativeBatch> {
    let raw = slices(&xdrs);
    let batch = py.detach(|| {
        per_ledger(
            &raw,
            passphrase,
            ledger_rows::LATEST_LEDGER,
            ledger_rows::latest_ledger_row,
        )
    })?;
    Ok(ffi::NativeBatch::new(&batch))
}

/// Columns of the `token_transfers` processor for these ledgers.
#[pyfunction]
#[pyo3(signature = (xdrs, passphrase, include_fees=true, unified_events="auto", split_soroban_fees=true, order="ledger"))]
fn token_transfers<'py>(
    py: Python<'py>,
    xdrs: Vec<Bound<'py, PyBytes>>,
    passphrase: &str,
    include_fees: bool,
    unified_events: &str,
    split_soroban_fees: bool,
    order: &str,
) -> PyResult<ffi::NativeBatch> {
    let params = ttp::Params {
        include_fees,
        unified_auto: match unified_events {
            "auto" => true,
            "never" => false,
            other => return Err(error::Error::invalid(format!("unified_events={other:?}")).into()),
        },
        split_soroban_fees,
        per_transaction: match order {
            "ledger" => false,
            "transaction" => true,
            other => return Err(error::Error::invalid(format!("order={other:?}")).into()),
        },
    };
    let raw = slices(&xdrs);
    let batch = py.detach(|| {
        let mut sac = keys::SacIds::new(network_id(passphrase));
        per_ledger(&raw, passphrase, ttp::SCHEMA, |b, l, t| {
            ttp::rows(b, l, t, &mut sac, params)
        })
    })?;
    Ok(ffi::NativeBatch::new(&batch))
}

/// Decode each ledger fully (no processor); returns the number of transactions in total.
#[pyfunction]
fn decode_only(py: Python<'_>, xdrs: Vec<Bound<'_, PyBytes>>) -> PyResult<usize> {
    let raw = slices(&xdrs);
    Ok(py.detach(|| -> Result<usize> {
        let mut txs = 0;
        for xdr in &raw {
            let l = Ledger::decode(xdr)?;
            let m = match &l.lcm {
                stellar_xdr::LedgerCloseMeta::V0(v) => v.tx_processing.len(),
                stellar_xdr::LedgerCloseMeta::V1(v) => v.tx_processing.len(),
                stellar_xdr::LedgerCloseMeta::V2(v) => v.tx_processing.len(),
            };
            txs += m;
        }
        Ok(txs)
    })?)
}

/// `(lcm_version, ledger_hash, protocol_version, previous_ledger_hash, close_time, sequence)`
/// from the first bytes of one `LedgerCloseMeta`.
#[pyfunction]
fn header_only(xdr: &[u8]) -> PyResult<(u32, String, u32, String, u64, u32)> {
    let h = header::header_only(xdr)?;
    Ok((
        h.lcm_version,
        keys::hex(&h.ledger_hash),
        h.protocol_version,
        keys::hex(&h.previous_ledger_hash),
        h.close_time,
        h.sequence,
    ))
}

const SCAN: &[(&str, Kind)] = &[
    ("batch_start", Kind::I64),
    ("batch_end", Kind::I64),
    ("sequence", Kind::I64),
    ("closed_at", Kind::Ts),
    ("protocol_version", Kind::I32),
    ("lcm_version", Kind::I32),
    ("ledger_hash", Kind::Str),
    ("previous_ledger_hash", Kind::Str),
];

/// Columns of the first ledger header of each galexie object (zstd or raw
/// `LedgerCloseMetaBatch`), decompressing only the first ~2 KB of each.
#[pyfunction]
fn scan_headers<'py>(
    py: Python<'py>,
    objects: Vec<Bound<'py, PyBytes>>,
) -> PyResult<ffi::NativeBatch> {
    let raw = slices(&objects);
    let batch = py.detach(|| -> Result<Batch> {
        let mut scanner = header::Scanner::new();
        let mut b = Batch::new(SCAN);
        for object in &raw {
            let (start, end, h) = scanner.scan(object)?;
            let c = &mut b.cols;
            c[0].i64(Some(i64::from(start)));
            c[1].i64(Some(i64::from(end)));
            c[2].i64(Some(i64::from(h.sequence)));
            c[3].i64(Some(ledger::i64_of(h.close_time, "close time")?));
            c[4].i32(Some(ledger::i32_of(
                h.protocol_version,
                "protocol version",
            )?));
            c[5].i32(Some(ledger::i32_of(h.lcm_version, "LCM version")?));
            c[6].str(Some(&keys::hex(&h.ledger_hash)))?;
            c[7].str(Some(&keys::hex(&h.previous_ledger_hash)))?;
        }
        Ok(b)
    })?;
    Ok(ffi::NativeBatch::new(&batch))
}

#[pymodule]
fn flowctl_native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("XDR_CRATE", "stellar-xdr 30.0.0")?;
    m.add_class::<ffi::NativeBatch>()?;
    m.add_function(wrap_pyfunction!(ledgers, m)?)?;
    m.add_function(wrap_pyfunction!(latest_ledger, m)?)?;
    m.add_function(wrap_pyfunction!(token_transfers, m)?)?;
    m.add_function(wrap_pyfunction!(decode_only, m)?)?;
    m.add_function(wrap_pyfunction!(header_only, m)?)?;
    m.add_function(wrap_pyfunction!(scan_headers, m)?)?;
    Ok(())
}
