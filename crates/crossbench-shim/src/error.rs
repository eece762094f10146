//! Shim status codes as a typed Rust error.

use crate::sys;
use std::ffi::CStr;

/// What kind of failure the shim reported (mirrors `cb_status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Io,
    Format,
    Shape,
    Unsupported,
    Argument,
    Runtime,
    Callback,
    Unknown(u32),
}

impl ErrorKind {
    fn from_status(status: sys::cb_status::Type) -> ErrorKind {
        use sys::cb_status::*;
        match status {
            CB_ERR_IO => ErrorKind::Io,
            CB_ERR_FORMAT => ErrorKind::Format,
            CB_ERR_SHAPE => ErrorKind::Shape,
            CB_ERR_UNSUPPORTED => ErrorKind::Unsupported,
            CB_ERR_ARGUMENT => ErrorKind::Argument,
            CB_ERR_RUNTIME => ErrorKind::Runtime,
            CB_ERR_CALLBACK => ErrorKind::Callback,
            other => ErrorKind::Unknown(other),
        }
    }

    /// The C name of the status, as the native runner prints it.
    pub fn code(&self) -> &'static str {
        match self {
            ErrorKind::Io => "CB_ERR_IO",
            ErrorKind::Format => "CB_ERR_FORMAT",
            ErrorKind::Shape => "CB_ERR_SHAPE",
            ErrorKind::Unsupported => "CB_ERR_UNSUPPORTED",
            ErrorKind::Argument => "CB_ERR_ARGUMENT",
            ErrorKind::Runtime => "CB_ERR_RUNTIME",
            ErrorKind::Callback => "CB_ERR_CALLBACK",
            ErrorKind::Unknown(_) => "CB_ERR_UNKNOWN",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ShimError {
    /// An error the C++ side caught and reported.
    #[error("{}: {message}", kind.code())]
    Shim { kind: ErrorKind, message: String },
    /// The Rust token callback panicked; generation was stopped before unwinding into C.
    #[error("token callback panicked: {0}")]
    CallbackPanic(String),
    /// Rejected on the Rust side before crossing.
    #[error("invalid argument: {0}")]
    Argument(String),
}

impl ShimError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            ShimError::Shim { kind, .. } => *kind,
            ShimError::CallbackPanic(_) => ErrorKind::Callback,
            ShimError::Argument(_) => ErrorKind::Argument,
        }
    }

    pub(crate) fn null(what: &str) -> ShimError {
        ShimError::Shim {
            kind: ErrorKind::Runtime,
            message: format!("{what} returned a null handle"),
        }
    }
}

/// Turns a status into a Result, reading the thread-local message on failure.
#[inline]
pub(crate) fn check(status: sys::cb_status::Type) -> Result<(), ShimError> {
    if status == sys::cb_status::CB_OK {
        return Ok(());
    }
    // SAFETY: cb_last_error returns a thread-local NUL-terminated string.
    let message = unsafe { CStr::from_ptr(sys::cb_last_error()) }
        .to_string_lossy()
        .into_owned();
    Err(ShimError::Shim {
        kind: ErrorKind::from_status(status),
        message,
    })
}
