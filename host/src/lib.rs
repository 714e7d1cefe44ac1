//! otlp-capture's host: a wasmtime embedding that runs the capture component
//! behind an OTLP/HTTP receiver and a session control API.
//!
//! Capture flows receivers → capture → runtime (the component) → storage;
//! replay flows storage → replay → runtime → exporters.

pub mod capture;
pub mod cli;
pub mod commands;
pub mod config;
pub mod control;
pub mod error;
pub mod exporters;
pub mod grpc_wire;
pub mod receivers;
pub mod replay;
pub mod runtime;
pub mod server;
pub mod sessions;
pub mod storage;
pub mod tap_metrics;
pub mod upstream;
