//! gzip (RFC 1952): every stored object is a `.gz` file that `gunzip` reads.
//! Deflate is miniz_oxide's (through flate2); the framing is written here,
//! byte for byte as flate2's, with zlib-rs's CRC-32 (1.3x crc32fast's speed
//! in wasm, BENCHMARKS.md). Inflate is zlib-rs's, about twice as fast in wasm,
//! and checks the CRC-32 and size in the trailer.

use std::io::Write;

use flate2::Compression;
use flate2::write::DeflateEncoder;
use zlib_rs::{Inflate, InflateFlush, Status};

/// zlib's window bits for a gzip wrapper around the largest window.
const GZIP_WINDOW_BITS: u8 = 31;
/// The smallest gzip member: a 10-byte header, an empty deflate block, the
/// 8-byte trailer.
const MIN_MEMBER_BYTES: usize = 20;

/// The default compression level: fast, with most of the ratio of level 6 on
/// OTLP protobuf.
pub const DEFAULT_LEVEL: u32 = 1;

/// Compresses `data` into one gzip member.
pub fn compress(data: &[u8], level: u32) -> Vec<u8> {
    compress_parts(&[data], level)
}

/// Compresses the concatenation of `parts` into one gzip member, without
/// concatenating them first.
pub fn compress_parts(parts: &[&[u8]], level: u32) -> Vec<u8> {
    let total: usize = parts.iter().map(|p| p.len()).sum();
    let mut out = Vec::with_capacity(total / 4 + 64);
    out.extend_from_slice(&header(level));
    let mut encoder = DeflateEncoder::new(out, Compression::new(level));
    let mut crc = 0;
    for part in parts {
        // Writing into a Vec cannot fail.
        let _ = encoder.write_all(part);
        crc = zlib_rs::crc32::crc32(crc, part);
    }
    let mut out = encoder.finish().unwrap_or_default();
    out.extend_from_slice(&crc.to_le_bytes());
    // ISIZE is the size modulo 2^32 (RFC 1952).
    out.extend_from_slice(&(total as u32).to_le_bytes());
    out
}

/// The 10-byte member header flate2 writes: no name or time, the extra
/// flags of the level (2 for the best, 4 for the fastest), OS unknown.
fn header(level: u32) -> [u8; 10] {
    let extra_flags = match level {
        9.. => 2,
        0 | 1 => 4,
        _ => 0,
    };
    [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, extra_flags, 255]
}

/// Decompresses a gzip member, refusing output beyond `limit` bytes.
///
/// The output buffer is sized by the size the trailer states (ISIZE, exact
/// below 4 GiB), so a bomb is refused before any work and inflating never
/// reallocates; a stream whose data disagrees with its trailer fails zlib's
/// own checks. Only the first member is read, and it must be the whole input:
/// objects are one member, and anything after it would otherwise be lost
/// without a word.
pub fn decompress(data: &[u8], limit: u64) -> Result<Vec<u8>, String> {
    if data.len() < MIN_MEMBER_BYTES || data[..2] != [0x1f, 0x8b] {
        return Err("not a gzip stream: no gzip header".into());
    }
    let mut trailer = [0u8; 4];
    trailer.copy_from_slice(&data[data.len() - 4..]);
    let stated = u64::from(u32::from_le_bytes(trailer));
    if stated > limit {
        return Err(format!("decompresses to more than {limit} bytes"));
    }
    // One byte more than stated, so that a stream longer than its trailer
    // says is told apart from one that fits.
    let mut out = vec![0u8; stated as usize + 1];
    let mut inflate = Inflate::new(true, GZIP_WINDOW_BITS);
    let status = inflate
        .decompress(data, &mut out, InflateFlush::Finish)
        .map_err(|e| format!("not a gzip stream: {}", e.as_str()))?;
    let (consumed, inflated) = (inflate.total_in(), inflate.total_out());
    match status {
        Status::StreamEnd if inflated == stated && consumed == data.len() as u64 => {
            out.truncate(stated as usize);
            Ok(out)
        }
        Status::StreamEnd if inflated == stated => {
            Err(format!("not a gzip stream: {} bytes follow its first member", data.len() as u64 - consumed))
        }
        _ => Err("not a gzip stream: the data disagrees with its trailer".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_has_gzip_magic() {
        let data = b"hello hello hello hello".repeat(100);
        let gz = compress(&data, DEFAULT_LEVEL);
        assert_eq!(&gz[..2], &[0x1f, 0x8b]);
        assert!(gz.len() < data.len());
        assert_eq!(decompress(&gz, 1 << 20).unwrap(), data);
    }

    #[test]
    fn the_framing_is_flate2s_byte_for_byte() {
        let data: Vec<u8> = (0..200_000u32).flat_map(|n| (n % 251).to_le_bytes()).collect();
        let (head, tail) = data.split_at(70_001);
        for level in [0, 1, 4, 6, 9] {
            let mut encoder = flate2::write::GzEncoder::new(Vec::new(), Compression::new(level));
            encoder.write_all(&data).unwrap();
            let expected = encoder.finish().unwrap();
            assert_eq!(compress_parts(&[head, tail], level), expected, "level {level}");
        }
        assert_eq!(compress(&[], 1), {
            let encoder = flate2::write::GzEncoder::new(Vec::new(), Compression::new(1));
            encoder.finish().unwrap()
        });
    }

    #[test]
    fn parts_compress_as_their_concatenation() {
        let (a, b) = (b"first part ".repeat(50), b"second part".repeat(70));
        let gz = compress_parts(&[&a, &b], DEFAULT_LEVEL);
        assert_eq!(decompress(&gz, 1 << 20).unwrap(), [a, b].concat());
    }

    #[test]
    fn refuses_bombs_and_garbage() {
        let gz = compress(&vec![0u8; 1 << 20], 9);
        assert!(decompress(&gz, 1000).unwrap_err().contains("more than"));
        assert!(decompress(b"plain", 1000).is_err());
    }

    #[test]
    fn a_trailer_that_lies_or_a_second_member_is_refused() {
        let data = b"telemetry ".repeat(500);
        let gz = compress(&data, DEFAULT_LEVEL);
        let mut short = gz.clone();
        let stated = short.len() - 4;
        short[stated..].copy_from_slice(&(data.len() as u32 - 1).to_le_bytes());
        assert!(decompress(&short, 1 << 20).is_err(), "a trailer that understates the size");
        let mut long = gz.clone();
        long[stated..].copy_from_slice(&(data.len() as u32 + 1).to_le_bytes());
        assert!(decompress(&long, 1 << 20).is_err(), "a trailer that overstates the size");
        let mut corrupt = gz.clone();
        corrupt[stated - 2] ^= 0xff;
        assert!(decompress(&corrupt, 1 << 20).is_err(), "a wrong CRC-32");
        let twice = [gz.clone(), gz.clone()].concat();
        assert!(decompress(&twice, 1 << 20).unwrap_err().contains("follow its first member"));
        assert_eq!(decompress(&compress(b"", DEFAULT_LEVEL), 10).unwrap(), b"");
    }
}
