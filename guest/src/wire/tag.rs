//! Session tagging on the wire: each resource batch gets its resource
//! rewritten with the session attributes, and everything else (scopes,
//! spans, points, records, unknown fields) is copied as it came.
//!
//! The result decodes to what [`tagging::tag`](crate::tagging::tag) makes of
//! the decoded request: a repeated resource field is merged into one (as
//! decoding merges it), the first attribute with a session key gets the new
//! value and keeps its other fields, and missing attributes are appended.

use crate::otlp::common::v1::any_value::Value;
use crate::otlp::common::v1::{AnyValue, ArrayValue, KeyValue};
use prost::Message as _;

use super::reader::{self, WireError, WireType};
use crate::tag_keys::{ENABLED_FLAGS_KEY, SESSION_ID_KEY};

/// Field number of the resource in a resource batch, of the attributes in a
/// resource, and of the key in a key-value pair.
const FIRST_FIELD: u32 = 1;
/// Field number of the value in a key-value pair.
const VALUE_FIELD: u32 = 2;

/// One attribute to set.
struct Attribute {
    key: &'static str,
    /// The encoded `AnyValue`.
    value: Vec<u8>,
    /// The encoded `KeyValue`, as a whole field 1 of a resource.
    field: Vec<u8>,
}

/// The session attributes, encoded once per request.
pub struct SessionAttributes(Vec<Attribute>);

impl SessionAttributes {
    /// The attributes `tagging::tag` sets for this session.
    pub fn new(session_id: &str, enabled_flags: &[String]) -> Self {
        let mut attributes = vec![attribute(SESSION_ID_KEY, Value::StringValue(session_id.to_owned()))];
        if !enabled_flags.is_empty() {
            let values =
                enabled_flags.iter().map(|f| AnyValue { value: Some(Value::StringValue(f.clone())) }).collect();
            attributes.push(attribute(ENABLED_FLAGS_KEY, Value::ArrayValue(ArrayValue { values })));
        }
        SessionAttributes(attributes)
    }

    /// Bytes the attributes take in one resource.
    pub fn encoded_len(&self) -> usize {
        self.0.iter().map(|a| a.field.len()).sum()
    }
}

fn attribute(key: &'static str, value: Value) -> Attribute {
    let value = AnyValue { value: Some(value) };
    let pair = KeyValue { key: key.to_owned(), value: Some(value.clone()), ..Default::default() };
    let mut field = Vec::new();
    reader::put_len_header(&mut field, FIRST_FIELD, pair.encoded_len());
    pair.encode_raw(&mut field);
    Attribute { key, value: value.encode_to_vec(), field }
}

/// One field as it sits in a buffer.
struct RawField {
    number: u32,
    wire: WireType,
    /// From its key to its end.
    whole: (usize, usize),
    /// Its payload, for length-delimited fields.
    body: (usize, usize),
}

/// The fields of `buf[start..end]`, in order.
fn fields(buf: &[u8], start: usize, end: usize) -> impl Iterator<Item = Result<RawField, WireError>> + '_ {
    let mut pos = start;
    std::iter::from_fn(move || {
        if pos >= end {
            return None;
        }
        let field = (|| {
            let (number, wire, at) = reader::key(buf, pos, end)?;
            let (body, next) = match wire {
                WireType::Len => {
                    let body = reader::len_delimited(buf, at, end)?;
                    (body, body.1)
                }
                _ => {
                    let next = reader::skip(buf, at, end, number, wire, 0)?;
                    ((at, next), next)
                }
            };
            let field = RawField { number, wire, whole: (pos, next), body };
            pos = next;
            Ok(field)
        })();
        if field.is_err() {
            pos = end;
        }
        Some(field)
    })
}

/// Tags every resource batch of `payload`, an export request already
/// validated by a [`Scan`](super::Scan), into a new request.
pub fn tag(payload: &[u8], attributes: &SessionAttributes) -> Result<Vec<u8>, WireError> {
    let extra: usize = attributes.0.iter().map(|a| a.field.len()).sum();
    let mut out = Vec::with_capacity(payload.len() + 16 * extra + 64);
    let mut resource = Vec::new();
    for field in fields(payload, 0, payload.len()) {
        let field = field?;
        if field.number != FIRST_FIELD || field.wire != WireType::Len {
            out.extend_from_slice(&payload[field.whole.0..field.whole.1]);
            continue;
        }
        // The resource batch: its merged, tagged resource first, then every
        // other field as it was.
        resource.clear();
        let mut resource_fields_len = 0;
        let mut attributes_of_resource = Vec::new();
        for inner in fields(payload, field.body.0, field.body.1) {
            let inner = inner?;
            if inner.number == FIRST_FIELD && inner.wire == WireType::Len {
                resource_fields_len += inner.whole.1 - inner.whole.0;
                attributes_of_resource.push(inner.body);
            }
        }
        tag_resource(payload, &attributes_of_resource, attributes, &mut resource)?;
        let resource_field_len = 1 + reader::varint_len(resource.len() as u64) + resource.len();
        let batch_len = field.body.1 - field.body.0 - resource_fields_len + resource_field_len;
        reader::put_len_header(&mut out, FIRST_FIELD, batch_len);
        reader::put_len_header(&mut out, FIRST_FIELD, resource.len());
        out.extend_from_slice(&resource);
        for inner in fields(payload, field.body.0, field.body.1) {
            let inner = inner?;
            if !(inner.number == FIRST_FIELD && inner.wire == WireType::Len) {
                out.extend_from_slice(&payload[inner.whole.0..inner.whole.1]);
            }
        }
    }
    Ok(out)
}

/// Writes into `out` the resource made of the bodies `parts` (one per
/// occurrence of the resource field), with the session attributes set.
fn tag_resource(
    buf: &[u8],
    parts: &[(usize, usize)],
    attributes: &SessionAttributes,
    out: &mut Vec<u8>,
) -> Result<(), WireError> {
    let mut set = vec![false; attributes.0.len()];
    for &(start, end) in parts {
        for field in fields(buf, start, end) {
            let field = field?;
            let whole = &buf[field.whole.0..field.whole.1];
            if field.number != FIRST_FIELD || field.wire != WireType::Len {
                out.extend_from_slice(whole);
                continue;
            }
            let key = key_of(buf, field.body)?;
            let target = attributes.0.iter().enumerate().find(|(i, a)| !set[*i] && key == Some(a.key.as_bytes()));
            match target {
                Some((i, attribute)) => {
                    set[i] = true;
                    replace_value(buf, field.body, &attribute.value, out)?;
                }
                None => out.extend_from_slice(whole),
            }
        }
    }
    for (attribute, done) in attributes.0.iter().zip(set) {
        if !done {
            out.extend_from_slice(&attribute.field);
        }
    }
    Ok(())
}

/// The key of the encoded `KeyValue` at `body` (the last one given wins, as
/// in decoding); `None` when it has none.
fn key_of(buf: &[u8], body: (usize, usize)) -> Result<Option<&[u8]>, WireError> {
    let mut key = None;
    for field in fields(buf, body.0, body.1) {
        let field = field?;
        if field.number == FIRST_FIELD && field.wire == WireType::Len {
            key = Some(&buf[field.body.0..field.body.1]);
        }
    }
    Ok(key)
}

/// Writes the `KeyValue` at `body` as a resource attribute field with its
/// value replaced by `value` and every other field kept.
fn replace_value(buf: &[u8], body: (usize, usize), value: &[u8], out: &mut Vec<u8>) -> Result<(), WireError> {
    let mut kept = Vec::new();
    for field in fields(buf, body.0, body.1) {
        let field = field?;
        if field.number != VALUE_FIELD {
            kept.extend_from_slice(&buf[field.whole.0..field.whole.1]);
        }
    }
    let value_field_len = 1 + reader::varint_len(value.len() as u64) + value.len();
    reader::put_len_header(out, FIRST_FIELD, kept.len() + value_field_len);
    out.extend_from_slice(&kept);
    reader::put_len_header(out, VALUE_FIELD, value.len());
    out.extend_from_slice(value);
    Ok(())
}
