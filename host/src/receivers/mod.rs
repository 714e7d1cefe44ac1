//! Where OTLP arrives: the HTTP and gRPC receivers, and the one mapping of
//! errors to protocol status codes.

pub mod otlp_grpc;
pub mod otlp_http;
pub mod status;

use std::sync::Arc;

use crate::capture::Recorder;
use crate::upstream::Upstream;

/// Limits of the receivers.
#[derive(Debug, Clone, Copy)]
pub struct ReceiverLimits {
    /// Largest request body accepted, after decompression.
    pub max_body_bytes: usize,
}

/// What both receivers hand requests to.
#[derive(Clone)]
pub struct Receiver {
    /// Records requests into sessions.
    pub recorder: Arc<Recorder>,
    /// Where requests are forwarded, if anywhere.
    pub upstream: Option<Arc<Upstream>>,
    /// Limits.
    pub limits: ReceiverLimits,
}
