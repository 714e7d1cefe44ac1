//! The tap's registry of active sessions and their lifecycle: start, limits
//! and expiry, phases, stop (here, or following a stop on another tap),
//! and what the control API reads. Its other jobs are apart: storing
//! batches as objects (`storing`), publishing each session's part, index and
//! metadata.json (`publishing`), and taking sessions up again after a
//! restart or from other taps (`recovery`). metadata.json itself is written
//! by the component; what is not active is read through the store catalog.

mod publishing;
mod recovery;
mod storing;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};

use super::active::ActiveSession;
use super::batch::BatchLimits;
use super::commit::{CommitContent, Committer};
use crate::catalog::Catalog;
use crate::error::TapError;
use crate::locks::RwLockExt;
use crate::metrics::TapCounters;
use crate::otlp::Signal;
use crate::runtime::pool::ProcessorPool;
use crate::session::{Phase, SessionConfig, SessionState, SessionStatus};
use crate::storage::index::IndexEntry;
use publishing::Published;

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

/// The sessions a tap records into, shared by receivers, tickers and the control API.
pub struct SessionRegistry {
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

impl SessionRegistry {
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
        Arc::new(SessionRegistry {
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

    /// The index entries of objects this tap stored for `id` that no
    /// segment holds yet; empty when this tap does not record `id`.
    pub fn unindexed(&self, id: &str) -> Vec<IndexEntry> {
        self.find_active(id).map(|s| s.unindexed()).unwrap_or_default()
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
