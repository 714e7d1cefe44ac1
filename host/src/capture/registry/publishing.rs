//! Publishing what a session recorded: this tap's part, metadata.json as the
//! merge of every tap's part (written conditionally), and index segments.
//! Refreshes publish while a session is active and notice a stop made on
//! another tap.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::{Ending, SessionRegistry};
use crate::capture::active::ActiveSession;
use crate::capture::taps;
use crate::error::TapError;
use crate::runtime::Instance;
use crate::runtime::state::{Clock, SystemClock};
use crate::session::{SessionState, SessionStatus};
use crate::storage::ConditionalWrite;
use crate::storage::index;

/// Writes of metadata.json tried before a refresh gives up until the next.
const PUBLISH_ATTEMPTS: usize = 5;

/// What writing metadata.json found.
pub(super) enum Published {
    /// The document written.
    Written(SessionState),
    /// The session ended on another tap; the document as it is.
    EndedElsewhere(SessionState),
}

impl SessionRegistry {
    /// Writes this tap's part of `own`'s session, then metadata.json as the
    /// sum of every tap's part, conditionally on the version read (retried
    /// on a conflict). Without `ending` the session stays active, unless
    /// metadata.json says it ended elsewhere, which is returned instead.
    pub(super) async fn publish(&self, own: &SessionState, ending: Option<&Ending>) -> Result<Published, TapError> {
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
    pub(super) async fn write_index(&self, session: &ActiveSession) {
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
    pub(super) fn compact_index(&self, id: &str) {
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
}
