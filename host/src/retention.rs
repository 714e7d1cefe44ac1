//! Deleting sessions from a store: one stopped session (`session delete`,
//! `DELETE /api/capture/sessions/{id}?purge=true`), or every ended session
//! past a retention age (`session prune`).
//!
//! metadata.json goes last: a delete that is interrupted leaves a session
//! that is still listed and can be deleted again.

use std::time::Duration;

use serde::Serialize;

use crate::catalog::Catalog;
use crate::error::TapError;
use crate::session::{SessionState, SessionStatus};

/// What deleting one session removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Deleted {
    /// The session.
    pub session_id: String,
    /// Objects removed, metadata.json and the taps' count documents included.
    pub objects: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// Deletes a session that is not active; `Conflict` for an active one (it
/// must be stopped first) and `NotFound` when the store has no such session.
pub async fn delete(catalog: &Catalog, id: &str) -> Result<Deleted, TapError> {
    let state = catalog.get(id).await?.ok_or_else(|| TapError::NotFound(format!("no session {id} in the store")))?;
    if state.status == SessionStatus::Active {
        return Err(TapError::Conflict(format!(
            "session {id} is active: stop it first (session delete --force stops it through its tap)"
        )));
    }
    delete_stored(catalog, id).await
}

/// Deletes everything stored under a session's prefix, whatever its status.
pub async fn delete_stored(catalog: &Catalog, id: &str) -> Result<Deleted, TapError> {
    let (deleted, keys) = stored(catalog, id).await?;
    let metadata_key = catalog.metadata_key(id).await?;
    let rest: Vec<String> = keys.into_iter().filter(|k| *k != metadata_key).collect();
    catalog.storage().delete_all(&rest).await?;
    catalog.storage().delete_all(&[metadata_key]).await?;
    Ok(deleted)
}

/// What is stored under a session's prefix: the totals and the keys.
async fn stored(catalog: &Catalog, id: &str) -> Result<(Deleted, Vec<String>), TapError> {
    let listed = catalog.storage().list(&catalog.session_prefix(id).await?).await?;
    let deleted =
        Deleted { session_id: id.to_owned(), objects: listed.len() as u64, bytes: listed.iter().map(|o| o.size).sum() };
    Ok((deleted, listed.into_iter().map(|o| o.key).collect()))
}

/// Which sessions `session prune` removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PruneRule {
    /// Ended sessions whose endTime is older than this go.
    pub older_than: Duration,
    /// The newest this many ended sessions (by start time) always stay.
    pub keep: usize,
}

/// The sessions of `sessions` that `rule` removes at `now_unix_nanos`:
/// completed and failed ones ended before `now - older_than`, past the
/// newest `keep` of them. Active sessions always stay.
pub fn prunable(sessions: &[SessionState], rule: PruneRule, now_unix_nanos: u64) -> Vec<SessionState> {
    let cutoff = now_unix_nanos.saturating_sub(u64::try_from(rule.older_than.as_nanos()).unwrap_or(u64::MAX));
    let mut ended: Vec<&SessionState> = sessions.iter().filter(|s| s.status != SessionStatus::Active).collect();
    ended.sort_by_key(|s| std::cmp::Reverse(s.start_unix_nanos));
    ended.into_iter().skip(rule.keep).filter(|s| s.end_unix_nanos.is_some_and(|end| end < cutoff)).cloned().collect()
}

/// Deletes what [`prunable`] picks from the store (nothing with `dry_run`);
/// returns what was, or would be, deleted, oldest first.
pub async fn prune(
    catalog: &Catalog,
    rule: PruneRule,
    now_unix_nanos: u64,
    dry_run: bool,
) -> Result<Vec<Deleted>, TapError> {
    let mut doomed = prunable(&catalog.list().await?, rule, now_unix_nanos);
    doomed.sort_by_key(|s| s.start_unix_nanos);
    let mut deleted = Vec::with_capacity(doomed.len());
    for state in doomed {
        let done =
            if dry_run { stored(catalog, state.id()).await?.0 } else { delete_stored(catalog, state.id()).await? };
        deleted.push(done);
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::SessionCounts;

    fn session(id: &str, start_hours_ago: u64, end_hours_ago: Option<u64>, status: SessionStatus) -> SessionState {
        const NOW: u64 = 1_800_000_000_000_000_000;
        let hours = |h: u64| NOW - h * 3_600_000_000_000;
        SessionState {
            config: crate::session::SessionConfig::new(id),
            status,
            start_unix_nanos: hours(start_hours_ago),
            end_unix_nanos: end_hours_ago.map(hours),
            updated_unix_nanos: 0,
            end_reason: None,
            counts: SessionCounts::default(),
            phases: Vec::new(),
        }
    }

    #[test]
    fn prunes_ended_sessions_past_the_age_and_keeps_the_newest_and_active_ones() {
        let sessions = [
            session("old", 100, Some(99), SessionStatus::Completed),
            session("failed", 80, Some(79), SessionStatus::Failed),
            session("stale-active", 90, None, SessionStatus::Active),
            session("recent", 5, Some(4), SessionStatus::Completed),
            session("older-but-newest", 50, Some(49), SessionStatus::Completed),
        ];
        let ids = |rule| {
            prunable(&sessions, rule, 1_800_000_000_000_000_000).iter().map(|s| s.id().to_owned()).collect::<Vec<_>>()
        };
        let day = Duration::from_secs(86_400);
        assert_eq!(ids(PruneRule { older_than: day, keep: 0 }), ["older-but-newest", "failed", "old"]);
        assert_eq!(ids(PruneRule { older_than: day, keep: 2 }), ["failed", "old"]);
        assert_eq!(ids(PruneRule { older_than: 4 * day, keep: 0 }), ["old"]);
        assert!(ids(PruneRule { older_than: 30 * day, keep: 0 }).is_empty());
    }
}
