//! Header-only reads: a fixed-offset walk over the first bytes of a `LedgerCloseMeta`, and a
//! scan of galexie objects that decompresses only the start of each zstd stream.

use zstd::zstd_safe::{DCtx, InBuffer, OutBuffer, ResetDirective};

use crate::error::{Error, Result};

/// Header fields readable from the prefix of a `LedgerCloseMeta`.
pub struct HeaderInfo {
    pub lcm_version: u32,
    pub ledger_hash: [u8; 32],
    pub protocol_version: u32,
    pub previous_ledger_hash: [u8; 32],
    pub close_time: u64,
    pub sequence: u32,
}

struct Walk<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Walk<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        let end = self.pos + n;
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or_else(|| Error::invalid("truncated LedgerCloseMeta header"))?;
        self.pos = end;
        Ok(s)
    }

    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.take(4)?.try_into().unwrap()))
    }

    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_be_bytes(self.take(8)?.try_into().unwrap()))
    }

    fn hash(&mut self) -> Result<[u8; 32]> {
        Ok(self.take(32)?.try_into().unwrap())
    }

    fn skip(&mut self, n: usize) -> Result<()> {
        self.take(n).map(|_| ())
    }

    /// A variable-length opaque: length word + data padded to 4 bytes.
    fn skip_opaque(&mut self) -> Result<()> {
        let n = self.u32()? as usize;
        self.skip(n + (4 - n % 4) % 4)
    }
}

/// Walk LCM version → ext → header hash → ledgerVersion, previousLedgerHash, scpValue →
/// txSetResultHash, bucketListHash → ledgerSeq (the same walk as `decode.header_only`).
pub fn header_only(xdr: &[u8]) -> Result<HeaderInfo> {
    let mut w = Walk { buf: xdr, pos: 0 };
    let version = w.u32()?;
    match version {
        0 => {}
        1 | 2 => match w.u32()? {
            0 => {}
            1 => w.skip(4 + 8)?, // LedgerCloseMetaExtV1: ExtensionPoint + int64
            e => return Err(Error::invalid(format!("unknown LedgerCloseMetaExt {e}"))),
        },
        v => {
            return Err(Error::invalid(format!(
                "unknown LedgerCloseMeta version {v}"
            )))
        }
    }
    let ledger_hash = w.hash()?;
    let protocol_version = w.u32()?;
    let previous_ledger_hash = w.hash()?;
    w.skip(32)?; // scpValue.txSetHash
    let close_time = w.u64()?;
    for _ in 0..w.u32()? {
        w.skip_opaque()?;
    }
    let sv_ext = w.u32()?;
    if sv_ext == 2 {
        w.skip(32 + 32 + 4)?; // txSetHash, previousLedgerHash, version
    }
    match sv_ext {
        0 => {}
        1 | 2 => {
            w.skip(4 + 32)?; // NodeID
            w.skip_opaque()?; // Signature
        }
        e => return Err(Error::invalid(format!("unknown StellarValueType {e}"))),
    }
    w.skip(32 + 32)?; // txSetResultHash, bucketListHash
    let sequence = w.u32()?;
    Ok(HeaderInfo {
        lcm_version: version,
        ledger_hash,
        protocol_version,
        previous_ledger_hash,
        close_time,
        sequence,
    })
}

const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
/// Bytes decompressed per object: batch header + the largest possible ledger header.
const PREFIX: usize = 12 + 2048;

/// Reads the first ledger header of galexie objects, reusing one zstd context.
pub struct Scanner {
    dctx: DCtx<'static>,
    out: Vec<u8>,
}

impl Scanner {
    pub fn new() -> Self {
        Scanner {
            dctx: DCtx::create(),
            out: vec![0; PREFIX],
        }
    }

    /// Up to `PREFIX` bytes of the decompressed object (the object itself when not zstd).
    fn prefix<'a>(&'a mut self, object: &'a [u8]) -> Result<&'a [u8]> {
        if object.get(..4) != Some(&ZSTD_MAGIC[..]) {
            return Ok(object);
        }
        self.dctx
            .reset(ResetDirective::SessionOnly)
            .map_err(|c| Error::invalid(format!("zstd reset: {c}")))?;
        let mut input = InBuffer::around(object);
        let mut output = OutBuffer::around(&mut self.out[..]);
        while output.pos() < PREFIX {
            let before = (input.pos(), output.pos());
            let hint = self
                .dctx
                .decompress_stream(&mut output, &mut input)
                .map_err(|c| {
                    Error::invalid(format!("zstd: {}", zstd::zstd_safe::get_error_name(c)))
                })?;
            if hint == 0 || (input.pos(), output.pos()) == before {
                break; // frame done, or no progress possible (truncated input)
            }
        }
        let n = output.pos();
        Ok(&self.out[..n])
    }

    /// `(batch start, batch end, header of the first ledger)` of one galexie object.
    pub fn scan(&mut self, object: &[u8]) -> Result<(u32, u32, HeaderInfo)> {
        let raw = self.prefix(object)?;
        if raw.len() < 12 {
            return Err(Error::invalid("truncated LedgerCloseMetaBatch"));
        }
        let start = u32::from_be_bytes(raw[0..4].try_into().unwrap());
        let end = u32::from_be_bytes(raw[4..8].try_into().unwrap());
        let count = u32::from_be_bytes(raw[8..12].try_into().unwrap());
        if count == 0 {
            return Err(Error::invalid("empty LedgerCloseMetaBatch"));
        }
        Ok((start, end, header_only(&raw[12..])?))
    }
}
