//! Receiver → component → storage: records one OTLP request into every
//! active session that takes its signal. The component's puts go to the
//! write-behind uploader, so a client never waits on the store.

use std::sync::Arc;

use bytes::Bytes;

use crate::error::TapError;
use crate::runtime::bindings::{PayloadEncoding, Signal};
use crate::sessions::{ActiveSession, Sessions};

/// What recording one request did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recorded {
    /// Sessions an object was written to.
    pub sessions: usize,
    /// Items in the request.
    pub items: u64,
}

/// Records requests into the active sessions.
pub struct Recorder {
    sessions: Arc<Sessions>,
}

impl Recorder {
    /// A recorder over the tap's sessions.
    pub fn new(sessions: Arc<Sessions>) -> Self {
        Recorder { sessions }
    }

    /// Validates `payload` and records it into every active session that
    /// takes `signal`. With none active, the payload is only validated.
    pub async fn record(
        &self,
        signal: Signal,
        encoding: PayloadEncoding,
        payload: Bytes,
    ) -> Result<Recorded, TapError> {
        let targets = self.sessions.recording(signal);
        if targets.is_empty() {
            let summary = self.sessions.pool().try_call(move |i| i.summarize(signal, encoding, &payload)).await???;
            return Ok(Recorded { sessions: 0, items: summary.items });
        }
        let captures = targets.into_iter().map(|session| self.capture_into(session, signal, encoding, payload.clone()));
        let mut recorded = Recorded::default();
        for outcome in futures::future::join_all(captures).await {
            if let Some(items) = outcome? {
                recorded.sessions += 1;
                recorded.items = recorded.items.max(items);
            }
        }
        Ok(recorded)
    }

    /// Captures into one session; `Some(items)` when an object was written.
    async fn capture_into(
        &self,
        session: Arc<ActiveSession>,
        signal: Signal,
        encoding: PayloadEncoding,
        payload: Bytes,
    ) -> Result<Option<u64>, TapError> {
        let config = session.config();
        let pool = self.sessions.pool().clone();
        let capture = async {
            let receipt = pool.try_call(move |i| i.capture(&config, signal, encoding, &payload)).await???;
            Ok::<_, TapError>(receipt.map(|r| {
                session.apply(&r);
                r.summary.items
            }))
        };
        Ok(session.while_active(capture).await.transpose()?.flatten())
    }
}
