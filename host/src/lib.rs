//! otlp-capture's host: a wasmtime embedding that runs the capture component
//! behind an OTLP/HTTP receiver and a session control API.
//!
//! Capture flows receivers → capture → runtime (the component) → storage.

pub mod capture;
pub mod cli;
pub mod commands;
pub mod config;
pub mod control;
pub mod error;
pub mod receivers;
pub mod runtime;
pub mod server;
pub mod sessions;
pub mod storage;
