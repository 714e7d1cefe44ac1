//! Receiver → capture → component → storage: records one OTLP request into
//! every active session that takes its signal (or the one session a request
//! is routed to). The component's puts go to the write-behind uploader, so a
//! client never waits on the store; with an upstream, recording runs after
//! the upstream answered, off the request path.
//!
//! [`SessionRegistry`] is the registry of active sessions and their lifecycle,
//! [`ActiveSession`] one of them, and `batch` the requests waiting to become
//! one object.

mod active;
mod batch;
pub mod commit;
mod registry;
mod spill;
pub mod taps;

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub use active::ActiveSession;
pub use batch::BatchLimits;
pub use registry::SessionRegistry;

use crate::error::TapError;
use crate::metrics::TapCounters;
use crate::otlp::{Encoding, Signal};
use crate::runtime::Instance;
use crate::runtime::pool::ProcessorPool;
use crate::runtime::processor_types::{CallError, GuestError};

/// The request header (and gRPC metadata key) that routes a request into one session.
pub const SESSION_HEADER: &str = "x-otlp-capture-session";

/// What to do when the component pool's queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Admission {
    /// Refuse at once, so the client is asked to retry (the request path).
    Refuse,
    /// Wait for room (recordings that were already acknowledged).
    Wait,
}

impl Admission {
    /// Runs `f` on an instance of `pool`, refusing or waiting when the
    /// pool's queue is full.
    async fn run<T: Send + 'static>(
        self,
        pool: &ProcessorPool,
        f: impl FnOnce(&mut Instance) -> Result<T, CallError> + Send + 'static,
    ) -> Result<T, CallError> {
        match self {
            Admission::Refuse => pool.try_call(f).await,
            Admission::Wait => pool.call(f).await,
        }
    }
}

/// What recording one request did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recorded {
    /// Sessions that took the request (into a batch or an object).
    pub sessions: usize,
    /// Spans, data points or log records in the request.
    pub items: u64,
}

/// Records requests into the active sessions.
pub struct Recorder {
    registry: Arc<SessionRegistry>,
    pool: ProcessorPool,
    counters: Arc<TapCounters>,
    /// Room for recordings that run after the request was answered.
    background: Arc<Semaphore>,
    /// Forwarded requests waiting in the journal for room.
    spilled: spill::SpillQueue,
}

/// How a forwarded request will be recorded once its upstream answered.
pub enum Reservation {
    /// In memory, now: there is room.
    Room(OwnedSemaphorePermit),
    /// Through the journal, later (or counted as dropped when even that is full).
    Spill,
}

impl Recorder {
    /// A recorder into `registry` on `pool`'s instances, with room for
    /// `background_limit` recordings after their requests were answered.
    pub fn new(
        registry: Arc<SessionRegistry>,
        pool: ProcessorPool,
        counters: Arc<TapCounters>,
        background_limit: usize,
    ) -> Self {
        let background = Arc::new(Semaphore::new(background_limit.max(1)));
        Recorder { registry, pool, counters, background, spilled: spill::SpillQueue::default() }
    }

    /// Starts recording spilled requests as room frees, beginning with
    /// those a previous run's journal left.
    pub fn start_spill_drain(self: &Arc<Self>, recovered: Vec<crate::journal::SpilledRequest>) {
        spill::start_drain(self.clone(), recovered);
    }

    /// The counters requests and recordings are counted in.
    pub fn counters(&self) -> &Arc<TapCounters> {
        &self.counters
    }

    /// Refuses a request routed to a session this tap does not record
    /// (404): answering 200 would drop it from the recording unseen.
    pub fn check_route(&self, route: Option<&str>) -> Result<(), TapError> {
        match route {
            Some(id) if !self.registry.is_active(id) => Err(TapError::NotFound(format!(
                "no active session {id:?} on this tap ({SESSION_HEADER}); start it first"
            ))),
            _ => Ok(()),
        }
    }

    fn targets(&self, signal: Signal, route: Option<&str>) -> Vec<Arc<ActiveSession>> {
        let mut targets = self.registry.recording(signal);
        if let Some(route) = route {
            targets.retain(|s| s.id() == route);
        }
        targets
    }

    /// Decides how a forwarded request will be recorded once its upstream
    /// answered; `None` when no session would record it. Never refuses:
    /// recording must not hurt the traffic it taps.
    pub fn reserve(&self, signal: Signal, route: Option<&str>) -> Option<Reservation> {
        if self.targets(signal, route).is_empty() {
            return None;
        }
        Some(match self.background.clone().try_acquire_owned() {
            Ok(permit) => Reservation::Room(permit),
            Err(_) => Reservation::Spill,
        })
    }

    /// Records a forwarded request in the background: now when there was
    /// room, else through the journal.
    pub fn record_later(
        self: &Arc<Self>,
        reservation: Reservation,
        signal: Signal,
        encoding: Encoding,
        payload: impl FnOnce() -> Result<Bytes, TapError> + Send + 'static,
        route: Option<String>,
    ) {
        let recorder = self.clone();
        tokio::spawn(async move {
            let payload = match payload() {
                Ok(payload) => payload,
                Err(e) => {
                    recorder.counters.unrecorded(signal);
                    tracing::warn!(%signal, error = %e, "a forwarded request was not recorded");
                    return;
                }
            };
            match reservation {
                Reservation::Room(permit) => {
                    let targets = recorder.targets(signal, route.as_deref());
                    recorder.record_forwarded(targets, signal, encoding, payload, None).await;
                    drop(permit);
                }
                Reservation::Spill => recorder.spill(signal, encoding, payload, route.as_deref()).await,
            }
        });
    }

    /// Records a forwarded request into `targets`, waiting for the
    /// component rather than dropping what the upstream took; a session that
    /// cannot take it counts the loss.
    async fn record_forwarded(
        &self,
        targets: Vec<Arc<ActiveSession>>,
        signal: Signal,
        encoding: Encoding,
        payload: Bytes,
        raw: Option<u64>,
    ) {
        let mut items = 0;
        for session in targets {
            let captured =
                self.capture_into(session.clone(), signal, encoding, payload.clone(), Admission::Wait, raw).await;
            match captured {
                Ok(recorded) => items = items.max(recorded.unwrap_or(0)),
                Err(e) => {
                    tracing::debug!(session = %session.id(), error = %e, "a forwarded request could not be recorded");
                    self.count_dropped(&[session], signal, encoding, &payload).await;
                }
            }
        }
        self.counters.items(signal, items);
    }

    /// Validates `payload` and records it into every active session that
    /// takes `signal` (only the session named by `route`, when given). With
    /// none, the payload is only validated.
    pub async fn record(
        &self,
        signal: Signal,
        encoding: Encoding,
        payload: Bytes,
        route: Option<&str>,
    ) -> Result<Recorded, TapError> {
        let targets = self.targets(signal, route);
        if targets.is_empty() {
            let summary = self.pool.try_call(move |i| i.summarize(signal, encoding, &payload)).await?;
            self.counters.items(signal, summary.items);
            return Ok(Recorded { sessions: 0, items: summary.items });
        }
        // The client is waiting: push back rather than queue past the bounds.
        self.registry.committer().admit()?;
        let captures = targets
            .into_iter()
            .map(|session| self.capture_into(session, signal, encoding, payload.clone(), Admission::Refuse, None));
        let mut recorded = Recorded::default();
        for outcome in futures::future::join_all(captures).await {
            if let Some(items) = outcome? {
                recorded.sessions += 1;
                recorded.items = recorded.items.max(items);
            }
        }
        self.counters.items(signal, recorded.items);
        Ok(recorded)
    }

    /// The protobuf form of a payload (JSON converted by the component).
    pub async fn to_protobuf(&self, signal: Signal, encoding: Encoding, payload: Bytes) -> Result<Bytes, TapError> {
        if encoding == Encoding::Protobuf {
            return Ok(payload);
        }
        let protobuf = self.pool.try_call(move |i| i.to_protobuf(signal, encoding, &payload)).await?;
        Ok(Bytes::from(protobuf))
    }

    /// Prepares a request for one session and adds it to the session's
    /// batch, storing the batch when it is full; `Some(items)` when the
    /// session took the request.
    async fn capture_into(
        &self,
        session: Arc<ActiveSession>,
        signal: Signal,
        encoding: Encoding,
        payload: Bytes,
        admission: Admission,
        raw: Option<u64>,
    ) -> Result<Option<u64>, TapError> {
        let config = session.config().clone();
        let pool = self.pool.clone();
        let limits = self.registry.batching();
        let capture = async {
            // A protobuf request that fills a batch by itself (its size is about
            // the size it is batched at) skips the batch: validated,
            // tagged, gzipped and put in one call, instead of coming back out of
            // the component and going in again. (Smaller ones batch: fewer,
            // larger objects cost less to write than the copies they take.)
            // When storage is busy, it waits in the batch like any other.
            // A spilled request goes through parts, whose records name it.
            if encoding == Encoding::Protobuf && payload.len() >= limits.max_bytes && raw.is_none() {
                let (config, payload) = (config.clone(), payload.clone());
                let direct = move |i: &mut Instance| {
                    let (receipt, puts) = i.staging(|i| i.capture(&config, signal, encoding, &payload));
                    Ok((receipt?, puts))
                };
                match admission.run(&pool, direct).await {
                    Ok((None, _)) => return Ok(None),
                    Ok((Some(receipt), puts)) => {
                        self.registry.commit_capture(&session, &receipt, puts).await?;
                        return Ok(Some(receipt.summary.items));
                    }
                    Err(CallError::Guest(GuestError::Storage(_))) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            let prepare = move |i: &mut Instance| i.prepare_capture(&config, signal, encoding, &payload);
            let Some(part) = admission.run(&pool, prepare).await? else { return Ok(None) };
            let items = part.summary.items;
            let (seq, part) = self.registry.committer().log_part(session.id(), part, raw).await?;
            if let Some(full) = session.add_to_batch(part, seq, limits)?
                && let Err(e) = self.registry.store_batch(&session, signal, full).await
            {
                // The batch waits for the next flush; this request is in it.
                // The store's or the journal's trouble is logged once where it happens; the batch just waits.
                tracing::debug!(session = %session.id(), error = %e, "a full batch could not be stored; will retry");
            }
            Ok::<_, TapError>(Some(items))
        };
        Ok(session.while_active(capture).await.transpose()?.flatten())
    }
}
