//! The tap's own metrics, served at `/metrics` in the Prometheus text
//! format through the `prometheus` crate: requests, items, bytes, objects,
//! queues, refusals and errors; request latency and size and object size
//! histograms; and the process's own (CPU, memory, file descriptors, start
//! time), named as Prometheus clients name them.

use std::time::Duration;

use axum::http::StatusCode;
use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};

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

impl Protocol {
    fn label(self) -> &'static str {
        match self {
            Protocol::Http => "http",
            Protocol::Grpc => "grpc",
        }
    }
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

    fn label(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Invalid => "invalid",
            Outcome::Refused => "refused",
            Outcome::Error => "error",
        }
    }
}

/// Latency buckets, seconds: from half a millisecond to ten seconds.
const LATENCY_BUCKETS: [f64; 14] = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0];

/// Counters and histograms of one tap, shared by its receivers and
/// recorder, and the registry `/metrics` renders.
#[derive(Debug, Clone)]
pub struct TapCounters {
    registry: Registry,
    requests: IntCounterVec,
    received_bytes: IntCounterVec,
    items: IntCounterVec,
    recorded_objects: IntCounterVec,
    recorded_bytes: IntCounterVec,
    unrecorded: IntCounterVec,
    dropped_requests: IntCounterVec,
    dropped_items: IntCounterVec,
    spilled: IntCounterVec,
    request_duration: HistogramVec,
    request_size: HistogramVec,
    object_size: HistogramVec,
    gauges: GaugeSet,
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

/// The registered series that mirror [`Gauges`] (totals kept elsewhere are
/// exposed as gauges of their current value, with their `_total` names).
#[derive(Debug, Clone)]
struct GaugeSet(Vec<(&'static str, IntGauge)>);

const GAUGES: [(&str, &str); 13] = [
    ("otlp_capture_active_sessions", "Sessions recording now."),
    ("otlp_capture_processor_queue", "Component calls waiting or running."),
    ("otlp_capture_upload_queue_bytes", "Bytes waiting to be stored."),
    ("otlp_capture_upload_queue_objects", "Objects waiting to be stored."),
    ("otlp_capture_uploaded_objects_total", "Objects stored."),
    ("otlp_capture_upload_failures_total", "Failed upload attempts (each is retried)."),
    ("otlp_capture_spool_bytes", "Bytes spooled to local disk, waiting for the store."),
    ("otlp_capture_spool_objects", "Objects spooled to local disk."),
    ("otlp_capture_spooled_objects_total", "Objects moved to the spool."),
    ("otlp_capture_store_up", "1 while the store takes objects."),
    ("otlp_capture_journal_backlog_bytes", "Bytes acknowledged but not yet in the store or the spool."),
    ("otlp_capture_journal_failing", "1 while the journal cannot be written (requests are refused)."),
    ("otlp_capture_ready", "1 while /ready answers 200."),
];

impl Gauges {
    fn values(&self) -> [u64; 13] {
        [
            self.active_sessions as u64,
            self.processor_queue as u64,
            self.upload_queue_bytes as u64,
            self.upload_queue_objects as u64,
            self.uploaded_objects,
            self.upload_failures,
            self.spool_bytes,
            self.spool_objects as u64,
            self.spooled_objects,
            u64::from(self.store_up),
            self.journal_backlog_bytes,
            u64::from(self.journal_failing),
            u64::from(self.ready),
        ]
    }
}

impl Default for TapCounters {
    fn default() -> Self {
        let registry = Registry::new();
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let counter = IntCounterVec::new(Opts::new(name, help), labels).unwrap_or_else(|e| invalid(name, &e));
            // Names are constants and distinct: registering cannot fail.
            let _ = registry.register(Box::new(counter.clone()));
            counter
        };
        let histogram = |name: &str, help: &str, labels: &[&str], buckets: Vec<f64>| {
            let opts = HistogramOpts::new(name, help).buckets(buckets);
            let histogram = HistogramVec::new(opts, labels).unwrap_or_else(|e| invalid(name, &e));
            let _ = registry.register(Box::new(histogram.clone()));
            histogram
        };
        let signal = &["signal"];
        let sizes = prometheus::exponential_buckets(256.0, 4.0, 10).unwrap_or_default();
        let gauges = GaugeSet(
            GAUGES
                .iter()
                .map(|(name, help)| {
                    let gauge = IntGauge::new(*name, *help).unwrap_or_else(|e| invalid(name, &e));
                    let _ = registry.register(Box::new(gauge.clone()));
                    (*name, gauge)
                })
                .collect(),
        );
        #[cfg(target_os = "linux")]
        let _ = registry.register(Box::new(prometheus::process_collector::ProcessCollector::for_self()));
        let counters = TapCounters {
            requests: counter(
                "otlp_capture_requests_total",
                "OTLP export requests received.",
                &["signal", "protocol", "outcome"],
            ),
            received_bytes: counter(
                "otlp_capture_received_bytes_total",
                "Request body bytes received, as sent.",
                signal,
            ),
            items: counter(
                "otlp_capture_items_total",
                "Spans, data points and log records in decoded requests.",
                signal,
            ),
            recorded_objects: counter("otlp_capture_recorded_objects_total", "Objects written into sessions.", signal),
            recorded_bytes: counter(
                "otlp_capture_recorded_bytes_total",
                "Compressed bytes written into sessions.",
                signal,
            ),
            unrecorded: counter(
                "otlp_capture_unrecorded_total",
                "Answered requests that could not be recorded.",
                signal,
            ),
            spilled: counter(
                "otlp_capture_spilled_requests_total",
                "Forwarded requests recorded through the journal because recording fell behind.",
                signal,
            ),
            dropped_requests: counter(
                "otlp_capture_dropped_requests_total",
                "Forwarded requests dropped from the recording (it fell behind and the journal was full).",
                signal,
            ),
            dropped_items: counter(
                "otlp_capture_dropped_items_total",
                "Items in forwarded requests dropped from the recording.",
                signal,
            ),
            request_duration: histogram(
                "otlp_capture_request_duration_seconds",
                "Time from a request's arrival to its answer (forwarding included).",
                &["signal", "protocol"],
                LATENCY_BUCKETS.to_vec(),
            ),
            request_size: histogram(
                "otlp_capture_request_size_bytes",
                "Request body bytes, as sent.",
                signal,
                sizes.clone(),
            ),
            object_size: histogram(
                "otlp_capture_recorded_object_size_bytes",
                "Compressed bytes of each object written into a session (a batch of requests).",
                signal,
                sizes,
            ),
            gauges,
            registry,
        };
        counters.start_at_zero();
        counters
    }
}

#[cold]
fn invalid(name: &str, error: &prometheus::Error) -> ! {
    panic!("metric {name} is malformed: {error}")
}

impl TapCounters {
    /// Creates every series of known labels at zero, so a scrape shows them
    /// before the first event (and rates start from a known point).
    fn start_at_zero(&self) {
        for signal in Signal::ALL {
            let s = signal.name();
            for protocol in [Protocol::Http, Protocol::Grpc] {
                for outcome in [Outcome::Ok, Outcome::Invalid, Outcome::Refused, Outcome::Error] {
                    self.requests.with_label_values(&[s, protocol.label(), outcome.label()]);
                }
                self.request_duration.with_label_values(&[s, protocol.label()]);
            }
            for family in [
                &self.received_bytes,
                &self.items,
                &self.recorded_objects,
                &self.recorded_bytes,
                &self.unrecorded,
                &self.dropped_requests,
                &self.dropped_items,
                &self.spilled,
            ] {
                family.with_label_values(&[s]);
            }
            self.request_size.with_label_values(&[s]);
            self.object_size.with_label_values(&[s]);
        }
    }

    /// Counts one request: its body bytes, how it ended and how long it took.
    pub fn request(&self, signal: Signal, protocol: Protocol, bytes: usize, outcome: Outcome, took: Duration) {
        let s = signal.name();
        self.requests.with_label_values(&[s, protocol.label(), outcome.label()]).inc();
        self.received_bytes.with_label_values(&[s]).inc_by(bytes as u64);
        self.request_size.with_label_values(&[s]).observe(bytes as f64);
        self.request_duration.with_label_values(&[s, protocol.label()]).observe(took.as_secs_f64());
    }

    /// Counts the items of a decoded request.
    pub fn items(&self, signal: Signal, items: u64) {
        self.items.with_label_values(&[signal.name()]).inc_by(items);
    }

    /// Counts one object written into a session.
    pub fn recorded(&self, signal: Signal, bytes: u64) {
        let s = signal.name();
        self.recorded_objects.with_label_values(&[s]).inc();
        self.recorded_bytes.with_label_values(&[s]).inc_by(bytes);
        self.object_size.with_label_values(&[s]).observe(bytes as f64);
    }

    /// Counts a request that was answered but could not be recorded.
    pub fn unrecorded(&self, signal: Signal) {
        self.unrecorded.with_label_values(&[signal.name()]).inc();
    }

    /// Counts a forwarded request whose recording went through the journal.
    pub fn spilled(&self, signal: Signal) {
        self.spilled.with_label_values(&[signal.name()]).inc();
    }

    /// Counts a forwarded request dropped from the recording, and its items.
    pub fn dropped(&self, signal: Signal, items: u64) {
        self.dropped_requests.with_label_values(&[signal.name()]).inc();
        self.dropped_items.with_label_values(&[signal.name()]).inc_by(items);
    }

    /// The Prometheus text exposition of everything, with `gauges` as read now.
    pub fn render(&self, gauges: Gauges) -> String {
        for ((_, gauge), value) in self.gauges.0.iter().zip(gauges.values()) {
            gauge.set(i64::try_from(value).unwrap_or(i64::MAX));
        }
        let mut text = Vec::new();
        // Encoding gathered families into a Vec cannot fail.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut text);
        String::from_utf8(text).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text_with_histograms_and_the_process() {
        let counters = TapCounters::default();
        let ms = Duration::from_millis(3);
        counters.request(Signal::Logs, Protocol::Grpc, 10, Outcome::Ok, ms);
        counters.request(Signal::Logs, Protocol::Grpc, 5, Outcome::of_grpc(tonic::Code::Unavailable), ms);
        counters.recorded(Signal::Traces, 99);
        let text = counters.render(Gauges { active_sessions: 2, ..Default::default() });
        assert!(
            text.contains("otlp_capture_requests_total{outcome=\"ok\",protocol=\"grpc\",signal=\"logs\"} 1"),
            "{text}"
        );
        assert!(text.contains("otlp_capture_requests_total{outcome=\"refused\",protocol=\"grpc\",signal=\"logs\"} 1"));
        assert!(text.contains("otlp_capture_received_bytes_total{signal=\"logs\"} 15"));
        assert!(text.contains("otlp_capture_recorded_bytes_total{signal=\"traces\"} 99"));
        assert!(text.contains("otlp_capture_active_sessions 2"));
        assert!(text.contains(
            "otlp_capture_request_duration_seconds_bucket{protocol=\"grpc\",signal=\"logs\",le=\"0.005\"} 2"
        ));
        assert!(text.contains("otlp_capture_recorded_object_size_bytes_count{signal=\"traces\"} 1"));
        #[cfg(target_os = "linux")]
        assert!(text.contains("process_resident_memory_bytes"), "{text}");
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
