//! Taking sessions up again: from this tap's journal after a restart (exact
//! counts, acknowledged parts back into their batches), and from the store
//! (sessions active on other taps, or left by a run without a journal).

use std::sync::Arc;

use super::SessionRegistry;
use crate::capture::active::ActiveSession;
use crate::capture::commit::CommitContent;
use crate::capture::taps;
use crate::error::TapError;
use crate::journal::{Recovered, RecoveredPart};
use crate::locks::MutexExt;
use crate::runtime::processor_types::PreparedCapture;
use crate::session::{SessionCounts, SessionStatus};

impl SessionRegistry {
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
            let part = PreparedCapture {
                protobuf: body.to_vec(),
                summary: meta.summary,
                bytes_in: meta.bytes_in,
                redaction: meta.redaction,
            };
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
}
