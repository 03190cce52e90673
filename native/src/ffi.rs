//! Export a [`Batch`] through the Arrow C data interface (a struct array of the columns), so
//! pyarrow imports the whole record batch in one call under the catalog schema.
//!
//! The C interface carries no buffer lengths: the caller must check that the schema's field
//! types have the layouts of [`Batch::layout`] (`flowctl_dsl/stellar/native.py` does).

use std::ffi::c_void;
use std::ptr;

use pyo3::prelude::*;

use crate::cols::Batch;

/// `struct ArrowArray` of the Arrow C data interface.
#[repr(C)]
pub struct FfiArray {
    length: i64,
    null_count: i64,
    offset: i64,
    n_buffers: i64,
    n_children: i64,
    buffers: *mut *const c_void,
    children: *mut *mut FfiArray,
    dictionary: *mut FfiArray,
    release: Option<unsafe extern "C" fn(*mut FfiArray)>,
    private_data: *mut c_void,
}

// SAFETY: an exported array exclusively owns its buffers and children (nothing else points at
// them until a consumer takes it over), and is only changed through `&mut`.
unsafe impl Send for FfiArray {}
unsafe impl Sync for FfiArray {}

/// What an exported array owns: 8-byte aligned buffers, the pointer tables and its children.
struct Owned {
    _data: Vec<Vec<u64>>,
    buffers: Vec<*const c_void>,
    children: Vec<*mut FfiArray>,
}

fn aligned(bytes: &[u8]) -> Vec<u64> {
    let mut out = vec![0u64; bytes.len().div_ceil(8).max(1)];
    // SAFETY: `out` holds at least `bytes.len()` bytes; u64 has no invalid bit patterns.
    unsafe { ptr::copy_nonoverlapping(bytes.as_ptr(), out.as_mut_ptr().cast::<u8>(), bytes.len()) };
    out
}

unsafe extern "C" fn release(array: *mut FfiArray) {
    // SAFETY: called by the consumer (or by us) on an array we exported, at most once while
    // `release` is set; `private_data` is the `Owned` we leaked in `make`.
    unsafe {
        let a = &mut *array;
        if a.release.is_none() {
            return;
        }
        let owned = Box::from_raw(a.private_data.cast::<Owned>());
        for &child in &owned.children {
            if let Some(r) = (*child).release {
                r(child);
            }
            drop(Box::from_raw(child));
        }
        drop(owned);
        a.release = None;
    }
}

fn make(
    length: usize,
    null_count: usize,
    data: Vec<Vec<u64>>,
    has_validity: bool,
    children: Vec<*mut FfiArray>,
) -> FfiArray {
    let mut buffers: Vec<*const c_void> = Vec::with_capacity(data.len() + 1);
    if !has_validity {
        buffers.push(ptr::null()); // no validity bitmap
    }
    buffers.extend(data.iter().map(|b| b.as_ptr().cast::<c_void>()));
    let mut owned = Box::new(Owned {
        _data: data,
        buffers,
        children,
    });
    FfiArray {
        length: length as i64,
        null_count: null_count as i64,
        offset: 0,
        n_buffers: owned.buffers.len() as i64,
        n_children: owned.children.len() as i64,
        buffers: owned.buffers.as_mut_ptr(),
        children: if owned.children.is_empty() {
            ptr::null_mut()
        } else {
            owned.children.as_mut_ptr()
        },
        dictionary: ptr::null_mut(),
        release: Some(release),
        private_data: Box::into_raw(owned).cast::<c_void>(),
    }
}

/// The batch as one exported struct array (no nulls at the top level).
pub fn export(batch: &Batch) -> Box<FfiArray> {
    let rows = batch.rows();
    let children = batch
        .cols
        .iter()
        .map(|c| {
            let parts = c.parts();
            let mut data = Vec::with_capacity(3);
            let has_validity = parts.nulls > 0;
            if has_validity {
                data.push(aligned(parts.validity));
            }
            if let Some(offsets) = parts.offsets {
                let bytes: Vec<u8> = offsets.iter().flat_map(|o| o.to_le_bytes()).collect();
                data.push(aligned(&bytes));
            }
            data.push(aligned(parts.data));
            Box::into_raw(Box::new(make(
                parts.len,
                parts.nulls,
                data,
                has_validity,
                Vec::new(),
            )))
        })
        .collect();
    Box::new(make(rows, 0, Vec::new(), false, children))
}

/// A record batch exported by Rust, waiting to be imported by pyarrow.
#[pyclass(module = "flowctl_native")]
pub struct NativeBatch {
    array: Option<Box<FfiArray>>,
    layout: Vec<(&'static str, &'static str)>,
}

impl NativeBatch {
    pub fn new(batch: &Batch) -> Self {
        NativeBatch {
            array: Some(export(batch)),
            layout: batch.layout(),
        }
    }
}

impl Drop for NativeBatch {
    fn drop(&mut self) {
        if let Some(mut a) = self.array.take() {
            // SAFETY: never imported, so we still own it.
            unsafe { release(&mut *a) };
        }
    }
}

#[pymethods]
impl NativeBatch {
    /// `[(column name, layout)]`, layouts as in `native.py`'s checks.
    fn layout(&self) -> Vec<(&'static str, &'static str)> {
        self.layout.clone()
    }

    /// Import into `pyarrow.RecordBatch` with `schema` (once; the schema must match `layout`).
    fn import_pyarrow<'py>(
        &mut self,
        py: Python<'py>,
        schema: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let array = self
            .array
            .take()
            .ok_or_else(|| pyo3::exceptions::PyRuntimeError::new_err("already imported"))?;
        let raw = Box::into_raw(array);
        let result = py
            .import("pyarrow")?
            .getattr("RecordBatch")?
            .call_method1("_import_from_c", (raw as usize, schema));
        // SAFETY: `raw` came from `Box::into_raw`; a successful import moved the contents out
        // and cleared `release`, a failed one left them to us.
        unsafe {
            if let Some(r) = (*raw).release {
                r(raw);
            }
            drop(Box::from_raw(raw));
        }
        result
    }
}
