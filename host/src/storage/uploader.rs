//! The write-behind queue between the component's `put` and the store: a
//! put is accepted into memory at once (so no client waits on S3) and
//! uploaded in the background with retries. With a spool, an object the
//! store keeps refusing is written to local disk after a few attempts and
//! drained to the store, oldest first, when it is back.
//!
//! Puts to one key are uploaded in order and coalesced: when a newer version
//! of a key (a refreshed metadata.json) arrives before the older one was
//! sent, only the newest is sent. The queue is bounded in bytes; a put that
//! does not fit is refused as busy, so the receiver can push back.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::watch;

use super::spool::{Spool, SpoolError};
use super::{Storage, StorageError};
use crate::locks::MutexExt;

/// Why a put was not queued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    /// The queue holds as many bytes as it may.
    #[error("upload queue full ({queued} bytes queued, limit {limit})")]
    Full {
        /// Bytes waiting or being sent when the put came.
        queued: usize,
        /// The queue's bound in bytes.
        limit: usize,
    },
    /// The uploader is shutting down.
    #[error("uploader is shut down")]
    Closed,
}

/// Counters of the uploader since it started.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UploadStats {
    /// Objects written to the store.
    pub uploaded: u64,
    /// Versions replaced by a newer put before they were sent.
    pub coalesced: u64,
    /// Failed upload attempts (each was retried).
    pub failed_attempts: u64,
    /// Bytes waiting or being sent.
    pub queued_bytes: usize,
    /// Objects waiting or being sent.
    pub queued_objects: usize,
    /// The last upload error, if any.
    pub last_error: Option<String>,
    /// Whether the store's last answer was a failure.
    pub store_failing: bool,
    /// Whether the last object that had to go to the spool found it full.
    pub spool_full: bool,
    /// Objects moved to the spool.
    pub spooled: u64,
    /// Spooled objects later stored.
    pub drained: u64,
    /// Bytes in the spool now.
    pub spool_bytes: u64,
    /// Objects in the spool now.
    pub spool_objects: usize,
}

/// Called once an object is safe: in the store, in the spool, or replaced
/// by a newer version of its key that is itself safe when called.
pub type OnStored = Box<dyn FnOnce() + Send>;

struct Pending {
    body: Bytes,
    content_type: String,
    on_stored: Vec<OnStored>,
}

#[derive(Default)]
struct Queue {
    order: VecDeque<String>,
    pending: HashMap<String, Pending>,
    in_flight: HashSet<String>,
    in_flight_bytes: usize,
    queued_bytes: usize,
    closed: bool,
    stats: UploadStats,
}

struct Shared {
    storage: Storage,
    queue: Mutex<Queue>,
    changed: watch::Sender<u64>,
    max_bytes: usize,
    spool: Option<Arc<Spool>>,
    spill_after: u32,
}

/// Retry pacing for failed uploads: doubling from `first` up to `max`.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// Delay after the first failure.
    pub first: Duration,
    /// The delay stops doubling here.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { first: Duration::from_millis(100), max: Duration::from_secs(5) }
    }
}

/// How the uploader works.
#[derive(Clone)]
pub struct UploadSettings {
    /// Bound of the in-memory queue, in bytes.
    pub max_queued_bytes: usize,
    /// Uploads under way at once.
    pub workers: usize,
    /// How failed uploads are paced.
    pub backoff: Backoff,
    /// Where objects go when the store keeps failing; none to retry in memory forever.
    pub spool: Option<Arc<Spool>>,
    /// Failed attempts before an object moves to the spool.
    pub spill_after: u32,
}

impl UploadSettings {
    /// A queue of `max_queued_bytes` with 8 workers, default backoff and no spool.
    pub fn new(max_queued_bytes: usize) -> Self {
        UploadSettings { max_queued_bytes, workers: 8, backoff: Backoff::default(), spool: None, spill_after: 3 }
    }
}

/// Handle to the write-behind queue; cheap to clone.
#[derive(Clone)]
pub struct Uploader {
    shared: Arc<Shared>,
}

impl Uploader {
    /// Starts the upload tasks (and the spool's drainer) on the current tokio runtime.
    pub fn start(storage: Storage, settings: UploadSettings) -> Self {
        let (changed, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            storage,
            queue: Mutex::new(Queue::default()),
            changed,
            max_bytes: settings.max_queued_bytes,
            spool: settings.spool.clone(),
            spill_after: settings.spill_after.max(1),
        });
        for _ in 0..settings.workers.max(1) {
            tokio::spawn(upload_loop(shared.clone(), settings.backoff));
        }
        if let Some(spool) = settings.spool {
            tokio::spawn(drain_loop(shared.clone(), spool, settings.backoff));
        }
        Uploader { shared }
    }

    /// The store this uploader writes to.
    pub fn storage(&self) -> &Storage {
        &self.shared.storage
    }

    /// Queues `body` for `key`. Never blocks on the network.
    pub fn put(&self, key: &str, body: Bytes, content_type: &str) -> Result<(), QueueError> {
        self.enqueue(key, body, content_type, None, true)
    }

    /// Queues an object that is already durable elsewhere (the journal):
    /// taken even past the queue's bound, whose room the journal's backlog
    /// bound keeps instead; `on_stored` runs once it is safe.
    pub fn put_committed(
        &self,
        key: &str,
        body: Bytes,
        content_type: &str,
        on_stored: OnStored,
    ) -> Result<(), QueueError> {
        self.enqueue(key, body, content_type, Some(on_stored), false)
    }

    fn enqueue(
        &self,
        key: &str,
        body: Bytes,
        content_type: &str,
        on_stored: Option<OnStored>,
        bounded: bool,
    ) -> Result<(), QueueError> {
        let mut queue = self.shared.lock();
        if queue.closed {
            return Err(QueueError::Closed);
        }
        let replaced = queue.pending.get(key).map_or(0, |p| p.body.len());
        let queued = queue.queued_bytes - replaced;
        // One object larger than the whole bound is still accepted into an
        // empty queue, or it could never be stored.
        if bounded && queued + body.len() > self.shared.max_bytes && queued > 0 {
            return Err(QueueError::Full { queued: queue.queued_bytes, limit: self.shared.max_bytes });
        }
        queue.queued_bytes = queued + body.len();
        let pending =
            Pending { body, content_type: content_type.to_owned(), on_stored: on_stored.into_iter().collect() };
        // A replaced version is superseded by this one, which is queued and safe once stored.
        let mut superseded = Vec::new();
        if let Some(old) = queue.pending.insert(key.to_owned(), pending) {
            queue.stats.coalesced += 1;
            superseded = old.on_stored;
        } else {
            queue.order.push_back(key.to_owned());
        }
        // Spooled older versions are superseded. Under the queue lock, so the
        // drainer either sees this version pending or already holds the key.
        if let Some(spool) = &self.shared.spool {
            for sequence in spool.versions_of(key) {
                spool.remove(sequence);
            }
        }
        drop(queue);
        superseded.into_iter().for_each(|f| f());
        self.shared.bump();
        Ok(())
    }

    /// Waits until everything queued before and during the call is stored.
    pub async fn flush(&self) {
        let mut changed = self.shared.changed.subscribe();
        loop {
            {
                let queue = self.shared.lock();
                if queue.order.is_empty() && queue.in_flight.is_empty() {
                    return;
                }
            }
            if changed.changed().await.is_err() {
                return;
            }
        }
    }

    /// Waits until the spool is empty (a previous run's objects stored), for
    /// at most `timeout`; returns whether it is.
    pub async fn drain_spool(&self, timeout: Duration) -> bool {
        let Some(spool) = &self.shared.spool else { return true };
        let deadline = tokio::time::Instant::now() + timeout;
        while spool.usage().1 > 0 {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        true
    }

    /// Refuses new puts; what is queued is still uploaded.
    pub fn close(&self) {
        self.shared.lock().closed = true;
        self.shared.bump();
    }

    /// Counters so far.
    pub fn stats(&self) -> UploadStats {
        let queue = self.shared.lock();
        let mut stats = queue.stats.clone();
        stats.queued_bytes = queue.queued_bytes;
        stats.queued_objects = queue.order.len() + queue.in_flight.len();
        drop(queue);
        if let Some(spool) = &self.shared.spool {
            (stats.spool_bytes, stats.spool_objects) = spool.usage();
        }
        stats
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.locked()
    }

    fn bump(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Takes the first queued key that is not being uploaded already.
    fn take_next(&self) -> Option<(String, Pending)> {
        let mut queue = self.lock();
        let position = queue.order.iter().position(|k| !queue.in_flight.contains(k))?;
        let key = queue.order.remove(position)?;
        let pending = queue.pending.remove(&key)?;
        queue.in_flight.insert(key.clone());
        queue.in_flight_bytes += pending.body.len();
        Some((key, pending))
    }

    /// Done with an in-memory object: stored, or moved to the spool.
    fn finish(&self, key: &str, size: usize, spooled: bool) {
        let mut queue = self.lock();
        queue.in_flight.remove(key);
        queue.in_flight_bytes -= size;
        queue.queued_bytes -= size;
        if spooled {
            queue.stats.spooled += 1;
        } else {
            queue.stats.uploaded += 1;
        }
        drop(queue);
        self.bump();
    }

    /// Counts a failed attempt; the first of a run of failures is logged
    /// at ERROR, the rest only counted, so a long outage is one line.
    fn failed(&self, error: &StorageError) {
        let mut queue = self.lock();
        queue.stats.failed_attempts += 1;
        queue.stats.last_error = Some(error.to_string());
        if !std::mem::replace(&mut queue.stats.store_failing, true) {
            tracing::error!(error = %error, "the store is failing; objects wait (in the spool, or in the journal) and are retried");
        }
    }

    /// Notes that the store took an object; logs the end of an outage.
    fn succeeded(&self) {
        let mut queue = self.lock();
        if std::mem::replace(&mut queue.stats.store_failing, false) {
            tracing::info!("the store is taking objects again");
        }
    }

    /// Notes whether the spool took an object; a full spool is logged once.
    fn spool_answered(&self, full: Option<&SpoolError>) {
        let mut queue = self.lock();
        let was_full = std::mem::replace(&mut queue.stats.spool_full, full.is_some());
        match full {
            Some(e) if !was_full => tracing::error!(error = %e, "the spool cannot take objects; they wait in memory"),
            None if was_full => tracing::info!("the spool takes objects again"),
            _ => {}
        }
    }
}

async fn upload_loop(shared: Arc<Shared>, backoff: Backoff) {
    let mut changed = shared.changed.subscribe();
    loop {
        while let Some((key, pending)) = shared.take_next() {
            let mut delay = backoff.first;
            let mut attempts = 0;
            let spooled = loop {
                match shared.storage.put(&key, pending.body.clone(), &pending.content_type).await {
                    Ok(()) => {
                        shared.succeeded();
                        break false;
                    }
                    Err(e) => {
                        attempts += 1;
                        shared.failed(&e);
                        if let Some(spool) = shared.spool.as_ref().filter(|_| attempts >= shared.spill_after) {
                            match spool.push(&key, &pending.content_type, &pending.body) {
                                Ok(()) => {
                                    shared.spool_answered(None);
                                    tracing::debug!(%key, "object spooled to local disk");
                                    break true;
                                }
                                Err(full) => shared.spool_answered(Some(&full)),
                            }
                        }
                        tracing::debug!(%key, error = %e, retry_in = ?delay, "upload failed; retrying");
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(backoff.max);
                    }
                }
            };
            shared.finish(&key, pending.body.len(), spooled);
            pending.on_stored.into_iter().for_each(|f| f());
        }
        if changed.changed().await.is_err() {
            return;
        }
    }
}

/// Uploads spooled objects, oldest first, while the store takes them. A
/// spooled object whose key has a newer version in memory is superseded and
/// dropped; while one is being drained its key is held, so a newer version
/// cannot be overwritten by it.
async fn drain_loop(shared: Arc<Shared>, spool: Arc<Spool>, backoff: Backoff) {
    let mut delay = backoff.first;
    loop {
        let item = match spool.oldest() {
            Ok(Some(item)) => item,
            Ok(None) => {
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the spool");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(backoff.max);
                continue;
            }
        };
        let claimed = {
            let mut queue = shared.lock();
            // Superseded: a newer version is queued or being sent, or was put
            // (and maybe stored) since this one was read from the spool.
            let newer = queue.pending.contains_key(&item.key)
                || queue.in_flight.contains(&item.key)
                || !spool.contains(item.sequence);
            if !newer {
                queue.in_flight.insert(item.key.clone());
            }
            !newer
        };
        if !claimed {
            spool.remove(item.sequence);
            continue;
        }
        let stored = shared.storage.put(&item.key, item.body.clone(), &item.content_type).await;
        {
            let mut queue = shared.lock();
            queue.in_flight.remove(&item.key);
            if stored.is_ok() {
                queue.stats.drained += 1;
            }
        }
        shared.bump();
        match stored {
            Ok(()) => {
                shared.succeeded();
                spool.remove(item.sequence);
                delay = backoff.first;
            }
            Err(e) => {
                shared.failed(&e);
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(backoff.max);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::StoreLocation;

    fn memory() -> Storage {
        Storage::open(&StoreLocation::Memory).unwrap()
    }

    #[tokio::test]
    async fn uploads_in_the_background_and_flush_waits() {
        let uploader = Uploader::start(memory(), UploadSettings { workers: 2, ..UploadSettings::new(1 << 20) });
        for i in 0..50 {
            uploader.put(&format!("sessions/s/raw/{i}"), Bytes::from(vec![1u8; 100]), "application/gzip").unwrap();
        }
        uploader.flush().await;
        assert_eq!(uploader.storage().list("sessions/s/").await.unwrap().len(), 50);
        let stats = uploader.stats();
        assert_eq!((stats.uploaded, stats.queued_bytes, stats.queued_objects), (50, 0, 0));
    }

    #[tokio::test]
    async fn the_newest_version_of_a_key_wins() {
        let uploader = Uploader::start(memory(), UploadSettings { workers: 4, ..UploadSettings::new(1 << 20) });
        for i in 0..200u32 {
            uploader.put("sessions/s/metadata.json", Bytes::from(i.to_string()), "application/json").unwrap();
        }
        uploader.flush().await;
        let stored = uploader.storage().get("sessions/s/metadata.json").await.unwrap().unwrap();
        assert_eq!(stored, Bytes::from("199"));
    }

    #[tokio::test]
    async fn a_full_queue_refuses_and_a_closed_one_too() {
        // A store whose root became a file: every upload fails and is retried, so the queue stays full.
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let broken = Storage::open(&StoreLocation::Directory(root.clone())).unwrap();
        std::fs::remove_dir(&root).unwrap();
        std::fs::write(&root, b"not a directory").unwrap();
        let uploader = Uploader::start(broken, UploadSettings { workers: 1, ..UploadSettings::new(1000) });
        uploader.put("sessions/s/a", Bytes::from(vec![0u8; 800]), "x").unwrap();
        assert!(matches!(uploader.put("sessions/s/b", Bytes::from(vec![0u8; 800]), "x"), Err(QueueError::Full { .. })));
        tokio::time::sleep(Duration::from_millis(250)).await;
        let stats = uploader.stats();
        assert!(stats.failed_attempts >= 1 && stats.last_error.is_some(), "{stats:?}");
        assert_eq!(stats.queued_objects, 1);
        uploader.close();
        assert_eq!(uploader.put("sessions/s/c", Bytes::new(), "x"), Err(QueueError::Closed));
    }

    #[tokio::test]
    async fn a_failing_store_spills_to_the_spool_which_drains_when_it_returns() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let storage = Storage::open(&StoreLocation::Directory(root.clone())).unwrap();
        std::fs::remove_dir(&root).unwrap();
        std::fs::write(&root, b"the store is down").unwrap();
        let spool = Arc::new(Spool::open(&dir.path().join("spool"), 1 << 20).unwrap());
        let fast = Backoff { first: Duration::from_millis(5), max: Duration::from_millis(20) };
        let settings = UploadSettings {
            workers: 2,
            backoff: fast,
            spool: Some(spool.clone()),
            spill_after: 2,
            ..UploadSettings::new(1 << 20)
        };
        let uploader = Uploader::start(storage.clone(), settings);
        for i in 0..10 {
            uploader.put(&format!("sessions/s/raw/{i}"), Bytes::from(vec![i as u8; 10]), "application/gzip").unwrap();
        }
        uploader.put("sessions/s/metadata.json", Bytes::from("old"), "application/json").unwrap();
        uploader.flush().await;
        assert_eq!(uploader.stats().spooled, 11, "{:?}", uploader.stats());
        // The store comes back.
        std::fs::remove_file(&root).unwrap();
        std::fs::create_dir(&root).unwrap();
        uploader.put("sessions/s/metadata.json", Bytes::from("new"), "application/json").unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while spool.usage().1 > 0 {
            assert!(std::time::Instant::now() < deadline, "the spool never drained: {:?}", uploader.stats());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        uploader.flush().await;
        assert_eq!(storage.list("sessions/s/raw/").await.unwrap().len(), 10);
        assert_eq!(
            storage.get("sessions/s/metadata.json").await.unwrap().unwrap(),
            Bytes::from("new"),
            "never overwritten by a spooled older version"
        );
    }
}
