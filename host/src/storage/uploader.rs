//! The write-behind queue between the component's `put` and the store: a
//! put is accepted into memory at once (so no client waits on S3) and
//! uploaded in the background with retries.
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

use super::Storage;

/// Why a put was not queued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    /// The queue holds as many bytes as it may.
    #[error("upload queue full ({queued} bytes queued, limit {limit})")]
    Full {
        /// Bytes waiting.
        queued: usize,
        /// The bound.
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
}

struct Pending {
    body: Bytes,
    content_type: String,
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
}

/// Retry pacing for failed uploads: doubling from `first` up to `max`.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// Delay after the first failure.
    pub first: Duration,
    /// Longest delay.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { first: Duration::from_millis(100), max: Duration::from_secs(5) }
    }
}

/// Handle to the write-behind queue; cheap to clone.
#[derive(Clone)]
pub struct Uploader {
    shared: Arc<Shared>,
}

impl Uploader {
    /// Starts `workers` upload tasks on the current tokio runtime.
    pub fn start(storage: Storage, max_bytes: usize, workers: usize, backoff: Backoff) -> Self {
        let (changed, _) = watch::channel(0);
        let shared = Arc::new(Shared { storage, queue: Mutex::new(Queue::default()), changed, max_bytes });
        for _ in 0..workers.max(1) {
            tokio::spawn(upload_loop(shared.clone(), backoff));
        }
        Uploader { shared }
    }

    /// The store this uploader writes to.
    pub fn storage(&self) -> &Storage {
        &self.shared.storage
    }

    /// Queues `body` for `key`. Never blocks on the network.
    pub fn put(&self, key: &str, body: Bytes, content_type: &str) -> Result<(), QueueError> {
        let mut queue = self.shared.lock();
        if queue.closed {
            return Err(QueueError::Closed);
        }
        let replaced = queue.pending.get(key).map_or(0, |p| p.body.len());
        let queued = queue.queued_bytes - replaced;
        // One object larger than the whole bound is still accepted into an
        // empty queue, or it could never be stored.
        if queued + body.len() > self.shared.max_bytes && queued > 0 {
            return Err(QueueError::Full { queued: queue.queued_bytes, limit: self.shared.max_bytes });
        }
        queue.queued_bytes = queued + body.len();
        let pending = Pending { body, content_type: content_type.to_owned() };
        if queue.pending.insert(key.to_owned(), pending).is_some() {
            queue.stats.coalesced += 1;
        } else {
            queue.order.push_back(key.to_owned());
        }
        drop(queue);
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
        stats
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // A panic while holding the lock leaves plain data behind; keep going.
        self.queue.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
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

    fn finish(&self, key: &str, size: usize) {
        let mut queue = self.lock();
        queue.in_flight.remove(key);
        queue.in_flight_bytes -= size;
        queue.queued_bytes -= size;
        queue.stats.uploaded += 1;
        drop(queue);
        self.bump();
    }
}

async fn upload_loop(shared: Arc<Shared>, backoff: Backoff) {
    let mut changed = shared.changed.subscribe();
    loop {
        while let Some((key, pending)) = shared.take_next() {
            let mut delay = backoff.first;
            loop {
                match shared.storage.put(&key, pending.body.clone(), &pending.content_type).await {
                    Ok(()) => break,
                    Err(e) => {
                        tracing::warn!(%key, error = %e, retry_in = ?delay, "upload failed; retrying");
                        {
                            let mut queue = shared.lock();
                            queue.stats.failed_attempts += 1;
                            queue.stats.last_error = Some(e.to_string());
                        }
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(backoff.max);
                    }
                }
            }
            shared.finish(&key, pending.body.len());
        }
        if changed.changed().await.is_err() {
            return;
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
        let uploader = Uploader::start(memory(), 1 << 20, 2, Backoff::default());
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
        let uploader = Uploader::start(memory(), 1 << 20, 4, Backoff::default());
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
        let uploader = Uploader::start(broken, 1000, 1, Backoff::default());
        uploader.put("sessions/s/a", Bytes::from(vec![0u8; 800]), "x").unwrap();
        assert!(matches!(uploader.put("sessions/s/b", Bytes::from(vec![0u8; 800]), "x"), Err(QueueError::Full { .. })));
        tokio::time::sleep(Duration::from_millis(250)).await;
        let stats = uploader.stats();
        assert!(stats.failed_attempts >= 1 && stats.last_error.is_some(), "{stats:?}");
        assert_eq!(stats.queued_objects, 1);
        uploader.close();
        assert_eq!(uploader.put("sessions/s/c", Bytes::new(), "x"), Err(QueueError::Closed));
    }
}
