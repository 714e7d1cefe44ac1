//! One active session: its state and running totals, the gate that lets
//! its stop wait for captures under way, its limits, and its batches of
//! prepared requests waiting to become objects.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::RwLock as Gate;

use super::batch::{Backlogged, BatchLimits, BatchParts, Batches};
use crate::error::{RETRY_AFTER, TapError};
use crate::locks::MutexExt;
use crate::otlp::Signal;
use crate::runtime::processor_types::PreparedCapture;
use crate::session::{CaptureReceipt, Phase, SessionConfig, SessionState};
use crate::storage::index::IndexEntry;

/// One session this tap records into.
pub struct ActiveSession {
    id: String,
    config: SessionConfig,
    state: Mutex<SessionState>,
    /// Captures hold it shared; stop takes it exclusively so that every
    /// capture under way is counted before the final metadata is written.
    /// The flag says the session has stopped.
    pub(super) gate: Gate<bool>,
    /// Counts changed since metadata.json was last written.
    pub(super) dirty: AtomicBool,
    /// A limit was reached: the session takes nothing more while it stops.
    pub(super) ending: AtomicBool,
    /// The last metadata refresh failed (logged once until one works).
    pub(super) refresh_failing: AtomicBool,
    batches: Mutex<Batches>,
    /// Objects stored but not yet in an index segment, oldest first.
    unindexed: Mutex<Vec<IndexEntry>>,
}

impl ActiveSession {
    pub(super) fn new(state: SessionState) -> Self {
        ActiveSession {
            id: state.config.session_id.clone(),
            config: state.config.clone(),
            state: Mutex::new(state),
            gate: Gate::new(false),
            dirty: AtomicBool::new(false),
            ending: AtomicBool::new(false),
            refresh_failing: AtomicBool::new(false),
            batches: Mutex::default(),
            unindexed: Mutex::default(),
        }
    }

    /// The session's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The configuration it was started with.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// A copy of the current state, counts included.
    pub fn snapshot(&self) -> SessionState {
        self.state.locked().clone()
    }

    /// Keeps `phase` with the session's state, for its next metadata write.
    pub fn add_phase(&self, phase: Phase) {
        let mut state = self.state.locked();
        if !state.phases.contains(&phase) {
            crate::phases::insert(&mut state.phases, phase);
        }
        self.dirty.store(true, Ordering::Release);
    }

    /// Whether this session takes requests of `signal` now.
    pub fn takes(&self, signal: Signal) -> bool {
        self.config.records(signal) && !self.ending.load(Ordering::Acquire)
    }

    /// Adds a prepared request to its batch; returns the batch to store when
    /// it reached `limits`, or refuses with 503 when earlier batches could
    /// not be stored and too much waits already.
    pub fn add_to_batch(
        &self,
        part: PreparedCapture,
        seq: u64,
        limits: BatchLimits,
    ) -> Result<Option<BatchParts>, TapError> {
        self.batches.locked().add(part, seq, limits).map_err(|Backlogged| TapError::Busy {
            reason: "the session's batches cannot be stored now".into(),
            retry_after: RETRY_AFTER,
        })
    }

    /// Takes the batches of every signal that waited `max_age` (all when `None`).
    pub(super) fn take_batches(&self, max_age: Option<Duration>) -> Vec<(Signal, BatchParts)> {
        self.batches.locked().take_due(max_age)
    }

    /// Puts back a batch that could not be stored, ahead of newer requests.
    pub(super) fn restore_batch(&self, signal: Signal, parts: BatchParts) {
        self.batches.locked().restore(signal, parts);
    }

    /// Adds a part a previous run acknowledged, from the journal.
    pub(super) fn add_recovered(&self, part: PreparedCapture, seq: u64) {
        self.batches.locked().add_recovered(part, seq);
    }

    /// Runs `work` unless the session has stopped; `None` when it has.
    pub async fn while_active<F: Future>(&self, work: F) -> Option<F::Output> {
        let stopped = self.gate.read().await;
        if *stopped {
            return None;
        }
        Some(work.await)
    }

    /// Adds a receipt to the totals. Returns the reason to end the session
    /// when this receipt took it to its size limit.
    pub fn apply(&self, receipt: &CaptureReceipt) -> Option<String> {
        self.unindexed.locked().push(IndexEntry::of_receipt(receipt));
        let mut state = self.state.locked();
        state.counts.add(receipt);
        self.dirty.store(true, Ordering::Release);
        let limit = self.config.max_size_bytes.filter(|max| state.counts.compressed_bytes >= *max)?;
        (!self.ending.swap(true, Ordering::AcqRel))
            .then(|| format!("maxSizeMB reached: {} of {limit} bytes stored", state.counts.compressed_bytes))
    }

    /// The index entries of objects stored since the last segment written.
    pub fn unindexed(&self) -> Vec<IndexEntry> {
        self.unindexed.locked().clone()
    }

    /// Forgets the oldest `written` unindexed entries, now in a segment.
    pub(super) fn indexed(&self, written: usize) {
        let mut unindexed = self.unindexed.locked();
        let written = written.min(unindexed.len());
        unindexed.drain(..written);
    }

    /// Counts forwarded requests this session could not record.
    pub fn dropped(&self, requests: u64, items: u64) {
        let mut state = self.state.locked();
        state.counts.dropped_requests += requests;
        state.counts.dropped_items += items;
        self.dirty.store(true, Ordering::Release);
    }

    /// The reason to end the session when it has run past its duration limit at `now`.
    pub(super) fn expired(&self, now_unix_nanos: u64) -> Option<String> {
        let max = self.config.max_duration_millis?;
        let ran = now_unix_nanos.saturating_sub(self.state.locked().start_unix_nanos) / 1_000_000;
        (ran >= max && !self.ending.swap(true, Ordering::AcqRel))
            .then(|| format!("maxDurationMinutes reached after {ran} ms"))
    }
}
