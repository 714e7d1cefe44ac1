//! Where what the component makes goes: with a journal (durable, the
//! default), a prepared request is appended and synced before it is
//! acknowledged, and an object is appended with the parts it covers before
//! it is handed to the uploader, then marked done once stored; in memory
//! mode both go straight on, faster, and a crash loses what waits.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::{RETRY_AFTER, TapError};
use crate::journal::{Dropped, Header, Journal, PartMeta, PendingCommit, PutMeta, Record};
use crate::runtime::processor_types::{PreparedCapture, StagedPut};
use crate::session::{CaptureReceipt, SessionState};
use crate::storage::uploader::{QueueError, Uploader};

/// What a commit carries besides its objects.
#[derive(Debug, Default)]
pub struct CommitContent<'a> {
    /// Parts (by journal number) now inside the objects.
    pub covers: Vec<u64>,
    /// What the objects add to the session's counts.
    pub receipt: Option<&'a CaptureReceipt>,
    /// The session's new state when it starts or stops.
    pub state: Option<&'a SessionState>,
}

/// Makes parts and objects durable (or not, in memory mode) and hands
/// objects to the uploader.
#[derive(Clone)]
pub struct Committer {
    uploader: Uploader,
    journal: Option<Journal>,
    /// Past this many bytes acknowledged but not stored, new requests are refused.
    backlog_limit: u64,
}

impl Committer {
    /// Commits into `journal` when given (durable), else straight to `uploader`.
    pub fn new(uploader: Uploader, journal: Option<Journal>, backlog_limit: u64) -> Self {
        Committer { uploader, journal, backlog_limit }
    }

    /// The uploader objects go to.
    pub fn uploader(&self) -> &Uploader {
        &self.uploader
    }

    /// The journal, in durable mode.
    pub fn journal(&self) -> Option<&Journal> {
        self.journal.as_ref()
    }

    /// Refuses with 503 when too much is acknowledged but not stored, or
    /// the journal cannot be written: the client keeps the data and retries.
    pub fn admit(&self) -> Result<(), TapError> {
        let Some(journal) = &self.journal else { return Ok(()) };
        let backlog = journal.backlog_bytes();
        if backlog > self.backlog_limit {
            return Err(TapError::Busy {
                reason: format!("{backlog} bytes wait for the store (limit {}); retry later", self.backlog_limit),
                retry_after: RETRY_AFTER,
            });
        }
        Ok(())
    }

    /// Makes a prepared part of `session` durable; its journal number (0 in
    /// memory mode) and the part back. Returns once a crash can no longer
    /// lose it. The protobuf is lent to the journal, not copied.
    pub async fn log_part(
        &self,
        session: &str,
        mut part: PreparedCapture,
        raw: Option<u64>,
    ) -> Result<(u64, PreparedCapture), TapError> {
        let Some(journal) = &self.journal else { return Ok((0, part)) };
        let seq = journal.next_number();
        let meta = PartMeta {
            seq,
            session: session.to_owned(),
            summary: part.summary,
            bytes_in: part.bytes_in,
            len: part.protobuf.len() as u64,
            redaction: part.redaction,
        };
        let body = bytes::Bytes::from(std::mem::take(&mut part.protobuf));
        let record = Record { header: Header::Prepared { parts: vec![meta], raw }, blobs: vec![body.clone()] };
        let appended = journal.append(record).await;
        // The writer dropped its reference before answering: this takes the buffer back without a copy.
        part.protobuf = Vec::from(body);
        appended.map_err(journal_busy)?;
        Ok((seq, part))
    }

    /// Commits objects of `session` with `content`, then queues them for
    /// the store. In memory mode a full upload queue refuses them (nothing
    /// written); with a journal they are durable before they are queued.
    pub async fn commit(
        &self,
        session: &str,
        content: CommitContent<'_>,
        puts: Vec<StagedPut>,
    ) -> Result<(), TapError> {
        let Some(journal) = &self.journal else {
            for put in puts {
                self.uploader.put(&put.key, put.body, &put.content_type).map_err(upload_busy)?;
            }
            return Ok(());
        };
        let id = journal.next_number();
        let header = Header::Commit {
            id,
            session: session.to_owned(),
            covers: content.covers,
            receipt: content.receipt.cloned().map(Box::new),
            state: content.state.cloned().map(Box::new),
            puts: puts
                .iter()
                .map(|p| PutMeta { key: p.key.clone(), content_type: p.content_type.clone(), len: p.body.len() as u64 })
                .collect(),
            dropped: None,
        };
        let blobs = puts.iter().map(|p| p.body.clone()).collect();
        journal.append(Record { header, blobs }).await.map_err(journal_busy)?;
        self.queue_committed(id, puts.into_iter().map(|p| (p.key, p.body, p.content_type)).collect());
        Ok(())
    }

    /// Lets the journal forget parts that can no longer be stored (their
    /// session is not active), so they are not carried into every restart.
    pub fn settle_parts(&self, session: &str, covers: Vec<u64>) {
        self.note_commit(session, covers, None);
    }

    /// Notes forwarded requests `session` could not record, so the loss is
    /// counted in its metadata across a restart too.
    pub fn note_dropped(&self, session: &str, dropped: Dropped) {
        self.note_commit(session, Vec::new(), Some(dropped));
    }

    /// Notes a commit without objects, not waiting for a sync: a crash that
    /// loses it leaves a settled part to be settled again, or a drop count
    /// that only the last refreshed tap document still holds.
    fn note_commit(&self, session: &str, covers: Vec<u64>, dropped: Option<Dropped>) {
        let Some(journal) = &self.journal else { return };
        journal.note(Record::bare(Header::Commit {
            id: journal.next_number(),
            session: session.to_owned(),
            covers,
            receipt: None,
            state: None,
            puts: Vec::new(),
            dropped,
        }));
    }

    /// Queues commits a previous run left unstored, under the same keys.
    pub fn requeue(&self, commits: Vec<PendingCommit>) {
        for commit in commits {
            let puts = commit.puts.into_iter().map(|(meta, body)| (meta.key, body, meta.content_type)).collect();
            self.queue_committed(commit.id, puts);
        }
    }

    fn queue_committed(&self, id: u64, puts: Vec<(String, bytes::Bytes, String)>) {
        let Some(journal) = &self.journal else { return };
        if puts.is_empty() {
            return;
        }
        let left = Arc::new(AtomicUsize::new(puts.len()));
        for (key, body, content_type) in puts {
            let (journal, left) = (journal.clone(), left.clone());
            let on_stored = Box::new(move || {
                if left.fetch_sub(1, Ordering::AcqRel) == 1 {
                    journal.note(Record::bare(Header::Done { id }));
                }
            });
            // Closed only at shutdown: the journal keeps it for the next start.
            if let Err(e) = self.uploader.put_committed(&key, body, &content_type, on_stored) {
                tracing::debug!(%key, error = %e, "a committed object stays in the journal for the next start");
            }
        }
    }
}

fn journal_busy(e: crate::journal::JournalError) -> TapError {
    TapError::Busy { reason: e.to_string(), retry_after: RETRY_AFTER }
}

fn upload_busy(e: QueueError) -> TapError {
    TapError::Busy { reason: e.to_string(), retry_after: RETRY_AFTER }
}
