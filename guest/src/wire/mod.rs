//! The fast path: OTLP requests handled on the protobuf wire format, without
//! decoding every span into structs and encoding it again.
//!
//! Timestamps are fixed64 fields, so rewriting them is an in-place write of
//! eight bytes; ids are fixed-length bytes, remapped in place as well; and
//! the session attributes go into each resource, which leads its batch, so
//! tagging rebuilds only the resources and copies the rest. One validating
//! [`Scan`] accepts exactly what decoding accepts and yields the summary.
//!
//! The decoding path (`codec`, `tagging`, `timestamps`, `replay`) stays as
//! the reference: it handles OTLP/JSON, sampling, filters and the irregular
//! requests a scan flags, and the tests hold both paths to the same result.

mod groups;
pub(crate) mod reader;
pub(crate) mod scan;
pub(crate) mod schema;
mod tag;

pub use groups::{StreamPart, keyed_stamps, stream_part};
pub use reader::WireError;
pub use scan::{Collect, Scan};
pub use tag::{SessionAttributes, tag};

use crate::id_remap::IdRemap;
use crate::timing::{self, Applied, Planned};

/// Adds `offset` to every non-zero timestamp `scan` found in `buf`
/// (scanned with [`Collect::Offsets`]), saturating.
pub fn shift_timestamps(buf: &mut [u8], scan: &Scan, offset: i128) {
    if offset == 0 {
        return;
    }
    for &at in &scan.timestamps {
        let shifted = timing::shift(read_u64(buf, at), offset);
        buf[at..at + 8].copy_from_slice(&shifted.to_le_bytes());
    }
}

/// Applies `planned` to the timestamps of `buf` that [`keyed_stamps`] found.
pub fn apply_planned(buf: &mut [u8], stamps: &[(u64, usize)], planned: &Planned) -> Applied {
    timing::apply(planned, |visit| {
        for &(key, at) in stamps {
            let mut time = read_u64(buf, at);
            let before = time;
            visit(key, &mut time);
            if time != before {
                buf[at..at + 8].copy_from_slice(&time.to_le_bytes());
            }
        }
    })
}

fn read_u64(buf: &[u8], at: usize) -> u64 {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&buf[at..at + 8]);
    u64::from_le_bytes(bytes)
}

/// Remaps every trace and span id `scan` found in `buf`.
pub fn remap_ids(buf: &mut [u8], scan: &Scan, remap: &IdRemap) {
    for &at in &scan.trace_ids {
        remap.trace_id(&mut buf[at..at + 16]);
    }
    for &at in &scan.span_ids {
        remap.span_id(&mut buf[at..at + 8]);
    }
}
