//! OTLP/gRPC export: the collector services' Export methods over a tonic
//! channel, the request bytes sent as they are.

use std::time::Duration;

use bytes::Bytes;
use prost::Message;
use tonic::Code;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::{Channel, Endpoint};

use super::{Accepted, ExportError, ExportResponse};
use crate::grpc_wire::{RawCodec, export_path};
use crate::runtime::bindings::Signal;

/// An OTLP/gRPC target.
#[derive(Debug, Clone)]
pub struct GrpcExporter {
    channel: Channel,
    endpoint: String,
}

impl GrpcExporter {
    /// A target at `endpoint` (`http://host:4317`); connects on first use.
    pub fn new(endpoint: &str, timeout: Duration) -> Result<Self, String> {
        let channel = Endpoint::from_shared(endpoint.to_owned())
            .map_err(|e| format!("endpoint {endpoint:?}: {e}"))?
            .timeout(timeout)
            .connect_timeout(timeout)
            .connect_lazy();
        Ok(GrpcExporter { channel, endpoint: endpoint.to_owned() })
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Sends one request once; classifies the status per the OTLP spec.
    pub async fn send(&self, signal: Signal, payload: Bytes) -> Result<Accepted, ExportError> {
        let mut grpc = tonic::client::Grpc::new(self.channel.clone());
        grpc.ready()
            .await
            .map_err(|e| ExportError::Retryable { reason: format!("{}: {e}", self.endpoint), retry_after: None })?;
        let path = PathAndQuery::from_static(export_path(signal));
        match grpc.unary(tonic::Request::new(payload), path, RawCodec).await {
            Ok(response) => Ok(ExportResponse::decode(response.into_inner()).map(Accepted::from).unwrap_or_default()),
            Err(status) => {
                let reason = format!("{} answered {:?}: {}", self.endpoint, status.code(), status.message());
                match status.code() {
                    Code::Unavailable
                    | Code::ResourceExhausted
                    | Code::Aborted
                    | Code::OutOfRange
                    | Code::DataLoss
                    | Code::Cancelled
                    | Code::DeadlineExceeded => Err(ExportError::Retryable { reason, retry_after: None }),
                    _ => Err(ExportError::Fatal(reason)),
                }
            }
        }
    }
}
