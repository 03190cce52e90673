//! Errors: `Unsupported` (the Python reference must handle this ledger) vs `Invalid` (bad data).

use pyo3::exceptions::{PyNotImplementedError, PyValueError};
use pyo3::PyErr;

#[derive(Debug)]
pub enum Error {
    /// Valid input this crate does not implement; callers fall back to the reference path.
    Unsupported(String),
    /// Malformed or inconsistent input (bad XDR, wrong passphrase, out-of-range values).
    Invalid(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::Invalid(msg.into())
    }

    pub fn unsupported(msg: impl Into<String>) -> Self {
        Error::Unsupported(msg.into())
    }
}

impl From<stellar_xdr::Error> for Error {
    fn from(e: stellar_xdr::Error) -> Self {
        Error::Invalid(format!("XDR: {e}"))
    }
}

impl From<Error> for PyErr {
    fn from(e: Error) -> Self {
        match e {
            Error::Unsupported(m) => PyNotImplementedError::new_err(m),
            Error::Invalid(m) => PyValueError::new_err(m),
        }
    }
}
