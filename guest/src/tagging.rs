//! Session tagging: every captured resource carries the session id and, when
//! flags are set, the enabled feature flags.

use crate::otlp::common::v1::any_value::Value;
use crate::otlp::common::v1::{AnyValue, ArrayValue, KeyValue};
use crate::otlp::resource::v1::Resource;

use crate::codec::OtlpRequest;
use crate::tag_keys::{ENABLED_FLAGS_KEY, SESSION_ID_KEY};

/// Tags every resource of `request` (creating the resource where a batch has
/// none). Existing attributes are kept; a resource that already names a
/// session gets this session's id in that one attribute, never a second copy.
pub fn tag(request: &mut OtlpRequest, session_id: &str, enabled_flags: &[String]) {
    let resources: Vec<&mut Option<Resource>> = match request {
        OtlpRequest::Traces(r) => r.resource_spans.iter_mut().map(|x| &mut x.resource).collect(),
        OtlpRequest::Metrics(r) => r.resource_metrics.iter_mut().map(|x| &mut x.resource).collect(),
        OtlpRequest::Logs(r) => r.resource_logs.iter_mut().map(|x| &mut x.resource).collect(),
    };
    for resource in resources {
        let attributes = &mut resource.get_or_insert_with(Resource::default).attributes;
        set(attributes, SESSION_ID_KEY, Value::StringValue(session_id.to_owned()));
        if !enabled_flags.is_empty() {
            let values =
                enabled_flags.iter().map(|f| AnyValue { value: Some(Value::StringValue(f.clone())) }).collect();
            set(attributes, ENABLED_FLAGS_KEY, Value::ArrayValue(ArrayValue { values }));
        }
    }
}

fn set(attributes: &mut Vec<KeyValue>, key: &str, value: Value) {
    let value = Some(AnyValue { value: Some(value) });
    match attributes.iter_mut().find(|kv| kv.key == key) {
        Some(existing) => existing.value = value,
        None => attributes.push(KeyValue { key: key.to_owned(), value, ..Default::default() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::tests::spec_example;
    use crate::records::{PayloadEncoding, Signal};

    fn attributes(request: &OtlpRequest) -> Vec<Vec<KeyValue>> {
        match request {
            OtlpRequest::Traces(r) => {
                r.resource_spans.iter().map(|x| x.resource.clone().unwrap_or_default().attributes).collect()
            }
            OtlpRequest::Metrics(r) => {
                r.resource_metrics.iter().map(|x| x.resource.clone().unwrap_or_default().attributes).collect()
            }
            OtlpRequest::Logs(r) => {
                r.resource_logs.iter().map(|x| x.resource.clone().unwrap_or_default().attributes).collect()
            }
        }
    }

    #[test]
    fn tags_every_resource_and_keeps_existing_attributes() {
        for (file, signal) in
            [("trace.json", Signal::Traces), ("metrics.json", Signal::Metrics), ("logs.json", Signal::Logs)]
        {
            let mut request = OtlpRequest::decode(signal, PayloadEncoding::Json, &spec_example(file)).unwrap();
            let before = attributes(&request);
            tag(&mut request, "s1", &["paymentServiceFailure".into()]);
            for (old, new) in before.iter().zip(attributes(&request)) {
                assert_eq!(&new[..old.len()], &old[..], "{file}: existing attributes kept in order");
                assert_eq!(new.len(), old.len() + 2);
                assert_eq!(new[old.len()].key, SESSION_ID_KEY);
                assert_eq!(new[old.len() + 1].key, ENABLED_FLAGS_KEY);
            }
        }
    }

    #[test]
    fn tagging_twice_does_not_duplicate_and_no_flags_means_no_flag_attribute() {
        let mut request =
            OtlpRequest::decode(Signal::Traces, PayloadEncoding::Json, &spec_example("trace.json")).unwrap();
        tag(&mut request, "s1", &[]);
        let once = request.clone();
        tag(&mut request, "s1", &[]);
        assert_eq!(once, request);
        assert!(attributes(&request)[0].iter().all(|kv| kv.key != ENABLED_FLAGS_KEY));
    }

    #[test]
    fn creates_a_missing_resource() {
        let mut request =
            OtlpRequest::decode(Signal::Logs, PayloadEncoding::Json, br#"{"resourceLogs":[{"scopeLogs":[]}]}"#)
                .unwrap();
        tag(&mut request, "s1", &[]);
        assert_eq!(attributes(&request)[0][0].key, SESSION_ID_KEY);
    }
}
