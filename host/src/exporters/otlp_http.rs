//! OTLP/HTTP export: `POST {endpoint}/v1/{signal}`, protobuf for what the
//! host sends itself, the client's body and content headers as they came
//! for what it forwards.

use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use bytes::Bytes;
use prost::Message;
use reqwest::header::{CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER};

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::ExportCompression;
use super::{Accepted, ExportError, ExportResponse, ExportSettings};
use crate::otlp::status::{RpcStatus, grpc_for_http, http_retryable, status_with_retry};
use crate::ranges;

/// The wait passed on to gRPC clients when an HTTP upstream pushed back
/// without a Retry-After.
const DEFAULT_RETRY_INFO_DELAY: Duration = Duration::from_secs(1);
use crate::otlp::{Encoding, Signal};

/// An OTLP/HTTP endpoint.
#[derive(Debug, Clone)]
pub struct HttpExporter {
    client: reqwest::Client,
    base: String,
    /// Sent with every request, over the client's of the same name.
    headers: HeaderMap,
    /// How its own bodies are compressed.
    compression: ExportCompression,
    /// Whether the last request reached the endpoint.
    reachable: Arc<AtomicBool>,
    /// Whether `base` is the whole URL (a per-signal endpoint), not a base for `/v1/{signal}`.
    exact: bool,
}

/// An endpoint's answer, as it came: what forwarding passes to its client.
#[derive(Debug, Clone)]
pub struct HttpAnswer {
    /// The endpoint's status.
    pub status: StatusCode,
    /// Its Content-Type, Content-Encoding and Retry-After, when it sent them.
    pub headers: HeaderMap,
    /// Its body.
    pub body: Bytes,
}

impl HttpExporter {
    /// An endpoint at `base`, the URL the `/v1/{signal}` paths are added to
    /// (as in `OTEL_EXPORTER_OTLP_ENDPOINT`).
    pub fn new(base: &str, settings: &ExportSettings) -> Result<Self, String> {
        let mut builder = reqwest::Client::builder().timeout(settings.timeout).user_agent(super::user_agent());
        if let Some(ca) = &settings.tls.ca_pem {
            let roots = reqwest::Certificate::from_pem_bundle(ca).map_err(|e| format!("the CA file: {e}"))?;
            builder = builder.tls_certs_merge(roots);
        }
        if let Some((certificate, key)) = &settings.tls.identity_pem {
            let pem = [certificate.as_slice(), b"\n", key.as_slice()].concat();
            builder = builder.identity(
                reqwest::Identity::from_pem(&pem).map_err(|e| format!("the client certificate or key: {e}"))?,
            );
        }
        let client = builder.build().map_err(|e| e.to_string())?;
        Ok(HttpExporter {
            client,
            base: base.trim_end_matches('/').to_owned(),
            headers: settings.headers.clone(),
            compression: settings.compression,
            reachable: Arc::new(AtomicBool::new(true)),
            exact: false,
        })
    }

    /// Whether the last request reached the endpoint (true before the first).
    pub fn reachable(&self) -> bool {
        self.reachable.load(Ordering::Relaxed)
    }

    /// The base URL, without a trailing `/`.
    pub fn endpoint(&self) -> &str {
        &self.base
    }

    /// The same exporter posting to its endpoint as given, the way a
    /// per-signal `OTEL_EXPORTER_OTLP_{SIGNAL}_ENDPOINT` is used.
    pub fn exact(mut self) -> Self {
        self.exact = true;
        self
    }

    fn url(&self, signal: Signal) -> String {
        if self.exact { self.base.clone() } else { format!("{}{}", self.base, signal.http_path()) }
    }

    /// Posts `body` with `sent` and the configured headers, and reads the whole answer.
    async fn post(&self, signal: Signal, mut sent: HeaderMap, body: Bytes) -> Result<HttpAnswer, ExportError> {
        let url = self.url(signal);
        let unreachable = |e: reqwest::Error| super::unreachable(&url, &e);
        super::headers::apply(&mut sent, &self.headers);
        let response = self.client.post(&url).headers(sent).body(body).send().await;
        self.reachable.store(response.is_ok(), Ordering::Relaxed);
        let response = response.map_err(unreachable)?;
        let status = response.status();
        let mut headers = HeaderMap::new();
        for name in [CONTENT_TYPE, CONTENT_ENCODING, RETRY_AFTER] {
            if let Some(value) = response.headers().get(&name) {
                headers.insert(name, value.clone());
            }
        }
        let body = response.bytes().await.map_err(unreachable)?;
        Ok(HttpAnswer { status, headers, body })
    }

    fn protobuf_headers() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, axum::http::HeaderValue::from_static(Encoding::Protobuf.content_type()));
        headers
    }

    /// `message` as the exporter sends its own bodies: gzipped unless
    /// compression is off; with the headers that say so.
    fn own_body(&self, message: Bytes) -> (HeaderMap, Bytes) {
        let mut headers = Self::protobuf_headers();
        if self.compression == ExportCompression::None {
            return (headers, message);
        }
        let mut gzip =
            flate2::write::GzEncoder::new(Vec::with_capacity(message.len() / 4), flate2::Compression::fast());
        // Writing to a Vec cannot fail.
        let _ = std::io::Write::write_all(&mut gzip, &message);
        headers.insert(CONTENT_ENCODING, axum::http::HeaderValue::from_static("gzip"));
        (headers, Bytes::from(gzip.finish().unwrap_or_default()))
    }

    /// Sends one protobuf request once; classifies the answer per the OTLP spec.
    pub async fn send(&self, signal: Signal, payload: Bytes) -> Result<Accepted, ExportError> {
        let (headers, body) = self.own_body(payload);
        let answer = self.post(signal, headers, body).await?;
        if answer.status.is_success() {
            return Ok(ExportResponse::decode(answer.body).map(Accepted::from).unwrap_or_default());
        }
        let reason = format!("{} answered {}: {}", self.url(signal), answer.status, answer.message());
        if http_retryable(answer.status) {
            Err(ExportError::Retryable { reason, retry_after: answer.retry_after() })
        } else {
            Err(ExportError::Fatal(reason))
        }
    }

    /// Forwards a client's body as it came with the client's `headers`
    /// (already filtered by [`super::headers::forwardable`]; Content-Type and
    /// Content-Encoding among them, so a gzipped body stays byte-exact) and
    /// returns the answer as it came.
    pub async fn forward(&self, signal: Signal, headers: HeaderMap, body: Bytes) -> Result<HttpAnswer, ExportError> {
        self.post(signal, headers, body).await
    }

    /// Sends a protobuf message with a client's `headers` and returns the
    /// response message, or the answer translated to a gRPC status (for
    /// gRPC clients of the tap, and HTTP clients whose body was converted).
    pub async fn forward_message(
        &self,
        signal: Signal,
        message: Bytes,
        mut headers: HeaderMap,
    ) -> Result<Bytes, tonic::Status> {
        headers.remove(CONTENT_ENCODING);
        let (own, body) = self.own_body(message);
        headers.extend(own);
        let answer = self.post(signal, headers, body).await.map_err(|e| tonic::Status::unavailable(e.to_string()))?;
        if answer.status.is_success() {
            return Ok(answer.body);
        }
        let message = format!("upstream {} answered {}: {}", self.base, answer.status, answer.message());
        // A 429 or 503 asks the client to come back: RetryInfo keeps it retryable over gRPC.
        let wait = http_retryable(answer.status).then(|| answer.retry_after().unwrap_or(DEFAULT_RETRY_INFO_DELAY));
        Err(status_with_retry(grpc_for_http(answer.status), message, wait))
    }
}

impl HttpAnswer {
    /// The message of an error answer: the `Status` body's, or the start of
    /// a body in another shape.
    pub fn message(&self) -> String {
        RpcStatus::decode(self.body.clone())
            .ok()
            .map(|s| s.message)
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| String::from_utf8_lossy(&self.body[..self.body.len().min(512)]).trim().to_owned())
    }

    /// The wait the endpoint asked for with Retry-After: seconds, or an
    /// HTTP date (a date already past is no wait).
    pub fn retry_after(&self) -> Option<Duration> {
        let value = self.headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
        if let Ok(seconds) = value.parse::<u64>() {
            return Some(ranges::endpoint_wait(Duration::from_secs(seconds)));
        }
        let at = httpdate::parse_http_date(value).ok()?;
        Some(ranges::endpoint_wait(at.duration_since(std::time::SystemTime::now()).unwrap_or(Duration::ZERO)))
    }
}
