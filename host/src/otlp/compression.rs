//! Request body encodings, as the Collector's receivers accept them: over
//! HTTP (`Content-Encoding`) gzip, zstd, zlib/deflate, snappy (block or
//! framed) and lz4 (frame); over gRPC (`grpc-encoding`) gzip, zstd, snappy
//! and deflate. Every decoder stops one byte past the body limit, so a small
//! compressed bomb cannot take the tap's memory.

use std::io::Read;

use flate2::read::{DeflateDecoder, GzDecoder, ZlibDecoder};

/// How a request body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    /// Not encoded.
    Identity,
    /// gzip (RFC 1952).
    Gzip,
    /// zlib (RFC 1950), which HTTP calls deflate; raw deflate (RFC 1951) is
    /// taken too, as some clients send it under that name.
    Zlib,
    /// Zstandard frames.
    Zstd,
    /// Snappy, block format or the framing format (told apart by the
    /// framing format's stream identifier, as the Collector does).
    Snappy,
    /// LZ4 frames.
    Lz4,
}

/// Why a body could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Not valid data of its encoding.
    #[error("the {coding} request body is corrupt: {reason}")]
    Corrupt {
        /// The encoding's name.
        coding: &'static str,
        /// What the decoder said.
        reason: String,
    },
    /// It decodes to more than the limit.
    #[error("the request body decodes to more than {0} bytes")]
    TooLarge(usize),
}

/// The framing format's stream identifier chunk.
const SNAPPY_FRAMED_MAGIC: &[u8] = b"\xff\x06\x00\x00sNaPpY";

impl Coding {
    /// The coding an HTTP `Content-Encoding` names; `Err` with the name for
    /// one the receiver does not know.
    pub fn from_http(value: &str) -> Result<Coding, String> {
        match value.trim().to_ascii_lowercase().as_str() {
            "" | "identity" => Ok(Coding::Identity),
            "gzip" | "x-gzip" => Ok(Coding::Gzip),
            "deflate" | "zlib" => Ok(Coding::Zlib),
            "zstd" => Ok(Coding::Zstd),
            "snappy" | "x-snappy-framed" => Ok(Coding::Snappy),
            "lz4" => Ok(Coding::Lz4),
            other => Err(other.to_owned()),
        }
    }

    /// The coding a gRPC `grpc-encoding` names; `Err` with the name for one
    /// the receiver does not know.
    pub fn from_grpc(value: &str) -> Result<Coding, String> {
        match value.trim() {
            "identity" => Ok(Coding::Identity),
            "gzip" => Ok(Coding::Gzip),
            "deflate" => Ok(Coding::Zlib),
            "zstd" => Ok(Coding::Zstd),
            "snappy" => Ok(Coding::Snappy),
            other => Err(other.to_owned()),
        }
    }

    /// The gRPC encodings accepted, as `grpc-accept-encoding` lists them.
    pub const GRPC_ACCEPTED: &'static str = "gzip,zstd,snappy,deflate,identity";

    /// The HTTP encodings accepted, for errors.
    pub const HTTP_ACCEPTED: &'static str = "gzip, zstd, deflate (zlib), snappy, lz4 or none";

    fn name(self) -> &'static str {
        match self {
            Coding::Identity => "identity",
            Coding::Gzip => "gzip",
            Coding::Zlib => "deflate",
            Coding::Zstd => "zstd",
            Coding::Snappy => "snappy",
            Coding::Lz4 => "lz4",
        }
    }

    /// Decodes `body`, refusing more than `limit` decoded bytes.
    pub fn decode(self, body: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
        match self {
            Coding::Identity if body.len() > limit => Err(DecodeError::TooLarge(limit)),
            Coding::Identity => Ok(body.to_vec()),
            Coding::Gzip => self.read(GzDecoder::new(body), body.len(), limit),
            Coding::Zlib if is_zlib(body) => self.read(ZlibDecoder::new(body), body.len(), limit),
            Coding::Zlib => self.read(DeflateDecoder::new(body), body.len(), limit),
            Coding::Zstd => {
                let decoder = ruzstd::decoding::StreamingDecoder::new(body).map_err(|e| self.corrupt(e))?;
                self.read(decoder, body.len(), limit)
            }
            Coding::Snappy if body.starts_with(SNAPPY_FRAMED_MAGIC) => {
                self.read(snap::read::FrameDecoder::new(body), body.len(), limit)
            }
            Coding::Snappy => {
                let len = snap::raw::decompress_len(body).map_err(|e| self.corrupt(e))?;
                if len > limit {
                    return Err(DecodeError::TooLarge(limit));
                }
                snap::raw::Decoder::new().decompress_vec(body).map_err(|e| self.corrupt(e))
            }
            Coding::Lz4 => self.read(lz4_flex::frame::FrameDecoder::new(body), body.len(), limit),
        }
    }

    fn read(self, decoder: impl Read, encoded: usize, limit: usize) -> Result<Vec<u8>, DecodeError> {
        let mut decoded = Vec::with_capacity(encoded.saturating_mul(4).min(limit));
        decoder.take(limit as u64 + 1).read_to_end(&mut decoded).map_err(|e| self.corrupt(e))?;
        if decoded.len() > limit {
            return Err(DecodeError::TooLarge(limit));
        }
        Ok(decoded)
    }

    fn corrupt(self, reason: impl std::fmt::Display) -> DecodeError {
        DecodeError::Corrupt { coding: self.name(), reason: reason.to_string() }
    }
}

/// Whether `body` starts with a zlib header (RFC 1950: deflate method, and a
/// check value that makes the first two bytes a multiple of 31).
fn is_zlib(body: &[u8]) -> bool {
    matches!(body, [cmf, flg, ..] if cmf & 0x0f == 8 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn encoded(coding: Coding, data: &[u8]) -> Vec<u8> {
        match coding {
            Coding::Identity => data.to_vec(),
            Coding::Gzip => {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            Coding::Zlib => {
                let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            Coding::Zstd => ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest),
            Coding::Snappy => snap::raw::Encoder::new().compress_vec(data).unwrap(),
            Coding::Lz4 => {
                let mut e = lz4_flex::frame::FrameEncoder::new(Vec::new());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
        }
    }

    #[test]
    fn every_coding_round_trips_and_stops_at_the_limit() {
        let data: Vec<u8> = (0..100_000u32).flat_map(|n| (n % 251).to_le_bytes()).collect();
        for coding in [Coding::Identity, Coding::Gzip, Coding::Zlib, Coding::Zstd, Coding::Snappy, Coding::Lz4] {
            let body = encoded(coding, &data);
            assert_eq!(coding.decode(&body, data.len()).unwrap(), data, "{coding:?}");
            assert_eq!(coding.decode(&body, data.len() - 1), Err(DecodeError::TooLarge(data.len() - 1)), "{coding:?}");
            if coding != Coding::Identity {
                assert_ne!(coding.decode(&body[..body.len() / 2], data.len()), Ok(data.clone()), "{coding:?} cut");
                assert!(coding.decode(b"certainly not encoded", data.len()).is_err(), "{coding:?}");
            }
        }
        // Framed snappy and raw deflate under their HTTP names.
        let mut framed = snap::write::FrameEncoder::new(Vec::new());
        framed.write_all(&data).unwrap();
        assert_eq!(Coding::Snappy.decode(&framed.into_inner().unwrap(), data.len()).unwrap(), data);
        let mut raw = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        raw.write_all(&data).unwrap();
        assert_eq!(Coding::Zlib.decode(&raw.finish().unwrap(), data.len()).unwrap(), data);
    }

    #[test]
    fn names_as_http_and_grpc_spell_them() {
        assert_eq!(Coding::from_http("GZIP"), Ok(Coding::Gzip));
        assert_eq!(Coding::from_http("deflate"), Ok(Coding::Zlib));
        assert_eq!(Coding::from_http("x-snappy-framed"), Ok(Coding::Snappy));
        assert_eq!(Coding::from_http("br"), Err("br".to_owned()));
        assert_eq!(Coding::from_grpc("zstd"), Ok(Coding::Zstd));
        assert_eq!(Coding::from_grpc("lz4"), Err("lz4".to_owned()));
    }
}
