//! OTLP/HTTP protobuf export: `POST {endpoint}/v1/{signal}`.

use std::time::Duration;

use bytes::Bytes;
use prost::Message;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};

use super::{Accepted, ExportError, ExportResponse};
use crate::receivers::status::RpcStatus;
use crate::runtime::bindings::Signal;

/// An OTLP/HTTP target.
#[derive(Debug, Clone)]
pub struct HttpExporter {
    client: reqwest::Client,
    base: String,
}

impl HttpExporter {
    /// A target at `endpoint`, the base URL the `/v1/{signal}` paths are added
    /// to (as `OTEL_EXPORTER_OTLP_ENDPOINT`).
    pub fn new(endpoint: &str, timeout: Duration) -> Result<Self, String> {
        let url = url::Url::parse(endpoint).map_err(|e| format!("endpoint {endpoint:?}: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("endpoint {endpoint:?} must be http:// or https://"));
        }
        let client = reqwest::Client::builder().timeout(timeout).build().map_err(|e| e.to_string())?;
        Ok(HttpExporter { client, base: endpoint.trim_end_matches('/').to_owned() })
    }

    /// The base URL.
    pub fn endpoint(&self) -> &str {
        &self.base
    }

    fn url(&self, signal: Signal) -> String {
        let path = match signal {
            Signal::Traces => "traces",
            Signal::Metrics => "metrics",
            Signal::Logs => "logs",
        };
        format!("{}/v1/{path}", self.base)
    }

    /// Sends one request once; classifies the answer per the OTLP spec.
    pub async fn send(&self, signal: Signal, payload: Bytes) -> Result<Accepted, ExportError> {
        let url = self.url(signal);
        let response = self
            .client
            .post(&url)
            .header(CONTENT_TYPE, "application/x-protobuf")
            .body(payload)
            .send()
            .await
            .map_err(|e| ExportError::Retryable { reason: format!("{url}: {e}"), retry_after: None })?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = response.bytes().await.unwrap_or_default();
        if status.is_success() {
            return Ok(ExportResponse::decode(body).map(Accepted::from).unwrap_or_default());
        }
        let message = RpcStatus::decode(body.clone())
            .ok()
            .map(|s| s.message)
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(512)]).trim().to_owned());
        let reason = format!("{url} answered {status}: {message}");
        match status {
            StatusCode::TOO_MANY_REQUESTS
            | StatusCode::BAD_GATEWAY
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT => Err(ExportError::Retryable { reason, retry_after }),
            _ => Err(ExportError::Fatal(reason)),
        }
    }
}
