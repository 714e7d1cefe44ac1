//! The one error type of the tap's request handling. Its mapping to HTTP
//! status codes (and later gRPC codes) lives in `receivers::status`.

use std::time::Duration;

use crate::runtime::RuntimeError;
use crate::runtime::bindings::{ProcessorError, StorageError};
use crate::runtime::pool::PoolError;
use crate::storage::StorageError as BackendError;

/// Everything that can go wrong while serving a request.
#[derive(Debug, thiserror::Error)]
pub enum TapError {
    /// The request is malformed or its payload undecodable; retrying cannot help.
    #[error("{0}")]
    InvalidRequest(String),
    /// The Content-Type or Content-Encoding is not one OTLP defines.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The body is over the size limit (after decompression).
    #[error("request body exceeds the limit of {0} bytes")]
    PayloadTooLarge(usize),
    /// The tap cannot take the request now; the client should retry later.
    #[error("{reason}")]
    Busy {
        /// Why.
        reason: String,
        /// When to retry.
        retry_after: Duration,
    },
    /// No such session.
    #[error("{0}")]
    NotFound(String),
    /// The session exists already.
    #[error("{0}")]
    Conflict(String),
    /// A fault of the tap or its store.
    #[error("{0}")]
    Internal(String),
}

/// How long clients are asked to wait when the tap pushes back.
pub const RETRY_AFTER: Duration = Duration::from_secs(1);

impl From<ProcessorError> for TapError {
    fn from(e: ProcessorError) -> Self {
        match e {
            ProcessorError::InvalidSessionId(m) => TapError::InvalidRequest(format!("invalid session id: {m}")),
            ProcessorError::InvalidConfig(m) => TapError::InvalidRequest(format!("invalid session config: {m}")),
            ProcessorError::InvalidPayload(m) => TapError::InvalidRequest(m),
            ProcessorError::InvalidMetadata(m) => TapError::Internal(format!("invalid metadata: {m}")),
            ProcessorError::Storage(StorageError::Busy(m)) => TapError::Busy { reason: m, retry_after: RETRY_AFTER },
            ProcessorError::Storage(StorageError::InvalidKey(m) | StorageError::Backend(m)) => {
                TapError::Internal(format!("storage: {m}"))
            }
        }
    }
}

impl From<PoolError> for TapError {
    fn from(e: PoolError) -> Self {
        match e {
            PoolError::Busy(_) => TapError::Busy { reason: e.to_string(), retry_after: RETRY_AFTER },
            PoolError::Runtime(e) => e.into(),
        }
    }
}

impl From<RuntimeError> for TapError {
    fn from(e: RuntimeError) -> Self {
        TapError::Internal(e.to_string())
    }
}

impl From<BackendError> for TapError {
    fn from(e: BackendError) -> Self {
        TapError::Internal(e.to_string())
    }
}
