//! Component-level tests: the built .wasm under the real host runtime, with
//! an in-memory store and a fixed clock.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use otlp_capture_test_support as support;

mod capture;
mod http_surface;
mod otlp_types;
mod replay;
mod sandbox;
mod second_host;
mod session_lifecycle;
mod world;
