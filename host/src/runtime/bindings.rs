//! The only place `bindgen!` runs: host bindings of the `capture-processor`
//! world in `wit/`.
#![allow(missing_docs)]

wasmtime::component::bindgen!({
    world: "capture-processor",
    path: "../wit",
});

pub use otlp::capture::storage::StorageError;
pub use otlp::capture::types::{
    CaptureReceipt, ObjectKeyInfo, PayloadEncoding, PayloadSummary, PreparedCapture, ProcessorError, ReplayBatch,
    ReplayOptions, SessionConfig, SessionCounts, SessionState, SessionStatus, Signal, TimestampRewrite,
};

impl std::str::FromStr for Signal {
    type Err = String;

    /// Parses `traces`, `metrics` or `logs`.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name.trim() {
            "traces" => Ok(Signal::Traces),
            "metrics" => Ok(Signal::Metrics),
            "logs" => Ok(Signal::Logs),
            other => Err(format!("unknown signal {other:?}; use traces, metrics or logs")),
        }
    }
}
