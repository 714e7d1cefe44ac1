//! The storage layout: where a session's objects and metadata live.
//!
//! ```text
//! sessions/{session-id}/metadata.json
//! sessions/{session-id}/raw/YYYY-MM-DD/HH/{signal}-{epochMillis}-{uuid}.otlp.gz
//! ```

use chrono::DateTime;
use uuid::Uuid;

use crate::capabilities::Randomness;
use crate::records::{ObjectKeyInfo, ProcessorError, Signal, StorageError};
use crate::session_id;

/// The folder every session lives under.
pub const SESSIONS_ROOT: &str = "sessions/";
/// The suffix of every raw object.
pub const OBJECT_SUFFIX: &str = ".otlp.gz";

/// `sessions/{id}/`, the prefix of everything a session stores.
pub fn session_prefix(session_id: &str) -> Result<String, ProcessorError> {
    session_id::validate(session_id)?;
    Ok(format!("{SESSIONS_ROOT}{session_id}/"))
}

/// `sessions/{id}/metadata.json`.
pub fn metadata_key(session_id: &str) -> Result<String, ProcessorError> {
    Ok(format!("{}metadata.json", session_prefix(session_id)?))
}

/// A random (version 4) uuid for an object key, from the randomness import.
///
/// Refuses a short answer rather than padding it: a key that repeats would
/// overwrite an object already stored.
pub fn object_id(random: &dyn Randomness) -> Result<Uuid, ProcessorError> {
    let bytes = random.random_bytes(16);
    let bytes: [u8; 16] = bytes.as_slice().try_into().map_err(|_| {
        ProcessorError::Storage(StorageError::Backend(format!(
            "the randomness import returned {} bytes where 16 were asked for: nothing stored",
            bytes.len()
        )))
    })?;
    Ok(uuid::Builder::from_random_bytes(bytes).into_uuid())
}

/// The key of a raw object captured at `capture_unix_nanos` (UTC).
pub fn object_key(
    session_id: &str,
    signal: Signal,
    capture_unix_nanos: u64,
    id: Uuid,
) -> Result<String, ProcessorError> {
    let prefix = session_prefix(session_id)?;
    let millis = capture_unix_nanos / 1_000_000;
    let time = i64::try_from(millis)
        .ok()
        .and_then(DateTime::from_timestamp_millis)
        .ok_or_else(|| ProcessorError::InvalidConfig(format!("capture time {capture_unix_nanos} is out of range")))?;
    Ok(format!(
        "{prefix}raw/{}/{}-{millis}-{}{OBJECT_SUFFIX}",
        time.format("%Y-%m-%d/%H"),
        signal.as_str(),
        id.hyphenated()
    ))
}

/// Reads session, signal and capture time back out of a raw object key.
pub fn parse_object_key(key: &str) -> Result<ObjectKeyInfo, ProcessorError> {
    let invalid = || ProcessorError::InvalidMetadata(format!("{key:?} is not a raw object key of the layout"));
    let rest = key.strip_prefix(SESSIONS_ROOT).ok_or_else(invalid)?;
    let parts: Vec<&str> = rest.split('/').collect();
    let [session, "raw", _date, _hour, file] = parts[..] else {
        return Err(invalid());
    };
    session_id::validate(session)?;
    let stem = file.strip_suffix(OBJECT_SUFFIX).ok_or_else(invalid)?;
    let mut fields = stem.splitn(3, '-');
    let signal = fields.next().and_then(Signal::from_name).ok_or_else(invalid)?;
    let millis = fields.next().and_then(|m| m.parse::<u64>().ok()).ok_or_else(invalid)?;
    fields.next().and_then(|u| Uuid::parse_str(u).ok()).ok_or_else(invalid)?;
    Ok(ObjectKeyInfo { session_id: session.to_owned(), signal, capture_unix_millis: millis })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_keys_follow_the_layout_in_utc() {
        let id = Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
        // 2026-11-29T23:59:59.123Z
        let key = object_key("s-1", Signal::Metrics, 1_795_996_799_123_456_789, id).unwrap();
        assert_eq!(
            key,
            "sessions/s-1/raw/2026-11-29/23/metrics-1795996799123-01234567-89ab-cdef-0123-456789abcdef.otlp.gz"
        );
        let info = parse_object_key(&key).unwrap();
        assert_eq!(
            info,
            ObjectKeyInfo { session_id: "s-1".into(), signal: Signal::Metrics, capture_unix_millis: 1_795_996_799_123 }
        );
    }

    #[test]
    fn refuses_bad_ids_and_foreign_keys() {
        assert!(metadata_key("../x").is_err());
        assert_eq!(metadata_key("a.b").unwrap(), "sessions/a.b/metadata.json");
        for key in
            ["sessions/a/metadata.json", "x/a/raw/d/h/traces-1-u.otlp.gz", "sessions/a/raw/d/h/spans-1-0123.otlp.gz"]
        {
            assert!(parse_object_key(key).is_err(), "{key}");
        }
    }
}
