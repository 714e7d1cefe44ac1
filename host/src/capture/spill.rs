//! Forwarded requests whose recording fell behind: with an upstream, the
//! client's answer is the upstream's, so the tap never refuses for its own
//! recording. A request that finds no room goes to the journal (a `Raw`
//! record, durable) and is recorded from there as room frees, oldest first;
//! only when even the journal is at its bound (or in memory mode) is it
//! dropped, and then counted in each session's `droppedRequests` /
//! `droppedItems`, in `/metrics`, and in one ERROR line per episode.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::Notify;

use super::{ActiveSession, Recorder};
use crate::journal::{Dropped, Header, Location, Record, SpilledRequest};
use crate::locks::MutexExt;
use crate::otlp::{Encoding, Signal};

/// A spilled request waiting for room.
enum Waiting {
    /// In the journal, read back when its turn comes.
    Journaled { id: u64, location: Location },
    /// Left by a previous run, read at start.
    Recovered(SpilledRequest),
}

/// The spilled requests in order, and the signal that one arrived.
#[derive(Default)]
pub(super) struct SpillQueue {
    waiting: Mutex<VecDeque<Waiting>>,
    arrived: Notify,
    /// Set while requests are being dropped, so the loss is logged once.
    dropping: AtomicBool,
}

impl SpillQueue {
    fn push(&self, waiting: Waiting) {
        self.waiting.locked().push_back(waiting);
        self.arrived.notify_one();
    }

    async fn pop(&self) -> Waiting {
        loop {
            let notified = self.arrived.notified();
            if let Some(next) = self.waiting.locked().pop_front() {
                return next;
            }
            notified.await;
        }
    }
}

impl Recorder {
    /// Puts a forwarded request that found no room into the journal, or
    /// counts it as dropped when the journal cannot take it.
    pub(super) async fn spill(&self, signal: Signal, encoding: Encoding, payload: Bytes, route: Option<&str>) {
        let targets = self.targets(signal, route);
        let committer = self.registry.committer();
        let journal = committer.journal().filter(|_| committer.admit().is_ok());
        let Some(journal) = journal else {
            self.count_dropped(&targets, signal, encoding, &payload).await;
            return;
        };
        let id = journal.next_number();
        let sessions = targets.iter().map(|s| s.id().to_owned()).collect();
        let header = Header::Raw { id, signal, json: encoding == Encoding::Json, sessions };
        match journal.append(Record { header, blobs: vec![payload.clone()] }).await {
            Ok(location) => {
                if self.spilled.dropping.swap(false, Ordering::Relaxed) {
                    tracing::info!("forwarded requests are recorded again");
                }
                self.counters.spilled(signal);
                self.spilled.push(Waiting::Journaled { id, location });
            }
            Err(_) => self.count_dropped(&targets, signal, encoding, &payload).await,
        }
    }

    /// Counts a forwarded request `sessions` could not record, with its
    /// items when the component has room to count them.
    pub(super) async fn count_dropped(
        &self,
        sessions: &[Arc<ActiveSession>],
        signal: Signal,
        encoding: Encoding,
        payload: &Bytes,
    ) {
        let payload = payload.clone();
        let items = match self.pool.try_call(move |i| i.summarize(signal, encoding, &payload)).await {
            Ok(summary) => summary.items,
            Err(_) => 0,
        };
        self.counters.dropped(signal, items);
        for session in sessions {
            session.dropped(1, items);
            self.registry.committer().note_dropped(session.id(), Dropped { requests: 1, items });
        }
        if !self.spilled.dropping.swap(true, Ordering::Relaxed) {
            tracing::error!(
                %signal,
                "recording is behind and the journal is full: forwarded requests are dropped from the \
                 recording (counted as droppedRequests); forwarding goes on"
            );
        }
    }
}

/// Records spilled requests as room frees: the previous run's first, then
/// this run's, oldest first.
pub(super) fn start_drain(recorder: Arc<Recorder>, recovered: Vec<SpilledRequest>) {
    for request in recovered {
        recorder.spilled.push(Waiting::Recovered(request));
    }
    tokio::spawn(async move {
        loop {
            let waiting = recorder.spilled.pop().await;
            let Ok(permit) = recorder.background.clone().acquire_owned().await else { return };
            let request = match waiting {
                Waiting::Recovered(request) => request,
                Waiting::Journaled { id, location } => match read_back(&recorder, id, location) {
                    Some(request) => request,
                    None => continue,
                },
            };
            let recorder = recorder.clone();
            tokio::spawn(async move {
                let id = request.id;
                let encoding = if request.json { Encoding::Json } else { Encoding::Protobuf };
                let targets: Vec<Arc<ActiveSession>> = recorder
                    .registry
                    .recording(request.signal)
                    .into_iter()
                    .filter(|s| request.sessions.iter().any(|id| id == s.id()))
                    .collect();
                recorder.record_forwarded(targets, request.signal, encoding, request.payload, Some(id)).await;
                if let Some(journal) = recorder.registry.committer().journal() {
                    journal.note(Record::bare(Header::RawDone { id }));
                }
                drop(permit);
            });
        }
    });
}

/// The spilled request `id` at `location`; `None` (logged, and settled so
/// the journal can let it go) when it cannot be read back.
fn read_back(recorder: &Recorder, id: u64, location: Location) -> Option<SpilledRequest> {
    let journal = recorder.registry.committer().journal()?;
    match journal.read_at(location) {
        Ok(Record { header: Header::Raw { id, signal, json, sessions }, blobs }) => {
            let payload = blobs.into_iter().next().unwrap_or_default();
            Some(SpilledRequest { id, signal, json, sessions, payload })
        }
        Ok(_) | Err(_) => {
            tracing::error!(
                id,
                ?location,
                "a spilled request cannot be read back from the journal; it is not recorded"
            );
            journal.note(Record::bare(Header::RawDone { id }));
            None
        }
    }
}
