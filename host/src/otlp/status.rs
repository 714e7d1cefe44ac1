//! The one status table of the host, shared by what receives and what
//! sends: each gRPC code's HTTP status, the reverse mapping, and which
//! answers OTLP clients retry. It follows the OTLP specification's failure
//! rules and the Collector's `internal/httphelper` mapping, so an answer
//! translated between the protocols keeps its meaning (a retryable answer
//! stays retryable).

use std::time::Duration;

use axum::http::StatusCode;
use tonic::Code;
use tonic_types::{ErrorDetails, StatusExt};

/// `google.rpc.Status`, the body of OTLP error responses over HTTP.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcStatus {
    /// The `google.rpc.Code` number.
    #[prost(int32, tag = "1")]
    pub code: i32,
    /// The message for people.
    #[prost(string, tag = "2")]
    pub message: String,
}

/// The HTTP status that carries a gRPC code: 503 for every retryable code
/// but RESOURCE_EXHAUSTED (429), and the non-retryable 4xx/500 otherwise.
pub fn http_for_grpc(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::Cancelled
        | Code::DeadlineExceeded
        | Code::Aborted
        | Code::OutOfRange
        | Code::Unavailable
        | Code::DataLoss => StatusCode::SERVICE_UNAVAILABLE,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::InvalidArgument | Code::FailedPrecondition => StatusCode::BAD_REQUEST,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::Unimplemented | Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists => StatusCode::CONFLICT,
        Code::Unknown | Code::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The gRPC code for an HTTP status (gRPC's HTTP mapping, with OTLP's
/// exceptions: 400 is INVALID_ARGUMENT and 429 RESOURCE_EXHAUSTED). A 413
/// is INVALID_ARGUMENT: the same request can never succeed.
pub fn grpc_for_http(status: StatusCode) -> Code {
    match status.as_u16() {
        200..=299 => Code::Ok,
        400 | 413 => Code::InvalidArgument,
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        404 => Code::Unimplemented,
        409 => Code::AlreadyExists,
        429 => Code::ResourceExhausted,
        502..=504 => Code::Unavailable,
        _ => Code::Unknown,
    }
}

/// Whether an OTLP client retries a gRPC answer with this code.
pub fn grpc_retryable(code: Code) -> bool {
    matches!(
        code,
        Code::Cancelled
            | Code::DeadlineExceeded
            | Code::ResourceExhausted
            | Code::Aborted
            | Code::OutOfRange
            | Code::Unavailable
            | Code::DataLoss
    )
}

/// A status of `code` that tells the client when to come back: OTLP clients
/// retry RESOURCE_EXHAUSTED only when it carries `google.rpc.RetryInfo`, so
/// push-back (an upstream's 429, a full tap) always says how long to wait.
/// Codes clients do not retry go out without it.
pub fn status_with_retry(code: Code, message: impl Into<String>, retry_after: Option<Duration>) -> tonic::Status {
    let message = message.into();
    match retry_after {
        Some(delay) if grpc_retryable(code) => {
            tonic::Status::with_error_details(code, message, ErrorDetails::with_retry_info(Some(delay)))
        }
        _ => tonic::Status::new(code, message),
    }
}

/// The wait a status's `google.rpc.RetryInfo` asks for, if it has one.
pub fn retry_info_delay(status: &tonic::Status) -> Option<Duration> {
    status.get_details_retry_info().and_then(|info| info.retry_delay).map(crate::ranges::endpoint_wait)
}

/// Whether an OTLP client retries a gRPC answer, and the wait its RetryInfo
/// asks for: the code's rule, except that RESOURCE_EXHAUSTED is retried only
/// when the server sent RetryInfo (the OTLP specification's one exception).
pub fn grpc_answer_retry(status: &tonic::Status) -> (bool, Option<Duration>) {
    let wait = retry_info_delay(status);
    let retryable = match status.code() {
        Code::ResourceExhausted => wait.is_some(),
        code => grpc_retryable(code),
    };
    (retryable, wait)
}

/// The HTTP status that passes a gRPC answer on to an OTLP/HTTP client so
/// it retries exactly when a gRPC client would ([`grpc_answer_retry`]):
/// RESOURCE_EXHAUSTED without RetryInfo becomes 400, not a retryable 429.
pub fn http_for_grpc_answer(status: &tonic::Status) -> StatusCode {
    match grpc_answer_retry(status) {
        (false, _) if status.code() == Code::ResourceExhausted => StatusCode::BAD_REQUEST,
        _ => http_for_grpc(status.code()),
    }
}

/// Whether an OTLP client retries an HTTP answer with this status.
pub fn http_retryable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 502 | 503 | 504)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CODES: [Code; 17] = [
        Code::Ok,
        Code::Cancelled,
        Code::Unknown,
        Code::InvalidArgument,
        Code::DeadlineExceeded,
        Code::NotFound,
        Code::AlreadyExists,
        Code::PermissionDenied,
        Code::ResourceExhausted,
        Code::FailedPrecondition,
        Code::Aborted,
        Code::OutOfRange,
        Code::Unimplemented,
        Code::Internal,
        Code::Unavailable,
        Code::DataLoss,
        Code::Unauthenticated,
    ];

    #[test]
    fn translating_an_answer_keeps_whether_it_is_retried() {
        for code in CODES.into_iter().filter(|c| *c != Code::Ok) {
            let http = http_for_grpc(code);
            assert_eq!(http_retryable(http), grpc_retryable(code), "{code:?} became {http}");
            assert_eq!(grpc_retryable(grpc_for_http(http)), grpc_retryable(code), "{code:?} -> {http} -> back");
        }
        for status in [400u16, 401, 403, 404, 409, 413, 429, 500, 501, 502, 503, 504] {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            assert_eq!(grpc_retryable(grpc_for_http(status)), http_retryable(status), "{status}");
        }
    }

    #[test]
    fn out_of_range_is_retryable_both_ways() {
        assert!(grpc_retryable(Code::OutOfRange));
        assert_eq!(http_for_grpc(Code::OutOfRange), StatusCode::SERVICE_UNAVAILABLE);
    }
}
