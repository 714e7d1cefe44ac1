//! The only place `bindgen!` runs: host bindings of the `capture-processor`
//! world in `wit/`.
#![allow(missing_docs)]

wasmtime::component::bindgen!({
    world: "capture-processor",
    path: "../wit",
});

pub use otlp::capture::storage::StorageError;
pub use otlp::capture::types::{
    CaptureReceipt, ObjectKeyInfo, PayloadEncoding, PayloadSummary, ProcessorError, SessionConfig, SessionCounts,
    SessionState, SessionStatus, Signal,
};
