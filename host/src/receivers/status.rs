//! The one mapping of [`TapError`] to HTTP status codes and gRPC codes, per
//! the OTLP specification, and the error bodies that carry them.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use prost::Message;

use crate::error::TapError;
use crate::runtime::bindings::PayloadEncoding;

/// `google.rpc.Status`, the body of OTLP error responses.
#[derive(Clone, PartialEq, Message)]
pub struct RpcStatus {
    /// The gRPC code.
    #[prost(int32, tag = "1")]
    pub code: i32,
    /// The message for people.
    #[prost(string, tag = "2")]
    pub message: String,
}

/// The HTTP status for an error.
pub fn http_status(error: &TapError) -> StatusCode {
    match error {
        TapError::InvalidRequest(_) => StatusCode::BAD_REQUEST,
        TapError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        TapError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        TapError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
        TapError::NotFound(_) => StatusCode::NOT_FOUND,
        TapError::Conflict(_) => StatusCode::CONFLICT,
        TapError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The gRPC code for an error (`google.rpc.Code` numbers).
pub fn grpc_code(error: &TapError) -> i32 {
    match error {
        TapError::InvalidRequest(_) => 3,        // INVALID_ARGUMENT
        TapError::UnsupportedMediaType(_) => 12, // UNIMPLEMENTED
        TapError::PayloadTooLarge(_) => 8,       // RESOURCE_EXHAUSTED
        TapError::Busy { .. } => 14,             // UNAVAILABLE
        TapError::NotFound(_) => 5,              // NOT_FOUND
        TapError::Conflict(_) => 6,              // ALREADY_EXISTS
        TapError::Internal(_) => 13,             // INTERNAL
    }
}

/// A gRPC status for an error.
pub fn grpc_status(error: &TapError) -> tonic::Status {
    tonic::Status::new(tonic::Code::from_i32(grpc_code(error)), error.to_string())
}

fn with_retry_after(error: &TapError, mut response: Response) -> Response {
    if let TapError::Busy { retry_after, .. } = error {
        let seconds = retry_after.as_secs().max(1).to_string();
        if let Ok(value) = HeaderValue::from_str(&seconds) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
    }
    response
}

/// An OTLP/HTTP error response: a `Status` in the request's encoding.
pub fn otlp_error(error: &TapError, encoding: PayloadEncoding) -> Response {
    let status = RpcStatus { code: grpc_code(error), message: error.to_string() };
    let response = match encoding {
        PayloadEncoding::Protobuf => {
            (http_status(error), [(header::CONTENT_TYPE, "application/x-protobuf")], status.encode_to_vec())
                .into_response()
        }
        PayloadEncoding::Json => {
            let body = serde_json::json!({ "code": status.code, "message": status.message });
            (http_status(error), axum::Json(body)).into_response()
        }
    };
    with_retry_after(error, response)
}

impl IntoResponse for TapError {
    /// A JSON error body, for the control API.
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.to_string() });
        with_retry_after(&self, (http_status(&self), axum::Json(body)).into_response())
    }
}
