//! The one error type of the tap's request handling and store reading, and
//! its one mapping to an HTTP status and a gRPC code. Receivers and the
//! control API turn it into their protocol's answer with these methods.

use std::time::Duration;

use axum::http::StatusCode;
use tonic::Code;

use crate::runtime::processor_types::{CallError, GuestError, PutError};
use crate::storage::StorageError;

/// Everything that can go wrong while serving a request or reading a store.
#[derive(Debug, thiserror::Error)]
pub enum TapError {
    /// The request is malformed or its payload undecodable; retrying cannot help.
    #[error("{0}")]
    InvalidRequest(String),
    /// The Content-Type or Content-Encoding is not one OTLP defines.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The body is over this many bytes after decompression.
    #[error("request body exceeds the limit of {0} bytes")]
    PayloadTooLarge(usize),
    /// The tap cannot take the request now; the client should retry after `retry_after`.
    #[error("{reason}")]
    Busy {
        /// What is full, for the client's log.
        reason: String,
        /// Sent as Retry-After.
        retry_after: Duration,
    },
    /// No such session, object or job.
    #[error("{0}")]
    NotFound(String),
    /// A session of that id exists already.
    #[error("{0}")]
    Conflict(String),
    /// The request lacks the token the tap requires.
    #[error("{0}")]
    Unauthenticated(String),
    /// The request may not do this from where it came (the control API off loopback,
    /// a replay towards an endpoint that is not allowed).
    #[error("{0}")]
    Forbidden(String),
    /// The request already passed through this tap: forwarding it again would loop.
    #[error("{0}")]
    Loop(String),
    /// A fault of the tap, its component or its store.
    #[error("{0}")]
    Internal(String),
}

/// How long clients are asked to wait when the tap pushes back.
pub const RETRY_AFTER: Duration = Duration::from_secs(1);

impl TapError {
    /// The HTTP status of the answer, per the OTLP specification.
    pub fn http_status(&self) -> StatusCode {
        match self {
            TapError::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            TapError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            TapError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            TapError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            TapError::NotFound(_) => StatusCode::NOT_FOUND,
            TapError::Conflict(_) => StatusCode::CONFLICT,
            TapError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            TapError::Forbidden(_) => StatusCode::FORBIDDEN,
            TapError::Loop(_) => StatusCode::LOOP_DETECTED,
            TapError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The gRPC code of the answer, per the OTLP specification.
    pub fn grpc_code(&self) -> Code {
        match self {
            TapError::InvalidRequest(_) => Code::InvalidArgument,
            TapError::UnsupportedMediaType(_) => Code::Unimplemented,
            TapError::PayloadTooLarge(_) => Code::ResourceExhausted,
            TapError::Busy { .. } => Code::Unavailable,
            TapError::NotFound(_) => Code::NotFound,
            TapError::Conflict(_) => Code::AlreadyExists,
            TapError::Unauthenticated(_) => Code::Unauthenticated,
            TapError::Forbidden(_) => Code::PermissionDenied,
            // Not retryable: a loop must not be tried again.
            TapError::Loop(_) => Code::FailedPrecondition,
            TapError::Internal(_) => Code::Internal,
        }
    }

    /// The wait to ask for, when the client should come back later.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            TapError::Busy { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// The answer as a gRPC status.
    pub fn grpc_status(&self) -> tonic::Status {
        crate::otlp::status::status_with_retry(self.grpc_code(), self.to_string(), self.retry_after())
    }

    /// Whether this is the client's fault (a 4xx other than push-back), so
    /// it is not worth a line in the tap's log.
    pub fn is_clients(&self) -> bool {
        matches!(self, TapError::InvalidRequest(_) | TapError::UnsupportedMediaType(_) | TapError::PayloadTooLarge(_))
    }
}

impl From<GuestError> for TapError {
    fn from(e: GuestError) -> Self {
        match e {
            GuestError::InvalidSessionId(_) | GuestError::InvalidConfig(_) | GuestError::InvalidPayload(_) => {
                TapError::InvalidRequest(e.to_string())
            }
            GuestError::InvalidMetadata(_) => TapError::Internal(e.to_string()),
            // A failing backend may well take the object later: the client retries.
            GuestError::Storage(PutError::Busy(m) | PutError::Backend(m)) => {
                TapError::Busy { reason: format!("storage: {m}"), retry_after: RETRY_AFTER }
            }
            GuestError::Storage(e @ PutError::InvalidKey(_)) => TapError::Internal(e.to_string()),
        }
    }
}

impl From<CallError> for TapError {
    fn from(e: CallError) -> Self {
        match e {
            CallError::Busy(_) => TapError::Busy { reason: e.to_string(), retry_after: RETRY_AFTER },
            CallError::Guest(e) => e.into(),
            // The trap's details (a wasm backtrace) are logged where it happened, not sent to clients.
            CallError::Trap(_) => TapError::Busy {
                reason: "the component failed on this request and was replaced; retry later".into(),
                retry_after: RETRY_AFTER,
            },
            CallError::Closed => TapError::Internal(e.to_string()),
        }
    }
}

impl From<StorageError> for TapError {
    fn from(e: StorageError) -> Self {
        TapError::Internal(e.to_string())
    }
}
