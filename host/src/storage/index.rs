//! The per-object index of a session: one line of facts per stored object
//! (signal, items, telemetry time bounds, sizes), written at capture time
//! so that the timeline reads a few index segments instead of every
//! object. A tap writes a segment, `sessions/{id}/index/{millis}-{random}.json`,
//! with the objects it stored since its last metadata refresh; segments are
//! never rewritten, so many taps and restarts add segments side by side.
//! An object no segment names (a crash before the refresh, a session
//! recorded before the index existed) is summarized from the object itself.
//! When a session ends, its segments are merged into one.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::{Storage, StorageError};
use crate::otlp::Signal;
use crate::session::CaptureReceipt;

/// The version of the segment format written here.
const FORMAT_VERSION: u32 = 1;

/// Segments read at once.
const READS_IN_FLIGHT: usize = 16;

/// What the index knows of one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexEntry {
    /// The object's key under the store root.
    pub key: String,
    /// Its signal.
    pub signal: Signal,
    /// Spans, data points or log records in it.
    pub items: u64,
    /// Earliest non-zero telemetry timestamp, unix nanos (0: none). A
    /// string in JSON: nanos exceed what JavaScript numbers hold exactly.
    #[serde(with = "decimal")]
    pub min_unix_nanos: u64,
    /// Latest telemetry timestamp, unix nanos (0: none).
    #[serde(with = "decimal")]
    pub max_unix_nanos: u64,
    /// When it was captured (the time in its key), unix millis.
    pub capture_unix_millis: u64,
    /// Its stored (gzip) size.
    pub compressed_bytes: u64,
}

impl IndexEntry {
    /// The entry of the object a capture receipt describes.
    pub fn of_receipt(receipt: &CaptureReceipt) -> Self {
        IndexEntry {
            key: receipt.key.clone(),
            signal: receipt.summary.signal,
            items: receipt.summary.items,
            min_unix_nanos: receipt.summary.min_unix_nanos,
            max_unix_nanos: receipt.summary.max_unix_nanos,
            capture_unix_millis: receipt.capture_unix_nanos / 1_000_000,
            compressed_bytes: receipt.compressed_bytes,
        }
    }
}

/// One segment as stored.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Segment {
    format_version: u32,
    objects: Vec<IndexEntry>,
}

/// The folder of a session's index segments.
fn folder(session: &str) -> String {
    format!("sessions/{session}/index/")
}

/// Writes `entries` of `session` as a new segment; `now_unix_millis` orders
/// segments by name. Nothing is written for no entries.
pub async fn write_segment(
    storage: &Storage,
    session: &str,
    entries: &[IndexEntry],
    now_unix_millis: u64,
) -> Result<(), StorageError> {
    if entries.is_empty() {
        return Ok(());
    }
    let segment = Segment { format_version: FORMAT_VERSION, objects: entries.to_vec() };
    let body = serde_json::to_vec(&segment).unwrap_or_default();
    let key = format!("{}{now_unix_millis:013}-{:016x}.json", folder(session), fastrand::u64(..));
    storage.put(&key, body.into(), "application/json").await
}

/// Every entry the segments of `session` hold, by object key. A segment
/// that cannot be read is skipped with a warning (its objects are then
/// summarized from the objects themselves).
pub async fn read_all(storage: &Storage, session: &str) -> Result<HashMap<String, IndexEntry>, StorageError> {
    read_segments(storage, segment_keys(storage, session).await?).await
}

/// The keys of `session`'s segments.
async fn segment_keys(storage: &Storage, session: &str) -> Result<Vec<String>, StorageError> {
    Ok(storage.list(&folder(session)).await?.into_iter().map(|o| o.key).collect())
}

/// Every entry the segments under `keys` hold, by object key.
async fn read_segments(storage: &Storage, keys: Vec<String>) -> Result<HashMap<String, IndexEntry>, StorageError> {
    use futures::StreamExt;
    let mut reads = futures::stream::iter(keys)
        .map(|key| async move { (storage.get(&key).await, key) })
        .buffer_unordered(READS_IN_FLIGHT);
    let mut entries = HashMap::new();
    while let Some((read, key)) = reads.next().await {
        let Some(body) = read? else { continue };
        match serde_json::from_slice::<Segment>(&body) {
            Ok(segment) if segment.format_version == FORMAT_VERSION => {
                entries.extend(segment.objects.into_iter().map(|e| (e.key.clone(), e)));
            }
            Ok(segment) => {
                tracing::warn!(%key, version = segment.format_version, "skipping an index segment of another format")
            }
            Err(e) => tracing::warn!(%key, error = %e, "skipping an unreadable index segment"),
        }
    }
    Ok(entries)
}

/// Merges the segments of an ended session into one, so its timeline reads
/// one file: writes the merge, then deletes the segments it merged (a
/// segment another tap adds meanwhile is left beside it). Returns how many
/// segments were merged; nothing changes when there are fewer than two.
pub async fn compact(storage: &Storage, session: &str, now_unix_millis: u64) -> Result<usize, StorageError> {
    let segments = segment_keys(storage, session).await?;
    if segments.len() < 2 {
        return Ok(0);
    }
    let mut entries: Vec<IndexEntry> = read_segments(storage, segments.clone()).await?.into_values().collect();
    entries.sort_by(|a, b| (a.capture_unix_millis, &a.key).cmp(&(b.capture_unix_millis, &b.key)));
    write_segment(storage, session, &entries, now_unix_millis).await?;
    storage.delete_all(&segments).await?;
    Ok(segments.len())
}

/// Unix nanos as decimal strings, as metadata.json keeps them.
mod decimal {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &u64, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(value)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_with_nanos_as_strings() {
        let entry = IndexEntry {
            key: "sessions/s/raw/2026-11-26/08/traces-1-x.otlp.gz".into(),
            signal: Signal::Traces,
            items: 7,
            min_unix_nanos: 1_800_000_000_123_456_789,
            max_unix_nanos: 1_800_000_001_000_000_001,
            capture_unix_millis: 1_800_000_001_500,
            compressed_bytes: 321,
        };
        let text = serde_json::to_string(&entry).unwrap();
        assert!(text.contains(r#""minUnixNanos":"1800000000123456789""#), "{text}");
        assert_eq!(serde_json::from_str::<IndexEntry>(&text).unwrap(), entry);
    }
}
