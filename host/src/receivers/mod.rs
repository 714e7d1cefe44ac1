//! Where OTLP arrives: the HTTP and gRPC receivers, and the OTLP answers
//! they give. Without an upstream the tap answers itself once a request is
//! recorded; with one, the request is forwarded through the upstream's
//! exporter and recorded after the upstream accepted it.

pub mod otlp_grpc;
pub mod otlp_http;
pub mod response;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::http::{HeaderMap, HeaderValue};

use crate::auth::Token;
use crate::capture::Recorder;
use crate::error::{RETRY_AFTER, TapError};
use crate::exporters::Exporter;
use crate::exporters::headers::{VIA_HEADER, forwardable};

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
    /// How large a body may be.
    pub limits: ReceiverLimits,
    /// Required of every client as `authorization: Bearer` when set.
    pub token: Option<Token>,
    /// This tap's id in the `x-otlp-capture-via` header of what it forwards.
    pub tap_id: Arc<str>,
    /// Set once the tap is shutting down: new requests are pushed back to
    /// retry elsewhere while what waits is stored.
    pub draining: Arc<AtomicBool>,
}

impl Receiver {
    /// Refuses a request without the receivers' token, or one that this tap
    /// already forwarded once (it came back through other proxies).
    pub fn admit(&self, headers: &HeaderMap) -> Result<(), TapError> {
        if let Some(token) = &self.token {
            token.check(headers)?;
        }
        if self.draining.load(Ordering::Relaxed) {
            return Err(TapError::Busy { reason: "the tap is shutting down; retry".into(), retry_after: RETRY_AFTER });
        }
        let passed_here = headers
            .get_all(VIA_HEADER)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|id| id.trim() == &*self.tap_id);
        if passed_here {
            return Err(TapError::Loop(format!(
                "this request already passed through this tap ({VIA_HEADER}); forwarding it again would loop"
            )));
        }
        Ok(())
    }

    /// What goes to the upstream with a client's request: the client's
    /// headers but the hop-by-hop ones (and its authorization, when that was
    /// the tap's own token), with this tap added to the via header.
    pub fn forwarded_headers(&self, client: &HeaderMap) -> HeaderMap {
        let mut headers = forwardable(client, self.token.is_none());
        let via = match client.get(VIA_HEADER).and_then(|v| v.to_str().ok()) {
            Some(earlier) => format!("{earlier}, {}", self.tap_id),
            None => self.tap_id.to_string(),
        };
        if let Ok(value) = HeaderValue::try_from(via) {
            headers.insert(VIA_HEADER, value);
        }
        headers
    }
}
