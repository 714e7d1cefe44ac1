//! OTLP/gRPC export: the collector services' Export methods over a tonic
//! channel, the request bytes sent as they are.

use axum::http::{HeaderMap, header};
use bytes::Bytes;
use prost::Message;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::metadata::MetadataMap;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use super::{Accepted, ExportError, ExportResponse, ExportSettings};
use crate::otlp::Signal;
use crate::otlp::grpc::RawCodec;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tonic::codec::CompressionEncoding;

use super::ExportCompression;
use crate::otlp::status::grpc_answer_retry;

/// An OTLP/gRPC endpoint.
#[derive(Debug, Clone)]
pub struct GrpcExporter {
    channel: Channel,
    endpoint: String,
    /// Sent as metadata with every call, over the client's of the same name.
    headers: HeaderMap,
    /// Whether messages go gzipped.
    compression: ExportCompression,
    /// Whether the last call reached the endpoint.
    reachable: Arc<AtomicBool>,
}

impl GrpcExporter {
    /// An endpoint such as `http://collector:4317`; connects on first use.
    pub fn new(endpoint: &str, settings: &ExportSettings) -> Result<Self, String> {
        let mut target = Endpoint::from_shared(endpoint.to_owned())
            .map_err(|e| format!("endpoint {endpoint:?}: {e}"))?
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .user_agent(super::user_agent())
            .map_err(|e| format!("user agent: {e}"))?;
        if endpoint.starts_with("https://") {
            let mut tls = ClientTlsConfig::new().with_native_roots();
            if let Some(ca) = &settings.tls.ca_pem {
                tls = tls.ca_certificate(Certificate::from_pem(ca));
            }
            if let Some((certificate, key)) = &settings.tls.identity_pem {
                tls = tls.identity(Identity::from_pem(certificate, key));
            }
            target = target.tls_config(tls).map_err(|e| format!("endpoint {endpoint:?}: {e}"))?;
        }
        Ok(GrpcExporter {
            channel: target.connect_lazy(),
            endpoint: endpoint.to_owned(),
            headers: settings.headers.clone(),
            compression: settings.compression,
            reachable: Arc::new(AtomicBool::new(true)),
        })
    }

    /// Whether the last call reached the endpoint (true before the first).
    pub fn reachable(&self) -> bool {
        self.reachable.load(Ordering::Relaxed)
    }

    /// The endpoint as given.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// One unary Export call with the message bytes as they are and
    /// `metadata` (a client's forwarded headers; the configured ones win);
    /// the response message, or the endpoint's status (UNAVAILABLE when it
    /// cannot be reached).
    pub async fn unary(&self, signal: Signal, message: Bytes, mut metadata: HeaderMap) -> Result<Bytes, tonic::Status> {
        // The body's HTTP framing is gRPC's own, set by the client.
        metadata.remove(header::CONTENT_TYPE);
        metadata.remove(header::CONTENT_ENCODING);
        super::headers::apply(&mut metadata, &self.headers);
        let mut grpc = tonic::client::Grpc::new(self.channel.clone()).accept_compressed(CompressionEncoding::Gzip);
        if self.compression == ExportCompression::Gzip {
            grpc = grpc.send_compressed(CompressionEncoding::Gzip);
        }
        let ready = grpc.ready().await;
        self.reachable.store(ready.is_ok(), Ordering::Relaxed);
        ready.map_err(|e| tonic::Status::unavailable(super::describe(&self.endpoint, &e).0))?;
        let path = PathAndQuery::from_static(signal.grpc_path());
        let mut request = tonic::Request::new(message);
        *request.metadata_mut() = MetadataMap::from_headers(metadata);
        grpc.unary(request, path, RawCodec).await.map(tonic::Response::into_inner)
    }

    /// Sends one request once; classifies the status per the OTLP spec.
    pub async fn send(&self, signal: Signal, payload: Bytes) -> Result<Accepted, ExportError> {
        match self.unary(signal, payload, HeaderMap::new()).await {
            Ok(response) => Ok(ExportResponse::decode(response).map(Accepted::from).unwrap_or_default()),
            Err(status) => {
                let reason = format!("{} answered {:?}: {}", self.endpoint, status.code(), status.message());
                let (retryable, retry_after) = grpc_answer_retry(&status);
                if retryable {
                    Err(ExportError::Retryable { reason, retry_after })
                } else {
                    Err(ExportError::Fatal(reason))
                }
            }
        }
    }
}
