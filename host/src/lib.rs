//! otlp-capture's host: a wasmtime embedding that runs the capture component
//! behind OTLP receivers and a session control API, and replays sessions.
//!
//! Capture flows `receivers` → `capture` → `runtime` (the component) →
//! `storage`; replay flows `storage` (read through `catalog`) → `replay` →
//! `runtime` → `exporters`. `otlp` and `session` are the vocabulary every
//! layer shares; `server` wires a tap together and `control` is its API.
//! ARCHITECTURE.md draws both flows.

#[cfg(test)]
mod architecture;
pub mod auth;
pub mod capture;
pub mod catalog;
pub mod cli;
pub mod commands;
pub mod config;
pub mod control;
pub mod error;
pub mod exporters;
pub mod file_modes;
pub mod fuzzing;
pub mod journal;
pub mod listener_tls;
pub mod locks;
pub mod log_limit;
pub mod memory;
pub mod metrics;
pub mod otlp;
pub mod phases;
pub mod ranges;
pub mod receivers;
pub mod redaction_key;
pub mod replay;
pub mod retention;
pub mod runtime;
pub mod server;
pub mod session;
pub mod session_pick;
pub mod site;
pub mod storage;
pub mod timeline;
pub mod times;
pub mod ui;
