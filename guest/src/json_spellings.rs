//! The spellings of OTLP/JSON that the protobuf JSON mapping allows beside
//! OTLP's own: field names in snake_case (`start_time_unix_nano`) as well as
//! lowerCamelCase, and enum values by name (`"SPAN_KIND_SERVER"`) as well as
//! by number. The generated serde types take only the OTLP spelling (a
//! snake_case field would be dropped, leaving a zero), so requests using the
//! others are rewritten to it first. A quick scan leaves the common request,
//! already in OTLP's spelling, untouched.

use crate::otlp::logs::v1::SeverityNumber;
use crate::otlp::metrics::v1::AggregationTemporality;
use crate::otlp::trace::v1::span::SpanKind;
use crate::otlp::trace::v1::status::StatusCode;
use serde_json::Value;

/// Prefixes of the enum value names OTLP defines.
const ENUM_PREFIXES: [&str; 4] = ["SPAN_KIND_", "STATUS_CODE_", "SEVERITY_NUMBER_", "AGGREGATION_TEMPORALITY_"];

/// Whether `json` spells a field in snake_case or an enum by name: some
/// object key holds an underscore, or some string starts like an enum name.
pub fn needs_rewrite(json: &[u8]) -> bool {
    let mut at = 0;
    while let Some(start) = json[at..].iter().position(|b| *b == b'"').map(|p| at + p) {
        let mut end = start + 1;
        let mut underscore = false;
        while end < json.len() && json[end] != b'"' {
            match json[end] {
                b'\\' => end += 1,
                b'_' => underscore = true,
                _ => {}
            }
            end += 1;
        }
        let text = &json[start + 1..end.min(json.len())];
        let is_key = json[(end + 1).min(json.len())..].iter().find(|b| !b.is_ascii_whitespace()) == Some(&b':');
        if underscore && (is_key || ENUM_PREFIXES.iter().any(|p| text.starts_with(p.as_bytes()))) {
            return true;
        }
        at = end + 1;
        if at >= json.len() {
            return false;
        }
    }
    false
}

/// Rewrites `value` to OTLP's spelling: keys to lowerCamelCase, enum names
/// to their numbers. An unknown enum name is left for decoding to refuse.
pub fn rewrite(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let entries = std::mem::take(map);
            for (key, mut inner) in entries {
                let key = if key.contains('_') { camel_case(&key) } else { key };
                rewrite(&mut inner);
                if let Value::String(name) = &inner
                    && let Some(number) = enum_number(&key, name)
                {
                    inner = Value::from(number);
                }
                map.insert(key, inner);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(rewrite),
        _ => {}
    }
}

fn camel_case(snake: &str) -> String {
    let mut camel = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        match c {
            '_' if !camel.is_empty() => upper = true,
            c if upper => {
                camel.extend(c.to_uppercase());
                upper = false;
            }
            c => camel.push(c),
        }
    }
    camel
}

/// The number of enum value `name` for the field `key`, when `key` is an
/// enum field of OTLP and `name` one of its values.
fn enum_number(key: &str, name: &str) -> Option<i32> {
    match key {
        "kind" => SpanKind::from_str_name(name).map(|v| v as i32),
        "code" => StatusCode::from_str_name(name).map(|v| v as i32),
        "severityNumber" => SeverityNumber::from_str_name(name).map(|v| v as i32),
        "aggregationTemporality" => AggregationTemporality::from_str_name(name).map(|v| v as i32),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_snake_case_keys_and_enum_names_and_nothing_else() {
        assert!(needs_rewrite(br#"{"resource_spans": []}"#));
        assert!(needs_rewrite(br#"{"kind": "SPAN_KIND_SERVER"}"#));
        assert!(!needs_rewrite(br#"{"resourceSpans": [{"key": "http_method", "value": {"stringValue": "a_b"}}]}"#));
        assert!(!needs_rewrite(br#"{"name": "say \"x_y\": now"}"#));
        assert!(!needs_rewrite(b"{\"unterminated"));
    }

    #[test]
    fn rewrites_keys_and_enum_names_and_keeps_attribute_keys() {
        let mut value: Value = serde_json::from_str(
            r#"{"resource_spans":[{"scope_spans":[{"spans":[{"start_time_unix_nano":"5","kind":"SPAN_KIND_SERVER",
                "status":{"code":"STATUS_CODE_ERROR"},"attributes":[{"key":"db_name","value":{"string_value":"x_y"}}]}]}]}]}"#,
        )
        .unwrap();
        rewrite(&mut value);
        let span = &value["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
        assert_eq!(span["startTimeUnixNano"], "5");
        assert_eq!((span["kind"].as_i64(), span["status"]["code"].as_i64()), (Some(2), Some(2)));
        assert_eq!(span["attributes"][0]["key"], "db_name");
        assert_eq!(span["attributes"][0]["value"]["stringValue"], "x_y");
    }
}
