//! The fast path: OTLP requests handled on the protobuf wire format, without
//! decoding every span into structs and encoding it again.
//!
//! Timestamps are fixed64 fields, so rewriting them is an in-place write of
//! eight bytes; ids are fixed-length bytes, remapped in place as well; and
//! the session attributes go into each resource, which leads its batch, so
//! tagging rebuilds only the resources and copies the rest. One validating
//! [`Scan`] accepts exactly what decoding accepts and yields the summary.
//!
//! The decoding path (`codec`, `tagging`, `timestamps`, `id_remap`) stays as
//! the reference: it handles OTLP/JSON, sampling, filters and the irregular
//! requests a scan flags, and the tests hold both paths to the same result.

mod reader;
mod scan;
mod schema;
mod tag;
#[cfg(test)]
mod tests;

pub use reader::WireError;
pub use scan::{Collect, Scan};
pub use tag::{SessionAttributes, tag};

use crate::id_remap::IdRemap;
use crate::timestamps::{self, Rewrite};

/// Applies `rewrite` to the timestamps `scan` found in `buf` (scanned with
/// [`Collect::Offsets`]); returns the offset added to every non-zero
/// timestamp before saturation, as [`timestamps::rewrite`] computes it.
pub fn rewrite_timestamps(buf: &mut [u8], scan: &Scan, rewrite: Rewrite) -> i128 {
    let offset = match rewrite {
        Rewrite::None => return 0,
        Rewrite::Shift(offset) => i128::from(offset),
        Rewrite::NewestAt(instant) => match scan.bounds() {
            (_, 0) => return 0,
            (_, newest) => i128::from(instant) - i128::from(newest),
        },
    };
    if offset != 0 {
        for &at in &scan.timestamps {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&buf[at..at + 8]);
            let shifted = timestamps::shift(u64::from_le_bytes(bytes), offset);
            buf[at..at + 8].copy_from_slice(&shifted.to_le_bytes());
        }
    }
    offset
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
