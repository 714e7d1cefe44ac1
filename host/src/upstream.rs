//! The upstream collector a tap forwards to: every request goes on
//! unchanged (same bytes, same encoding) when the protocols match, and the
//! client gets the upstream's answer: status, body, partial success and
//! Retry-After. Across protocols the protobuf message is carried over and
//! the answer translated.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use prost::Message;
use tonic::Code;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::{Channel, Endpoint};

use crate::exporters::ExportResponse;
use crate::grpc_wire::{RawCodec, export_path};
use crate::receivers::status::RpcStatus;
use crate::runtime::bindings::Signal;

/// Which protocol the upstream speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamProtocol {
    /// OTLP/HTTP.
    Http,
    /// OTLP/gRPC.
    Grpc,
}

impl UpstreamProtocol {
    /// Parses `http`, `http/protobuf`, `http/json` or `grpc` (the values of
    /// OTEL_EXPORTER_OTLP_PROTOCOL).
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "http" | "http/protobuf" | "http/json" => Ok(UpstreamProtocol::Http),
            "grpc" => Ok(UpstreamProtocol::Grpc),
            other => Err(format!("unknown upstream protocol {other:?}; use http or grpc")),
        }
    }
}

/// A configured upstream.
#[derive(Debug, Clone)]
pub enum Upstream {
    /// OTLP/HTTP at a base URL.
    Http {
        /// The client.
        client: reqwest::Client,
        /// The base URL; `/v1/{signal}` is added.
        base: String,
    },
    /// OTLP/gRPC.
    Grpc {
        /// The channel (connects on first use).
        channel: Channel,
        /// The endpoint, for messages.
        endpoint: String,
    },
}

fn signal_path(signal: Signal) -> &'static str {
    match signal {
        Signal::Traces => "/v1/traces",
        Signal::Metrics => "/v1/metrics",
        Signal::Logs => "/v1/logs",
    }
}

impl Upstream {
    /// An upstream at `endpoint` speaking `protocol`.
    pub fn new(endpoint: &str, protocol: UpstreamProtocol, timeout: Duration) -> Result<Self, String> {
        let url = url::Url::parse(endpoint).map_err(|e| format!("upstream {endpoint:?}: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("upstream {endpoint:?} must be an http:// or https:// URL"));
        }
        Ok(match protocol {
            UpstreamProtocol::Http => Upstream::Http {
                client: reqwest::Client::builder().timeout(timeout).build().map_err(|e| e.to_string())?,
                base: endpoint.trim_end_matches('/').to_owned(),
            },
            UpstreamProtocol::Grpc => Upstream::Grpc {
                channel: Endpoint::from_shared(endpoint.to_owned())
                    .map_err(|e| format!("upstream {endpoint:?}: {e}"))?
                    .timeout(timeout)
                    .connect_timeout(timeout)
                    .connect_lazy(),
                endpoint: endpoint.to_owned(),
            },
        })
    }

    /// The protocol it speaks.
    pub fn protocol(&self) -> UpstreamProtocol {
        match self {
            Upstream::Http { .. } => UpstreamProtocol::Http,
            Upstream::Grpc { .. } => UpstreamProtocol::Grpc,
        }
    }

    /// Forwards an OTLP/HTTP request's body with its content headers to an
    /// HTTP upstream and returns the upstream's answer as it came.
    pub async fn forward_http(&self, signal: Signal, headers: &HeaderMap, body: Bytes) -> Response {
        let Upstream::Http { client, base } = self else {
            return bad_gateway("forward_http needs an HTTP upstream".into());
        };
        let mut request = client.post(format!("{base}{}", signal_path(signal))).body(body);
        for name in [header::CONTENT_TYPE, header::CONTENT_ENCODING] {
            if let Some(value) = headers.get(&name) {
                request = request.header(name, value);
            }
        }
        let answer = match request.send().await {
            Ok(answer) => answer,
            Err(e) => return unavailable(format!("upstream {base}: {e}")),
        };
        let status = answer.status();
        let mut passed = HeaderMap::new();
        for name in [header::CONTENT_TYPE, header::CONTENT_ENCODING, header::RETRY_AFTER] {
            if let Some(value) = answer.headers().get(&name) {
                passed.insert(name, value.clone());
            }
        }
        match answer.bytes().await {
            Ok(body) => (status, passed, body).into_response(),
            Err(e) => unavailable(format!("upstream {base}: {e}")),
        }
    }

    /// Sends a protobuf request message to the upstream; returns the
    /// response message, or the gRPC status (HTTP answers translated).
    pub async fn forward_message(&self, signal: Signal, message: Bytes) -> Result<Bytes, tonic::Status> {
        match self {
            Upstream::Grpc { channel, endpoint } => {
                let mut grpc = tonic::client::Grpc::new(channel.clone());
                grpc.ready().await.map_err(|e| tonic::Status::unavailable(format!("upstream {endpoint}: {e}")))?;
                let path = PathAndQuery::from_static(export_path(signal));
                grpc.unary(tonic::Request::new(message), path, RawCodec).await.map(tonic::Response::into_inner)
            }
            Upstream::Http { client, base } => {
                let answer = client
                    .post(format!("{base}{}", signal_path(signal)))
                    .header(header::CONTENT_TYPE, "application/x-protobuf")
                    .body(message)
                    .send()
                    .await
                    .map_err(|e| tonic::Status::unavailable(format!("upstream {base}: {e}")))?;
                let status = answer.status();
                let body = answer.bytes().await.unwrap_or_default();
                if status.is_success() {
                    return Ok(body);
                }
                let message = RpcStatus::decode(body.clone()).map(|s| s.message).unwrap_or_default();
                Err(tonic::Status::new(
                    grpc_code_for_http(status),
                    format!("upstream {base} answered {status}: {message}"),
                ))
            }
        }
    }
}

/// The HTTP answer for a gRPC upstream's result, in the client's encoding.
pub fn http_answer(result: Result<Bytes, tonic::Status>, json: bool) -> Response {
    match result {
        Ok(message) if json => {
            let partial = ExportResponse::decode(message).ok().and_then(|r| r.partial_success);
            let body = match partial {
                Some(p) => {
                    serde_json::json!({ "partialSuccess": { "rejected": p.rejected.to_string(), "errorMessage": p.error_message } })
                }
                None => serde_json::json!({}),
            };
            (StatusCode::OK, axum::Json(body)).into_response()
        }
        Ok(message) => (StatusCode::OK, [(header::CONTENT_TYPE, "application/x-protobuf")], message).into_response(),
        Err(status) => {
            let code = http_status_for_grpc(status.code());
            let body = RpcStatus { code: status.code() as i32, message: status.message().to_owned() };
            let mut response =
                (code, [(header::CONTENT_TYPE, "application/x-protobuf")], body.encode_to_vec()).into_response();
            if code == StatusCode::SERVICE_UNAVAILABLE || code == StatusCode::TOO_MANY_REQUESTS {
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            response
        }
    }
}

fn http_status_for_grpc(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => StatusCode::BAD_REQUEST,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unavailable | Code::Aborted | Code::Cancelled | Code::DataLoss => StatusCode::SERVICE_UNAVAILABLE,
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::Unimplemented | Code::NotFound => StatusCode::NOT_FOUND,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        _ => StatusCode::BAD_GATEWAY,
    }
}

fn grpc_code_for_http(status: StatusCode) -> Code {
    match status.as_u16() {
        400 => Code::InvalidArgument,
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        404 => Code::Unimplemented,
        413 | 429 => Code::ResourceExhausted,
        502..=504 => Code::Unavailable,
        _ => Code::Unknown,
    }
}

fn unavailable(message: String) -> Response {
    tracing::warn!(%message, "upstream unreachable");
    let body = RpcStatus { code: Code::Unavailable as i32, message };
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::CONTENT_TYPE, "application/x-protobuf"), (header::RETRY_AFTER, "1")],
        body.encode_to_vec(),
    )
        .into_response()
}

fn bad_gateway(message: String) -> Response {
    let body = RpcStatus { code: Code::Internal as i32, message };
    (StatusCode::BAD_GATEWAY, [(header::CONTENT_TYPE, "application/x-protobuf")], body.encode_to_vec()).into_response()
}
