//! Telemetry from the real OpenTelemetry Rust SDK, exported with the
//! `opentelemetry-otlp` crate's HTTP protobuf exporters.

use opentelemetry::KeyValue;
use opentelemetry::logs::{AnyValue, LogRecord, Logger, LoggerProvider, Severity};
use opentelemetry::metrics::MeterProvider;
use opentelemetry::trace::{Span, TraceContextExt, Tracer, TracerProvider};
use opentelemetry_otlp::{LogExporter, MetricExporter, Protocol, SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;

/// What [`emit`] sent.
#[derive(Debug, Clone, Copy)]
pub struct Emitted {
    /// Spans.
    pub spans: u64,
    /// Log records.
    pub logs: u64,
    /// Metric instruments (each yields at least one data point).
    pub instruments: u64,
}

fn resource(service: &str) -> Resource {
    Resource::builder()
        .with_service_name(service.to_owned())
        .with_attribute(KeyValue::new("deployment.environment", "e2e"))
        .build()
}

/// Sends `rounds` traces of three spans (one with an event), a log per span
/// under its trace, and a counter and a histogram, over OTLP/HTTP protobuf to
/// the tap at `base`.
pub fn emit(base: &str, service: &str, rounds: u64) -> Emitted {
    let spans = SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(format!("{base}/v1/traces"))
        .build()
        .expect("span exporter");
    let logs = LogExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(format!("{base}/v1/logs"))
        .build()
        .expect("log exporter");
    let metrics = MetricExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(format!("{base}/v1/metrics"))
        .build()
        .expect("metric exporter");
    emit_with(spans, logs, metrics, service, rounds)
}

/// Like [`emit`], over OTLP/gRPC to `endpoint` (`http://127.0.0.1:PORT`).
pub fn emit_grpc(endpoint: &str, service: &str, rounds: u64) -> Emitted {
    // tonic needs a runtime; the SDK's processors block on their exports from this thread.
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let _entered = runtime.enter();
    let spans = SpanExporter::builder().with_tonic().with_endpoint(endpoint).build().expect("span exporter");
    let logs = LogExporter::builder().with_tonic().with_endpoint(endpoint).build().expect("log exporter");
    let metrics = MetricExporter::builder().with_tonic().with_endpoint(endpoint).build().expect("metric exporter");
    emit_with(spans, logs, metrics, service, rounds)
}

fn emit_with(spans: SpanExporter, logs: LogExporter, metrics: MetricExporter, service: &str, rounds: u64) -> Emitted {
    let tracer_provider =
        SdkTracerProvider::builder().with_simple_exporter(spans).with_resource(resource(service)).build();
    let logger_provider =
        SdkLoggerProvider::builder().with_simple_exporter(logs).with_resource(resource(service)).build();
    let meter_provider =
        SdkMeterProvider::builder().with_periodic_exporter(metrics).with_resource(resource(service)).build();

    let tracer = tracer_provider.tracer("e2e");
    let logger = logger_provider.logger("e2e");
    let meter = meter_provider.meter("e2e");
    let counter = meter.u64_counter("orders").build();
    let latency = meter.f64_histogram("checkout.duration").with_unit("ms").build();
    for round in 0..rounds {
        tracer.in_span("checkout", |cx| {
            cx.span().set_attribute(KeyValue::new("round", round as i64));
            let mut child = tracer.start("charge-card");
            child.add_event("card declined", vec![KeyValue::new("retry", true)]);
            child.end();
            tracer.in_span("send-receipt", |_| {});
            for _ in 0..3 {
                let mut record = logger.create_log_record();
                record.set_severity_number(Severity::Error);
                record.set_body(AnyValue::from("payment failed"));
                logger.emit(record);
            }
        });
        counter.add(1, &[KeyValue::new("result", "failed")]);
        latency.record(12.5 + round as f64, &[]);
    }
    tracer_provider.shutdown().expect("flush spans");
    logger_provider.shutdown().expect("flush logs");
    meter_provider.shutdown().expect("flush metrics");
    Emitted { spans: 3 * rounds, logs: 3 * rounds, instruments: 2 }
}
