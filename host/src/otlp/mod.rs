//! The host's OTLP vocabulary: the three signals and the two payload
//! encodings with their names, HTTP paths, gRPC methods and table indexes;
//! the one status table shared by receivers and exporters; and the gRPC
//! codec that passes messages through as bytes. Nothing here knows the
//! component: the runtime maps the WIT types onto these at its edge.

pub mod compression;
pub mod grpc;
pub mod status;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An OTLP signal: which `Export*ServiceRequest` a payload is, and the
/// `{signal}` part of object keys, HTTP paths and metric labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Signal {
    /// `ExportTraceServiceRequest`: spans.
    Traces,
    /// `ExportMetricsServiceRequest`: data points.
    Metrics,
    /// `ExportLogsServiceRequest`: log records.
    Logs,
}

impl Signal {
    /// Every signal, in the order of [`Signal::index`].
    pub const ALL: [Signal; 3] = [Signal::Traces, Signal::Metrics, Signal::Logs];

    /// `traces`, `metrics` or `logs`.
    pub fn name(self) -> &'static str {
        match self {
            Signal::Traces => "traces",
            Signal::Metrics => "metrics",
            Signal::Logs => "logs",
        }
    }

    /// 0, 1 or 2: the slot of this signal in per-signal arrays.
    pub fn index(self) -> usize {
        match self {
            Signal::Traces => 0,
            Signal::Metrics => 1,
            Signal::Logs => 2,
        }
    }

    /// The OTLP/HTTP path, `/v1/traces` and so on.
    pub fn http_path(self) -> &'static str {
        match self {
            Signal::Traces => "/v1/traces",
            Signal::Metrics => "/v1/metrics",
            Signal::Logs => "/v1/logs",
        }
    }

    /// The gRPC method of the signal's collector service.
    pub fn grpc_path(self) -> &'static str {
        match self {
            Signal::Traces => grpc::TRACES_PATH,
            Signal::Metrics => grpc::METRICS_PATH,
            Signal::Logs => grpc::LOGS_PATH,
        }
    }

    /// What one item of the signal is called in messages: spans, data
    /// points, log records.
    pub fn items(self) -> &'static str {
        match self {
            Signal::Traces => "spans",
            Signal::Metrics => "data points",
            Signal::Logs => "log records",
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Signal {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Signal::ALL
            .into_iter()
            .find(|s| s.name() == name.trim())
            .ok_or_else(|| format!("unknown signal {name:?}; use traces, metrics or logs"))
    }
}

/// How an OTLP payload is encoded on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// Binary protobuf, `application/x-protobuf`: what objects store and
    /// what gRPC carries.
    Protobuf,
    /// The OTLP/JSON mapping, `application/json`: hex ids, 64-bit integers
    /// as strings. Recorded as protobuf.
    Json,
}

impl Encoding {
    /// The media type of the encoding.
    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => "application/x-protobuf",
            Encoding::Json => "application/json",
        }
    }

    /// The encoding a `Content-Type` names (parameters and case ignored);
    /// `None` for any media type OTLP does not define.
    pub fn from_content_type(content_type: &str) -> Option<Self> {
        let media_type = content_type.split(';').next().unwrap_or("").trim();
        [Encoding::Protobuf, Encoding::Json].into_iter().find(|e| media_type.eq_ignore_ascii_case(e.content_type()))
    }
}

/// What an OTLP payload holds: its item count, resources and time bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayloadSummary {
    /// The signal of the payload.
    pub signal: Signal,
    /// Spans, data points or log records.
    pub items: u64,
    /// Resources in the payload.
    pub resources: u64,
    /// Earliest non-zero timestamp, unix nanos; 0 when it has none.
    pub min_unix_nanos: u64,
    /// Latest timestamp, unix nanos; 0 when it has none.
    pub max_unix_nanos: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_name_their_paths_and_slots() {
        for (index, signal) in Signal::ALL.into_iter().enumerate() {
            assert_eq!(signal.index(), index);
            assert_eq!(signal.name().parse::<Signal>(), Ok(signal));
            assert_eq!(signal.http_path(), format!("/v1/{signal}"));
            assert!(
                signal.grpc_path().starts_with("/opentelemetry.proto.collector.")
                    && signal.grpc_path().ends_with("Service/Export")
            );
        }
        assert!("spans".parse::<Signal>().is_err());
    }

    #[test]
    fn media_types_follow_otlp() {
        assert_eq!(Encoding::from_content_type("application/x-protobuf"), Some(Encoding::Protobuf));
        assert_eq!(Encoding::from_content_type("Application/JSON; charset=utf-8"), Some(Encoding::Json));
        assert_eq!(Encoding::from_content_type("text/plain"), None);
        assert_eq!(Encoding::from_content_type(""), None);
    }
}
