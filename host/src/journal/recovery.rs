//! Reading the journal a previous run left: the sessions it had active
//! with their exact counts, the acknowledged parts no object holds yet, and
//! the objects not known to be stored. Records are folded in order; a
//! checkpoint restates the sessions, later commits add to them; parts and
//! objects are matched by number across every segment, so a record copied
//! forward into a newer segment is counted once.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use bytes::Bytes;

use super::record::{Header, PartMeta, PutMeta, Record, decode_all};
use super::segments::{apply_to_sessions, list_segments, segment_path};
use crate::otlp::Signal;
use crate::session::SessionState;

/// A commit whose objects may not be in the store yet.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingCommit {
    /// Its number.
    pub id: u64,
    /// Its objects with their bodies.
    pub puts: Vec<(PutMeta, Bytes)>,
}

/// An acknowledged part no commit covers.
#[derive(Debug, Clone, PartialEq)]
pub struct RecoveredPart {
    /// What it is.
    pub meta: PartMeta,
    /// Its tagged protobuf.
    pub body: Bytes,
    /// The spilled request it came from, if any.
    pub raw: Option<u64>,
}

/// A forwarded request that was spilled and not recorded into every session yet.
#[derive(Debug, Clone, PartialEq)]
pub struct SpilledRequest {
    /// Its number.
    pub id: u64,
    /// The signal.
    pub signal: Signal,
    /// Whether the payload is OTLP/JSON.
    pub json: bool,
    /// The sessions it still has to be recorded into.
    pub sessions: Vec<String>,
    /// The payload as received.
    pub payload: Bytes,
}

/// What a previous run's journal still holds.
#[derive(Debug, Default)]
pub struct Recovered {
    /// Sessions active when it stopped, with the counts of every object committed.
    pub sessions: BTreeMap<String, SessionState>,
    /// Acknowledged parts no commit covers, in the order they were acknowledged.
    pub parts: Vec<RecoveredPart>,
    /// Spilled requests still to record, oldest first.
    pub raws: Vec<SpilledRequest>,
    /// Commits not known to be stored, oldest first: put again (same keys, same bytes).
    pub commits: Vec<PendingCommit>,
    /// The next number to assign.
    pub next: u64,
    /// The segment files read, oldest first.
    pub segments: Vec<u64>,
    /// Damage found (a cut last write is expected after a crash; anything else is reported).
    pub damage: Vec<String>,
}

impl Recovered {
    /// Whether a previous run left anything to do.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty() && self.parts.is_empty() && self.commits.is_empty() && self.raws.is_empty()
    }
}

/// Reads every segment in `dir`, oldest first.
pub fn read(dir: &Path) -> std::io::Result<Recovered> {
    let mut recovered = Recovered::default();
    let mut parts: BTreeMap<u64, RecoveredPart> = BTreeMap::new();
    let mut raws: BTreeMap<u64, SpilledRequest> = BTreeMap::new();
    let mut raws_done: HashSet<u64> = HashSet::new();
    // Sessions each spilled request was already prepared for.
    let mut raw_prepared: HashMap<u64, HashSet<String>> = HashMap::new();
    let mut covered: HashSet<u64> = HashSet::new();
    let mut commits: BTreeMap<u64, PendingCommit> = BTreeMap::new();
    let mut done: HashSet<u64> = HashSet::new();
    let numbers = list_segments(dir)?;
    for (position, number) in numbers.iter().enumerate() {
        let data = Bytes::from(std::fs::read(segment_path(dir, *number))?);
        let (records, error) = decode_all(&data);
        if let Some(error) = error {
            let last = position + 1 == numbers.len();
            recovered
                .damage
                .push(format!("segment {number}: {error}{}", if last { " (the write a crash cut)" } else { "" }));
        }
        for Record { header, blobs } in records {
            match header {
                Header::Checkpoint { sessions, next } => {
                    recovered.sessions = sessions.into_iter().map(|s| (s.id().to_owned(), s)).collect();
                    recovered.next = recovered.next.max(next);
                }
                Header::Prepared { parts: metas, raw } => {
                    for (meta, blob) in metas.into_iter().zip(blobs) {
                        recovered.next = recovered.next.max(meta.seq + 1);
                        if let Some(raw) = raw {
                            raw_prepared.entry(raw).or_default().insert(meta.session.clone());
                        }
                        if !covered.contains(&meta.seq) {
                            // Copied, so the segment's buffer is not kept alive by a slice of it.
                            let body = Bytes::copy_from_slice(&blob);
                            parts.insert(meta.seq, RecoveredPart { meta, body, raw });
                        }
                    }
                }
                Header::Raw { id, signal, json, sessions } => {
                    recovered.next = recovered.next.max(id + 1);
                    if !raws_done.contains(&id) {
                        let payload = blobs.first().map(|b| Bytes::copy_from_slice(b)).unwrap_or_default();
                        raws.insert(id, SpilledRequest { id, signal, json, sessions, payload });
                    }
                }
                Header::RawDone { id } => {
                    raws.remove(&id);
                    raws_done.insert(id);
                }
                Header::Commit { id, session, covers, receipt, state, puts, dropped } => {
                    recovered.next = recovered.next.max(id + 1);
                    for seq in covers {
                        parts.remove(&seq);
                        covered.insert(seq);
                    }
                    apply_to_sessions(&mut recovered.sessions, &session, receipt.as_deref(), state.as_deref(), dropped);
                    if !puts.is_empty() && !done.contains(&id) {
                        let puts = puts.into_iter().zip(blobs).map(|(m, b)| (m, Bytes::copy_from_slice(&b))).collect();
                        commits.insert(id, PendingCommit { id, puts });
                    }
                }
                Header::Done { id } => {
                    commits.remove(&id);
                    done.insert(id);
                }
            }
        }
    }
    recovered.parts = parts.into_values().collect();
    recovered.raws = raws
        .into_values()
        .map(|mut raw| {
            let prepared = raw_prepared.get(&raw.id);
            raw.sessions.retain(|s| !prepared.is_some_and(|p| p.contains(s)));
            raw
        })
        .collect();
    recovered.commits = commits.into_values().collect();
    recovered.segments = numbers;
    Ok(recovered)
}
