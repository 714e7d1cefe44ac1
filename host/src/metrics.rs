//! The tap's own metrics, served at `/metrics` in the Prometheus text
//! format: requests, items, bytes, objects, queues, refusals and errors.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::StatusCode;

use crate::otlp::Signal;
use crate::otlp::status::{grpc_retryable, http_for_grpc, http_retryable};

/// How a request arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// OTLP/HTTP.
    Http,
    /// OTLP/gRPC.
    Grpc,
}

/// How a request ended, read off the status it was answered with (the
/// tap's own or an upstream's passed on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted.
    Ok,
    /// Refused for good as the client's fault (4xx but 429).
    Invalid,
    /// Pushed back: an answer OTLP clients retry.
    Refused,
    /// Failed otherwise.
    Error,
}

impl Outcome {
    /// The outcome of an HTTP answer.
    pub fn of_http(status: StatusCode) -> Self {
        if status.is_success() {
            Outcome::Ok
        } else if http_retryable(status) {
            Outcome::Refused
        } else if status.is_client_error() {
            Outcome::Invalid
        } else {
            Outcome::Error
        }
    }

    /// The outcome of a gRPC answer.
    pub fn of_grpc(code: tonic::Code) -> Self {
        if grpc_retryable(code) {
            return Outcome::Refused;
        }
        Outcome::of_http(http_for_grpc(code))
    }
}

const PROTOCOLS: [&str; 2] = ["http", "grpc"];
const OUTCOMES: [&str; 4] = ["ok", "invalid", "refused", "error"];

/// Counters of one tap, shared by its receivers and recorder.
#[derive(Debug, Default)]
pub struct TapCounters {
    requests: [[[AtomicU64; 4]; 2]; 3],
    received_bytes: [AtomicU64; 3],
    items: [AtomicU64; 3],
    recorded_objects: [AtomicU64; 3],
    recorded_bytes: [AtomicU64; 3],
    unrecorded: [AtomicU64; 3],
    dropped_requests: [AtomicU64; 3],
    dropped_items: [AtomicU64; 3],
    spilled: [AtomicU64; 3],
}

/// Values read from the tap's parts at scrape time.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gauges {
    /// Sessions recording now.
    pub active_sessions: usize,
    /// Processor calls waiting or running.
    pub processor_queue: usize,
    /// Bytes waiting in the upload queue.
    pub upload_queue_bytes: usize,
    /// Objects waiting in the upload queue.
    pub upload_queue_objects: usize,
    /// Objects stored since start.
    pub uploaded_objects: u64,
    /// Failed upload attempts since start, each retried.
    pub upload_failures: u64,
    /// Bytes waiting in the spool for the store.
    pub spool_bytes: u64,
    /// Objects waiting in the spool.
    pub spool_objects: usize,
    /// Objects moved to the spool since start.
    pub spooled_objects: u64,
    /// Whether the store's last answer was a success.
    pub store_up: bool,
    /// Bytes acknowledged but not in the store or the spool yet (durable mode).
    pub journal_backlog_bytes: u64,
    /// Whether the journal's last write failed.
    pub journal_failing: bool,
    /// Whether `/ready` answers 200.
    pub ready: bool,
}

impl TapCounters {
    /// Counts one request and its body bytes.
    pub fn request(&self, signal: Signal, protocol: Protocol, bytes: usize, outcome: Outcome) {
        let s = signal.index();
        self.requests[s][protocol as usize][outcome as usize].fetch_add(1, Ordering::Relaxed);
        self.received_bytes[s].fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Counts the items of a decoded request.
    pub fn items(&self, signal: Signal, items: u64) {
        self.items[signal.index()].fetch_add(items, Ordering::Relaxed);
    }

    /// Counts one object written into a session.
    pub fn recorded(&self, signal: Signal, bytes: u64) {
        let s = signal.index();
        self.recorded_objects[s].fetch_add(1, Ordering::Relaxed);
        self.recorded_bytes[s].fetch_add(bytes, Ordering::Relaxed);
    }

    /// Counts a request that was answered but could not be recorded.
    pub fn unrecorded(&self, signal: Signal) {
        self.unrecorded[signal.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a forwarded request whose recording went through the journal.
    pub fn spilled(&self, signal: Signal) {
        self.spilled[signal.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a forwarded request dropped from the recording, and its items.
    pub fn dropped(&self, signal: Signal, items: u64) {
        self.dropped_requests[signal.index()].fetch_add(1, Ordering::Relaxed);
        self.dropped_items[signal.index()].fetch_add(items, Ordering::Relaxed);
    }

    /// The Prometheus text exposition of the counters and `gauges`.
    pub fn render(&self, gauges: Gauges) -> String {
        let mut out = String::new();
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP otlp_capture_requests_total OTLP export requests received.\n# TYPE otlp_capture_requests_total counter"
        );
        for signal in Signal::ALL {
            let s = signal.index();
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
            for signal in Signal::ALL {
                let _ = writeln!(out, "{name}{{signal=\"{signal}\"}} {}", load(&values[signal.index()]));
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
        per_signal(
            &mut out,
            "otlp_capture_spilled_requests_total",
            "Forwarded requests recorded through the journal because recording fell behind.",
            &self.spilled,
        );
        per_signal(
            &mut out,
            "otlp_capture_dropped_requests_total",
            "Forwarded requests dropped from the recording (it fell behind and the journal was full).",
            &self.dropped_requests,
        );
        per_signal(
            &mut out,
            "otlp_capture_dropped_items_total",
            "Items in forwarded requests dropped from the recording.",
            &self.dropped_items,
        );
        let scalars: [(&str, &str, &str, u64); 13] = [
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
            ("otlp_capture_store_up", "gauge", "1 while the store takes objects.", u64::from(gauges.store_up)),
            (
                "otlp_capture_journal_backlog_bytes",
                "gauge",
                "Bytes acknowledged but not yet in the store or the spool.",
                gauges.journal_backlog_bytes,
            ),
            (
                "otlp_capture_journal_failing",
                "gauge",
                "1 while the journal cannot be written (requests are refused).",
                u64::from(gauges.journal_failing),
            ),
            ("otlp_capture_ready", "gauge", "1 while /ready answers 200.", u64::from(gauges.ready)),
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
        counters.request(Signal::Logs, Protocol::Grpc, 5, Outcome::of_grpc(tonic::Code::Unavailable));
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

    #[test]
    fn outcomes_follow_the_status_table() {
        assert_eq!(Outcome::of_http(StatusCode::OK), Outcome::Ok);
        assert_eq!(Outcome::of_http(StatusCode::TOO_MANY_REQUESTS), Outcome::Refused);
        assert_eq!(Outcome::of_http(StatusCode::BAD_GATEWAY), Outcome::Refused);
        assert_eq!(Outcome::of_http(StatusCode::UNSUPPORTED_MEDIA_TYPE), Outcome::Invalid);
        assert_eq!(Outcome::of_http(StatusCode::INTERNAL_SERVER_ERROR), Outcome::Error);
        assert_eq!(Outcome::of_grpc(tonic::Code::OutOfRange), Outcome::Refused);
        assert_eq!(Outcome::of_grpc(tonic::Code::InvalidArgument), Outcome::Invalid);
        assert_eq!(Outcome::of_grpc(tonic::Code::Internal), Outcome::Error);
    }
}
