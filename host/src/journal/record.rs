//! The journal's records and their framing on disk. A frame is
//! `[length u32][crc32 u32][header length u32][header JSON][blob]`, little
//! endian, the CRC over everything after it; a frame that is cut short or
//! whose CRC does not match ends what can be read (a write the crash cut).

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::otlp::{PayloadSummary, Signal};
use crate::session::{CaptureReceipt, RedactionCounts, SessionState};

/// Largest frame a reader accepts: bigger lengths are corruption.
const MAX_FRAME_BYTES: usize = 1 << 30;

/// A prepared request of one session, acknowledged once its record is durable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartMeta {
    /// Its number in the journal; commits name the parts they cover by it.
    pub seq: u64,
    /// The session it was prepared for.
    pub session: String,
    /// What it holds.
    pub summary: PayloadSummary,
    /// Bytes of the payload as received.
    pub bytes_in: u64,
    /// Bytes of its tagged protobuf in the blob.
    pub len: u64,
    /// What redaction changed in it (zero in journals of older releases).
    #[serde(default)]
    pub redaction: RedactionCounts,
}

/// One object a commit puts to the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PutMeta {
    /// The object key.
    pub key: String,
    /// Its media type.
    pub content_type: String,
    /// Its bytes in the blob.
    pub len: u64,
}

/// Forwarded requests a session could not record (and their items).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dropped {
    /// Requests.
    pub requests: u64,
    /// Items in them, as far as they were counted.
    pub items: u64,
}

/// The JSON header of a record; the blob holds the bytes it lists, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
pub enum Header {
    /// First in every segment: the sessions active when it began, with the
    /// counts of every commit before it, and the next number to assign.
    Checkpoint {
        /// Active sessions.
        sessions: Vec<SessionState>,
        /// Numbers below this were used.
        next: u64,
    },
    /// Prepared requests of one session.
    Prepared {
        /// The parts; their protobufs follow in the blob.
        parts: Vec<PartMeta>,
        /// The spilled request they were prepared from, if any.
        #[serde(default)]
        raw: Option<u64>,
    },
    /// A forwarded request whose recording fell behind, as received (after
    /// transport decompression), to be recorded from here later.
    Raw {
        /// Its number; `Prepared` records name it, `RawDone` settles it.
        id: u64,
        /// The signal.
        signal: Signal,
        /// Whether the payload is OTLP/JSON (else protobuf).
        json: bool,
        /// The sessions it was for.
        sessions: Vec<String>,
    },
    /// A spilled request was recorded into every session that still took it.
    RawDone {
        /// The `Raw` record.
        id: u64,
    },
    /// Objects made for a session, what they cover and what they change.
    Commit {
        /// Its number; a `Done` names it once its puts are stored.
        id: u64,
        /// The session.
        session: String,
        /// Parts now inside these objects.
        covers: Vec<u64>,
        /// What the objects add to the session's counts.
        receipt: Option<Box<CaptureReceipt>>,
        /// A new state: active when the session starts (or is taken up),
        /// ended when it stops.
        state: Option<Box<SessionState>>,
        /// The objects; their bodies follow in the blob.
        puts: Vec<PutMeta>,
        /// Forwarded requests this session could not record, counted.
        #[serde(default)]
        dropped: Option<Dropped>,
    },
    /// A commit's objects are in the store (or the spool).
    Done {
        /// The commit.
        id: u64,
    },
}

/// A record: its header and the bytes it lists.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// What it is.
    pub header: Header,
    /// The protobufs or object bodies, in the header's order.
    pub blobs: Vec<Bytes>,
}

impl Record {
    /// A record without bytes.
    pub fn bare(header: Header) -> Self {
        Record { header, blobs: Vec::new() }
    }

    /// Bytes of its blobs.
    pub fn blob_bytes(&self) -> u64 {
        self.blobs.iter().map(|b| b.len() as u64).sum()
    }

    /// Appends the record's frame to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        let header = serde_json::to_vec(&self.header)?;
        let start = out.len();
        out.extend_from_slice(&[0; 8]);
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
        out.extend_from_slice(&header);
        for blob in &self.blobs {
            out.extend_from_slice(blob);
        }
        let body = &out[start + 8..];
        let (length, crc) = (body.len() as u32, crc32fast::hash(body));
        out[start..start + 4].copy_from_slice(&length.to_le_bytes());
        out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
        Ok(())
    }
}

/// Why reading stopped before the end of a segment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The segment ends inside a frame: the last write was cut.
    #[error("a record cut short at byte {0}")]
    Truncated(usize),
    /// The bytes of a frame are not what was written.
    #[error("a damaged record at byte {0}: {1}")]
    Damaged(usize, String),
}

/// Reads the frames of a segment's bytes, in order; stops at the first that
/// is cut short or damaged, returning the records before it and why.
pub fn decode_all(data: &Bytes) -> (Vec<Record>, Option<FrameError>) {
    let mut records = Vec::new();
    let mut at = 0;
    while at < data.len() {
        match decode_one(data, at) {
            Ok((record, next)) => {
                records.push(record);
                at = next;
            }
            Err(e) => return (records, Some(e)),
        }
    }
    (records, None)
}

/// Reads the one frame at `at`; also where the next begins.
pub fn decode_one(data: &Bytes, at: usize) -> Result<(Record, usize), FrameError> {
    let word = |offset: usize| -> Option<usize> {
        let bytes = data.get(offset..offset + 4)?;
        Some(u32::from_le_bytes(bytes.try_into().ok()?) as usize)
    };
    let (Some(length), Some(crc)) = (word(at), word(at + 4)) else { return Err(FrameError::Truncated(at)) };
    if !(4..=MAX_FRAME_BYTES).contains(&length) {
        return Err(FrameError::Damaged(at, format!("impossible length {length}")));
    }
    let end = at + 8 + length;
    let Some(body) = data.get(at + 8..end) else { return Err(FrameError::Truncated(at)) };
    if crc32fast::hash(body) as usize != crc {
        return Err(FrameError::Damaged(at, "checksum mismatch".into()));
    }
    let header_len =
        word(at + 8).filter(|n| *n <= length - 4).ok_or(FrameError::Damaged(at, "header length".into()))?;
    let header_end = at + 12 + header_len;
    let header: Header =
        serde_json::from_slice(&data[at + 12..header_end]).map_err(|e| FrameError::Damaged(at, e.to_string()))?;
    let lengths: Vec<u64> = match &header {
        Header::Prepared { parts, .. } => parts.iter().map(|p| p.len).collect(),
        Header::Commit { puts, .. } => puts.iter().map(|p| p.len).collect(),
        Header::Raw { .. } => vec![(end - header_end) as u64],
        Header::Checkpoint { .. } | Header::Done { .. } | Header::RawDone { .. } => Vec::new(),
    };
    let mut blobs = Vec::with_capacity(lengths.len());
    let mut offset = header_end;
    for len in lengths {
        let next = usize::try_from(len).ok().and_then(|len| offset.checked_add(len)).filter(|n| *n <= end);
        let next = next.ok_or_else(|| FrameError::Damaged(at, "blob lengths exceed the record".into()))?;
        blobs.push(data.slice(offset..next));
        offset = next;
    }
    if offset != end {
        return Err(FrameError::Damaged(at, "blob lengths do not fill the record".into()));
    }
    Ok((Record { header, blobs }, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prepared() -> Record {
        let summary =
            PayloadSummary { signal: Signal::Logs, items: 3, resources: 1, min_unix_nanos: 5, max_unix_nanos: 9 };
        let part = |seq, len| PartMeta {
            seq,
            session: "s1".into(),
            summary,
            bytes_in: 10,
            len,
            redaction: RedactionCounts::default(),
        };
        Record {
            header: Header::Prepared { parts: vec![part(1, 3), part(2, 2)], raw: None },
            blobs: vec![Bytes::from_static(b"abc"), Bytes::from_static(b"de")],
        }
    }

    #[test]
    fn frames_round_trip_and_a_cut_or_damaged_tail_ends_the_read() {
        let mut out = Vec::new();
        prepared().encode(&mut out).unwrap();
        Record::bare(Header::Done { id: 7 }).encode(&mut out).unwrap();
        let whole = Bytes::from(out.clone());
        let (records, error) = decode_all(&whole);
        assert_eq!((records.len(), error), (2, None));
        assert_eq!(records[0], prepared());
        for cut in [out.len() - 1, out.len() - 20] {
            let (records, error) = decode_all(&whole.slice(..cut));
            assert_eq!(records.len(), 1);
            assert!(matches!(error, Some(FrameError::Truncated(_)) | Some(FrameError::Damaged(..))), "{error:?}");
        }
        let mut flipped = out;
        let last = flipped.len() - 2;
        flipped[last] ^= 1;
        let (records, error) = decode_all(&Bytes::from(flipped));
        assert_eq!(records.len(), 1);
        assert!(matches!(error, Some(FrameError::Damaged(_, _))));
    }
}
