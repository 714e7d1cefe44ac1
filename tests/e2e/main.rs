//! End-to-end tests: the otlp-capture binary, fed by the real OpenTelemetry
//! SDK over loopback, recording into a local directory and into a real S3
//! server (s3s-fs) started here.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use otlp_capture_test_support as support;

mod cli_conventions;
mod conventions;
mod durability;
mod faults;
mod forwarding;
mod grpc_status;
mod guard;
mod hostile_input;
mod limits;
mod proxy;
mod recording;
mod redaction;
mod replay;
mod replay_timing;
mod sampling;
mod sessions_surface;
mod timeline;
mod tls;
mod ui;
