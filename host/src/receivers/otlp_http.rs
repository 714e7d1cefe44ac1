//! The OTLP/HTTP receiver: `POST /v1/traces`, `/v1/metrics`, `/v1/logs` in
//! protobuf or JSON, with optional gzip request bodies. Without an upstream
//! the tap answers itself; with one, it forwards and passes the answer on.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use super::Receiver;
use super::response::{from_grpc, otlp_error, success, upstream_unreachable};
use crate::capture::SESSION_HEADER;
use crate::error::TapError;
use crate::exporters::Exporter;
use crate::log_limit::Throttle;
use crate::metrics::{Outcome, Protocol};
use crate::otlp::compression::{Coding, DecodeError};
use crate::otlp::{Encoding, Signal};

/// The OTLP/HTTP routes; with an upstream, requests are forwarded to it.
pub fn routes(receiver: Receiver) -> Router {
    let limits = receiver.limits;
    let mut router = Router::new();
    for signal in Signal::ALL {
        router = router.route(signal.http_path(), post(move |s, h, b| export(s, signal, h, b)));
    }
    // Compressed bodies are bounded by the same limit before they are inflated.
    router.layer(DefaultBodyLimit::max(limits.max_body_bytes)).with_state(receiver)
}

async fn export(
    State(receiver): State<Receiver>,
    signal: Signal,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let started = std::time::Instant::now();
    let counters = receiver.recorder.counters().clone();
    let limit = receiver.limits.max_body_bytes;
    let (size, response) = match body {
        Ok(body) => (body.len(), handle(receiver, signal, headers, body).await),
        // Over the limit before decompression: answered in OTLP's shape too.
        Err(_) => {
            (0, otlp_error(&TapError::PayloadTooLarge(limit), encoding_of(&headers).unwrap_or(Encoding::Protobuf)))
        }
    };
    counters.request(signal, Protocol::Http, size, Outcome::of_http(response.status()), started.elapsed());
    response
}

async fn handle(receiver: Receiver, signal: Signal, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(e) = receiver.admit(&headers) {
        return otlp_error(&e, encoding_of(&headers).unwrap_or(Encoding::Protobuf));
    }
    let encoding = match encoding_of(&headers) {
        Ok(encoding) => encoding,
        // The error body goes out as protobuf, OTLP's default.
        Err(e) => return otlp_error(&e, Encoding::Protobuf),
    };
    let route = headers.get(SESSION_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
    if let Err(e) = receiver.recorder.check_route(route.as_deref()) {
        return otlp_error(&e, encoding);
    }
    if let Some(upstream) = receiver.upstream.clone() {
        return forward(receiver, upstream, signal, encoding, headers, body, route).await;
    }
    let outcome = async {
        let payload = decompress(&headers, body, receiver.limits.max_body_bytes)?;
        receiver.recorder.record(signal, encoding, payload, route.as_deref()).await
    };
    match outcome.await {
        Ok(_) => success(encoding),
        Err(e) => {
            if !e.is_clients() {
                NOT_RECORDED.write(|held_back| tracing::warn!(%signal, error = %e, held_back, "request not recorded"));
            }
            otlp_error(&e, encoding)
        }
    }
}

/// Forwards to the upstream and answers with what it said; records the
/// request after the upstream accepted it.
async fn forward(
    receiver: Receiver,
    upstream: Arc<Exporter>,
    signal: Signal,
    encoding: Encoding,
    headers: HeaderMap,
    body: Bytes,
    route: Option<String>,
) -> Response {
    let reservation = receiver.recorder.reserve(signal, route.as_deref());
    let limit = receiver.limits.max_body_bytes;
    let forwarded = receiver.forwarded_headers(&headers);
    let response = match upstream.as_ref() {
        Exporter::Http(http) => match http.forward(signal, forwarded, body.clone()).await {
            Ok(answer) => (answer.status, answer.headers, answer.body).into_response(),
            Err(e) => upstream_unreachable(format!("upstream {e}")),
        },
        Exporter::Grpc(_) => {
            let message = match decompress(&headers, body.clone(), limit) {
                Ok(payload) => receiver.recorder.to_protobuf(signal, encoding, payload).await,
                Err(e) => Err(e),
            };
            match message {
                Ok(message) => from_grpc(upstream.forward_message(signal, message, forwarded).await, encoding),
                Err(e) => return otlp_error(&e, encoding),
            }
        }
    };
    if let (true, Some(reservation)) = (response.status().is_success(), reservation) {
        let payload = move || decompress(&headers, body, limit);
        receiver.recorder.record_later(reservation, signal, encoding, payload, route);
    }
    response
}

/// Refusals a client can cause by the thousand: one line every ten seconds.
static NOT_RECORDED: Throttle = Throttle::new(std::time::Duration::from_secs(10));

fn encoding_of(headers: &HeaderMap) -> Result<Encoding, TapError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    Encoding::from_content_type(content_type).ok_or_else(|| {
        TapError::UnsupportedMediaType(format!(
            "unsupported Content-Type {content_type:?}; use application/x-protobuf or application/json"
        ))
    })
}

/// The body without its `Content-Encoding`: the Collector's encodings are
/// decoded (within the body limit, 413 past it), an unknown one is a 400 as
/// the Collector answers it.
fn decompress(headers: &HeaderMap, body: Bytes, limit: usize) -> Result<Bytes, TapError> {
    let named = headers.get(header::CONTENT_ENCODING).and_then(|v| v.to_str().ok()).unwrap_or("identity");
    let coding = Coding::from_http(named).map_err(|unknown| {
        TapError::InvalidRequest(format!("unsupported Content-Encoding {unknown:?}; use {}", Coding::HTTP_ACCEPTED))
    })?;
    if coding == Coding::Identity {
        return Ok(body);
    }
    match coding.decode(&body, limit) {
        Ok(decoded) => Ok(Bytes::from(decoded)),
        Err(DecodeError::TooLarge(limit)) => Err(TapError::PayloadTooLarge(limit)),
        Err(e) => Err(TapError::InvalidRequest(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (k.clone(), v.parse().unwrap())).collect()
    }

    #[test]
    fn a_missing_or_foreign_content_type_is_unsupported() {
        let of = |ct: &str| encoding_of(&headers(&[(header::CONTENT_TYPE, ct)]));
        assert_eq!(of("application/x-protobuf").unwrap(), Encoding::Protobuf);
        assert!(matches!(of("text/plain"), Err(TapError::UnsupportedMediaType(_))));
        assert!(matches!(encoding_of(&HeaderMap::new()), Err(TapError::UnsupportedMediaType(_))));
    }

    #[test]
    fn gzip_bodies_are_inflated_within_the_limit() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&[7u8; 5000]).unwrap();
        let body = Bytes::from(gz.finish().unwrap());
        let gzip = headers(&[(header::CONTENT_ENCODING, "gzip")]);
        assert_eq!(decompress(&gzip, body.clone(), 5000).unwrap().len(), 5000);
        assert!(matches!(decompress(&gzip, body, 4999), Err(TapError::PayloadTooLarge(4999))));
        assert!(matches!(decompress(&gzip, Bytes::from_static(b"nope"), 10), Err(TapError::InvalidRequest(_))));
        let br = headers(&[(header::CONTENT_ENCODING, "br")]);
        assert!(matches!(decompress(&br, Bytes::new(), 10), Err(TapError::InvalidRequest(_))), "400, as the Collector");
    }
}
