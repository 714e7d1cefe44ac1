//! Where replayed requests go: an OTLP endpoint over HTTP (protobuf) or
//! gRPC, with retries per the OTLP specification.

pub mod otlp_grpc;
pub mod otlp_http;
pub mod retry;

use std::time::Duration;

use bytes::Bytes;

use crate::runtime::bindings::Signal;

/// Why an export failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ExportError {
    /// The target pushed back or was unreachable; the same request may
    /// succeed later.
    #[error("{reason}")]
    Retryable {
        /// What happened.
        reason: String,
        /// The wait the target asked for.
        retry_after: Option<Duration>,
    },
    /// The target refused the request for good.
    #[error("{0}")]
    Fatal(String),
    /// The target stayed unavailable through every retry the policy allows.
    #[error("{0}")]
    Exhausted(String),
}

/// What the target said about an accepted request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accepted {
    /// Items the target reported rejecting (OTLP partial success).
    pub rejected: u64,
    /// Its message about them.
    pub message: String,
}

/// An OTLP target.
#[derive(Debug, Clone)]
pub enum Exporter {
    /// OTLP/HTTP protobuf.
    Http(otlp_http::HttpExporter),
    /// OTLP/gRPC.
    Grpc(otlp_grpc::GrpcExporter),
}

impl Exporter {
    /// The exporter for an endpoint and a protocol name (`http` or `grpc`).
    pub fn new(endpoint: &str, protocol: &str, timeout: Duration) -> Result<Self, String> {
        match protocol {
            "http" => Ok(Exporter::Http(otlp_http::HttpExporter::new(endpoint, timeout)?)),
            "grpc" => Ok(Exporter::Grpc(otlp_grpc::GrpcExporter::new(endpoint, timeout)?)),
            other => Err(format!("unknown protocol {other:?}; use http or grpc")),
        }
    }

    /// Sends one protobuf `Export*ServiceRequest` once.
    pub async fn send(&self, signal: Signal, payload: Bytes) -> Result<Accepted, ExportError> {
        match self {
            Exporter::Http(http) => http.send(signal, payload).await,
            Exporter::Grpc(grpc) => grpc.send(signal, payload).await,
        }
    }

    /// Where it sends, for messages.
    pub fn endpoint(&self) -> String {
        match self {
            Exporter::Http(http) => http.endpoint().to_owned(),
            Exporter::Grpc(grpc) => grpc.endpoint().to_owned(),
        }
    }
}

/// The body of every `Export*ServiceResponse`: field 1 is the partial success.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ExportResponse {
    /// Present when the target rejected part of the request.
    #[prost(message, optional, tag = "1")]
    pub partial_success: Option<PartialSuccess>,
}

/// `Export*PartialSuccess`: rejected spans, data points or log records.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PartialSuccess {
    /// Items rejected.
    #[prost(int64, tag = "1")]
    pub rejected: i64,
    /// Why.
    #[prost(string, tag = "2")]
    pub error_message: String,
}

impl From<ExportResponse> for Accepted {
    fn from(response: ExportResponse) -> Self {
        let partial = response.partial_success.unwrap_or_default();
        Accepted { rejected: u64::try_from(partial.rejected).unwrap_or(0), message: partial.error_message }
    }
}
