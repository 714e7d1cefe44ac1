//! Redaction and pseudonymization of a request before it is recorded, with
//! the Collector redactionprocessor's rules and semantics: per attribute,
//! an ignored key is left alone, a key outside the allow list is removed, a
//! value matching an allowed pattern is kept, a key matching a blocked
//! pattern has its whole value masked, and otherwise the parts of string
//! values that blocked patterns or detectors find are masked, then the URL
//! and SQL sanitizers run on their attributes.
//!
//! Unlike the redactionprocessor it covers span links, exemplars and string
//! values at any depth of an attribute, and a match is masked once, whole,
//! even where patterns overlap. A mask is `****` or the HMAC-SHA256 of the
//! matched text under a key only the host holds ([`Pseudonyms`]).

mod cache;
mod detectors;
pub mod rules;
pub mod sanitizers;
mod walk;

use std::collections::HashSet;

use regex::Regex;

use crate::capabilities::Pseudonyms;
use crate::codec::OtlpRequest;
use crate::otlp::common::v1::any_value::Value;
use crate::otlp::common::v1::{AnyValue, KeyValue};
use crate::records::{ProcessorError, RedactionCounts};
pub use cache::compiled;
use rules::{Hash, Rules, SanitizerSetting, Summary, invalid};

/// What a match becomes without a hash.
pub const MASK: &str = "****";

/// The attributes the redactionprocessor adds to summarize what it did; an
/// allow list always keeps them, so a second pass does not remove them.
const SUMMARY_KEYS: [&str; 14] = [
    "redaction.redacted.keys",
    "redaction.redacted.count",
    "redaction.masked.keys",
    "redaction.masked.count",
    "redaction.allowed.keys",
    "redaction.allowed.count",
    "redaction.ignored.count",
    "redaction.body.redacted.keys",
    "redaction.body.redacted.count",
    "redaction.body.masked.keys",
    "redaction.body.masked.count",
    "redaction.body.allowed.keys",
    "redaction.body.allowed.count",
    "redaction.body.ignored.count",
];

/// The digest metadata.json names rules by, `sha256:` and the hex SHA-256
/// of their compact JSON with keys in order, so the same rules have the same
/// digest however they were spaced or ordered.
pub fn digest(rules: &str) -> String {
    use sha2::Digest as _;
    let canonical =
        serde_json::from_str::<serde_json::Value>(rules).map_or_else(|_| rules.to_owned(), |v| canonical(&v));
    let hash = sha2::Sha256::digest(canonical.as_bytes());
    format!("sha256:{}", hex(&hash))
}

/// Compact JSON with every object's keys sorted, whatever order the
/// parser keeps them in.
fn canonical(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<(&String, &serde_json::Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let inner: Vec<String> = entries
                .into_iter()
                .map(|(k, v)| format!("{}:{}", serde_json::Value::String(k.clone()), canonical(v)))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        serde_json::Value::Array(items) => format!("[{}]", items.iter().map(canonical).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

/// A session's rules, compiled once.
pub struct Redactor {
    allow_all_keys: bool,
    allowed_keys: HashSet<String>,
    ignored_keys: HashSet<String>,
    ignored_key_patterns: Vec<Regex>,
    blocked_key_patterns: Vec<Regex>,
    blocked_values: Vec<Regex>,
    allowed_values: Vec<Regex>,
    detectors: Vec<detectors::Compiled>,
    hash: Hash,
    url: Option<(HashSet<String>, bool)>,
    db: Option<(HashSet<String>, bool)>,
    summary: Summary,
}

fn regexes(field: &str, patterns: &[String]) -> Result<Vec<Regex>, ProcessorError> {
    patterns.iter().map(|p| Regex::new(p).map_err(|e| invalid(format!("{field}: {p:?} is not a regex: {e}")))).collect()
}

impl Redactor {
    /// Compiles `rules`; a pattern that is not a regex is an error naming it.
    pub fn new(rules: &Rules) -> Result<Redactor, ProcessorError> {
        let mut allowed_keys: HashSet<String> = rules.allowed_keys.iter().cloned().collect();
        allowed_keys.extend(SUMMARY_KEYS.iter().map(|k| (*k).to_owned()));
        let mut detectors = Vec::new();
        for kind in &rules.detectors {
            if !detectors.iter().any(|d: &detectors::Compiled| d.kind == *kind) {
                detectors.push(detectors::Compiled::new(*kind)?);
            }
        }
        let sanitizer = |setting: Option<&SanitizerSetting>, defaults: &[&str]| {
            SanitizerSetting::resolve(setting, defaults)
                .map(|(attributes, span_names)| (attributes.into_iter().collect::<HashSet<_>>(), span_names))
        };
        Ok(Redactor {
            allow_all_keys: rules.allow_all_keys,
            allowed_keys,
            ignored_keys: rules.ignored_keys.iter().cloned().collect(),
            ignored_key_patterns: regexes("ignoredKeyPatterns", &rules.ignored_key_patterns)?,
            blocked_key_patterns: regexes("blockedKeyPatterns", &rules.blocked_key_patterns)?,
            blocked_values: regexes("blockedValues", &rules.blocked_values)?,
            allowed_values: regexes("allowedValues", &rules.allowed_values)?,
            detectors,
            hash: rules.hash,
            url: sanitizer(rules.url_sanitizer.as_ref(), sanitizers::URL_ATTRIBUTES),
            db: sanitizer(rules.db_sanitizer.as_ref(), sanitizers::DB_ATTRIBUTES),
            summary: rules.summary,
        })
    }

    /// Whether the rules hash what they mask, so the host must hold a key.
    pub fn needs_key(&self) -> bool {
        self.hash == Hash::HmacSha256
    }

    /// Applies the rules to every attribute, body and span name of
    /// `request`, hashing through `pseudonyms`. Fails (and the request must
    /// not be recorded) when the rules hash and the host holds no key.
    pub fn apply(
        &self,
        request: &mut OtlpRequest,
        pseudonyms: &dyn Pseudonyms,
    ) -> Result<RedactionCounts, ProcessorError> {
        let mut pass = Pass { redactor: self, pseudonyms, counts: RedactionCounts::default() };
        walk::each_part(request, &mut pass)?;
        Ok(pass.counts)
    }

    fn is_ignored(&self, key: &str) -> bool {
        self.ignored_keys.contains(key) || self.ignored_key_patterns.iter().any(|p| p.is_match(key))
    }

    fn is_removed(&self, key: &str) -> bool {
        !self.allow_all_keys && !self.allowed_keys.contains(key)
    }

    fn is_blocked_key(&self, key: &str) -> bool {
        self.blocked_key_patterns.iter().any(|p| p.is_match(key))
    }

    fn is_allowed_value(&self, value: &str) -> bool {
        self.allowed_values.iter().any(|p| p.is_match(value))
    }

    /// The byte ranges of `text` that blocked patterns and detectors find,
    /// sorted and merged where they overlap or touch.
    fn matches(&self, text: &str) -> Vec<(usize, usize)> {
        let mut ranges: Vec<(usize, usize)> = Vec::new();
        for pattern in &self.blocked_values {
            ranges.extend(pattern.find_iter(text).filter(|m| !m.is_empty()).map(|m| (m.start(), m.end())));
        }
        for detector in &self.detectors {
            ranges.extend(detector.find(text));
        }
        ranges.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
        for (start, end) in ranges {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        merged
    }
}

/// One request's pass: the rules, the host's hashing and what was done.
struct Pass<'a> {
    redactor: &'a Redactor,
    pseudonyms: &'a dyn Pseudonyms,
    counts: RedactionCounts,
}

/// What one attribute list's pass did, for the `redaction.*` attributes.
#[derive(Default)]
struct Tally {
    removed: Vec<String>,
    masked: Vec<String>,
    allowed: Vec<String>,
    ignored: usize,
}

/// Where the values being redacted are: attributes (their keys are
/// filtered) or a log body (its keys are not).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Attributes,
    Body,
}

impl Pass<'_> {
    fn mask(&self, text: &str) -> Result<String, ProcessorError> {
        match self.redactor.hash {
            Hash::None => Ok(MASK.to_owned()),
            Hash::HmacSha256 => self.pseudonyms.hmac_sha256_hex(text.as_bytes()).ok_or_else(|| {
                invalid(
                    "the rules hash with hmac-sha256, but the host holds no redaction key (serve --redaction-key-file)",
                )
            }),
        }
    }

    /// `text` with every match masked; `None` when nothing matched.
    fn masked_parts(&self, text: &str) -> Result<Option<String>, ProcessorError> {
        let ranges = self.redactor.matches(text);
        if ranges.is_empty() {
            return Ok(None);
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (start, end) in ranges {
            out.push_str(&text[at..start]);
            out.push_str(&self.mask(&text[start..end])?);
            at = end;
        }
        out.push_str(&text[at..]);
        Ok(Some(out))
    }

    /// Applies the rules to one attribute list (resource, scope, span,
    /// event, link, log record, data point or exemplar attributes).
    fn attributes(&mut self, attributes: &mut Vec<KeyValue>) -> Result<(), ProcessorError> {
        let mut tally = Tally::default();
        if !self.redactor.allow_all_keys {
            // Removed in place: most lists lose nothing, and none is copied for it.
            attributes.retain(|kv| {
                let removed = !self.redactor.is_ignored(&kv.key) && self.redactor.is_removed(&kv.key);
                if removed {
                    tally.removed.push(kv.key.clone());
                }
                !removed
            });
        }
        for kv in attributes.iter_mut() {
            if self.redactor.is_ignored(&kv.key) {
                tally.ignored += 1;
            } else if self.value(&kv.key, kv.value.as_mut(), Place::Attributes, &mut tally)? {
                tally.masked.push(kv.key.clone());
            }
        }
        self.counts.removed_keys += tally.removed.len() as u64;
        self.counts.masked_values += tally.masked.len() as u64;
        self.summarize(attributes, tally, "redaction");
        Ok(())
    }

    /// Applies the rules to a log body, whose keys are never removed.
    fn body(&mut self, body: Option<&mut AnyValue>, attributes: &mut Vec<KeyValue>) -> Result<(), ProcessorError> {
        let mut tally = Tally::default();
        if self.value("body", body, Place::Body, &mut tally)? {
            tally.masked.push("body".to_owned());
        }
        self.counts.masked_values += tally.masked.len() as u64;
        self.summarize(attributes, tally, "redaction.body");
        Ok(())
    }

    /// Applies the rules to the value of `key`; true when it changed.
    fn value(
        &mut self,
        key: &str,
        value: Option<&mut AnyValue>,
        place: Place,
        tally: &mut Tally,
    ) -> Result<bool, ProcessorError> {
        let Some(value) = value.and_then(|v| v.value.as_mut()) else { return Ok(false) };
        if self.redactor.is_blocked_key(key) {
            return self.mask_whole(value);
        }
        if let Value::StringValue(text) = value
            && self.redactor.is_allowed_value(text)
        {
            tally.allowed.push(key.to_owned());
            return Ok(false);
        }
        self.scan(key, value, place, false)
    }

    /// Masks every scalar of `value` whole (a blocked key's value).
    fn mask_whole(&self, value: &mut Value) -> Result<bool, ProcessorError> {
        match value {
            Value::StringValue(text) => *text = self.mask(text)?,
            Value::BoolValue(b) => *value = Value::StringValue(self.mask(&b.to_string())?),
            Value::IntValue(n) => *value = Value::StringValue(self.mask(&n.to_string())?),
            Value::DoubleValue(d) => *value = Value::StringValue(self.mask(&d.to_string())?),
            Value::BytesValue(bytes) => *value = Value::StringValue(self.mask(&hex(bytes))?),
            Value::StringValueStrindex(index) => *value = Value::StringValue(self.mask(&index.to_string())?),
            Value::ArrayValue(array) => {
                for item in array.values.iter_mut().filter_map(|v| v.value.as_mut()) {
                    self.mask_whole(item)?;
                }
            }
            Value::KvlistValue(list) => {
                for item in list.values.iter_mut().filter_map(|kv| kv.value.as_mut()).filter_map(|v| v.value.as_mut()) {
                    self.mask_whole(item)?;
                }
            }
        }
        Ok(true)
    }

    /// Masks the matches in the strings of `value`, at any depth, and runs
    /// the sanitizers on `key`'s value; true when anything changed.
    /// `nested` says whether `value` lies inside another (whose allowed
    /// values the caller did not check).
    fn scan(&mut self, key: &str, value: &mut Value, place: Place, nested: bool) -> Result<bool, ProcessorError> {
        match value {
            Value::StringValue(text) if nested && self.redactor.is_allowed_value(text) => Ok(false),
            Value::StringValue(text) => {
                let mut changed = false;
                if let Some(masked) = self.masked_parts(text)? {
                    *text = masked;
                    changed = true;
                }
                if let Some(sanitized) = self.sanitized(key, text, place) {
                    changed |= sanitized != *text;
                    *text = sanitized;
                }
                Ok(changed)
            }
            Value::ArrayValue(array) => {
                let mut changed = false;
                for item in array.values.iter_mut().filter_map(|v| v.value.as_mut()) {
                    changed |= self.scan(key, item, place, true)?;
                }
                Ok(changed)
            }
            Value::KvlistValue(list) => {
                let mut changed = false;
                for kv in &mut list.values {
                    if self.redactor.is_ignored(&kv.key) {
                        continue;
                    }
                    let Some(inner) = kv.value.as_mut().and_then(|v| v.value.as_mut()) else { continue };
                    changed |= if self.redactor.is_blocked_key(&kv.key) {
                        self.mask_whole(inner)?
                    } else {
                        self.scan(&kv.key, inner, place, true)?
                    };
                }
                Ok(changed)
            }
            Value::BoolValue(_)
            | Value::IntValue(_)
            | Value::DoubleValue(_)
            | Value::BytesValue(_)
            | Value::StringValueStrindex(_) => Ok(false),
        }
    }

    /// What the sanitizers make of `text` as the value of `key`: in
    /// attributes only the attributes they read, in a log body any string
    /// that is a URL or reads like SQL.
    fn sanitized(&self, key: &str, text: &str, place: Place) -> Option<String> {
        let mut out = None;
        if let Some((attributes, _)) = &self.redactor.url {
            let reads = match place {
                Place::Attributes => attributes.contains(key),
                Place::Body => text.contains("://"),
            };
            if reads {
                out = Some(if key == "url.query" {
                    sanitizers::sanitize_query(text)
                } else {
                    sanitizers::sanitize_url(text)
                });
            }
        }
        if let Some((attributes, _)) = &self.redactor.db
            && place == Place::Attributes
            && attributes.contains(key)
        {
            out = Some(sanitizers::sanitize_sql(out.as_deref().unwrap_or(text)));
        }
        out
    }

    /// Sanitizes a span's name: as `METHOD /path` for the URL sanitizer, as
    /// SQL when the span carries a statement the SQL sanitizer reads.
    fn span_name(&mut self, name: &mut String, attributes: &[KeyValue]) {
        if self.redactor.is_allowed_value(name) {
            return;
        }
        let sanitized = match (&self.redactor.url, &self.redactor.db) {
            (Some((_, true)), _) if let Some(http) = sanitizers::sanitize_http_span_name(name) => Some(http),
            (_, Some((statements, true))) if attributes.iter().any(|kv| statements.contains(&kv.key)) => {
                Some(sanitizers::sanitize_sql(name))
            }
            _ => None,
        };
        // Most names are no `METHOD /path` and carry no statement: nothing is copied for them.
        if let Some(sanitized) = sanitized.filter(|s| s != name) {
            *name = sanitized;
            self.counts.masked_values += 1;
        }
    }

    /// Adds the redactionprocessor's summary attributes for `tally` under
    /// `prefix`, merging with any a previous pass left.
    fn summarize(&self, attributes: &mut Vec<KeyValue>, tally: Tally, prefix: &str) {
        if self.redactor.summary == Summary::Silent {
            return;
        }
        let debug = self.redactor.summary == Summary::Debug;
        for (what, keys) in [("redacted", tally.removed), ("masked", tally.masked), ("allowed", tally.allowed)] {
            if keys.is_empty() {
                continue;
            }
            if debug {
                put_keys(attributes, &format!("{prefix}.{what}.keys"), keys.clone());
            }
            add_count(attributes, &format!("{prefix}.{what}.count"), keys.len() as i64);
        }
        if tally.ignored > 0 {
            add_count(attributes, &format!("{prefix}.ignored.count"), tally.ignored as i64);
        }
    }
}

fn put_keys(attributes: &mut Vec<KeyValue>, key: &str, mut keys: Vec<String>) {
    let existing = attributes.iter().position(|kv| kv.key == key);
    if let Some(Value::StringValue(old)) = existing.and_then(|at| attributes[at].value.as_ref()?.value.as_ref())
        && !old.is_empty()
    {
        keys.extend(old.split(',').map(str::to_owned));
    }
    keys.sort();
    set(attributes, existing, key, Value::StringValue(keys.join(",")));
}

fn add_count(attributes: &mut Vec<KeyValue>, key: &str, count: i64) {
    let existing = attributes.iter().position(|kv| kv.key == key);
    let previous = match existing.and_then(|at| attributes[at].value.as_ref()?.value.as_ref()) {
        Some(Value::IntValue(n)) => *n,
        _ => 0,
    };
    set(attributes, existing, key, Value::IntValue(previous.saturating_add(count)));
}

fn set(attributes: &mut Vec<KeyValue>, existing: Option<usize>, key: &str, value: Value) {
    let value = Some(AnyValue { value: Some(value) });
    match existing {
        Some(at) => attributes[at].value = value,
        None => attributes.push(KeyValue { key: key.to_owned(), value, ..Default::default() }),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests;
