//! Redaction inside the component, seen from outside: secrets planted in
//! every place an OTLP request carries strings, sent through the Rust SDK
//! and as raw protobuf and OTLP/JSON, never reach a file of the store or of
//! the spool (the journal included); pseudonyms are the HMAC-SHA256 Python
//! computes with the same key, alike across sessions and taps; a fail-closed
//! allow list keeps only what it lists; metadata.json counts what was done.

use std::path::Path;

use otlp_capture_guest::codec::OtlpRequest;
use otlp_capture_guest::otlp::collector::metrics::v1::ExportMetricsServiceRequest;
use otlp_capture_guest::otlp::collector::trace::v1::ExportTraceServiceRequest;
use otlp_capture_guest::otlp::common::v1::any_value::Value as Any;
use otlp_capture_guest::otlp::common::v1::{AnyValue, InstrumentationScope, KeyValue, KeyValueList};
use otlp_capture_guest::otlp::metrics::v1::{
    Exemplar, Histogram, HistogramDataPoint, Metric, ResourceMetrics, ScopeMetrics, metric,
};
use otlp_capture_guest::otlp::resource::v1::Resource;
use otlp_capture_guest::otlp::trace::v1::span::{Event, Link};
use otlp_capture_guest::otlp::trace::v1::{ResourceSpans, ScopeSpans, Span};
use reqwest::StatusCode;
use reqwest::blocking::Client;
use serde_json::{Value, json};

use crate::support::otlp::{gunzip, stored_requests};
use crate::support::processes::{TapProcess, run_cli, workspace};
use crate::support::{reference, sdk};

const EMAIL: &str = "ann.lee@shop.test";
const TOKEN: &str = "tok_live_9f8e7d6c5b4a";
const CARD: &str = "4111 1111 1111 1111";
const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl";
const AWS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
const ADDRESS: &str = "203.0.113.9";
const BEARER: &str = "abcDEF123456";
const KEY: &str = "the redaction key of the end-to-end tests, over 32 bytes";
/// Every secret planted, as it would appear if it leaked.
const SECRETS: [&str; 8] = [EMAIL, TOKEN, CARD, "4111111111111111", JWT, AWS_KEY, ADDRESS, BEARER];

fn rules() -> Value {
    json!({
        "blockedKeyPatterns": [".*token.*"],
        "detectors": ["email", "creditCard", "jwt", "bearerToken", "awsAccessKey", "ipv4", "ipv6"],
        "hash": "hmac-sha256",
        "urlSanitizer": true,
        "dbSanitizer": true,
        "summary": "info"
    })
}

/// HMAC-SHA256 of `text` under [`KEY`], computed by Python.
fn python_hmac(text: &str) -> String {
    reference::python_hmac_sha256(KEY, text)
}

fn string(text: &str) -> Option<AnyValue> {
    Some(AnyValue { value: Some(Any::StringValue(text.to_owned())) })
}

fn kv(key: &str, value: Option<AnyValue>) -> KeyValue {
    KeyValue { key: key.to_owned(), value, ..Default::default() }
}

/// Spans with secrets in the resource, the scope, the span (a key pattern,
/// a SQL statement, a nested list), its event and its link: 8 values change.
fn planted_traces() -> Vec<u8> {
    let profile = KeyValueList { values: vec![kv("aws", string(AWS_KEY)), kv("plain", string("nothing"))] };
    let span = Span {
        trace_id: vec![7; 16],
        span_id: vec![8; 8],
        name: "GET /users/4711".into(),
        start_time_unix_nano: 1_700_000_000_000_000_000,
        end_time_unix_nano: 1_700_000_000_500_000_000,
        attributes: vec![
            kv("api.token", string(TOKEN)),
            kv("db.statement", string(&format!("SELECT * FROM users WHERE email = '{EMAIL}'"))),
            kv("profile", Some(AnyValue { value: Some(Any::KvlistValue(profile)) })),
            kv("http.request.method", string("GET")),
        ],
        events: vec![Event { name: "login".into(), attributes: vec![kv("auth", string(JWT))], ..Default::default() }],
        links: vec![Link {
            trace_id: vec![9; 16],
            span_id: vec![9; 8],
            attributes: vec![kv("card", string(CARD))],
            ..Default::default()
        }],
        ..Default::default()
    };
    OtlpRequest::Traces(ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", string("planted-raw")), kv("host.ip", string(ADDRESS))],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "raw".into(),
                    attributes: vec![kv("scope.owner", string(EMAIL))],
                    ..Default::default()
                }),
                spans: vec![span],
                ..Default::default()
            }],
            ..Default::default()
        }],
    })
    .encode_protobuf()
}

/// A histogram point and its exemplar, each with a secret: 2 values change.
fn planted_metrics() -> Vec<u8> {
    let point = HistogramDataPoint {
        attributes: vec![kv("client.address", string(ADDRESS))],
        time_unix_nano: 1_700_000_000_000_000_000,
        count: 1,
        bucket_counts: vec![1],
        exemplars: vec![Exemplar {
            filtered_attributes: vec![kv("customer", string(EMAIL))],
            time_unix_nano: 1_700_000_000_000_000_000,
            ..Default::default()
        }],
        ..Default::default()
    };
    let metric = Metric {
        name: "checkout.duration".into(),
        data: Some(metric::Data::Histogram(Histogram { data_points: vec![point], aggregation_temporality: 2 })),
        ..Default::default()
    };
    OtlpRequest::Metrics(ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics { metrics: vec![metric], ..Default::default() }],
            ..Default::default()
        }],
    })
    .encode_protobuf()
}

/// OTLP/JSON logs with a bearer token attribute and a body nesting a list
/// and a map: 2 values change.
fn planted_logs_json() -> Vec<u8> {
    json!({"resourceLogs": [{"scopeLogs": [{"logRecords": [{
        "timeUnixNano": "1700000000000000000",
        "attributes": [{"key": "authorization", "value": {"stringValue": format!("Bearer {BEARER}")}}],
        "body": {"arrayValue": {"values": [
            {"kvlistValue": {"values": [{"key": "who", "value": {"stringValue": EMAIL}}]}},
            {"stringValue": format!("card {CARD}")}
        ]}}
    }]}]}]})
    .to_string()
    .into_bytes()
}

fn post(client: &Client, base: &str, signal: &str, content_type: &str, body: Vec<u8>) {
    let answer =
        client.post(format!("{base}/v1/{signal}")).header("content-type", content_type).body(body).send().unwrap();
    assert_eq!(answer.status(), StatusCode::OK, "{}", answer.text().unwrap_or_default());
}

fn start(client: &Client, base: &str, id: &str, rules: Value) -> reqwest::blocking::Response {
    client
        .post(format!("{base}/api/capture/sessions"))
        .json(&json!({"sessionId": id, "redaction": rules}))
        .send()
        .unwrap()
}

fn stop(client: &Client, base: &str, id: &str) -> Value {
    let answer = client.delete(format!("{base}/api/capture/sessions/{id}")).send().unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    answer.json().unwrap()
}

/// Every file under `dir`, gzip objects inflated.
fn every_file(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for path in entries.map(|e| e.unwrap().path()) {
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            let bytes = if bytes.starts_with(&[0x1f, 0x8b]) { gunzip(&bytes) } else { bytes };
            files.push((path.display().to_string(), bytes));
        }
    }
    files
}

fn assert_holds_none(files: &[(String, Vec<u8>)], needles: &[&str]) {
    for (name, bytes) in files {
        for needle in needles {
            let found = bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
            assert!(!found, "{name} holds {needle:?}");
        }
    }
}

/// The string values of `key` wherever it is an attribute in `requests`.
fn values_of(requests: &[OtlpRequest], key: &str) -> Vec<String> {
    fn walk(value: &Value, key: &str, found: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if map.get("key").and_then(Value::as_str) == Some(key)
                    && let Some(text) = map.get("value").and_then(|v| v.get("stringValue")).and_then(Value::as_str)
                {
                    found.push(text.to_owned());
                }
                map.values().for_each(|inner| walk(inner, key, found));
            }
            Value::Array(items) => items.iter().for_each(|item| walk(item, key, found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    for request in requests {
        walk(&serde_json::from_str(&request.encode_json().unwrap()).unwrap(), key, &mut found);
    }
    found
}

#[test]
fn planted_secrets_reach_no_file_and_pseudonyms_join_across_sessions_and_taps() {
    let work = tempfile::tempdir().unwrap();
    let key_file = work.path().join("redaction.key");
    std::fs::write(&key_file, format!("{KEY}\n")).unwrap();
    let (store, spool) = (work.path().join("store"), work.path().join("spool"));
    let key_arg = key_file.to_str().unwrap();
    let args = ["--redaction-key-file", key_arg, "--spool", spool.to_str().unwrap()];
    let tap = TapProcess::start_with(store.to_str().unwrap(), &[], &args);
    let client = Client::new();

    // Raw protobuf and OTLP/JSON: every place, exact counts.
    let started = start(&client, &tap.base, "raw", rules());
    assert_eq!(started.status(), StatusCode::CREATED);
    let started: Value = started.json().unwrap();
    assert_eq!(started["redaction"]["rules"], rules(), "the rules as given, in the start answer");
    assert!(started["redaction"]["rulesDigest"].as_str().unwrap().starts_with("sha256:"));
    post(&client, &tap.base, "traces", "application/x-protobuf", planted_traces());
    post(&client, &tap.base, "metrics", "application/x-protobuf", planted_metrics());
    post(&client, &tap.base, "logs", "application/json", planted_logs_json());
    let raw = stop(&client, &tap.base, "raw");
    assert_eq!(raw["redaction"]["maskedValues"], 12, "8 in the spans, 2 in the metric, 2 in the log: {raw}");
    assert_eq!(raw["redaction"]["removedKeys"], 0);
    let requests = stored_requests(&store, "raw");
    let pseudonym = python_hmac(EMAIL);
    assert_eq!(values_of(&requests, "scope.owner"), std::slice::from_ref(&pseudonym));
    assert_eq!(values_of(&requests, "customer"), std::slice::from_ref(&pseudonym), "exemplar attributes too");
    assert_eq!(values_of(&requests, "api.token"), [python_hmac(TOKEN)], "a key pattern hashes the whole value");
    assert_eq!(values_of(&requests, "db.statement"), ["SELECT * FROM users WHERE email = ?"]);
    assert_eq!(values_of(&requests, "authorization"), [format!("Bearer {}", python_hmac(BEARER))]);
    let json: String = requests.iter().map(|r| r.encode_json().unwrap()).collect();
    assert!(json.contains("GET /users/*") && !json.contains("4711"), "the span name is sanitized");

    // The SDK's telemetry, in a second session of this tap and a session of another tap with the key.
    let rules_file = work.path().join("rules.json");
    std::fs::write(&rules_file, rules().to_string()).unwrap();
    let started =
        run_cli(&["session", "start", "sdk", "--redaction", rules_file.to_str().unwrap(), "--tap", &tap.base], &[]);
    assert!(started.status.success(), "{}", String::from_utf8_lossy(&started.stderr));
    sdk::emit_planted(&tap.base, EMAIL);
    stop(&client, &tap.base, "sdk");
    let other_store = work.path().join("other-store");
    let other = TapProcess::start_with(other_store.to_str().unwrap(), &[], &["--redaction-key-file", key_arg]);
    assert_eq!(start(&client, &other.base, "elsewhere", rules()).status(), StatusCode::CREATED);
    sdk::emit_planted(&other.base, EMAIL);
    stop(&client, &other.base, "elsewhere");
    for (store, session) in [(&store, "sdk"), (&other_store, "elsewhere")] {
        let requests = stored_requests(store, session);
        for key in ["owner.email", "user.email", "event.email", "link.note", "log.email", "customer.email"] {
            let values = values_of(&requests, key);
            assert!(!values.is_empty() && values.iter().all(|v| *v == pseudonym), "{session} {key}: {values:?}");
        }
    }

    // Nothing planted, and not the key, is in any file of either store or the spool (journal included).
    let mut files = every_file(&store);
    files.extend(every_file(&spool));
    files.extend(every_file(&other_store));
    assert!(files.iter().any(|(name, _)| name.contains("journal")), "the journal was searched too");
    assert_holds_none(&files, &SECRETS);
    assert_holds_none(&files, &[KEY]);
    for log in [tap.log(), other.log()] {
        assert!(log.iter().all(|line| !line.contains(KEY)), "the key is in no log line");
    }
}

#[test]
fn an_allow_list_keeps_only_what_it_lists_in_every_place() {
    let work = tempfile::tempdir().unwrap();
    let tap = TapProcess::start(work.path().to_str().unwrap(), &[]);
    let client = Client::new();
    let rules = json!({"allowAllKeys": false, "allowedKeys": ["service.name", "http.request.method"]});
    assert_eq!(start(&client, &tap.base, "allowed", rules).status(), StatusCode::CREATED);
    post(&client, &tap.base, "traces", "application/x-protobuf", planted_traces());
    post(&client, &tap.base, "metrics", "application/x-protobuf", planted_metrics());
    post(&client, &tap.base, "logs", "application/json", planted_logs_json());
    let stopped = stop(&client, &tap.base, "allowed");
    // Resource 1, scope 1, span 3, event 1, link 1, point 1, exemplar 1, log record 1.
    assert_eq!(stopped["redaction"]["removedKeys"], 10, "{stopped}");
    let json: Vec<Value> = stored_requests(work.path(), "allowed")
        .iter()
        .map(|r| serde_json::from_str(&r.encode_json().unwrap()).unwrap())
        .collect();
    let mut keys = std::collections::BTreeSet::new();
    fn collect(value: &Value, in_body: bool, keys: &mut std::collections::BTreeSet<String>) {
        match value {
            Value::Object(map) => {
                for (name, inner) in map {
                    if (name == "attributes" || name == "filteredAttributes") && !in_body {
                        for kv in inner.as_array().unwrap() {
                            keys.insert(kv["key"].as_str().unwrap().to_owned());
                        }
                    }
                    collect(inner, in_body || name == "body", keys);
                }
            }
            Value::Array(items) => items.iter().for_each(|item| collect(item, in_body, keys)),
            _ => {}
        }
    }
    json.iter().for_each(|request| collect(request, false, &mut keys));
    let allowed = ["http.request.method", "otlp_capture.session.id", "service.name"];
    assert_eq!(
        keys.into_iter().collect::<Vec<_>>(),
        allowed,
        "only listed keys, and the tap's own tag after the rules"
    );
    let body = json.iter().map(Value::to_string).collect::<String>();
    assert!(body.contains("\"who\""), "keys inside log bodies are not filtered");
}

#[test]
fn rules_that_cannot_apply_are_refused_at_start_and_short_keys_at_serve() {
    let work = tempfile::tempdir().unwrap();
    let tap = TapProcess::start(work.path().to_str().unwrap(), &[]);
    let client = Client::new();
    for (rules, says) in [
        (json!({"hash": "hmac-sha256"}), "no redaction key"),
        (json!({"blockedValues": ["(unclosed"]}), "(unclosed"),
        (json!({"detectors": ["phone"]}), "phone"),
        (json!({"allowAllKey": false}), "allowAllKey"),
    ] {
        let answer = start(&client, &tap.base, "refused", rules);
        assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
        let text = answer.text().unwrap();
        assert!(text.contains(says), "{text}");
    }
    let rules_file = workspace().join("examples/redaction/rules.json");
    let refused =
        run_cli(&["session", "start", "s", "--redaction", rules_file.to_str().unwrap(), "--tap", &tap.base], &[]);
    assert!(!refused.status.success(), "the README's rules hash: a tap without a key refuses them");
    let short = work.path().join("short.key");
    std::fs::write(&short, "too short\n").unwrap();
    let serve = run_cli(
        &["serve", "--store", work.path().to_str().unwrap(), "--redaction-key-file", short.to_str().unwrap()],
        &[],
    );
    assert_eq!(serve.status.code(), Some(2), "{}", String::from_utf8_lossy(&serve.stderr));
    assert!(String::from_utf8_lossy(&serve.stderr).contains("at least 32 bytes"));
}
