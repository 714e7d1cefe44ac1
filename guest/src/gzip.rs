//! gzip (RFC 1952) framing over miniz_oxide's deflate: every stored object is
//! a `.gz` file that `gunzip` reads.

use std::io::{Read, Write};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

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
    let mut encoder = GzEncoder::new(Vec::with_capacity(total / 4 + 64), Compression::new(level));
    for part in parts {
        // Writing into a Vec cannot fail.
        let _ = encoder.write_all(part);
    }
    encoder.finish().unwrap_or_default()
}

/// Decompresses a gzip stream, refusing output beyond `limit` bytes.
pub fn decompress(data: &[u8], limit: u64) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    GzDecoder::new(data).take(limit + 1).read_to_end(&mut out).map_err(|e| format!("not a gzip stream: {e}"))?;
    if out.len() as u64 > limit {
        return Err(format!("decompresses to more than {limit} bytes"));
    }
    Ok(out)
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
}
