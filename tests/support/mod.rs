//! Helpers shared by the test binaries: OTLP payloads, object decoding, and
//! the real processes and servers the end-to-end tests run.
#![allow(dead_code)]

pub mod component;
pub mod generate;
pub mod otlp;
pub mod processes;
pub mod receiver;
pub mod sdk;
pub mod sessions;
