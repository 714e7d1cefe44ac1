//! Where OTLP arrives: the HTTP and gRPC receivers, and the one mapping of
//! errors to protocol status codes.

pub mod otlp_grpc;
pub mod otlp_http;
pub mod status;
