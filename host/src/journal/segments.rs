//! The journal's files and what each still holds: the segment being
//! written, the older ones kept while a part in them is not inside an
//! object yet or an object in them is not stored yet, and the sessions'
//! states those records add up to, written at the head of every new
//! segment. Owned by the writer thread; nothing here is shared.

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::record::{Header, Record};
use crate::session::{SessionState, SessionStatus};

/// Where a record is: its segment and the offset of its frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// The segment's number.
    pub segment: u64,
    /// Bytes before the frame in the segment.
    pub offset: u64,
}

/// The file name of segment `number`.
pub fn segment_path(dir: &Path, number: u64) -> PathBuf {
    dir.join(format!("{number:020}.wal"))
}

/// The segments in `dir`, oldest first.
pub fn list_segments(dir: &Path) -> std::io::Result<Vec<u64>> {
    let mut numbers = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) == Some("wal")
            && let Some(number) = path.file_stem().and_then(|s| s.to_str()).and_then(|s| s.parse().ok())
        {
            numbers.push(number);
        }
    }
    numbers.sort_unstable();
    Ok(numbers)
}

/// Makes a new file's directory entry durable.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// The segments and the outstanding records in each.
pub struct Segments {
    dir: PathBuf,
    file: File,
    number: u64,
    /// Bytes of the current segment known to be written.
    length: u64,
    segment_bytes: u64,
    /// Records per segment still needed: parts not inside an object, objects not stored.
    outstanding: BTreeMap<u64, u64>,
    /// Part seq → (segment, bytes).
    parts: HashMap<u64, (u64, u64)>,
    /// Commit id → (segment, bytes).
    commits: HashMap<u64, (u64, u64)>,
    /// Spilled request id → (segment, bytes).
    raws: HashMap<u64, (u64, u64)>,
    /// The active sessions the records add up to.
    sessions: BTreeMap<String, SessionState>,
    /// Bytes of parts and objects not stored yet, shared with the handle.
    backlog: Arc<AtomicU64>,
}

impl Segments {
    /// Starts segment `number` in `dir` with a checkpoint of `sessions`.
    pub fn create(
        dir: &Path,
        number: u64,
        segment_bytes: u64,
        sessions: BTreeMap<String, SessionState>,
        next: u64,
        backlog: Arc<AtomicU64>,
    ) -> std::io::Result<Self> {
        let file = new_segment(dir, number, &sessions, next)?;
        let length = file.metadata()?.len();
        let mut segments = Segments {
            dir: dir.to_owned(),
            file,
            number,
            length,
            segment_bytes,
            outstanding: BTreeMap::new(),
            parts: HashMap::new(),
            commits: HashMap::new(),
            raws: HashMap::new(),
            sessions,
            backlog,
        };
        segments.outstanding.insert(number, 0);
        Ok(segments)
    }

    /// Writes `frames` (the encoded `records`, each starting at its offset
    /// in `starts`) durably when `sync`, and accounts for them; where each
    /// record is. A failed write is cut off again, so the segment holds
    /// whole records only.
    pub fn write(
        &mut self,
        frames: &[u8],
        starts: &[usize],
        records: &[Record],
        sync: bool,
    ) -> std::io::Result<Vec<Location>> {
        let written = self.file.write_all(frames).and_then(|()| if sync { self.file.sync_data() } else { Ok(()) });
        if let Err(e) = written {
            let _ = self.file.set_len(self.length);
            return Err(e);
        }
        let locations =
            starts.iter().map(|start| Location { segment: self.number, offset: self.length + *start as u64 }).collect();
        self.length += frames.len() as u64;
        for record in records {
            self.apply(record);
        }
        Ok(locations)
    }

    /// Accounts for a record written to the current segment.
    pub fn apply(&mut self, record: &Record) {
        let current = self.number;
        match &record.header {
            Header::Checkpoint { .. } => {}
            Header::Prepared { parts, .. } => {
                for part in parts {
                    self.parts.insert(part.seq, (current, part.len));
                    *self.outstanding.entry(current).or_default() += 1;
                    self.backlog.fetch_add(part.len, Ordering::Relaxed);
                }
            }
            Header::Raw { id, .. } => {
                let bytes = record.blob_bytes();
                self.raws.insert(*id, (current, bytes));
                *self.outstanding.entry(current).or_default() += 1;
                self.backlog.fetch_add(bytes, Ordering::Relaxed);
            }
            Header::RawDone { id } => {
                if let Some((segment, bytes)) = self.raws.remove(id) {
                    self.settle(segment, bytes);
                }
            }
            Header::Commit { id, session, covers, receipt, state, puts, dropped } => {
                for seq in covers {
                    if let Some((segment, bytes)) = self.parts.remove(seq) {
                        self.settle(segment, bytes);
                    }
                }
                if !puts.is_empty() {
                    let bytes = record.blob_bytes();
                    self.commits.insert(*id, (current, bytes));
                    *self.outstanding.entry(current).or_default() += 1;
                    self.backlog.fetch_add(bytes, Ordering::Relaxed);
                }
                apply_to_sessions(&mut self.sessions, session, receipt.as_deref(), state.as_deref(), *dropped);
            }
            Header::Done { id } => {
                if let Some((segment, bytes)) = self.commits.remove(id) {
                    self.settle(segment, bytes);
                }
            }
        }
    }

    fn settle(&mut self, segment: u64, bytes: u64) {
        if let Some(count) = self.outstanding.get_mut(&segment) {
            *count = count.saturating_sub(1);
        }
        self.backlog.fetch_sub(bytes, Ordering::Relaxed);
    }

    /// Starts a new segment once the current one is full, and deletes the
    /// older ones nothing is needed from any more.
    pub fn maintain(&mut self, next: u64) -> std::io::Result<()> {
        if self.length >= self.segment_bytes {
            let number = self.number + 1;
            self.file = new_segment(&self.dir, number, &self.sessions, next)?;
            self.length = self.file.metadata()?.len();
            self.number = number;
            self.outstanding.insert(number, 0);
        }
        let done: Vec<u64> =
            self.outstanding.iter().filter(|(n, count)| **n != self.number && **count == 0).map(|(n, _)| *n).collect();
        for number in done {
            std::fs::remove_file(segment_path(&self.dir, number))?;
            self.outstanding.remove(&number);
        }
        Ok(())
    }
}

/// Applies a commit's receipt and new state to the sessions it adds up to.
pub fn apply_to_sessions(
    sessions: &mut BTreeMap<String, SessionState>,
    session: &str,
    receipt: Option<&crate::session::CaptureReceipt>,
    state: Option<&SessionState>,
    dropped: Option<super::record::Dropped>,
) {
    if let Some(state) = state {
        if state.status == SessionStatus::Active {
            sessions.insert(session.to_owned(), state.clone());
        } else {
            sessions.remove(session);
        }
    }
    if let (Some(receipt), Some(active)) = (receipt, sessions.get_mut(session)) {
        active.counts.add(receipt);
    }
    if let (Some(dropped), Some(active)) = (dropped, sessions.get_mut(session)) {
        active.counts.dropped_requests += dropped.requests;
        active.counts.dropped_items += dropped.items;
    }
}

/// Creates segment `number` holding a checkpoint, durably.
fn new_segment(dir: &Path, number: u64, sessions: &BTreeMap<String, SessionState>, next: u64) -> std::io::Result<File> {
    let path = segment_path(dir, number);
    let mut file = OpenOptions::new().create_new(true).append(true).open(&path)?;
    let checkpoint = Record::bare(Header::Checkpoint { sessions: sessions.values().cloned().collect(), next });
    let mut frame = Vec::new();
    checkpoint.encode(&mut frame).map_err(std::io::Error::other)?;
    file.write_all(&frame)?;
    file.sync_all()?;
    sync_dir(dir)?;
    Ok(file)
}
