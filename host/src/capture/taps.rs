//! Many taps, one session: each tap that records a session keeps its own
//! counts in `sessions/{id}/taps/{tap}.json`, and metadata.json carries
//! their sum. Every refresh a tap writes its own document, then rewrites
//! metadata.json from all of them with a conditional write (If-Match on the
//! version it read), so two taps never overwrite each other's merge; a
//! store without conditional writes (a local directory) takes the last
//! write, and the next refresh of every tap writes the merge again. A tap
//! that stops a session marks its own document stopped before it writes the
//! completed metadata.json, so a tap that reads either one stops too.

use serde::{Deserialize, Serialize};

use crate::session::{SessionCounts, SessionState};
use crate::storage::{Storage, StorageError};

/// One tap's part of a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TapDocument {
    /// The tap.
    pub tap_id: String,
    /// The session.
    pub session_id: String,
    /// Whether this tap still records it.
    pub stopped: bool,
    /// What this tap stored for it.
    pub counts: SessionCounts,
    /// Unix nanos of this write.
    pub updated_unix_nanos: u64,
}

/// Where tap `tap`'s document of session `session` is.
pub fn key(session: &str, tap: &str) -> String {
    format!("sessions/{session}/taps/{tap}.json")
}

/// Writes this tap's document of `state`.
pub async fn write_own(storage: &Storage, tap: &str, state: &SessionState, stopped: bool) -> Result<(), StorageError> {
    let document = TapDocument {
        tap_id: tap.to_owned(),
        session_id: state.id().to_owned(),
        stopped,
        counts: state.counts,
        updated_unix_nanos: state.updated_unix_nanos,
    };
    let body = serde_json::to_vec_pretty(&document).unwrap_or_default();
    storage.put(&key(state.id(), tap), body.into(), "application/json").await
}

/// Every tap's document of `session` (unreadable ones are skipped, logged).
pub async fn read_all(storage: &Storage, session: &str) -> Result<Vec<TapDocument>, StorageError> {
    let mut documents = Vec::new();
    for object in storage.list(&format!("sessions/{session}/taps/")).await? {
        let Some(body) = storage.get(&object.key).await? else { continue };
        match serde_json::from_slice::<TapDocument>(&body) {
            Ok(document) => documents.push(document),
            Err(e) => tracing::warn!(key = %object.key, error = %e, "skipping an unreadable tap document"),
        }
    }
    Ok(documents)
}

/// The sum of every tap's counts.
pub fn merged_counts(documents: &[TapDocument]) -> SessionCounts {
    let mut counts = SessionCounts::default();
    for document in documents {
        counts.merge(&document.counts);
    }
    counts
}
