use super::*;
use crate::otlp::collector::logs::v1::ExportLogsServiceRequest;
use crate::otlp::collector::metrics::v1::ExportMetricsServiceRequest;
use crate::otlp::collector::trace::v1::ExportTraceServiceRequest;
use crate::otlp::common::v1::{ArrayValue, InstrumentationScope, KeyValueList};
use crate::otlp::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use crate::otlp::metrics::v1::{Exemplar, Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, metric};
use crate::otlp::resource::v1::Resource;
use crate::otlp::trace::v1::span::{Event, Link};
use crate::otlp::trace::v1::{ResourceSpans, ScopeSpans, Span};

const EMAIL: &str = "ann.lee@example.com";

/// A stand-in for the host's keyed hash: visible, so tests see what was hashed.
struct Tagged;

impl Pseudonyms for Tagged {
    fn hmac_sha256_hex(&self, text: &[u8]) -> Option<String> {
        Some(format!("h({})", String::from_utf8_lossy(text)))
    }
}

struct NoKey;

impl Pseudonyms for NoKey {
    fn hmac_sha256_hex(&self, _: &[u8]) -> Option<String> {
        None
    }
}

fn string(s: &str) -> Option<AnyValue> {
    Some(AnyValue { value: Some(Value::StringValue(s.to_owned())) })
}

fn kv(key: &str, value: Option<AnyValue>) -> KeyValue {
    KeyValue { key: key.to_owned(), value, ..Default::default() }
}

/// Attributes with the email at the top, in an array and in a nested list.
fn secrets() -> Vec<KeyValue> {
    let nested = KeyValueList { values: vec![kv("inner", string(&format!("mail {EMAIL}")))] };
    vec![
        kv("user.email", string(EMAIL)),
        kv(
            "list",
            Some(AnyValue { value: Some(Value::ArrayValue(ArrayValue { values: vec![string(EMAIL).unwrap()] })) }),
        ),
        kv("map", Some(AnyValue { value: Some(Value::KvlistValue(nested)) })),
        kv("count", Some(AnyValue { value: Some(Value::IntValue(3)) })),
    ]
}

fn traces() -> OtlpRequest {
    let span = Span {
        name: "GET /users/42".into(),
        attributes: secrets(),
        events: vec![Event { name: "e".into(), attributes: secrets(), ..Default::default() }],
        links: vec![Link { attributes: secrets(), ..Default::default() }],
        ..Default::default()
    };
    OtlpRequest::Traces(ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource { attributes: secrets(), ..Default::default() }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope { attributes: secrets(), ..Default::default() }),
                spans: vec![span],
                ..Default::default()
            }],
            ..Default::default()
        }],
    })
}

fn metrics() -> OtlpRequest {
    let point = NumberDataPoint {
        attributes: secrets(),
        exemplars: vec![Exemplar { filtered_attributes: secrets(), ..Default::default() }],
        ..Default::default()
    };
    let metric = Metric {
        name: "m".into(),
        data: Some(metric::Data::Gauge(Gauge { data_points: vec![point] })),
        ..Default::default()
    };
    OtlpRequest::Metrics(ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource { attributes: secrets(), ..Default::default() }),
            scope_metrics: vec![ScopeMetrics { metrics: vec![metric], ..Default::default() }],
            ..Default::default()
        }],
    })
}

fn logs(body: Option<AnyValue>) -> OtlpRequest {
    OtlpRequest::Logs(ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord { body, attributes: secrets(), ..Default::default() }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    })
}

fn redactor(rules: &str) -> Redactor {
    Redactor::new(&Rules::parse(rules).unwrap()).unwrap()
}

fn bytes(request: &OtlpRequest) -> Vec<u8> {
    request.encode_protobuf()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn a_detector_reaches_every_attribute_at_any_depth_in_every_signal() {
    let rules = redactor(r#"{"detectors": ["email"]}"#);
    let mut t = traces();
    let counts = rules.apply(&mut t, &Tagged).unwrap();
    assert!(!contains(&bytes(&t), EMAIL));
    // Resource, scope, span, event, link: three changed attributes each (count is an int).
    assert_eq!(counts, RedactionCounts { masked_values: 15, removed_keys: 0 });
    let mut m = metrics();
    assert_eq!(rules.apply(&mut m, &Tagged).unwrap().masked_values, 9, "resource, point, exemplar");
    assert!(!contains(&bytes(&m), EMAIL));
    let body = KeyValueList { values: vec![kv("who", string(EMAIL)), kv("deeper", secrets()[1].value.clone())] };
    let mut l = logs(Some(AnyValue { value: Some(Value::KvlistValue(body)) }));
    assert_eq!(rules.apply(&mut l, &Tagged).unwrap().masked_values, 4, "three attributes and the body");
    assert!(!contains(&bytes(&l), EMAIL));
    let mut l = logs(string(&format!("login by {EMAIL} ok")));
    rules.apply(&mut l, &Tagged).unwrap();
    let OtlpRequest::Logs(r) = &l else { unreachable!() };
    let body = &r.resource_logs[0].scope_logs[0].log_records[0].body;
    assert_eq!(body, &string(&format!("login by {MASK} ok")), "only the match is masked");
}

#[test]
fn hashing_replaces_the_match_and_a_blocked_key_is_hashed_once_whole() {
    let rules = redactor(r#"{"detectors": ["email"], "blockedKeyPatterns": ["^user\\."], "hash": "hmac-sha256"}"#);
    let mut request = logs(None);
    rules.apply(&mut request, &Tagged).unwrap();
    let OtlpRequest::Logs(r) = &request else { unreachable!() };
    let attributes = &r.resource_logs[0].scope_logs[0].log_records[0].attributes;
    assert_eq!(attributes[0].value, string(&format!("h({EMAIL})")), "the key rule wins, once");
    let Some(Value::KvlistValue(map)) = attributes[2].value.as_ref().and_then(|v| v.value.clone()) else { panic!() };
    assert_eq!(map.values[0].value, string(&format!("mail h({EMAIL})")));
    // Without a key nothing is recorded half-redacted.
    let error = rules.apply(&mut logs(None), &NoKey).unwrap_err();
    assert!(error.to_string().contains("no redaction key"), "{error}");
}

#[test]
fn allowed_values_win_ignored_keys_are_untouched_and_other_types_stay() {
    let rules =
        redactor(r#"{"blockedValues": ["example\\.com"], "allowedValues": ["^ann\\.lee@"], "ignoredKeys": ["map"]}"#);
    let mut request = logs(string("contact bob@example.com"));
    let counts = rules.apply(&mut request, &Tagged).unwrap();
    let OtlpRequest::Logs(r) = &request else { unreachable!() };
    let record = &r.resource_logs[0].scope_logs[0].log_records[0];
    assert_eq!(record.attributes[0].value, string(EMAIL), "allowed");
    assert_eq!(record.attributes[1], secrets()[1], "allowed inside an array too");
    assert_eq!(record.attributes[2], secrets()[2], "ignored");
    assert_eq!(record.attributes[3], secrets()[3], "an int is no string");
    assert_eq!(record.body, string(&format!("contact bob@{MASK}")));
    assert_eq!(counts.masked_values, 1, "only the body");
}

#[test]
fn without_allow_all_keys_only_listed_keys_remain_everywhere() {
    let rules = redactor(r#"{"allowAllKeys": false, "allowedKeys": ["count"]}"#);
    let mut t = traces();
    let counts = rules.apply(&mut t, &Tagged).unwrap();
    assert_eq!(counts, RedactionCounts { masked_values: 0, removed_keys: 15 });
    let OtlpRequest::Traces(r) = &t else { unreachable!() };
    let span = &r.resource_spans[0].scope_spans[0].spans[0];
    for attributes in [
        &r.resource_spans[0].resource.as_ref().unwrap().attributes,
        &r.resource_spans[0].scope_spans[0].scope.as_ref().unwrap().attributes,
        &span.attributes,
        &span.events[0].attributes,
        &span.links[0].attributes,
    ] {
        assert_eq!(attributes.iter().map(|kv| kv.key.as_str()).collect::<Vec<_>>(), ["count"]);
    }
    // Keys inside a log body are not filtered.
    let body = KeyValueList { values: vec![kv("free", string("text"))] };
    let mut l = logs(Some(AnyValue { value: Some(Value::KvlistValue(body.clone())) }));
    rules.apply(&mut l, &Tagged).unwrap();
    let OtlpRequest::Logs(r) = &l else { unreachable!() };
    assert_eq!(
        r.resource_logs[0].scope_logs[0].log_records[0].body,
        Some(AnyValue { value: Some(Value::KvlistValue(body)) })
    );
}

#[test]
fn summaries_count_and_name_what_changed() {
    let rules = redactor(
        r#"{"allowAllKeys": false, "allowedKeys": ["user.email", "list"], "detectors": ["email"],
        "summary": "debug"}"#,
    );
    let mut request = logs(string(EMAIL));
    rules.apply(&mut request, &Tagged).unwrap();
    let OtlpRequest::Logs(r) = &request else { unreachable!() };
    let attributes = &r.resource_logs[0].scope_logs[0].log_records[0].attributes;
    let get = |key: &str| attributes.iter().find(|kv| kv.key == key).and_then(|kv| kv.value.clone());
    assert_eq!(get("redaction.redacted.keys"), string("count,map"));
    assert_eq!(get("redaction.redacted.count"), Some(AnyValue { value: Some(Value::IntValue(2)) }));
    assert_eq!(get("redaction.masked.keys"), string("list,user.email"));
    assert_eq!(get("redaction.body.masked.count"), Some(AnyValue { value: Some(Value::IntValue(1)) }));
    let info = redactor(r#"{"detectors": ["email"], "summary": "info"}"#);
    let mut request = logs(None);
    info.apply(&mut request, &Tagged).unwrap();
    assert!(!contains(&bytes(&request), "redaction.masked.keys"));
    assert!(contains(&bytes(&request), "redaction.masked.count"));
}

#[test]
fn sanitizers_rewrite_their_attributes_and_span_names() {
    let rules = redactor(r#"{"urlSanitizer": true, "dbSanitizer": true}"#);
    let span = |name: &str, attributes: Vec<KeyValue>| Span { name: name.into(), attributes, ..Default::default() };
    let mut request = OtlpRequest::Traces(ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: vec![
                    span("GET /users/42", vec![kv("url.full", string("https://shop.example/users/42?session=abc"))]),
                    span(
                        "SELECT shop.users WHERE id = 7",
                        vec![
                            kv("db.system", string("postgresql")),
                            kv("db.statement", string("SELECT * FROM users WHERE email = 'x@y.io'")),
                        ],
                    ),
                    span("checkout", vec![kv("note", string("/users/42"))]),
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    });
    let counts = rules.apply(&mut request, &Tagged).unwrap();
    let OtlpRequest::Traces(r) = &request else { unreachable!() };
    let spans = &r.resource_spans[0].scope_spans[0].spans;
    assert_eq!(spans[0].name, "GET /users/*");
    assert_eq!(spans[0].attributes[0].value, string("https://shop.example/users/*?session=*"));
    assert_eq!(spans[1].name, "SELECT shop.users WHERE id = ?");
    assert_eq!(spans[1].attributes[1].value, string("SELECT * FROM users WHERE email = ?"));
    assert_eq!(spans[2].name, "checkout");
    assert_eq!(spans[2].attributes[0].value, string("/users/42"), "not an attribute the sanitizer reads");
    assert_eq!(counts.masked_values, 4);
}

#[test]
fn bad_patterns_are_refused_naming_them_and_rules_compile_once() {
    let error = Redactor::new(&Rules::parse(r#"{"blockedValues": ["(unclosed"]}"#).unwrap()).err().unwrap();
    assert!(error.to_string().contains("blockedValues") && error.to_string().contains("(unclosed"), "{error}");
    let text = r#"{"detectors": ["jwt"]}"#;
    assert!(std::sync::Arc::ptr_eq(&compiled(text).unwrap(), &compiled(text).unwrap()));
}
