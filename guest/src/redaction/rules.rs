//! A session's redaction rules as users write them: the Collector
//! redactionprocessor's settings in camelCase, read strictly (an unknown
//! field is an error, not a rule silently not applied).

use serde::Deserialize;

use crate::records::ProcessorError;

/// Longest rules document, in bytes: it travels with every call.
pub const MAX_RULES_BYTES: usize = 64 << 10;

/// What replaces a match.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum Hash {
    /// `****`.
    #[default]
    #[serde(rename = "none")]
    None,
    /// The lowercase hex HMAC-SHA256 of the matched text under the host's
    /// key (the redactionprocessor's `hmac-sha256`).
    #[serde(rename = "hmac-sha256")]
    HmacSha256,
}

/// The `redaction.*` attributes added where something was changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Summary {
    /// None.
    #[default]
    Silent,
    /// The counts.
    Info,
    /// The counts and the keys.
    Debug,
}

/// A built-in value pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Detector {
    /// `name@domain.tld`.
    Email,
    /// 13 to 19 digits (spaces or dashes between) that pass the Luhn check.
    CreditCard,
    /// Three base64url segments, the first a JSON header (`eyJ`).
    Jwt,
    /// `Bearer <token>`, the scheme kept.
    BearerToken,
    /// AWS access key ids (`AKIA`, `ASIA` and kin, 20 characters).
    AwsAccessKey,
    /// Dotted quads, each part at most 255.
    Ipv4,
    /// IPv6 addresses in any of their written forms.
    Ipv6,
}

/// A sanitizer: `true`/`false`, or the redactionprocessor's object form.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum SanitizerSetting {
    /// On or off, for its default attributes.
    Switch(bool),
    /// On or off, for the attributes named (its defaults when empty).
    Detailed(SanitizerObject),
}

/// The object form of a sanitizer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SanitizerObject {
    /// Whether it runs.
    #[serde(default)]
    pub enabled: bool,
    /// The attributes it reads; its defaults when empty.
    #[serde(default)]
    pub attributes: Vec<String>,
    /// Whether span names are sanitized too (default true).
    #[serde(default)]
    pub sanitize_span_name: Option<bool>,
}

impl SanitizerSetting {
    /// Whether it runs, over which attributes (`defaults` when none are
    /// named), and whether span names too.
    pub fn resolve(setting: Option<&SanitizerSetting>, defaults: &[&str]) -> Option<(Vec<String>, bool)> {
        let own = |attributes: &[String]| {
            if attributes.is_empty() { defaults.iter().map(|a| (*a).to_owned()).collect() } else { attributes.to_vec() }
        };
        match setting? {
            SanitizerSetting::Switch(false) => None,
            SanitizerSetting::Switch(true) => Some((own(&[]), true)),
            SanitizerSetting::Detailed(object) if !object.enabled => None,
            SanitizerSetting::Detailed(object) => {
                Some((own(&object.attributes), object.sanitize_span_name.unwrap_or(true)))
            }
        }
    }
}

fn yes() -> bool {
    true
}

/// The rules, as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rules {
    /// Keep attributes whatever their key (default); with `false`, only
    /// `allowedKeys` (fail closed).
    #[serde(default = "yes")]
    pub allow_all_keys: bool,
    /// The keys kept when `allowAllKeys` is false.
    #[serde(default)]
    pub allowed_keys: Vec<String>,
    /// Keys never touched.
    #[serde(default)]
    pub ignored_keys: Vec<String>,
    /// Regexes on keys: such keys are never touched.
    #[serde(default)]
    pub ignored_key_patterns: Vec<String>,
    /// Regexes on keys: the whole value is masked.
    #[serde(default)]
    pub blocked_key_patterns: Vec<String>,
    /// Regexes on values: the matching parts are masked.
    #[serde(default)]
    pub blocked_values: Vec<String>,
    /// Regexes on values: a value matching one is left as it is.
    #[serde(default)]
    pub allowed_values: Vec<String>,
    /// Built-in value patterns, masked like `blockedValues`.
    #[serde(default)]
    pub detectors: Vec<Detector>,
    /// What a match becomes.
    #[serde(default)]
    pub hash: Hash,
    /// Ids in URLs become placeholders.
    #[serde(default)]
    pub url_sanitizer: Option<SanitizerSetting>,
    /// Literals in SQL become `?`.
    #[serde(default)]
    pub db_sanitizer: Option<SanitizerSetting>,
    /// The `redaction.*` attributes.
    #[serde(default)]
    pub summary: Summary,
}

impl Rules {
    /// Reads a rules document (a JSON object).
    pub fn parse(document: &str) -> Result<Rules, ProcessorError> {
        if document.len() > MAX_RULES_BYTES {
            return Err(invalid(format!("the rules take {} bytes; at most {MAX_RULES_BYTES}", document.len())));
        }
        // serde reads a struct from a JSON array as well; rules are an object.
        if !document.trim_start().starts_with('{') {
            return Err(invalid("the rules must be a JSON object"));
        }
        serde_json::from_str(document).map_err(|e| invalid(e.to_string()))
    }
}

/// The error for rules that cannot be applied.
pub fn invalid(why: impl std::fmt::Display) -> ProcessorError {
    ProcessorError::InvalidConfig(format!("redaction: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_allow_everything_and_mask_with_stars() {
        let rules = Rules::parse("{}").unwrap();
        assert!(rules.allow_all_keys);
        assert_eq!((rules.hash, rules.summary), (Hash::None, Summary::Silent));
        assert!(rules.detectors.is_empty() && rules.url_sanitizer.is_none());
    }

    #[test]
    fn every_field_reads_in_camel_case() {
        let rules = Rules::parse(
            r#"{"allowAllKeys": false, "allowedKeys": ["http.method"], "ignoredKeys": ["safe"],
                "ignoredKeyPatterns": ["^otel\\."], "blockedKeyPatterns": [".*token.*"],
                "blockedValues": ["4[0-9]{12}"], "allowedValues": [".+@example\\.com"],
                "detectors": ["email", "creditCard", "jwt", "bearerToken", "awsAccessKey", "ipv4", "ipv6"],
                "hash": "hmac-sha256", "urlSanitizer": true,
                "dbSanitizer": {"enabled": true, "attributes": ["db.statement"]}, "summary": "debug"}"#,
        )
        .unwrap();
        assert!(!rules.allow_all_keys);
        assert_eq!(rules.detectors.len(), 7);
        assert_eq!(rules.hash, Hash::HmacSha256);
        assert_eq!(rules.summary, Summary::Debug);
        let db = SanitizerSetting::resolve(rules.db_sanitizer.as_ref(), &["db.query.text"]).unwrap();
        assert_eq!(db, (vec!["db.statement".to_owned()], true));
        let url = SanitizerSetting::resolve(rules.url_sanitizer.as_ref(), &["url.full"]).unwrap();
        assert_eq!(url, (vec!["url.full".to_owned()], true));
    }

    #[test]
    fn unknown_fields_values_and_oversized_documents_are_refused() {
        for bad in [
            r#"{"allowAllKey": false}"#,
            r#"{"detectors": ["phone"]}"#,
            r#"{"hash": "md5"}"#,
            r#"{"summary": "loud"}"#,
            r#"{"urlSanitizer": {"enable": true}}"#,
            "[]",
            "not json",
        ] {
            let error = Rules::parse(bad).unwrap_err();
            assert!(matches!(&error, ProcessorError::InvalidConfig(why) if why.starts_with("redaction: ")), "{bad}");
        }
        let huge = format!(r#"{{"allowedKeys": ["{}"]}}"#, "k".repeat(MAX_RULES_BYTES));
        assert!(Rules::parse(&huge).is_err());
    }
}
