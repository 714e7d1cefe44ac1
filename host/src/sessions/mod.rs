//! The tap's sessions: which are active, their running totals, and their
//! lifecycle (start, live metadata refresh, stop, resume after a restart).
//! metadata.json itself is written by the component.

mod active;

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

pub use active::{ActiveSession, BatchLimits};

use crate::error::TapError;
use crate::replay::plan::PlannedObject;
use crate::runtime::bindings::{CaptureReceipt, PreparedCapture, SessionConfig, SessionState, SessionStatus, Signal};
use crate::runtime::pool::ProcessorPool;
use crate::storage::Storage;
use crate::storage::uploader::Uploader;
use crate::tap_metrics::TapCounters;

/// The folder under the store root that holds one folder per session.
const SESSIONS_FOLDER: &str = "sessions/";

/// The registry of sessions, shared by receivers and the control API.
pub struct Sessions {
    pool: ProcessorPool,
    uploader: Uploader,
    batching: BatchLimits,
    counters: Arc<TapCounters>,
    active: RwLock<HashMap<String, Arc<ActiveSession>>>,
    /// Serializes start and stop so two of them never race on one id.
    control: tokio::sync::Mutex<()>,
}

impl Sessions {
    /// An empty registry over a pool and the uploader its instances put into.
    pub fn new(pool: ProcessorPool, uploader: Uploader, batching: BatchLimits) -> Arc<Self> {
        Arc::new(Sessions {
            pool,
            uploader,
            batching,
            counters: Arc::default(),
            active: RwLock::default(),
            control: tokio::sync::Mutex::new(()),
        })
    }

    /// When batches become objects.
    pub fn batching(&self) -> BatchLimits {
        self.batching
    }

    /// The tap's counters.
    pub fn counters(&self) -> &Arc<TapCounters> {
        &self.counters
    }

    /// Stores a batch of `session` as one object and counts it. A batch that
    /// cannot be stored now goes back to wait for the next try.
    pub async fn store_batch(
        self: &Arc<Self>,
        session: &Arc<ActiveSession>,
        signal: Signal,
        parts: Vec<PreparedCapture>,
    ) -> Result<(), TapError> {
        let config = session.config();
        // The parts go into the call and come back out of it, so a batch that
        // cannot be stored is restored without copying every batch up front.
        let called = self.pool.call(move |i| {
            let stored = i.store_batch(&config, signal, &parts);
            (stored, parts)
        });
        let (stored, parts) = match called.await {
            Ok(result) => result,
            Err(e) => {
                tracing::error!(session = %session.id(), error = %e, "the component pool failed; a batch is lost");
                return Err(e.into());
            }
        };
        match stored.map_err(TapError::from).and_then(|r| r.map_err(TapError::from)) {
            Ok(receipt) => {
                self.recorded(session, signal, &receipt);
                Ok(())
            }
            Err(e) => {
                session.restore_batch(signal, parts);
                Err(e)
            }
        }
    }

    /// Counts an object stored for `session`, and ends the session when that
    /// reached one of its limits.
    pub fn recorded(self: &Arc<Self>, session: &Arc<ActiveSession>, signal: Signal, receipt: &CaptureReceipt) {
        self.counters.recorded(signal, receipt.compressed_bytes);
        if let Some(reason) = session.apply(receipt) {
            self.end_for_limit(session.id(), reason);
        }
    }

    /// Stores every batch that waited its maximum age.
    pub async fn flush_due(self: &Arc<Self>) {
        let sessions: Vec<_> = self.active.read().unwrap_or_else(|p| p.into_inner()).values().cloned().collect();
        for session in sessions {
            let flush = async {
                for (signal, parts) in session.take_batches(Some(self.batching.max_age)) {
                    if let Err(e) = self.store_batch(&session, signal, parts).await {
                        tracing::warn!(session = %session.id(), error = %e, "a batch could not be stored; will retry");
                    }
                }
            };
            session.while_active(flush).await;
        }
    }

    /// Stores every batch of a session, retrying while the store pushes back
    /// (for up to a minute), before it stops or the tap shuts down.
    async fn flush_all(self: &Arc<Self>, session: &Arc<ActiveSession>) -> Result<(), TapError> {
        let deadline = Instant::now() + Duration::from_secs(60);
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

    /// The processor pool.
    pub fn pool(&self) -> &ProcessorPool {
        &self.pool
    }

    /// The uploader.
    pub fn uploader(&self) -> &Uploader {
        &self.uploader
    }

    fn storage(&self) -> &Storage {
        self.uploader.storage()
    }

    /// The active sessions that record `signal`.
    pub fn recording(&self, signal: Signal) -> Vec<Arc<ActiveSession>> {
        let active = self.active.read().unwrap_or_else(|p| p.into_inner());
        active.values().filter(|s| s.records(signal) && !s.ending.load(Ordering::Acquire)).cloned().collect()
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
        let expired: Vec<(String, String)> = {
            let active = self.active.read().unwrap_or_else(|p| p.into_inner());
            active.iter().filter_map(|(id, s)| s.expired(now_unix_nanos).map(|reason| (id.clone(), reason))).collect()
        };
        for (id, reason) in expired {
            self.end_for_limit(id, reason);
        }
    }

    /// How many sessions are active.
    pub fn active_count(&self) -> usize {
        self.active.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    fn find_active(&self, id: &str) -> Option<Arc<ActiveSession>> {
        self.active.read().unwrap_or_else(|p| p.into_inner()).get(id).cloned()
    }

    /// Starts a session. Refuses an id that is active, or that the store
    /// already holds a session under.
    pub async fn start(&self, config: SessionConfig) -> Result<SessionState, TapError> {
        let _control = self.control.lock().await;
        let id = config.session_id.clone();
        let check = id.clone();
        let key = self.pool.call(move |i| i.metadata_key(&check)).await???;
        if self.find_active(&id).is_some() {
            return Err(TapError::Conflict(format!("session {id} is already active")));
        }
        if self.storage().get(&key).await?.is_some() {
            return Err(TapError::Conflict(format!("the store already holds a session {id}; choose another id")));
        }
        let state = self.pool.call(move |i| i.start_session(&config)).await???;
        self.uploader.flush().await;
        self.active.write().unwrap_or_else(|p| p.into_inner()).insert(id, ActiveSession::new(state.clone()));
        Ok(state)
    }

    /// Stops an active session: waits for captures under way, writes the
    /// final metadata and waits until every object of it is stored.
    pub async fn stop(
        self: &Arc<Self>,
        id: &str,
        status: SessionStatus,
        reason: Option<String>,
    ) -> Result<SessionState, TapError> {
        let _control = self.control.lock().await;
        let session = self.active.write().unwrap_or_else(|p| p.into_inner()).remove(id);
        let session = session.ok_or_else(|| TapError::NotFound(format!("no active session {id}")))?;
        let mut stopped = session.gate.write().await;
        if let Err(e) = self.flush_all(&session).await {
            drop(stopped);
            self.active.write().unwrap_or_else(|p| p.into_inner()).insert(id.to_owned(), session);
            return Err(e);
        }
        *stopped = true;
        let state = session.snapshot();
        let outcome = async {
            Ok::<_, TapError>(self.pool.call(move |i| i.stop_session(&state, status, reason.as_deref())).await???)
        };
        let final_state = match outcome.await {
            Ok(state) => state,
            Err(e) => {
                // Keep it active rather than lose track of it.
                *stopped = false;
                drop(stopped);
                self.active.write().unwrap_or_else(|p| p.into_inner()).insert(id.to_owned(), session);
                return Err(e);
            }
        };
        self.uploader.flush().await;
        Ok(final_state)
    }

    /// Writes metadata.json of every active session that captured something
    /// since the last refresh.
    pub async fn refresh(&self) {
        let sessions: Vec<_> = self.active.read().unwrap_or_else(|p| p.into_inner()).values().cloned().collect();
        for session in sessions {
            if !session.dirty.swap(false, Ordering::AcqRel) {
                continue;
            }
            let refresh = async {
                let state = session.snapshot();
                Ok::<_, TapError>(self.pool.call(move |i| i.refresh_metadata(&state)).await???)
            };
            if let Some(Err(e)) = session.while_active(refresh).await {
                session.dirty.store(true, Ordering::Release);
                tracing::warn!(error = %e, "metadata refresh failed; will retry");
            }
        }
    }

    /// Writes the metadata of every active session without ending them (on
    /// shutdown), so a later tap on the same store can resume them.
    pub async fn persist_all(self: &Arc<Self>) {
        let sessions: Vec<_> = self.active.read().unwrap_or_else(|p| p.into_inner()).values().cloned().collect();
        for session in sessions {
            if let Err(e) = self.flush_all(&session).await {
                tracing::error!(session = %session.id(), error = %e, "batches could not be stored before shutdown");
            }
            session.dirty.store(true, Ordering::Release);
        }
        self.refresh().await;
        self.uploader.flush().await;
    }

    /// Takes up the sessions a previous tap left active in the store.
    pub async fn resume(&self) -> Result<Vec<String>, TapError> {
        let mut resumed = Vec::new();
        for state in self.stored().await? {
            if state.status == SessionStatus::Active && self.find_active(&state.config.session_id).is_none() {
                let id = state.config.session_id.clone();
                self.active.write().unwrap_or_else(|p| p.into_inner()).insert(id.clone(), ActiveSession::new(state));
                resumed.push(id);
            }
        }
        Ok(resumed)
    }

    /// Every session the store holds, with active ones as they are now.
    pub async fn list(&self) -> Result<Vec<SessionState>, TapError> {
        let mut sessions = self.stored().await?;
        for state in &mut sessions {
            if let Some(active) = self.find_active(&state.config.session_id) {
                *state = active.snapshot();
            }
        }
        sessions.sort_by_key(|s| s.start_unix_nanos);
        Ok(sessions)
    }

    /// One session, active or stored; `None` when there is none.
    pub async fn get(&self, id: &str) -> Result<Option<SessionState>, TapError> {
        if let Some(active) = self.find_active(id) {
            return Ok(Some(active.snapshot()));
        }
        let check = id.to_owned();
        let key = self.pool.call(move |i| i.metadata_key(&check)).await???;
        match self.storage().get(&key).await? {
            Some(document) => Ok(Some(self.parse(document).await?)),
            None => Ok(None),
        }
    }

    /// The raw objects stored for a session, in no set order. Keys that are
    /// not objects of the layout are skipped with a warning.
    pub async fn raw_objects(&self, id: &str) -> Result<Vec<PlannedObject>, TapError> {
        let check = id.to_owned();
        let metadata_key = self.pool.call(move |i| i.metadata_key(&check)).await???;
        let prefix = format!("{}raw/", metadata_key.strip_suffix("metadata.json").unwrap_or(&metadata_key));
        let listed = self.storage().list(&prefix).await?;
        let keys: Vec<String> = listed.iter().map(|o| o.key.clone()).collect();
        let parsed = self.pool.call(move |i| keys.iter().map(|k| i.parse_object_key(k)).collect::<Vec<_>>()).await?;
        let mut objects = Vec::with_capacity(listed.len());
        for (object, info) in listed.into_iter().zip(parsed) {
            match info? {
                Ok(info) if info.session_id == id => objects.push(PlannedObject {
                    key: object.key,
                    signal: info.signal,
                    capture_unix_millis: info.capture_unix_millis,
                    size: object.size,
                }),
                _ => tracing::warn!(key = %object.key, "skipping a file that is not an object of the layout"),
            }
        }
        Ok(objects)
    }

    /// The metadata.json document of a state, as JSON.
    pub async fn render(&self, state: SessionState) -> Result<serde_json::Value, TapError> {
        let text = self.pool.call(move |i| i.render_metadata(&state)).await???;
        serde_json::from_str(&text).map_err(|e| TapError::Internal(format!("component rendered invalid JSON: {e}")))
    }

    async fn parse(&self, document: bytes::Bytes) -> Result<SessionState, TapError> {
        let text = String::from_utf8_lossy(&document).into_owned();
        Ok(self.pool.call(move |i| i.parse_metadata(&text)).await???)
    }

    async fn stored(&self) -> Result<Vec<SessionState>, TapError> {
        let mut sessions = Vec::new();
        for id in self.storage().list_folders(SESSIONS_FOLDER).await? {
            let key = match self.pool.call(move |i| i.metadata_key(&id)).await? {
                Ok(Ok(key)) => key,
                // A folder whose name is no valid session id holds no session.
                _ => continue,
            };
            let Some(document) = self.storage().get(&key).await? else { continue };
            match self.parse(document).await {
                Ok(state) => sessions.push(state),
                Err(e) => tracing::warn!(%key, error = %e, "skipping unreadable metadata.json"),
            }
        }
        Ok(sessions)
    }
}
