//! OTLP/gRPC on the wire, shared by the gRPC receiver and exporter: the
//! collector services' method paths, a codec that passes the protobuf bytes
//! through untouched (forwarded and replayed requests stay byte-exact, and
//! the component does the decoding), and the framing of a unary request.

use bytes::{Buf, BufMut, Bytes};
use tonic::Status;

use super::compression::{Coding, DecodeError};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

/// The traces collector service's Export method.
pub const TRACES_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
/// The metrics collector service's Export method.
pub const METRICS_PATH: &str = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";
/// The logs collector service's Export method.
pub const LOGS_PATH: &str = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";

/// A codec whose messages are their encoded protobuf bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawCodec;

/// The encoding half of [`RawCodec`]: writes message bytes as they are.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawEncoder;

/// The decoding half of [`RawCodec`]: reads message bytes as they are.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawDecoder;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawEncoder;
    type Decoder = RawDecoder;

    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }

    fn decoder(&mut self) -> RawDecoder {
        RawDecoder
    }
}

impl Encoder for RawEncoder {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawDecoder {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

/// The one message of a unary gRPC request body (`[flag][length][message]`
/// frames), decoded from `coding` when its compressed flag is set. Refuses
/// none or more than one message (a unary call carries exactly one) and a
/// message over `limit` bytes once decoded.
pub fn unary_message(body: &[u8], coding: Coding, limit: usize) -> Result<Vec<u8>, Status> {
    let frame = |at: usize| -> Result<(bool, &[u8], usize), Status> {
        let header = body.get(at..at + 5).ok_or_else(|| Status::internal("a gRPC frame is cut short"))?;
        let compressed = match header[0] {
            0 => false,
            1 => true,
            flag => return Err(Status::internal(format!("unknown gRPC frame flag {flag}"))),
        };
        let len = u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
        let message = body.get(at + 5..at + 5 + len).ok_or_else(|| Status::internal("a gRPC message is cut short"))?;
        Ok((compressed, message, at + 5 + len))
    };
    if body.is_empty() {
        return Err(Status::internal("the unary call carries no request message"));
    }
    let (compressed, message, end) = frame(0)?;
    if end != body.len() {
        return Err(Status::internal("a unary call carries exactly one request message; this one has more"));
    }
    let too_large = || Status::resource_exhausted(format!("the request message is over {limit} bytes"));
    match (compressed, coding) {
        (false, _) if message.len() > limit => Err(too_large()),
        (false, _) => Ok(message.to_vec()),
        (true, Coding::Identity) => Err(Status::internal("a compressed message without a grpc-encoding")),
        (true, coding) => coding.decode(message, limit).map_err(|e| match e {
            DecodeError::TooLarge(_) => too_large(),
            corrupt => Status::internal(corrupt.to_string()),
        }),
    }
}

/// One uncompressed gRPC frame holding `message`.
pub fn frame(message: &[u8]) -> Vec<u8> {
    let mut framed = Vec::with_capacity(message.len() + 5);
    framed.push(0);
    framed.extend_from_slice(&u32::try_from(message.len()).unwrap_or(u32::MAX).to_be_bytes());
    framed.extend_from_slice(message);
    framed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unary_body_holds_exactly_one_message() {
        let one = frame(b"hello");
        assert_eq!(unary_message(&one, Coding::Identity, 100).unwrap(), b"hello");
        let mut two = one.clone();
        two.extend(frame(b"again"));
        assert_eq!(unary_message(&two, Coding::Identity, 100).unwrap_err().code(), tonic::Code::Internal);
        assert_eq!(unary_message(&[], Coding::Identity, 100).unwrap_err().code(), tonic::Code::Internal);
        assert_eq!(unary_message(&one[..6], Coding::Identity, 100).unwrap_err().code(), tonic::Code::Internal);
        assert_eq!(unary_message(&one, Coding::Identity, 4).unwrap_err().code(), tonic::Code::ResourceExhausted);
        let snappy = snap::raw::Encoder::new().compress_vec(b"hello hello hello").unwrap();
        let mut compressed = frame(&snappy);
        compressed[0] = 1;
        assert_eq!(unary_message(&compressed, Coding::Snappy, 100).unwrap(), b"hello hello hello");
        assert_eq!(unary_message(&compressed, Coding::Identity, 100).unwrap_err().code(), tonic::Code::Internal);
    }
}
