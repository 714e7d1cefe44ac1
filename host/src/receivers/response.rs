//! OTLP/HTTP answers: full success, a `Status` body for errors (the tap's
//! own, or an upstream's gRPC status translated through the status table),
//! in the encoding of the request, with Retry-After when the client should
//! come back.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use prost::Message;
use tonic::Code;

use crate::error::{RETRY_AFTER, TapError};
use crate::exporters::ExportResponse;
use crate::log_limit::Throttle;
use crate::otlp::Encoding;
use crate::otlp::status::{RpcStatus, http_for_grpc_answer, http_retryable, retry_info_delay};

/// An empty `Export*ServiceResponse`: full success.
pub fn success(encoding: Encoding) -> Response {
    let body = match encoding {
        Encoding::Protobuf => Bytes::new(),
        Encoding::Json => Bytes::from_static(b"{}"),
    };
    (StatusCode::OK, [(header::CONTENT_TYPE, encoding.content_type())], body).into_response()
}

/// An error answer: `status` with a `google.rpc.Status` body in `encoding`,
/// and Retry-After when the status is one clients retry.
fn status_answer(status: StatusCode, rpc: RpcStatus, encoding: Encoding, retry_after: Option<u64>) -> Response {
    let mut response = match encoding {
        Encoding::Protobuf => {
            (status, [(header::CONTENT_TYPE, encoding.content_type())], rpc.encode_to_vec()).into_response()
        }
        Encoding::Json => {
            (status, axum::Json(serde_json::json!({ "code": rpc.code, "message": rpc.message }))).into_response()
        }
    };
    if let Some(seconds) = retry_after.filter(|_| http_retryable(status)) {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    }
    response
}

/// The tap's own error, in the request's encoding.
pub fn otlp_error(error: &TapError, encoding: Encoding) -> Response {
    let rpc = RpcStatus { code: error.grpc_code() as i32, message: error.to_string() };
    status_answer(error.http_status(), rpc, encoding, error.retry_after().map(|d| d.as_secs()))
}

/// The HTTP answer for a gRPC upstream's result, in the client's encoding.
pub fn from_grpc(result: Result<Bytes, tonic::Status>, encoding: Encoding) -> Response {
    match result {
        Ok(message) if encoding == Encoding::Json => {
            let body = match ExportResponse::decode(message).ok().and_then(|r| r.partial_success) {
                Some(p) => serde_json::json!({
                    "partialSuccess": { "rejected": p.rejected.to_string(), "errorMessage": p.error_message }
                }),
                None => serde_json::json!({}),
            };
            (StatusCode::OK, axum::Json(body)).into_response()
        }
        Ok(message) => (StatusCode::OK, [(header::CONTENT_TYPE, encoding.content_type())], message).into_response(),
        Err(status) => {
            let rpc = RpcStatus { code: status.code() as i32, message: status.message().to_owned() };
            // The upstream's RetryInfo becomes Retry-After.
            let wait = retry_info_delay(&status);
            let http = http_for_grpc_answer(&status);
            let wait = http_retryable(http).then(|| wait.map_or(RETRY_AFTER.as_secs(), |d| d.as_secs().max(1)));
            status_answer(http, rpc, Encoding::Protobuf, wait)
        }
    }
}

/// One line every ten seconds while the upstream stays unreachable.
static UNREACHABLE: Throttle = Throttle::new(std::time::Duration::from_secs(10));

/// The answer when the upstream could not be reached: 503, retry later.
pub fn upstream_unreachable(message: String) -> Response {
    UNREACHABLE.write(|held_back| tracing::warn!(%message, held_back, "upstream unreachable"));
    let rpc = RpcStatus { code: Code::Unavailable as i32, message };
    status_answer(StatusCode::SERVICE_UNAVAILABLE, rpc, Encoding::Protobuf, Some(RETRY_AFTER.as_secs()))
}
