//! Where OTLP arrives: the HTTP receiver, and the one mapping of errors to
//! protocol status codes.

pub mod otlp_http;
pub mod status;
