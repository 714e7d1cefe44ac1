//! metadata.json: every field of the otel-ai capture package under its name,
//! plus what replay and training need (format version, signal switches,
//! item counts, uncompressed bytes, object count, telemetry time bounds).

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::keys;
use crate::records::{Phase, ProcessorError, SessionConfig, SessionCounts, SessionState, SessionStatus};

/// The version of this document's format.
pub const FORMAT_VERSION: u32 = 1;

/// `maxSizeMB` counts mebibytes.
const MIB: f64 = 1_048_576.0;

/// The document as stored. Field names are a contract with other tools.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    #[serde(default = "format_version")]
    format_version: u32,
    session_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    diagnostic_session_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    start_time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    end_time: Option<String>,
    status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    end_reason: Option<String>,
    #[serde(default)]
    enabled_flags: Vec<String>,
    #[serde(default = "yes")]
    capture_traces: bool,
    #[serde(default = "yes")]
    capture_metrics: bool,
    #[serde(default = "yes")]
    capture_logs: bool,
    #[serde(default = "one")]
    sample_ratio: f64,
    #[serde(default, rename = "maxSizeMB", skip_serializing_if = "Option::is_none")]
    max_size_mb: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_duration_minutes: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gzip_level: Option<u8>,
    #[serde(default)]
    captured_traces: u64,
    #[serde(default)]
    captured_metrics: u64,
    #[serde(default)]
    captured_logs: u64,
    #[serde(default)]
    span_count: u64,
    #[serde(default)]
    data_point_count: u64,
    #[serde(default)]
    log_record_count: u64,
    #[serde(default)]
    object_count: u64,
    #[serde(default)]
    total_size_bytes: u64,
    #[serde(default)]
    uncompressed_size_bytes: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    first_telemetry_time_unix_nano: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_telemetry_time_unix_nano: Option<String>,
    #[serde(default)]
    dropped_requests: u64,
    #[serde(default)]
    dropped_items: u64,
    #[serde(default)]
    s3_prefix: String,
    #[serde(default)]
    created_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    updated_at: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    phases: Vec<PhaseDocument>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    redaction: Option<RedactionDocument>,
}

/// `redaction`: the rules as given, their digest and what they changed.
/// Never the key: it stays with the host.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RedactionDocument {
    rules: serde_json::Value,
    rules_digest: String,
    #[serde(default)]
    masked_values: u64,
    #[serde(default)]
    removed_keys: u64,
}

/// One entry of `phases`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PhaseDocument {
    name: String,
    start_time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value: Option<serde_json::Value>,
}

fn format_version() -> u32 {
    FORMAT_VERSION
}
fn yes() -> bool {
    true
}
fn one() -> f64 {
    1.0
}

/// The metadata.json text for `state`, pretty-printed.
pub fn render(state: &SessionState) -> String {
    let c = &state.counts;
    let nanos = |n: u64| (n != 0).then(|| n.to_string());
    let document = Document {
        format_version: FORMAT_VERSION,
        session_id: state.config.session_id.clone(),
        diagnostic_session_id: state.config.diagnostic_session_id.clone(),
        description: state.config.description.clone(),
        start_time: iso(state.start_unix_nanos),
        end_time: state.end_unix_nanos.map(iso),
        status: state.status.as_str().to_owned(),
        end_reason: state.end_reason.clone(),
        enabled_flags: state.config.enabled_flags.clone(),
        capture_traces: state.config.capture_traces,
        capture_metrics: state.config.capture_metrics,
        capture_logs: state.config.capture_logs,
        sample_ratio: state.config.sample_ratio,
        max_size_mb: state.config.max_size_bytes.map(|b| b as f64 / MIB),
        max_duration_minutes: state.config.max_duration_millis.map(|ms| ms as f64 / 60_000.0),
        gzip_level: state.config.gzip_level,
        captured_traces: c.trace_batches,
        captured_metrics: c.metric_batches,
        captured_logs: c.log_batches,
        span_count: c.spans,
        data_point_count: c.data_points,
        log_record_count: c.log_records,
        object_count: c.objects(),
        total_size_bytes: c.compressed_bytes,
        uncompressed_size_bytes: c.uncompressed_bytes,
        first_telemetry_time_unix_nano: nanos(c.first_telemetry_unix_nanos),
        last_telemetry_time_unix_nano: nanos(c.last_telemetry_unix_nanos),
        dropped_requests: c.dropped_requests,
        dropped_items: c.dropped_items,
        s3_prefix: keys::session_prefix(&state.config.session_id).unwrap_or_default(),
        created_by: state.config.created_by.clone(),
        updated_at: Some(iso(state.updated_unix_nanos)),
        phases: state
            .phases
            .iter()
            .map(|p| PhaseDocument {
                name: p.name.clone(),
                start_time: iso(p.start_unix_nanos),
                // A value that is not JSON is kept as a JSON string rather than lost.
                value: p
                    .value
                    .as_deref()
                    .map(|v| serde_json::from_str(v).unwrap_or_else(|_| serde_json::Value::String(v.to_owned()))),
            })
            .collect(),
        redaction: state.config.redaction.as_deref().map(|rules| RedactionDocument {
            rules: serde_json::from_str(rules).unwrap_or_else(|_| serde_json::Value::String(rules.to_owned())),
            rules_digest: crate::redaction::digest(rules),
            masked_values: c.masked_values,
            removed_keys: c.removed_keys,
        }),
    };
    // A struct of strings and numbers always serializes.
    serde_json::to_string_pretty(&document).unwrap_or_default()
}

/// Reads a metadata.json document back into a state.
pub fn parse(text: &str) -> Result<SessionState, ProcessorError> {
    let invalid = |why: String| ProcessorError::InvalidMetadata(why);
    let d: Document = serde_json::from_str(text).map_err(|e| invalid(format!("metadata.json: {e}")))?;
    let status =
        SessionStatus::from_name(&d.status).ok_or_else(|| invalid(format!("unknown status {:?}", d.status)))?;
    let nanos = |field: &str, value: &Option<String>| -> Result<u64, ProcessorError> {
        value
            .as_deref()
            .map_or(Ok(0), |v| v.parse().map_err(|_| invalid(format!("{field} is not a decimal number: {v:?}"))))
    };
    let start_unix_nanos = parse_iso(&d.start_time)?;
    let end_unix_nanos = d.end_time.as_deref().map(parse_iso).transpose()?;
    let updated_unix_nanos = d.updated_at.as_deref().map(parse_iso).transpose()?.unwrap_or(start_unix_nanos);
    let counts = SessionCounts {
        trace_batches: d.captured_traces,
        metric_batches: d.captured_metrics,
        log_batches: d.captured_logs,
        spans: d.span_count,
        data_points: d.data_point_count,
        log_records: d.log_record_count,
        compressed_bytes: d.total_size_bytes,
        uncompressed_bytes: d.uncompressed_size_bytes,
        first_telemetry_unix_nanos: nanos("firstTelemetryTimeUnixNano", &d.first_telemetry_time_unix_nano)?,
        last_telemetry_unix_nanos: nanos("lastTelemetryTimeUnixNano", &d.last_telemetry_time_unix_nano)?,
        dropped_requests: d.dropped_requests,
        dropped_items: d.dropped_items,
        masked_values: d.redaction.as_ref().map_or(0, |r| r.masked_values),
        removed_keys: d.redaction.as_ref().map_or(0, |r| r.removed_keys),
    };
    Ok(SessionState {
        config: SessionConfig {
            session_id: d.session_id,
            diagnostic_session_id: d.diagnostic_session_id,
            description: d.description,
            enabled_flags: d.enabled_flags,
            capture_traces: d.capture_traces,
            capture_metrics: d.capture_metrics,
            capture_logs: d.capture_logs,
            sample_ratio: d.sample_ratio,
            created_by: d.created_by,
            max_size_bytes: d.max_size_mb.map(|mb| (mb * MIB).round() as u64),
            max_duration_millis: d.max_duration_minutes.map(|m| (m * 60_000.0).round() as u64),
            gzip_level: d.gzip_level,
            redaction: d.redaction.map(|r| r.rules.to_string()),
        },
        status,
        start_unix_nanos,
        end_unix_nanos,
        updated_unix_nanos,
        end_reason: d.end_reason,
        counts,
        phases: d
            .phases
            .into_iter()
            .map(|p| {
                Ok(Phase {
                    start_unix_nanos: parse_iso(&p.start_time)?,
                    name: p.name,
                    value: p.value.map(|v| v.to_string()),
                })
            })
            .collect::<Result<_, ProcessorError>>()?,
    })
}

/// RFC 3339 in UTC with milliseconds, as JavaScript's `toISOString` writes.
fn iso(unix_nanos: u64) -> String {
    DateTime::<Utc>::from_timestamp_nanos(i64::try_from(unix_nanos).unwrap_or(i64::MAX))
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Reads a time as metadata.json carries it, to the millisecond `iso`
/// writes (finer digits from another writer are dropped, so that a document
/// read and written again says the same).
fn parse_iso(text: &str) -> Result<u64, ProcessorError> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .and_then(|t| t.timestamp_nanos_opt())
        .and_then(|n| u64::try_from(n).ok())
        .map(|n| n - n % 1_000_000)
        .ok_or_else(|| ProcessorError::InvalidMetadata(format!("{text:?} is not an RFC 3339 time after 1970")))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn state() -> SessionState {
        SessionState {
            config: SessionConfig {
                session_id: "s1".into(),
                diagnostic_session_id: Some("incident-7".into()),
                description: Some("payment failure".into()),
                enabled_flags: vec!["paymentServiceFailure".into()],
                capture_traces: true,
                capture_metrics: false,
                capture_logs: true,
                sample_ratio: 0.5,
                created_by: "sre".into(),
                max_size_bytes: Some(5 << 20),
                max_duration_millis: Some(90_000),
                gzip_level: Some(6),
                redaction: Some(r#"{"detectors":["email"],"hash":"none"}"#.into()),
            },
            status: SessionStatus::Completed,
            start_unix_nanos: 1_700_000_000_123_000_000,
            end_unix_nanos: Some(1_700_000_060_000_000_000),
            updated_unix_nanos: 1_700_000_060_000_000_000,
            end_reason: Some("maxDurationMinutes reached".into()),
            counts: SessionCounts {
                trace_batches: 3,
                metric_batches: 0,
                log_batches: 2,
                spans: 30,
                data_points: 0,
                log_records: 7,
                compressed_bytes: 1234,
                uncompressed_bytes: 5678,
                first_telemetry_unix_nanos: 1_699_999_999_000_000_001,
                last_telemetry_unix_nanos: 1_700_000_059_999_999_999,
                dropped_requests: 2,
                dropped_items: 40,
                masked_values: 9,
                removed_keys: 4,
            },
            phases: vec![
                Phase { name: "baseline".into(), start_unix_nanos: 1_700_000_000_123_000_000, value: None },
                Phase {
                    name: "anomaly".into(),
                    start_unix_nanos: 1_700_000_030_000_000_000,
                    value: Some(r#"{"flag":"paymentServiceFailure","score":0.9}"#.into()),
                },
            ],
        }
    }

    #[test]
    fn renders_otel_ai_names_and_round_trips() {
        let text = render(&state());
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        for field in [
            "sessionId",
            "diagnosticSessionId",
            "description",
            "startTime",
            "endTime",
            "status",
            "enabledFlags",
            "capturedTraces",
            "capturedMetrics",
            "capturedLogs",
            "totalSizeBytes",
            "s3Prefix",
            "createdBy",
            "formatVersion",
            "captureTraces",
            "sampleRatio",
            "spanCount",
            "dataPointCount",
            "logRecordCount",
            "uncompressedSizeBytes",
            "objectCount",
            "firstTelemetryTimeUnixNano",
            "lastTelemetryTimeUnixNano",
            "updatedAt",
            "phases",
        ] {
            assert!(json.get(field).is_some(), "{field} missing from {text}");
        }
        assert_eq!(json["startTime"], "2023-11-14T22:13:20.123Z");
        assert_eq!(json["firstTelemetryTimeUnixNano"], "1699999999000000001");
        assert_eq!(json["objectCount"], 5);
        assert_eq!((json["maxSizeMB"].as_f64(), json["maxDurationMinutes"].as_f64()), (Some(5.0), Some(1.5)));
        assert_eq!(json["s3Prefix"], "sessions/s1/");
        assert_eq!(json["phases"][1]["startTime"], "2023-11-14T22:13:50.000Z");
        assert_eq!(json["phases"][1]["value"]["score"], 0.9);
        assert_eq!(json["redaction"]["rules"]["detectors"][0], "email", "the rules as given, as JSON");
        assert_eq!(
            (json["redaction"]["maskedValues"].as_u64(), json["redaction"]["removedKeys"].as_u64()),
            (Some(9), Some(4))
        );
        // The digest names the rules however they are spaced or ordered.
        let spaced = crate::redaction::digest(r#"{ "hash": "none", "detectors": [ "email" ] }"#);
        assert_eq!(json["redaction"]["rulesDigest"], spaced);
        assert_eq!(parse(&text).unwrap(), state());
    }

    #[test]
    fn unset_fields_are_left_out_not_null() {
        let mut active = state();
        (active.status, active.end_unix_nanos, active.end_reason, active.config.description) =
            (SessionStatus::Active, None, None, None);
        active.phases.clear();
        let text = render(&active);
        assert!(!text.contains("null"), "{text}");
        active.config.redaction = None;
        active.counts.masked_values = 0;
        active.counts.removed_keys = 0;
        let text = render(&active);
        for absent in ["endTime", "endReason", "description", "phases", "redaction"] {
            assert!(!text.contains(&format!("\"{absent}\"")), "{absent} in {text}");
        }
        assert_eq!(parse(&text).unwrap(), active);
    }

    #[test]
    fn refuses_broken_documents() {
        assert!(parse("{}").is_err());
        assert!(parse(r#"{"sessionId":"a","startTime":"yesterday","status":"active"}"#).is_err());
        assert!(parse(r#"{"sessionId":"a","startTime":"2024-01-01T00:00:00Z","status":"paused"}"#).is_err());
        let minimal = parse(r#"{"sessionId":"a","startTime":"2024-01-01T00:00:00Z","status":"active"}"#).unwrap();
        assert_eq!(minimal.counts, SessionCounts::default());
        assert!(minimal.config.capture_logs);
    }
}
