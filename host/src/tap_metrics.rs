//! The tap's own metrics, served at `/metrics` in the Prometheus text
//! format: requests, items, bytes, objects, queues, refusals and errors.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::TapError;
use crate::runtime::bindings::Signal;

/// How a request arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// OTLP/HTTP.
    Http,
    /// OTLP/gRPC.
    Grpc,
}

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted.
    Ok,
    /// Refused as malformed (400, 413, 415).
    Invalid,
    /// Pushed back (503, 429; gRPC UNAVAILABLE, RESOURCE_EXHAUSTED).
    Refused,
    /// Failed otherwise.
    Error,
}

impl Outcome {
    /// The outcome of a request that ended in `error`.
    pub fn of(error: &TapError) -> Self {
        match error {
            TapError::InvalidRequest(_) | TapError::UnsupportedMediaType(_) | TapError::PayloadTooLarge(_) => {
                Outcome::Invalid
            }
            TapError::Busy { .. } => Outcome::Refused,
            _ => Outcome::Error,
        }
    }

    /// The outcome of an HTTP status (an upstream's answer passed on).
    pub fn of_http(status: u16) -> Self {
        match status {
            200..=299 => Outcome::Ok,
            429 | 503 => Outcome::Refused,
            400..=499 => Outcome::Invalid,
            _ => Outcome::Error,
        }
    }

    /// The outcome of a gRPC status (an upstream's answer passed on).
    pub fn of_grpc(code: tonic::Code) -> Self {
        match code {
            tonic::Code::Ok => Outcome::Ok,
            tonic::Code::Unavailable | tonic::Code::ResourceExhausted => Outcome::Refused,
            tonic::Code::InvalidArgument => Outcome::Invalid,
            _ => Outcome::Error,
        }
    }
}

const SIGNALS: [&str; 3] = ["traces", "metrics", "logs"];
const PROTOCOLS: [&str; 2] = ["http", "grpc"];
const OUTCOMES: [&str; 4] = ["ok", "invalid", "refused", "error"];

fn signal_index(signal: Signal) -> usize {
    match signal {
        Signal::Traces => 0,
        Signal::Metrics => 1,
        Signal::Logs => 2,
    }
}

/// Counters of one tap, shared by its receivers and recorder.
#[derive(Debug, Default)]
pub struct TapCounters {
    requests: [[[AtomicU64; 4]; 2]; 3],
    received_bytes: [AtomicU64; 3],
    items: [AtomicU64; 3],
    recorded_objects: [AtomicU64; 3],
    recorded_bytes: [AtomicU64; 3],
    unrecorded: [AtomicU64; 3],
}

/// Gauges read at scrape time.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gauges {
    /// Active sessions.
    pub active_sessions: usize,
    /// Processor calls waiting or running.
    pub processor_queue: usize,
    /// Bytes waiting in the upload queue.
    pub upload_queue_bytes: usize,
    /// Objects waiting in the upload queue.
    pub upload_queue_objects: usize,
    /// Objects uploaded so far.
    pub uploaded_objects: u64,
    /// Failed upload attempts so far (each retried).
    pub upload_failures: u64,
    /// Bytes in the spool.
    pub spool_bytes: u64,
    /// Objects in the spool.
    pub spool_objects: usize,
    /// Objects moved to the spool so far.
    pub spooled_objects: u64,
}

impl TapCounters {
    /// Counts one request and its body bytes.
    pub fn request(&self, signal: Signal, protocol: Protocol, bytes: usize, outcome: Outcome) {
        let s = signal_index(signal);
        self.requests[s][protocol as usize][outcome as usize].fetch_add(1, Ordering::Relaxed);
        self.received_bytes[s].fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Counts the items of a decoded request.
    pub fn items(&self, signal: Signal, items: u64) {
        self.items[signal_index(signal)].fetch_add(items, Ordering::Relaxed);
    }

    /// Counts one object written into a session.
    pub fn recorded(&self, signal: Signal, bytes: u64) {
        let s = signal_index(signal);
        self.recorded_objects[s].fetch_add(1, Ordering::Relaxed);
        self.recorded_bytes[s].fetch_add(bytes, Ordering::Relaxed);
    }

    /// Counts a request that was answered but could not be recorded.
    pub fn unrecorded(&self, signal: Signal) {
        self.unrecorded[signal_index(signal)].fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition of the counters and `gauges`.
    pub fn render(&self, gauges: Gauges) -> String {
        let mut out = String::new();
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP otlp_capture_requests_total OTLP export requests received.\n# TYPE otlp_capture_requests_total counter"
        );
        for (s, signal) in SIGNALS.iter().enumerate() {
            for (p, protocol) in PROTOCOLS.iter().enumerate() {
                for (o, outcome) in OUTCOMES.iter().enumerate() {
                    let value = load(&self.requests[s][p][o]);
                    let _ = writeln!(
                        out,
                        "otlp_capture_requests_total{{signal=\"{signal}\",protocol=\"{protocol}\",outcome=\"{outcome}\"}} {value}"
                    );
                }
            }
        }
        let per_signal = |out: &mut String, name: &str, help: &str, values: &[AtomicU64; 3]| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for (s, signal) in SIGNALS.iter().enumerate() {
                let _ = writeln!(out, "{name}{{signal=\"{signal}\"}} {}", load(&values[s]));
            }
        };
        per_signal(
            &mut out,
            "otlp_capture_received_bytes_total",
            "Request body bytes received, as sent.",
            &self.received_bytes,
        );
        per_signal(
            &mut out,
            "otlp_capture_items_total",
            "Spans, data points and log records in decoded requests.",
            &self.items,
        );
        per_signal(
            &mut out,
            "otlp_capture_recorded_objects_total",
            "Objects written into sessions.",
            &self.recorded_objects,
        );
        per_signal(
            &mut out,
            "otlp_capture_recorded_bytes_total",
            "Compressed bytes written into sessions.",
            &self.recorded_bytes,
        );
        per_signal(
            &mut out,
            "otlp_capture_unrecorded_total",
            "Answered requests that could not be recorded.",
            &self.unrecorded,
        );
        let scalars: [(&str, &str, &str, u64); 9] = [
            ("otlp_capture_active_sessions", "gauge", "Sessions recording now.", gauges.active_sessions as u64),
            (
                "otlp_capture_processor_queue",
                "gauge",
                "Component calls waiting or running.",
                gauges.processor_queue as u64,
            ),
            (
                "otlp_capture_upload_queue_bytes",
                "gauge",
                "Bytes waiting to be stored.",
                gauges.upload_queue_bytes as u64,
            ),
            (
                "otlp_capture_upload_queue_objects",
                "gauge",
                "Objects waiting to be stored.",
                gauges.upload_queue_objects as u64,
            ),
            ("otlp_capture_uploaded_objects_total", "counter", "Objects stored.", gauges.uploaded_objects),
            (
                "otlp_capture_upload_failures_total",
                "counter",
                "Failed upload attempts (each is retried).",
                gauges.upload_failures,
            ),
            (
                "otlp_capture_spool_bytes",
                "gauge",
                "Bytes spooled to local disk, waiting for the store.",
                gauges.spool_bytes,
            ),
            ("otlp_capture_spool_objects", "gauge", "Objects spooled to local disk.", gauges.spool_objects as u64),
            ("otlp_capture_spooled_objects_total", "counter", "Objects moved to the spool.", gauges.spooled_objects),
        ];
        for (name, kind, help, value) in scalars {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let counters = TapCounters::default();
        counters.request(Signal::Logs, Protocol::Grpc, 10, Outcome::Ok);
        let busy = TapError::Busy { reason: String::new(), retry_after: std::time::Duration::ZERO };
        counters.request(Signal::Logs, Protocol::Grpc, 5, Outcome::of(&busy));
        counters.recorded(Signal::Traces, 99);
        let text = counters.render(Gauges { active_sessions: 2, ..Default::default() });
        assert!(
            text.contains("otlp_capture_requests_total{signal=\"logs\",protocol=\"grpc\",outcome=\"ok\"} 1"),
            "{text}"
        );
        assert!(text.contains("otlp_capture_requests_total{signal=\"logs\",protocol=\"grpc\",outcome=\"refused\"} 1"));
        assert!(text.contains("otlp_capture_received_bytes_total{signal=\"logs\"} 15"));
        assert!(text.contains("otlp_capture_recorded_bytes_total{signal=\"traces\"} 99"));
        assert!(text.contains("otlp_capture_active_sessions 2"));
    }
}
