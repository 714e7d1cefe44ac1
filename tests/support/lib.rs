//! Helpers shared by otlp-capture's test binaries, benches and examples:
//! OTLP payload generators and a median timer (these also build for
//! wasm32-wasip2), and natively the real processes and servers the
//! end-to-end tests run on loopback, the component harness, SDK clients,
//! stored-object decoding and one wait-for helper.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

pub mod generate;
pub mod timing;

#[cfg(not(target_arch = "wasm32"))]
pub mod tls;

#[cfg(not(target_arch = "wasm32"))]
pub mod app;

#[cfg(not(target_arch = "wasm32"))]
pub mod component;
#[cfg(not(target_arch = "wasm32"))]
pub mod grpc_raw;
#[cfg(not(target_arch = "wasm32"))]
pub mod otlp;
#[cfg(not(target_arch = "wasm32"))]
pub mod processes;
#[cfg(not(target_arch = "wasm32"))]
pub mod receiver;
pub mod reference;
#[cfg(not(target_arch = "wasm32"))]
pub mod sdk;
#[cfg(not(target_arch = "wasm32"))]
pub mod stored_sessions;
#[cfg(not(target_arch = "wasm32"))]
pub mod wait;
