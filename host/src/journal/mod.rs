//! The write-ahead journal that makes an acknowledgement mean "on local
//! disk": every prepared request is appended and made durable (group
//! commit: one fsync for all records that arrived while the previous one
//! ran) before the client gets its answer; every object the component makes
//! is appended before it goes to the store, with the parts it covers, and
//! marked done once stored. A restart reads it back ([`Recovered`]): the
//! sessions with exact counts, the parts still to batch, the objects to put
//! again under the same keys, so the store ends up as a clean run would
//! have left it, with no duplicates and no gaps.
//!
//! Files: `{dir}/{number}.wal` segments (see `record` for the framing),
//! a new one every [`JournalSettings::segment_bytes`], each deleted once
//! nothing in it is needed; `{dir}/LOCK` keeps a second tap out.

mod record;
mod recovery;
mod segments;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use crate::locks::MutexExt;

pub use record::{Dropped, Header, PartMeta, PutMeta, Record};
pub use recovery::{PendingCommit, Recovered, RecoveredPart, SpilledRequest};
pub use segments::Location;
use segments::{Segments, segment_path};

/// A group's writes stop gathering records past this many bytes.
const GROUP_BYTES: usize = 16 << 20;

/// Why the journal could not take a record.
#[derive(Debug, Clone, thiserror::Error)]
pub enum JournalError {
    /// Writing or syncing failed (a full or failing disk).
    #[error("the local journal cannot be written: {0}")]
    Write(String),
    /// A record still needed could not be read back.
    #[error("the local journal cannot be read: {0}")]
    Read(String),
    /// The journal's writer has stopped.
    #[error("the local journal is closed")]
    Closed,
    /// The journal directory cannot be used.
    #[error("journal {dir}: {reason}")]
    Open {
        /// The directory.
        dir: String,
        /// What went wrong.
        reason: String,
    },
}

/// How the journal is kept.
#[derive(Debug, Clone)]
pub struct JournalSettings {
    /// Its directory.
    pub dir: PathBuf,
    /// A new segment starts past this many bytes.
    pub segment_bytes: u64,
}

type Waiter = oneshot::Sender<Result<Location, JournalError>>;

/// What the writer thread is sent.
enum Message {
    /// A record to write, and whoever waits until it is durable.
    Append(Record, Option<Waiter>),
    /// Write what came before, then stop.
    Close,
}

/// Handle to the journal; cheap to clone.
#[derive(Clone)]
pub struct Journal {
    appends: Sender<Message>,
    next: Arc<AtomicU64>,
    backlog: Arc<AtomicU64>,
    failing: Arc<AtomicBool>,
    dir: Arc<Path>,
    /// The writer thread, until [`Journal::close`] joins it.
    writer: Arc<Mutex<Option<JoinHandle<()>>>>,
    /// The directory's lock, until [`Journal::close`] lets it go.
    lock: Arc<Mutex<Option<File>>>,
}

impl Journal {
    /// Opens the journal in `settings.dir` (creating it), reads what a
    /// previous run left, and starts a new segment that carries forward what
    /// is still needed of it; the older segments are deleted.
    pub fn open(settings: &JournalSettings) -> Result<(Journal, Recovered), JournalError> {
        let dir = &settings.dir;
        let fail = |reason: String| JournalError::Open { dir: dir.display().to_string(), reason };
        std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
        let lock = lock_dir(dir).map_err(fail)?;
        let recovered = recovery::read(dir).map_err(|e| fail(e.to_string()))?;
        let backlog = Arc::new(AtomicU64::new(0));
        let number = recovered.segments.last().map_or(0, |n| n + 1);
        let mut segments = Segments::create(
            dir,
            number,
            settings.segment_bytes.max(4096),
            recovered.sessions.clone(),
            recovered.next,
            backlog.clone(),
        )
        .map_err(|e| fail(e.to_string()))?;
        carry_forward(&mut segments, &recovered).map_err(|e| fail(e.to_string()))?;
        for old in &recovered.segments {
            std::fs::remove_file(segment_path(dir, *old)).map_err(|e| fail(e.to_string()))?;
        }
        let (appends, receiver) = channel();
        let next = Arc::new(AtomicU64::new(recovered.next));
        let failing = Arc::new(AtomicBool::new(false));
        let writer = Writer { segments, next: next.clone(), failing: failing.clone() };
        let writer = std::thread::Builder::new()
            .name("otlp-journal".into())
            .spawn(move || writer.run(&receiver))
            .map_err(|e| fail(e.to_string()))?;
        let journal = Journal {
            appends,
            next,
            backlog,
            failing,
            dir: Arc::from(dir.as_path()),
            writer: Arc::new(Mutex::new(Some(writer))),
            lock: Arc::new(Mutex::new(Some(lock))),
        };
        Ok((journal, recovered))
    }

    /// A number no record has used (for a part or a commit).
    pub fn next_number(&self) -> u64 {
        self.next.fetch_add(1, Ordering::Relaxed)
    }

    /// Appends `record` and waits until it is durable; where it was written.
    pub async fn append(&self, record: Record) -> Result<Location, JournalError> {
        let (done, durable) = oneshot::channel();
        self.appends.send(Message::Append(record, Some(done))).map_err(|_| JournalError::Closed)?;
        durable.await.map_err(|_| JournalError::Closed)?
    }

    /// Reads back the record at `location` (one still needed, so its
    /// segment is still there).
    pub fn read_at(&self, location: Location) -> Result<Record, JournalError> {
        use std::io::{Read, Seek, SeekFrom};
        let read = || -> std::io::Result<Record> {
            let mut file = File::open(segment_path(&self.dir, location.segment))?;
            file.seek(SeekFrom::Start(location.offset))?;
            let mut head = [0u8; 4];
            file.read_exact(&mut head)?;
            let length = u32::from_le_bytes(head) as usize;
            let mut frame = vec![0u8; 8 + length];
            frame[..4].copy_from_slice(&head);
            file.read_exact(&mut frame[4..])?;
            record::decode_one(&bytes::Bytes::from(frame), 0).map(|(r, _)| r).map_err(std::io::Error::other)
        };
        read().map_err(|e| JournalError::Read(e.to_string()))
    }

    /// Appends `record` without waiting: it becomes durable with the next
    /// group (a lost one only means work is done again, as for `Done`).
    pub fn note(&self, record: Record) {
        let _ = self.appends.send(Message::Append(record, None));
    }

    /// Writes what was appended before, stops the writer thread and waits
    /// for it, then lets go of the directory's lock, so another tap may open
    /// the journal at once. Appends after it fail with `Closed`. Blocks for
    /// the last write (an fsync): call it off the async runtime's threads.
    pub fn close(&self) {
        let _ = self.appends.send(Message::Close);
        if let Some(writer) = self.writer.locked().take()
            && writer.join().is_err()
        {
            tracing::error!("the journal's writer thread failed");
        }
        self.lock.locked().take();
    }

    /// Bytes of acknowledged parts and objects not in the store yet.
    pub fn backlog_bytes(&self) -> u64 {
        self.backlog.load(Ordering::Relaxed)
    }

    /// Whether the last write failed (a full or failing disk).
    pub fn failing(&self) -> bool {
        self.failing.load(Ordering::Relaxed)
    }
}

/// Keeps a second process out of `dir` for as long as the file is open.
fn lock_dir(dir: &Path) -> Result<File, String> {
    let file =
        File::options().create(true).truncate(false).write(true).open(dir.join("LOCK")).map_err(|e| e.to_string())?;
    #[cfg(unix)]
    rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive)
        .map_err(|_| "another otlp-capture tap is using this directory; give each tap its own --spool".to_owned())?;
    Ok(file)
}

/// Copies what a previous run left into the new segment: its parts and
/// pending objects (without their counts, which the checkpoint holds).
fn carry_forward(segments: &mut Segments, recovered: &Recovered) -> std::io::Result<()> {
    let mut records = Vec::new();
    for part in &recovered.parts {
        let header = Header::Prepared { parts: vec![part.meta.clone()], raw: part.raw };
        records.push(Record { header, blobs: vec![part.body.clone()] });
    }
    for raw in &recovered.raws {
        let header = Header::Raw { id: raw.id, signal: raw.signal, json: raw.json, sessions: raw.sessions.clone() };
        records.push(Record { header, blobs: vec![raw.payload.clone()] });
    }
    for commit in &recovered.commits {
        let header = Header::Commit {
            id: commit.id,
            session: String::new(),
            covers: Vec::new(),
            receipt: None,
            state: None,
            puts: commit.puts.iter().map(|(meta, _)| meta.clone()).collect(),
            dropped: None,
        };
        records.push(Record { header, blobs: commit.puts.iter().map(|(_, body)| body.clone()).collect() });
    }
    let mut frames = Vec::new();
    let mut starts = Vec::new();
    for record in &records {
        starts.push(frames.len());
        record.encode(&mut frames).map_err(std::io::Error::other)?;
    }
    segments.write(&frames, &starts, &records, true).map(|_| ())
}

/// The thread that writes groups of records.
struct Writer {
    segments: Segments,
    next: Arc<AtomicU64>,
    failing: Arc<AtomicBool>,
}

impl Writer {
    fn run(mut self, receiver: &Receiver<Message>) {
        // Records nobody waits for, whose write failed: tried again with the next group.
        let mut unwritten: Vec<Record> = Vec::new();
        let mut closing = false;
        while !closing {
            let Ok(Message::Append(record, waiter)) = receiver.recv() else { break };
            let mut bytes = record.blob_bytes() as usize;
            let mut group = vec![(record, waiter)];
            while bytes < GROUP_BYTES {
                match receiver.try_recv() {
                    Ok(Message::Append(record, waiter)) => {
                        bytes += record.blob_bytes() as usize;
                        group.push((record, waiter));
                    }
                    Ok(Message::Close) => {
                        closing = true;
                        break;
                    }
                    Err(_) => break,
                }
            }
            let mut records: Vec<Record> = std::mem::take(&mut unwritten);
            let mut waiters = Vec::new();
            for (record, waiter) in group {
                records.push(record);
                waiters.push(waiter);
            }
            let mut frames = Vec::with_capacity(bytes + records.len() * 256);
            let mut starts = Vec::with_capacity(records.len());
            let encoded = records.iter().try_for_each(|r| {
                starts.push(frames.len());
                r.encode(&mut frames)
            });
            let sync = waiters.iter().any(Option::is_some);
            let written = encoded
                .map_err(|e| e.to_string())
                .and_then(|()| self.segments.write(&frames, &starts, &records, sync).map_err(|e| e.to_string()));
            let was_failing = self.failing.swap(written.is_err(), Ordering::Relaxed);
            match (&written, was_failing) {
                (Err(e), false) => {
                    tracing::error!(error = %e, "the journal cannot be written; requests are refused until it can")
                }
                (Ok(_), true) => tracing::info!("the journal is written again"),
                _ => {}
            }
            // The records of `unwritten` come first, and nobody waits for them.
            let earlier = records.len() - waiters.len();
            match written {
                Ok(locations) => {
                    // Written: let go of the bytes before answering, so an appender
                    // holding the only other reference can take its buffer back.
                    drop(records);
                    for (waiter, location) in waiters.into_iter().zip(&locations[earlier..]) {
                        if let Some(waiter) = waiter {
                            let _ = waiter.send(Ok(*location));
                        }
                    }
                }
                Err(e) => {
                    let waiting = waiters.iter().map(Option::is_some);
                    let unwaited = std::iter::repeat_n(false, earlier).chain(waiting);
                    unwritten = records.into_iter().zip(unwaited).filter(|(_, w)| !w).map(|(r, _)| r).collect();
                    for waiter in waiters.into_iter().flatten() {
                        let _ = waiter.send(Err(JournalError::Write(e.clone())));
                    }
                }
            }
            if let Err(e) = self.segments.maintain(self.next.load(Ordering::Relaxed)) {
                tracing::debug!(error = %e, "journal segments could not be rotated or deleted");
            }
        }
    }
}

#[cfg(test)]
mod tests;
