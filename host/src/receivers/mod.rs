//! Where OTLP arrives: the HTTP and gRPC receivers, and the OTLP answers
//! they give. Without an upstream the tap answers itself once a request is
//! recorded; with one, the request is forwarded through the upstream's
//! exporter and recorded after the upstream accepted it.

pub mod otlp_grpc;
pub mod otlp_http;
pub mod response;

use std::sync::Arc;

use crate::capture::Recorder;
use crate::exporters::Exporter;

/// Limits of the receivers.
#[derive(Debug, Clone, Copy)]
pub struct ReceiverLimits {
    /// Largest request body accepted, in bytes, before and after decompression.
    pub max_body_bytes: usize,
}

/// What both receivers hand requests to.
#[derive(Clone)]
pub struct Receiver {
    /// Records requests into the active sessions.
    pub recorder: Arc<Recorder>,
    /// The upstream requests are forwarded to; `None` when the tap answers itself.
    pub upstream: Option<Arc<Exporter>>,
    /// Body limits.
    pub limits: ReceiverLimits,
}
