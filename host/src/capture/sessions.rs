//! The tap's registry of active sessions and their lifecycle: start, live
//! metadata refresh, batches stored, limits, stop, and resume after a
//! restart. metadata.json itself is written by the component; what is not
//! active is read through the store catalog.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use super::active::ActiveSession;
use super::batch::{BatchLimits, BatchParts};
use super::commit::{CommitContent, Committer};
use super::taps;
use crate::catalog::Catalog;
use crate::error::TapError;
use crate::journal::{Recovered, RecoveredPart};
use crate::locks::{MutexExt, RwLockExt};
use crate::metrics::TapCounters;
use crate::otlp::Signal;
use crate::runtime::Instance;
use crate::runtime::calls::{PreparedCapture, StagedPut};
use crate::runtime::pool::ProcessorPool;
use crate::runtime::state::{Clock, SystemClock};
use crate::session::{CaptureReceipt, Phase, SessionConfig, SessionCounts, SessionState, SessionStatus};
use crate::storage::ConditionalWrite;
use crate::storage::index::{self, IndexEntry};

/// Writes of metadata.json tried before a refresh gives up until the next.
const PUBLISH_ATTEMPTS: usize = 5;

/// How a session ends on this tap.
enum Ending {
    /// Stopped here (the control API, a limit) with this status.
    Here {
        /// Completed or failed.
        status: SessionStatus,
        /// Why, when not a plain stop.
        reason: Option<String>,
    },
    /// Stopped on another tap: metadata.json already says how.
    Elsewhere,
}

/// What writing metadata.json found.
enum Published {
    /// The document written.
    Written(SessionState),
    /// The session ended on another tap; the document as it is.
    EndedElsewhere(SessionState),
}

/// How long a stop or a shutdown keeps retrying batches the store refuses.
const FLUSH_PATIENCE: Duration = Duration::from_secs(60);

/// The sessions a tap records into, shared by receivers and the control API.
pub struct Sessions {
    pool: ProcessorPool,
    /// This tap's name in the session's parts (`taps/{id}.json`).
    tap_id: Arc<str>,
    committer: Committer,
    catalog: Catalog,
    batching: BatchLimits,
    counters: Arc<TapCounters>,
    active: RwLock<HashMap<String, Arc<ActiveSession>>>,
    /// Sessions this tap starts or takes up at most: every request is
    /// recorded into each active session, so the bound keeps that work bounded.
    max_active: usize,
    /// Sessions the store says ended: never taken up again, never read again.
    ended: Mutex<HashSet<String>>,
    /// Serializes start, stop and join, so none of them races another on one id.
    control: tokio::sync::Mutex<()>,
}

impl Sessions {
    /// An empty registry: what `pool`'s instances make goes through
    /// `committer`, and `catalog` reads what the store already holds.
    pub fn new(
        pool: ProcessorPool,
        tap_id: Arc<str>,
        committer: Committer,
        catalog: Catalog,
        batching: BatchLimits,
        counters: Arc<TapCounters>,
        max_active: usize,
    ) -> Arc<Self> {
        Arc::new(Sessions {
            pool,
            tap_id,
            committer,
            catalog,
            batching,
            counters,
            active: RwLock::default(),
            max_active,
            ended: Mutex::default(),
            control: tokio::sync::Mutex::new(()),
        })
    }

    /// When batches become objects.
    pub fn batching(&self) -> BatchLimits {
        self.batching
    }

    /// Where parts and objects go.
    pub fn committer(&self) -> &Committer {
        &self.committer
    }

    /// Stores a batch of `session` as one object and counts it. A batch that
    /// cannot be stored now goes back to wait for the next try.
    pub async fn store_batch(
        self: &Arc<Self>,
        session: &Arc<ActiveSession>,
        signal: Signal,
        waiting: BatchParts,
    ) -> Result<(), TapError> {
        let config = session.config().clone();
        let BatchParts { parts, seqs } = waiting;
        let store = move |i: &mut Instance| Ok(i.staging(|i| i.store_batch(&config, signal, parts)));
        let ((stored, parts), puts) = match self.pool.call(store).await {
            Ok(called) => called,
            Err(e) => {
                tracing::error!(session = %session.id(), error = %e, "the component pool failed; a batch is lost");
                return Err(e.into());
            }
        };
        let committed = match stored {
            Ok(receipt) => {
                let content = CommitContent { covers: seqs.clone(), receipt: Some(&receipt), state: None };
                self.committer.commit(session.id(), content, puts).await.map(|()| receipt)
            }
            Err(e) => Err(e.into()),
        };
        match committed {
            Ok(receipt) => {
                self.recorded(session, &receipt);
                Ok(())
            }
            Err(e) => {
                session.restore_batch(signal, BatchParts { parts, seqs });
                Err(e)
            }
        }
    }

    /// Commits a capture the component stored in one call (a request as
    /// large as a batch) and counts it.
    pub async fn commit_capture(
        self: &Arc<Self>,
        session: &ActiveSession,
        receipt: &CaptureReceipt,
        puts: Vec<StagedPut>,
    ) -> Result<(), TapError> {
        let content = CommitContent { receipt: Some(receipt), ..CommitContent::default() };
        self.committer.commit(session.id(), content, puts).await?;
        self.recorded(session, receipt);
        Ok(())
    }

    /// Counts an object stored for `session`, and ends the session when that
    /// reached one of its limits.
    pub fn recorded(self: &Arc<Self>, session: &ActiveSession, receipt: &CaptureReceipt) {
        self.counters.recorded(receipt.summary.signal, receipt.compressed_bytes);
        if let Some(reason) = session.apply(receipt) {
            self.end_for_limit(session.id().to_owned(), reason);
        }
    }

    /// Stores every batch that waited its maximum age.
    pub async fn flush_due(self: &Arc<Self>) {
        for session in self.all_active() {
            let flush = async {
                for (signal, parts) in session.take_batches(Some(self.batching.max_age)) {
                    if let Err(e) = self.store_batch(&session, signal, parts).await {
                        tracing::debug!(session = %session.id(), error = %e, "a batch could not be stored; will retry");
                    }
                }
            };
            session.while_active(flush).await;
        }
    }

    /// Stores every batch of a session, retrying while the store pushes back
    /// (for up to [`FLUSH_PATIENCE`]), before it stops or the tap shuts down.
    async fn flush_all(self: &Arc<Self>, session: &Arc<ActiveSession>) -> Result<(), TapError> {
        let deadline = Instant::now() + FLUSH_PATIENCE;
        loop {
            let mut failure = None;
            for (signal, parts) in session.take_batches(None) {
                if let Err(e) = self.store_batch(session, signal, parts).await {
                    failure = Some(e);
                }
            }
            match failure {
                None => return Ok(()),
                Some(e) if Instant::now() >= deadline => return Err(e),
                Some(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }

    fn all_active(&self) -> Vec<Arc<ActiveSession>> {
        self.active.reading().values().cloned().collect()
    }

    /// The active sessions that take `signal` now.
    pub fn recording(&self, signal: Signal) -> Vec<Arc<ActiveSession>> {
        self.active.reading().values().filter(|s| s.takes(signal)).cloned().collect()
    }

    /// Ends `id` as completed for `reason` (a limit), in the background.
    pub fn end_for_limit(self: &Arc<Self>, id: String, reason: String) {
        let sessions = self.clone();
        tokio::spawn(async move {
            tracing::info!(session = %id, %reason, "ending session");
            if let Err(e) = sessions.stop(&id, SessionStatus::Completed, Some(reason)).await {
                tracing::warn!(session = %id, error = %e, "cannot end session at its limit");
            }
        });
    }

    /// Ends every session that ran past its duration limit at `now`.
    pub fn end_expired(self: &Arc<Self>, now_unix_nanos: u64) {
        let expired: Vec<(String, String)> = self
            .all_active()
            .iter()
            .filter_map(|s| s.expired(now_unix_nanos).map(|reason| (s.id().to_owned(), reason)))
            .collect();
        for (id, reason) in expired {
            self.end_for_limit(id, reason);
        }
    }

    /// How many sessions are active.
    pub fn active_count(&self) -> usize {
        self.active.reading().len()
    }

    /// Adds `phase` to the session if this tap records it (its metadata
    /// refreshes keep it); does nothing otherwise.
    pub fn add_phase(&self, id: &str, phase: &Phase) {
        if let Some(session) = self.find_active(id) {
            session.add_phase(phase.clone());
        }
    }

    /// Whether this tap records session `id`.
    pub fn is_active(&self, id: &str) -> bool {
        self.find_active(id).is_some()
    }

    fn find_active(&self, id: &str) -> Option<Arc<ActiveSession>> {
        self.active.reading().get(id).cloned()
    }

    fn activate(&self, session: Arc<ActiveSession>) {
        self.active.writing().insert(session.id().to_owned(), session);
    }

    /// Starts a session. Refuses an id that is active, or that the store
    /// already holds a session under.
    pub async fn start(&self, config: SessionConfig) -> Result<SessionState, TapError> {
        let _control = self.control.lock().await;
        let id = config.session_id.clone();
        let key = self.catalog.metadata_key(&id).await?;
        if self.find_active(&id).is_some() {
            return Err(TapError::Conflict(format!("session {id} is already active")));
        }
        if self.active_count() >= self.max_active {
            return Err(TapError::Conflict(format!(
                "this tap records {} active sessions, its bound (serve --max-active-sessions); stop one first",
                self.active_count()
            )));
        }
        if self.catalog.storage().get(&key).await?.is_some() {
            return Err(TapError::Conflict(format!("the store already holds a session {id}; choose another id")));
        }
        let (state, puts) = self.pool.call(move |i| Ok(i.staging(|i| i.start_session(&config)))).await?;
        let state = state?;
        let content = CommitContent { state: Some(&state), ..CommitContent::default() };
        self.committer.commit(&id, content, puts).await?;
        self.committer.uploader().flush().await;
        self.activate(Arc::new(ActiveSession::new(state.clone())));
        Ok(state)
    }

    /// Stops an active session: waits for captures under way, stores its
    /// batches, marks this tap's part stopped and writes the final
    /// metadata.json (the sum of every tap's part). A stop that fails leaves
    /// the session active rather than lose track of it.
    pub async fn stop(
        self: &Arc<Self>,
        id: &str,
        status: SessionStatus,
        reason: Option<String>,
    ) -> Result<SessionState, TapError> {
        self.end(id, Ending::Here { status, reason }).await
    }

    /// Ends the session here, as this tap's stop or following another's.
    async fn end(self: &Arc<Self>, id: &str, ending: Ending) -> Result<SessionState, TapError> {
        let _control = self.control.lock().await;
        let session = self.active.writing().remove(id);
        let session = session.ok_or_else(|| TapError::NotFound(format!("no active session {id}")))?;
        let mut stopped = session.gate.write().await;
        let outcome = async {
            self.flush_all(&session).await?;
            self.committer.uploader().flush().await;
            self.write_index(&session).await;
            let final_state = match self.publish(&session.snapshot(), Some(&ending)).await? {
                Published::Written(state) | Published::EndedElsewhere(state) => state,
            };
            let content = CommitContent { state: Some(&final_state), ..CommitContent::default() };
            self.committer.commit(session.id(), content, Vec::new()).await?;
            Ok::<_, TapError>(final_state)
        };
        match outcome.await {
            Ok(final_state) => {
                *stopped = true;
                self.compact_index(session.id());
                Ok(final_state)
            }
            Err(e) => {
                drop(stopped);
                self.activate(session);
                Err(e)
            }
        }
    }

    /// Writes this tap's part of `own`'s session, then metadata.json as the
    /// sum of every tap's part, conditionally on the version read (retried
    /// on a conflict). Without `ending` the session stays active, unless
    /// metadata.json says it ended elsewhere, which is returned instead.
    async fn publish(&self, own: &SessionState, ending: Option<&Ending>) -> Result<Published, TapError> {
        let storage = self.catalog.storage();
        taps::write_own(storage, &self.tap_id, own, ending.is_some()).await?;
        let key = self.catalog.metadata_key(own.id()).await?;
        for _ in 0..PUBLISH_ATTEMPTS {
            let (current, version) = match storage.get_versioned(&key).await? {
                Some((body, version)) => (Some(self.catalog.parse(body).await?), Some(version)),
                None => (None, None),
            };
            let ended_elsewhere = current.as_ref().filter(|c| c.status != SessionStatus::Active);
            if let (Some(current), None) = (ended_elsewhere, ending) {
                return Ok(Published::EndedElsewhere(current.clone()));
            }
            let mut merged = current.clone().unwrap_or_else(|| own.clone());
            // Phases marked here survive a document read before they were written.
            merged.phases = crate::phases::merged(&merged.phases, &own.phases);
            merged.counts = taps::merged_counts(&taps::read_all(storage, own.id()).await?);
            let (state, puts) = match ending {
                Some(Ending::Here { status, reason }) if ended_elsewhere.is_none() => {
                    let (status, reason) = (*status, reason.clone());
                    let stop =
                        move |i: &mut Instance| Ok(i.staging(|i| i.stop_session(&merged, status, reason.as_deref())));
                    self.pool.call(stop).await?
                }
                _ => self.pool.call(move |i| Ok(i.staging(|i| i.refresh_metadata(&merged)))).await?,
            };
            let state = state?;
            let Some(document) = puts.into_iter().find(|p| p.key == key) else {
                return Err(TapError::Internal(format!("the component wrote no {key}")));
            };
            match storage.put_if(&key, document.body, &document.content_type, version.as_ref()).await? {
                ConditionalWrite::Written | ConditionalWrite::Unconditional => return Ok(Published::Written(state)),
                ConditionalWrite::Conflict => continue,
            }
        }
        Err(TapError::Busy {
            reason: format!("{key} kept changing under {PUBLISH_ATTEMPTS} writes; will retry"),
            retry_after: crate::error::RETRY_AFTER,
        })
    }

    /// Writes the index entries of the objects `session` stored since its
    /// last segment as a new segment (see `storage::index`). The index only
    /// speeds up reading: a failed write keeps the entries for the next try
    /// and never holds up metadata.json or a stop.
    async fn write_index(&self, session: &ActiveSession) {
        let entries = session.unindexed();
        let now_millis = SystemClock.now_unix_nanos() / 1_000_000;
        match index::write_segment(self.catalog.storage(), session.id(), &entries, now_millis).await {
            Ok(()) => session.indexed(entries.len()),
            Err(e) => tracing::debug!(session = %session.id(), error = %e, "index segment not written; will retry"),
        }
    }

    /// Merges an ended session's index segments into one, in the
    /// background (a stop does not wait for it); a failure only leaves them
    /// as they are (the timeline reads them all).
    fn compact_index(&self, id: &str) {
        let (storage, id) = (self.catalog.storage().clone(), id.to_owned());
        tokio::spawn(async move {
            let now_millis = SystemClock.now_unix_nanos() / 1_000_000;
            match index::compact(&storage, &id, now_millis).await {
                Ok(merged) if merged > 0 => tracing::debug!(session = %id, segments = merged, "index merged"),
                Ok(_) => {}
                Err(e) => tracing::warn!(session = %id, error = %e, "cannot merge the index; its segments stay"),
            }
        });
    }

    /// The index entries of objects this tap stored for `id` that no
    /// segment holds yet; empty when this tap does not record `id`.
    pub fn unindexed(&self, id: &str) -> Vec<IndexEntry> {
        self.find_active(id).map(|s| s.unindexed()).unwrap_or_default()
    }

    /// Writes each active session's part and metadata.json when it recorded
    /// something since the last refresh, and follows a stop made on another
    /// tap (seen in metadata.json).
    pub async fn refresh(self: &Arc<Self>) {
        for session in self.all_active() {
            let dirty = session.dirty.swap(false, Ordering::AcqRel);
            let refresh = async {
                if dirty {
                    self.write_index(&session).await;
                    return self.publish(&session.snapshot(), None).await;
                }
                let key = self.catalog.metadata_key(session.id()).await?;
                match self.catalog.storage().get(&key).await? {
                    Some(body) => {
                        let current = self.catalog.parse(body).await?;
                        if current.status != SessionStatus::Active {
                            return Ok(Published::EndedElsewhere(current));
                        }
                        Ok(Published::Written(current))
                    }
                    None => Ok(Published::Written(session.snapshot())),
                }
            };
            match session.while_active(refresh).await {
                Some(Ok(Published::EndedElsewhere(_))) => {
                    tracing::info!(session = %session.id(), "the session was stopped on another tap; stopping it here");
                    if let Err(e) = self.end(session.id(), Ending::Elsewhere).await {
                        tracing::warn!(session = %session.id(), error = %e, "cannot follow the stop; will retry");
                    }
                }
                Some(Err(e)) => {
                    session.dirty.store(true, Ordering::Release);
                    // Once per run of failures: an outage is not a line every refresh.
                    if !session.refresh_failing.swap(true, Ordering::AcqRel) {
                        tracing::warn!(session = %session.id(), error = %e, "metadata refresh failed; will retry");
                    }
                }
                Some(Ok(Published::Written(_))) if session.refresh_failing.swap(false, Ordering::AcqRel) => {
                    tracing::info!(session = %session.id(), "metadata refresh works again");
                }
                Some(Ok(Published::Written(_))) | None => {}
            }
        }
    }

    /// Writes the metadata of every active session without ending them (on
    /// shutdown), so a later tap on the same store can resume them.
    pub async fn persist_all(self: &Arc<Self>) {
        for session in self.all_active() {
            if let Err(e) = self.flush_all(&session).await {
                tracing::error!(session = %session.id(), error = %e, "batches could not be stored before shutdown");
            }
            session.dirty.store(true, Ordering::Release);
        }
        self.refresh().await;
        self.committer.uploader().flush().await;
    }

    /// Takes up what this tap's journal holds from its previous run: its
    /// active sessions with their exact counts, and the acknowledged parts no
    /// object holds yet, back into their batches. The objects it had not
    /// stored are queued again by the caller.
    pub fn recover(&self, recovered: &Recovered) -> Vec<String> {
        for state in recovered.sessions.values() {
            self.activate(Arc::new(ActiveSession::new(state.clone())));
        }
        for RecoveredPart { meta, body, .. } in &recovered.parts {
            let Some(session) = self.find_active(&meta.session) else {
                tracing::error!(session = %meta.session, seq = meta.seq, "the journal holds a part of a session that is not active; it is dropped");
                self.committer.settle_parts(&meta.session, vec![meta.seq]);
                continue;
            };
            let part = PreparedCapture { protobuf: body.to_vec(), summary: meta.summary, bytes_in: meta.bytes_in };
            session.add_recovered(part, meta.seq);
        }
        recovered.sessions.keys().cloned().collect()
    }

    /// Takes up the sessions active in the store that this tap does not
    /// hold: started on another tap, or left by a previous run without a
    /// journal. This tap's counts start from its own part when the store
    /// has one (zero when only other taps have parts; the whole document's
    /// for a session recorded before parts existed). A part marked stopped
    /// means this tap stopped the session: it is not taken up again.
    ///
    /// One listing per call; metadata.json is read only for sessions not
    /// known to have ended (an ended session never becomes active again), so
    /// a store of many finished sessions costs one request per refresh.
    pub async fn join(&self) -> Result<Vec<String>, TapError> {
        // Not while this tap starts or stops a session: a stop takes the session out of the
        // active ones before metadata.json says it ended, and would be taken up again here.
        let _control = self.control.lock().await;
        let mut joined = Vec::new();
        let mut over_bound = 0usize;
        for id in self.catalog.session_ids().await? {
            if self.find_active(&id).is_some() || self.ended.locked().contains(&id) {
                continue;
            }
            let Some(mut state) = self.catalog.get(&id).await.unwrap_or(None) else { continue };
            if state.status != SessionStatus::Active {
                self.ended.locked().insert(id);
                continue;
            }
            if self.active_count() >= self.max_active {
                over_bound += 1;
                continue;
            }
            let parts = taps::read_all(self.catalog.storage(), state.id()).await?;
            match parts.iter().find(|p| p.tap_id == *self.tap_id) {
                Some(own) if own.stopped => continue,
                Some(own) => state.counts = own.counts,
                None if parts.is_empty() => {}
                None => state.counts = SessionCounts::default(),
            }
            let content = CommitContent { state: Some(&state), ..CommitContent::default() };
            self.committer.commit(state.id(), content, Vec::new()).await?;
            joined.push(state.id().to_owned());
            self.activate(Arc::new(ActiveSession::new(state)));
        }
        if over_bound > 0 {
            tracing::warn!(
                left = over_bound,
                bound = self.max_active,
                "the store holds more active sessions than this tap records at most; not recording into the rest"
            );
        }
        Ok(joined)
    }

    /// Every session the store holds, oldest first, active ones with their
    /// live counts.
    pub async fn list(&self) -> Result<Vec<SessionState>, TapError> {
        let mut sessions = self.catalog.list().await?;
        for state in &mut sessions {
            if let Some(active) = self.find_active(state.id()) {
                *state = active.snapshot();
            }
        }
        Ok(sessions)
    }

    /// One session, live when active, else as stored; `None` when there is none.
    pub async fn get(&self, id: &str) -> Result<Option<SessionState>, TapError> {
        match self.find_active(id) {
            Some(active) => Ok(Some(active.snapshot())),
            None => self.catalog.get(id).await,
        }
    }
}
