//! Storing a session's batches as objects: through the component, committed
//! to the journal before the uploader gets them, and counted.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::SessionRegistry;
use crate::capture::active::ActiveSession;
use crate::capture::batch::BatchParts;
use crate::capture::commit::CommitContent;
use crate::error::TapError;
use crate::otlp::Signal;
use crate::runtime::Instance;
use crate::runtime::processor_types::StagedPut;
use crate::session::CaptureReceipt;

/// How long a stop or a shutdown keeps retrying batches the store refuses.
const FLUSH_PATIENCE: Duration = Duration::from_secs(60);

impl SessionRegistry {
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
    pub(super) async fn flush_all(self: &Arc<Self>, session: &Arc<ActiveSession>) -> Result<(), TapError> {
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
}
