//! Generates the component's OTLP messages from the OTLP .proto files in
//! `guest/proto` (the version opentelemetry-proto pins) with prost-build and
//! protox, a protobuf compiler in Rust, into `guest/src/otlp/generated/`.
//! The attributes give the messages the OTLP/JSON shape (camelCase names,
//! hex ids, 64-bit integers as strings, flattened oneofs) through the
//! serializers in `guest/src/otlp/serializers.rs`, as opentelemetry-proto's
//! own generation does, so the component and the host read each other's
//! JSON and protobuf alike.
//!
//! `otlp-gen` writes the files; `otlp-gen --check` fails when the
//! checked-in files differ from what it generates (`make lint`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const PROTOS: &[&str] = &[
    "opentelemetry/proto/common/v1/common.proto",
    "opentelemetry/proto/resource/v1/resource.proto",
    "opentelemetry/proto/trace/v1/trace.proto",
    "opentelemetry/proto/metrics/v1/metrics.proto",
    "opentelemetry/proto/logs/v1/logs.proto",
    "opentelemetry/proto/collector/trace/v1/trace_service.proto",
    "opentelemetry/proto/collector/metrics/v1/metrics_service.proto",
    "opentelemetry/proto/collector/logs/v1/logs_service.proto",
];

/// Messages whose fields may be missing from OTLP/JSON (every field takes its default).
const DEFAULTED: &[&str] = &[
    "collector.trace.v1.ExportTraceServiceRequest",
    "collector.logs.v1.ExportLogsServiceRequest",
    "collector.metrics.v1.ExportMetricsServiceRequest",
    "collector.trace.v1.ExportTracePartialSuccess",
    "collector.logs.v1.ExportLogsPartialSuccess",
    "collector.metrics.v1.ExportMetricsPartialSuccess",
    "trace.v1.Span",
    "trace.v1.Span.Link",
    "trace.v1.ScopeSpans",
    "trace.v1.ResourceSpans",
    "common.v1.InstrumentationScope",
    "resource.v1.Resource",
    "trace.v1.Span.Event",
    "trace.v1.Status",
    "logs.v1.LogRecord",
    "logs.v1.ScopeLogs",
    "logs.v1.ResourceLogs",
    "metrics.v1.Metric",
    "metrics.v1.ResourceMetrics",
    "metrics.v1.ScopeMetrics",
    "metrics.v1.Gauge",
    "metrics.v1.Sum",
    "metrics.v1.Histogram",
    "metrics.v1.ExponentialHistogram",
    "metrics.v1.Summary",
    "metrics.v1.NumberDataPoint",
    "metrics.v1.HistogramDataPoint",
    "metrics.v1.SummaryDataPoint",
    "metrics.v1.ExponentialHistogramDataPoint",
    "metrics.v1.ExponentialHistogramDataPoint.Buckets",
    "metrics.v1.SummaryDataPoint.ValueAtQuantile",
    "metrics.v1.Exemplar",
];

/// Ids: bytes in protobuf, hex strings in OTLP/JSON.
const HEX_IDS: &[&str] = &[
    "trace.v1.Span.trace_id",
    "trace.v1.Span.span_id",
    "trace.v1.Span.parent_span_id",
    "trace.v1.Span.Link.trace_id",
    "trace.v1.Span.Link.span_id",
    "logs.v1.LogRecord.span_id",
    "logs.v1.LogRecord.trace_id",
    "metrics.v1.Exemplar.span_id",
    "metrics.v1.Exemplar.trace_id",
];

/// Unsigned 64-bit fields: decimal strings in OTLP/JSON (numbers are read too).
const U64_STRINGS: &[&str] = &[
    "trace.v1.Span.start_time_unix_nano",
    "trace.v1.Span.end_time_unix_nano",
    "trace.v1.Span.Event.time_unix_nano",
    "logs.v1.LogRecord.time_unix_nano",
    "logs.v1.LogRecord.observed_time_unix_nano",
    "metrics.v1.HistogramDataPoint.start_time_unix_nano",
    "metrics.v1.HistogramDataPoint.time_unix_nano",
    "metrics.v1.NumberDataPoint.start_time_unix_nano",
    "metrics.v1.NumberDataPoint.time_unix_nano",
    "metrics.v1.ExponentialHistogramDataPoint.start_time_unix_nano",
    "metrics.v1.ExponentialHistogramDataPoint.time_unix_nano",
    "metrics.v1.SummaryDataPoint.start_time_unix_nano",
    "metrics.v1.SummaryDataPoint.time_unix_nano",
    "metrics.v1.Exemplar.time_unix_nano",
    "metrics.v1.HistogramDataPoint.count",
    "metrics.v1.ExponentialHistogramDataPoint.count",
    "metrics.v1.ExponentialHistogramDataPoint.zero_count",
    "metrics.v1.SummaryDataPoint.count",
];

/// Repeated unsigned 64-bit fields, as decimal strings.
const U64_STRING_LISTS: &[&str] =
    &["metrics.v1.HistogramDataPoint.bucket_counts", "metrics.v1.ExponentialHistogramDataPoint.Buckets.bucket_counts"];

/// Signed 64-bit oneof members, as decimal strings.
const I64_STRINGS: &[&str] = &["metrics.v1.NumberDataPoint.value.as_int", "metrics.v1.Exemplar.value.as_int"];

/// Doubles that may be NaN or infinite (strings in OTLP/JSON).
const SPECIAL_F64: &[&str] =
    &["metrics.v1.SummaryDataPoint.ValueAtQuantile.value", "metrics.v1.SummaryDataPoint.ValueAtQuantile.quantile"];

/// Oneofs whose members stand in their message's JSON object.
const FLATTENED: &[&str] = &["metrics.v1.Metric.data", "metrics.v1.NumberDataPoint.value", "metrics.v1.Exemplar.value"];

/// `serde(with)`-style attribute for `serialize` / `deserialize` functions of the serializers module.
fn with(serialize: &str, deserialize: &str) -> String {
    format!(
        "#[serde(serialize_with = \"crate::otlp::serializers::{serialize}\", \
         deserialize_with = \"crate::otlp::serializers::{deserialize}\")]"
    )
}

fn generate(proto_dir: &Path, out: &Path) -> Result<(), String> {
    let files = protox::compile(PROTOS, [proto_dir]).map_err(|e| format!("{e:?}"))?;
    let mut config = prost_build::Config::new();
    config
        .out_dir(out)
        .type_attribute(".", "#[derive(serde::Serialize, serde::Deserialize)]")
        .type_attribute(".", "#[serde(rename_all = \"camelCase\")]");
    for path in DEFAULTED {
        config.type_attribute(path, "#[serde(default)]");
    }
    for path in HEX_IDS {
        config.field_attribute(path, with("serialize_to_hex_string", "deserialize_from_hex_string"));
    }
    config.field_attribute(
        "common.v1.KeyValue.key_strindex",
        "#[serde(default, skip_serializing_if = \"crate::otlp::serializers::is_default\")]",
    );
    for path in U64_STRINGS {
        config.field_attribute(path, with("serialize_u64_to_string", "deserialize_string_to_u64"));
    }
    for path in U64_STRING_LISTS {
        config.field_attribute(path, with("serialize_vec_u64_to_string", "deserialize_vec_string_to_vec_u64"));
    }
    for path in I64_STRINGS {
        config.field_attribute(path, with("serialize_i64_to_string", "deserialize_string_to_i64"));
    }
    for path in SPECIAL_F64 {
        config.field_attribute(path, with("serialize_f64_special", "deserialize_f64_special"));
    }
    config.field_attribute(
        "common.v1.AnyValue.value",
        "#[serde(flatten, serialize_with = \"crate::otlp::serializers::serialize_to_value\", \
         deserialize_with = \"crate::otlp::serializers::deserialize_from_value\")]",
    );
    for path in FLATTENED {
        config.field_attribute(path, "#[serde(flatten)]");
    }
    config.compile_fds(files).map_err(|e| e.to_string())
}

/// `text` with each indented block of a doc comment (the .proto files'
/// examples) fenced as ```text, so rustdoc neither runs it as a test nor
/// reads it as Rust.
fn fence_examples(text: &str) -> String {
    let mut out = Vec::new();
    let mut fenced: Option<String> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        let example = trimmed.strip_prefix("///     ").filter(|rest| !rest.trim().is_empty());
        match (example, &fenced) {
            (Some(rest), None) => {
                out.push(format!("{indent}/// ```text"));
                out.push(format!("{indent}/// {rest}"));
                fenced = Some(indent.to_owned());
            }
            (Some(rest), Some(_)) => out.push(format!("{indent}/// {rest}")),
            (None, Some(open)) => {
                out.push(format!("{open}/// ```"));
                fenced = None;
                out.push(line.to_owned());
            }
            (None, None) => out.push(line.to_owned()),
        }
    }
    if let Some(open) = fenced {
        out.push(format!("{open}/// ```"));
    }
    out.join("\n") + "\n"
}

/// The `.rs` files of `dir`, by name.
fn contents(dir: &Path) -> BTreeMap<String, String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return BTreeMap::new() };
    entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "rs"))
        .filter_map(|e| Some((e.file_name().to_string_lossy().into_owned(), std::fs::read_to_string(e.path()).ok()?)))
        .collect()
}

/// What was generated into `dir`, examples fenced.
fn generated(dir: &Path) -> BTreeMap<String, String> {
    contents(dir).into_iter().map(|(name, text)| (name, fence_examples(&text))).collect()
}

fn main() -> std::process::ExitCode {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let proto_dir = root.join("guest/proto");
    let target = root.join("guest/src/otlp/generated");
    let check = std::env::args().any(|a| a == "--check");
    let scratch = std::env::temp_dir().join(format!("otlp-gen-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    if let Err(e) =
        std::fs::create_dir_all(&scratch).map_err(|e| e.to_string()).and_then(|()| generate(&proto_dir, &scratch))
    {
        eprintln!("otlp-gen: {e}");
        return std::process::ExitCode::FAILURE;
    }
    let generated = generated(&scratch);
    let _ = std::fs::remove_dir_all(&scratch);
    if check {
        if generated == contents(&target) {
            return std::process::ExitCode::SUCCESS;
        }
        eprintln!("otlp-gen: guest/src/otlp/generated/ is not what the .proto files generate: run `make generate`");
        return std::process::ExitCode::FAILURE;
    }
    let written = std::fs::create_dir_all(&target).and_then(|()| {
        for (name, text) in &generated {
            std::fs::write(target.join(name), text)?;
        }
        Ok(())
    });
    match written {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("otlp-gen: {}: {e}", target.display());
            std::process::ExitCode::FAILURE
        }
    }
}
