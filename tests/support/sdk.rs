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

/// Sends one trace through the SDK whose every attribute place carries
/// `secret`: the resource, a span (with a link to another span), its event,
/// a log record's attributes and its body (a map holding a list), and a
/// counter's data point. Redaction tests look for `secret` afterwards.
pub fn emit_planted(base: &str, secret: &str) {
    let planted = || {
        Resource::builder()
            .with_service_name("planted".to_owned())
            .with_attribute(KeyValue::new("owner.email", secret.to_owned()))
            .build()
    };
    let exporter = |signal: &str| format!("{base}/v1/{signal}");
    let spans = SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(exporter("traces"))
        .build();
    let logs =
        LogExporter::builder().with_http().with_protocol(Protocol::HttpBinary).with_endpoint(exporter("logs")).build();
    let metrics = MetricExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(exporter("metrics"))
        .build();
    let tracer_provider = SdkTracerProvider::builder()
        .with_simple_exporter(spans.expect("span exporter"))
        .with_resource(planted())
        .build();
    let logger_provider =
        SdkLoggerProvider::builder().with_simple_exporter(logs.expect("log exporter")).with_resource(planted()).build();
    let meter_provider = SdkMeterProvider::builder()
        .with_periodic_exporter(metrics.expect("metric exporter"))
        .with_resource(planted())
        .build();
    let tracer = tracer_provider.tracer("planted");
    let linked = tracer.start("earlier");
    let link = opentelemetry::trace::Link::with_context(linked.span_context().clone());
    let link =
        opentelemetry::trace::Link::new(link.span_context, vec![KeyValue::new("link.note", secret.to_owned())], 0);
    drop(linked);
    let mut span = tracer
        .span_builder("GET /users/4711")
        .with_attributes(vec![
            KeyValue::new("user.email", secret.to_owned()),
            KeyValue::new("url.full", format!("https://shop.test/users/4711?contact={secret}")),
        ])
        .with_links(vec![link])
        .start(&tracer);
    span.add_event("login", vec![KeyValue::new("event.email", secret.to_owned())]);
    let logger = logger_provider.logger("planted");
    let mut record = logger.create_log_record();
    record.add_attribute("log.email", secret.to_owned());
    let list = AnyValue::ListAny(Box::new(vec![AnyValue::from(format!("to {secret}"))]));
    let body = [("who".into(), AnyValue::from(secret.to_owned())), ("recipients".into(), list)];
    record.set_body(AnyValue::Map(Box::new(body.into_iter().collect())));
    logger.emit(record);
    span.end();
    let meter = meter_provider.meter("planted");
    meter.u64_counter("logins").build().add(1, &[KeyValue::new("customer.email", secret.to_owned())]);
    tracer_provider.shutdown().expect("flush spans");
    logger_provider.shutdown().expect("flush logs");
    meter_provider.shutdown().expect("flush metrics");
}
