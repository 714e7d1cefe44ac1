//! Where OTLP leaves the host: an endpoint over OTLP/HTTP or OTLP/gRPC.
//! Replay sends through [`Exporter::send`], which classifies answers for
//! retrying; the tap's forwarding goes through the same exporter, passing
//! requests and answers through ([`Exporter::forward_message`] and
//! [`otlp_http::HttpExporter::forward`]).

pub mod headers;
pub mod otlp_grpc;
pub mod otlp_http;
pub mod per_signal;
pub mod retry;
pub mod tls;

use std::str::FromStr;
use std::time::Duration;

use axum::http::HeaderMap;
use bytes::Bytes;

use crate::otlp::Signal;

/// Why an export failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ExportError {
    /// The target pushed back or was unreachable; the same request may
    /// succeed later, after `retry_after` when the target named a wait.
    #[error("{reason}")]
    Retryable {
        /// What happened, with the endpoint.
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

/// An endpoint that did not answer: the error with its causes ("connection
/// refused", "dns error", a certificate problem) rather than reqwest's
/// outer "error sending request". TLS failures do not heal by waiting, so
/// they are not retried; the rest are.
pub fn unreachable(url: &str, error: &(dyn std::error::Error + 'static)) -> ExportError {
    let (reason, tls) = describe(url, error);
    if tls {
        ExportError::Fatal(format!("{reason} (TLS; not retried)"))
    } else {
        ExportError::Retryable { reason, retry_after: None }
    }
}

/// `error` with every cause that adds words, after `url`; and whether TLS failed.
pub fn describe(url: &str, error: &(dyn std::error::Error + 'static)) -> (String, bool) {
    let mut reason = format!("{url}: {error}");
    let mut tls = false;
    let mut source = error.source();
    while let Some(cause) = source {
        tls |= cause.downcast_ref::<rustls::Error>().is_some()
            || cause
                .downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some());
        let text = cause.to_string();
        if !reason.contains(&text) {
            reason.push_str(": ");
            reason.push_str(&text);
        }
        source = cause.source();
    }
    (reason, tls)
}

/// What the target said about an accepted request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accepted {
    /// Items the target reported rejecting (OTLP partial success).
    pub rejected: u64,
    /// Its message about them.
    pub message: String,
}

/// The OTLP transport of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportProtocol {
    /// OTLP/HTTP, protobuf bodies.
    Http,
    /// OTLP/gRPC.
    Grpc,
}

impl FromStr for ExportProtocol {
    type Err = String;

    /// Takes `http`, `grpc`, and the values of OTEL_EXPORTER_OTLP_PROTOCOL
    /// (`http/protobuf`, `http/json`).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim() {
            "http" | "http/protobuf" | "http/json" => Ok(ExportProtocol::Http),
            "grpc" => Ok(ExportProtocol::Grpc),
            other => Err(format!("unknown protocol {other:?}; use http or grpc")),
        }
    }
}

/// How an exporter talks to its endpoint, besides where the endpoint is.
#[derive(Debug, Clone)]
pub struct ExportSettings {
    /// The transport.
    pub protocol: ExportProtocol,
    /// How long one request may take.
    pub timeout: Duration,
    /// Sent with every request, over a forwarded client's of the same names.
    pub headers: HeaderMap,
    /// Private CA and client certificate for https endpoints.
    pub tls: tls::ClientTls,
    /// How the exporter's own request bodies are compressed (forwarded
    /// bodies keep the client's encoding).
    pub compression: ExportCompression,
}

/// Compression of the bodies an exporter sends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ExportCompression {
    /// gzip, as the Collector's exporters send by default.
    #[default]
    Gzip,
    /// Uncompressed.
    None,
}

impl FromStr for ExportCompression {
    type Err = String;

    /// Takes the values of OTEL_EXPORTER_OTLP_COMPRESSION.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim() {
            "gzip" => Ok(ExportCompression::Gzip),
            "none" | "" => Ok(ExportCompression::None),
            other => Err(format!("unknown compression {other:?}; use gzip or none")),
        }
    }
}

/// What exporters say they are (`User-Agent`), as OpenTelemetry exporters do.
pub fn user_agent() -> String {
    format!("otlp-capture/{}", env!("CARGO_PKG_VERSION"))
}

/// An OTLP endpoint.
#[derive(Debug, Clone)]
pub enum Exporter {
    /// Over OTLP/HTTP.
    Http(otlp_http::HttpExporter),
    /// Over OTLP/gRPC.
    Grpc(otlp_grpc::GrpcExporter),
}

impl Exporter {
    /// An exporter to `endpoint` (a base URL, http:// or https://, TLS by
    /// the system's roots and `settings.tls`). Connects on first use.
    pub fn new(endpoint: &str, settings: &ExportSettings) -> Result<Self, String> {
        let url = url::Url::parse(endpoint).map_err(|e| format!("endpoint {endpoint:?}: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("endpoint {endpoint:?} must be an http:// or https:// URL"));
        }
        Ok(match settings.protocol {
            ExportProtocol::Http => Exporter::Http(otlp_http::HttpExporter::new(endpoint, settings)?),
            ExportProtocol::Grpc => Exporter::Grpc(otlp_grpc::GrpcExporter::new(endpoint, settings)?),
        })
    }

    /// The same exporter with its endpoint taken as the whole URL of one
    /// signal (OTLP/HTTP; a gRPC endpoint names a server either way).
    pub fn exact(self) -> Self {
        match self {
            Exporter::Http(http) => Exporter::Http(http.exact()),
            grpc => grpc,
        }
    }

    /// Whether the last request reached the endpoint (true before the first).
    pub fn reachable(&self) -> bool {
        match self {
            Exporter::Http(http) => http.reachable(),
            Exporter::Grpc(grpc) => grpc.reachable(),
        }
    }

    /// The transport it speaks.
    pub fn protocol(&self) -> ExportProtocol {
        match self {
            Exporter::Http(_) => ExportProtocol::Http,
            Exporter::Grpc(_) => ExportProtocol::Grpc,
        }
    }

    /// Sends one protobuf `Export*ServiceRequest` once, classifying the
    /// answer for the retry policy.
    pub async fn send(&self, signal: Signal, payload: Bytes) -> Result<Accepted, ExportError> {
        match self {
            Exporter::Http(http) => http.send(signal, payload).await,
            Exporter::Grpc(grpc) => grpc.send(signal, payload).await,
        }
    }

    /// Forwards one protobuf request message with a client's `headers`
    /// (already filtered by [`headers::forwardable`]) and returns the
    /// response message, or the answer as a gRPC status (an HTTP endpoint's
    /// answer translated through the status table).
    pub async fn forward_message(
        &self,
        signal: Signal,
        message: Bytes,
        headers: HeaderMap,
    ) -> Result<Bytes, tonic::Status> {
        match self {
            Exporter::Http(http) => http.forward_message(signal, message, headers).await,
            Exporter::Grpc(grpc) => grpc.unary(signal, message, headers).await,
        }
    }

    /// The endpoint, for messages.
    pub fn endpoint(&self) -> &str {
        match self {
            Exporter::Http(http) => http.endpoint(),
            Exporter::Grpc(grpc) => grpc.endpoint(),
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

/// `Export*PartialSuccess`: the spans, data points or log records rejected.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PartialSuccess {
    /// How many items were rejected.
    #[prost(int64, tag = "1")]
    pub rejected: i64,
    /// The target's reason.
    #[prost(string, tag = "2")]
    pub error_message: String,
}

impl From<ExportResponse> for Accepted {
    fn from(response: ExportResponse) -> Self {
        let partial = response.partial_success.unwrap_or_default();
        Accepted { rejected: u64::try_from(partial.rejected).unwrap_or(0), message: partial.error_message }
    }
}
