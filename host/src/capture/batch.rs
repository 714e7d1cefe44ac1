//! A session's prepared requests waiting to become objects: one batch per
//! signal, stored once it holds enough bytes or its oldest request waited
//! long enough, and put back ahead of newer requests when storing failed.

use std::time::{Duration, Instant};

use crate::otlp::Signal;
use crate::runtime::processor_types::PreparedCapture;

/// When a batch becomes an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    /// Store once the batch holds this many protobuf bytes; 0 stores every request alone.
    pub max_bytes: usize,
    /// Store once the oldest request in the batch has waited this long.
    pub max_age: Duration,
}

impl Default for BatchLimits {
    fn default() -> Self {
        BatchLimits { max_bytes: 1 << 20, max_age: Duration::from_secs(1) }
    }
}

impl BatchLimits {
    /// Past this many bytes waiting (earlier batches could not be stored),
    /// a session refuses new requests rather than hold more in memory.
    fn backlog_bytes(&self) -> usize {
        self.max_bytes.saturating_mul(4)
    }
}

/// Prepared requests waiting to become one object, with their journal
/// numbers (the commit of the object covers them).
#[derive(Debug, Default)]
pub struct BatchParts {
    /// The requests, oldest first.
    pub parts: Vec<PreparedCapture>,
    /// Their journal numbers, in the same order (0s in memory mode).
    pub seqs: Vec<u64>,
}

impl BatchParts {
    fn bytes(&self) -> usize {
        self.parts.iter().map(|p| p.protobuf.len()).sum()
    }
}

/// Prepared requests of one session and signal, not stored yet.
#[derive(Default)]
struct Batch {
    waiting: BatchParts,
    bytes: usize,
    since: Option<Instant>,
}

impl Batch {
    fn take(&mut self) -> BatchParts {
        self.bytes = 0;
        self.since = None;
        std::mem::take(&mut self.waiting)
    }
}

/// The batches of one session, one per signal.
#[derive(Default)]
pub struct Batches {
    by_signal: [Batch; 3],
}

/// A batch could not take a request: too much waits already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backlogged;

impl Batches {
    /// Adds a prepared request to its signal's batch; returns the batch to
    /// store when it reached `limits`.
    pub fn add(
        &mut self,
        part: PreparedCapture,
        seq: u64,
        limits: BatchLimits,
    ) -> Result<Option<BatchParts>, Backlogged> {
        let batch = &mut self.by_signal[part.summary.signal.index()];
        if limits.max_bytes > 0 && batch.bytes >= limits.backlog_bytes() {
            return Err(Backlogged);
        }
        batch.bytes += part.protobuf.len();
        batch.since.get_or_insert_with(Instant::now);
        batch.waiting.parts.push(part);
        batch.waiting.seqs.push(seq);
        Ok((batch.bytes >= limits.max_bytes).then(|| batch.take()))
    }

    /// Adds a part a previous run acknowledged (from the journal): it never
    /// refuses, since the client was already answered.
    pub fn add_recovered(&mut self, part: PreparedCapture, seq: u64) {
        let batch = &mut self.by_signal[part.summary.signal.index()];
        batch.bytes += part.protobuf.len();
        batch.since.get_or_insert_with(Instant::now);
        batch.waiting.parts.push(part);
        batch.waiting.seqs.push(seq);
    }

    /// Takes the batches of every signal that waited `max_age` (all that
    /// hold anything when `None`).
    pub fn take_due(&mut self, max_age: Option<Duration>) -> Vec<(Signal, BatchParts)> {
        Signal::ALL
            .into_iter()
            .filter_map(|signal| {
                let batch = &mut self.by_signal[signal.index()];
                let due = match (max_age, batch.since) {
                    (_, None) => false,
                    (None, Some(_)) => true,
                    (Some(age), Some(since)) => since.elapsed() >= age,
                };
                due.then(|| (signal, batch.take()))
            })
            .collect()
    }

    /// Puts back a batch that could not be stored, ahead of newer requests.
    pub fn restore(&mut self, signal: Signal, mut waiting: BatchParts) {
        let batch = &mut self.by_signal[signal.index()];
        batch.bytes += waiting.bytes();
        waiting.parts.append(&mut batch.waiting.parts);
        waiting.seqs.append(&mut batch.waiting.seqs);
        batch.waiting = waiting;
        batch.since = Some(batch.since.map_or_else(Instant::now, |s| s.min(Instant::now())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otlp::PayloadSummary;

    fn part(signal: Signal, bytes: usize) -> PreparedCapture {
        let summary = PayloadSummary { signal, items: 1, resources: 1, min_unix_nanos: 0, max_unix_nanos: 0 };
        PreparedCapture { protobuf: vec![0; bytes], summary, bytes_in: bytes as u64, redaction: Default::default() }
    }

    #[test]
    fn a_batch_is_due_at_its_size_and_signals_stay_apart() {
        let limits = BatchLimits { max_bytes: 100, max_age: Duration::from_secs(60) };
        let mut batches = Batches::default();
        assert!(batches.add(part(Signal::Traces, 60), 1, limits).unwrap().is_none());
        assert!(batches.add(part(Signal::Logs, 60), 2, limits).unwrap().is_none());
        let full = batches.add(part(Signal::Traces, 40), 3, limits).unwrap().expect("full at 100 bytes");
        assert_eq!((full.parts.len(), full.seqs), (2, vec![1, 3]));
        let rest = batches.take_due(None);
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].0, Signal::Logs);
        assert!(batches.take_due(Some(Duration::ZERO)).is_empty(), "nothing left");
    }

    #[test]
    fn a_restored_batch_goes_first_and_a_backlog_refuses() {
        let limits = BatchLimits { max_bytes: 10, max_age: Duration::from_secs(60) };
        let mut batches = Batches::default();
        let first = batches.add(part(Signal::Metrics, 10), 1, limits).unwrap().unwrap();
        assert!(batches.add(part(Signal::Metrics, 3), 2, limits).unwrap().is_none());
        batches.restore(Signal::Metrics, first);
        let due = batches.take_due(Some(Duration::ZERO));
        let sizes: Vec<usize> = due[0].1.parts.iter().map(|p| p.protobuf.len()).collect();
        assert_eq!((sizes, due[0].1.seqs.clone()), (vec![10, 3], vec![1, 2]));
        batches.restore(Signal::Metrics, BatchParts { parts: vec![part(Signal::Metrics, 40)], seqs: vec![4] });
        assert!(matches!(batches.add(part(Signal::Metrics, 1), 5, limits), Err(Backlogged)));
    }
}
