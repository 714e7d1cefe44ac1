//! Component-level tests: the built .wasm under the real host runtime, with
//! an in-memory store and a fixed clock.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/mod.rs"]
mod support;

mod capture;
mod replay;
mod sessions;
