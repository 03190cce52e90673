//! Arrow columns built in Rust and handed to Python as raw buffers.
//!
//! Each column is the Arrow memory layout of one field (validity bitmap, `i32` offsets for
//! strings, little-endian values); [`crate::ffi`] hands them to pyarrow through the Arrow C data
//! interface, so no Python object is created per value.

use crate::error::{Error, Result};

/// The physical layout of a column (the catalog schema gives the logical type).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    I32,
    I64,
    Str,
    /// 16-byte little-endian two's complement (`decimal128(p, s)` unscaled values).
    Dec128,
    /// `timestamp("s")` values: seconds as `i64`.
    Ts,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::I32 => "int32",
            Kind::I64 => "int64",
            Kind::Str => "string",
            Kind::Dec128 => "decimal128",
            Kind::Ts => "timestamp",
        }
    }
}

/// One growing Arrow column.
pub struct Column {
    pub name: &'static str,
    kind: Kind,
    len: usize,
    nulls: usize,
    validity: Vec<u8>,
    data: Vec<u8>,
    offsets: Vec<i32>,
}

impl Column {
    pub fn new(name: &'static str, kind: Kind) -> Self {
        Column {
            name,
            kind,
            len: 0,
            nulls: 0,
            validity: Vec::new(),
            data: Vec::new(),
            offsets: if kind == Kind::Str {
                vec![0]
            } else {
                Vec::new()
            },
        }
    }

    fn mark(&mut self, valid: bool) {
        if self.len.is_multiple_of(8) {
            self.validity.push(0);
        }
        if valid {
            self.validity[self.len / 8] |= 1 << (self.len % 8);
        } else {
            self.nulls += 1;
        }
    }

    pub fn i32(&mut self, v: Option<i32>) {
        debug_assert_eq!(self.kind, Kind::I32, "{}", self.name);
        self.mark(v.is_some());
        self.data.extend_from_slice(&v.unwrap_or(0).to_le_bytes());
        self.len += 1;
    }

    pub fn i64(&mut self, v: Option<i64>) {
        debug_assert!(matches!(self.kind, Kind::I64 | Kind::Ts), "{}", self.name);
        self.mark(v.is_some());
        self.data.extend_from_slice(&v.unwrap_or(0).to_le_bytes());
        self.len += 1;
    }

    pub fn i128(&mut self, v: Option<i128>) {
        debug_assert_eq!(self.kind, Kind::Dec128, "{}", self.name);
        self.mark(v.is_some());
        self.data.extend_from_slice(&v.unwrap_or(0).to_le_bytes());
        self.len += 1;
    }

    pub fn str(&mut self, v: Option<&str>) -> Result<()> {
        debug_assert_eq!(self.kind, Kind::Str, "{}", self.name);
        self.mark(v.is_some());
        if let Some(s) = v {
            self.data.extend_from_slice(s.as_bytes());
        }
        let end = i32::try_from(self.data.len())
            .map_err(|_| Error::invalid(format!("column {} exceeds 2 GiB", self.name)))?;
        self.offsets.push(end);
        self.len += 1;
        Ok(())
    }

    pub fn layout(&self) -> &'static str {
        self.kind.name()
    }

    /// The Arrow buffers of this column.
    pub fn parts(&self) -> Parts<'_> {
        Parts {
            len: self.len,
            nulls: self.nulls,
            validity: &self.validity,
            offsets: (self.kind == Kind::Str).then_some(self.offsets.as_slice()),
            data: &self.data,
        }
    }
}

/// Borrowed Arrow buffers of one column.
pub struct Parts<'a> {
    pub len: usize,
    pub nulls: usize,
    pub validity: &'a [u8],
    pub offsets: Option<&'a [i32]>,
    pub data: &'a [u8],
}

/// A record batch under construction: columns in schema order.
pub struct Batch {
    pub cols: Vec<Column>,
}

impl Batch {
    pub fn new(fields: &[(&'static str, Kind)]) -> Self {
        Batch {
            cols: fields.iter().map(|&(n, k)| Column::new(n, k)).collect(),
        }
    }

    pub fn rows(&self) -> usize {
        self.cols.first().map_or(0, |c| c.len)
    }

    /// `[(name, layout)]` in column order.
    pub fn layout(&self) -> Vec<(&'static str, &'static str)> {
        self.cols.iter().map(|c| (c.name, c.layout())).collect()
    }
}
