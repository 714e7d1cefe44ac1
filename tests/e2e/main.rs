//! End-to-end tests: the otlp-capture binary, fed by the real OpenTelemetry
//! SDK over loopback, recording into a local directory and into a real S3
//! server (s3s-fs) started here.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/mod.rs"]
mod support;

mod faults;
mod forwarding;
mod http_api;
mod limits;
mod recording;
mod replay;
mod sampling;
