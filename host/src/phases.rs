//! Phases of a session (baseline, anomaly, recovery, or any name), the link
//! between a recording and the labels of training data: marking one into
//! metadata.json, and the telemetry window a phase stands for, which
//! `replay --phase` and `inspect --phase` keep.
//!
//! A mark is a read-modify-write of metadata.json, conditional where the
//! store has conditional writes, so marks from several places all land.
//! Taps keep the stored phases when they refresh the document.

use serde::Deserialize;

use crate::catalog::Catalog;
use crate::error::TapError;
use crate::session::{Phase, SessionState};
use crate::storage::ConditionalWrite;

/// Attempts of a mark against concurrent writers of metadata.json.
const MARK_ATTEMPTS: usize = 5;

/// Longest phase name.
const MAX_NAME: usize = 128;

/// The body of `POST /api/capture/sessions/{id}/phases`, and what
/// `session mark` sends.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MarkRequest {
    /// The phase's name.
    pub name: String,
    /// When it starts: RFC 3339 or unix nanoseconds (number or string);
    /// now when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<serde_json::Value>,
    /// Any JSON value to keep with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
}

impl MarkRequest {
    /// The phase this asks for, starting now unless `at` says otherwise.
    pub fn into_phase(self, now_unix_nanos: u64) -> Result<Phase, TapError> {
        let invalid = TapError::InvalidRequest;
        let name = self.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
            return Err(invalid(format!("a phase name is 1-{MAX_NAME} printable characters, not {:?}", self.name)));
        }
        let start_unix_nanos = match self.at {
            None | Some(serde_json::Value::Null) => now_unix_nanos,
            Some(serde_json::Value::Number(n)) => {
                n.as_u64().ok_or_else(|| invalid(format!("at {n} is not unix nanoseconds")))?
            }
            Some(serde_json::Value::String(text)) => {
                let time: crate::times::TelemetryTime = text.parse().map_err(invalid)?;
                time.0
            }
            Some(other) => return Err(invalid(format!("at {other} is neither RFC 3339 nor unix nanoseconds"))),
        };
        // metadata.json keeps milliseconds: a phase is the same before and after it is stored.
        let start_unix_nanos = start_unix_nanos - start_unix_nanos % 1_000_000;
        Ok(Phase { name, start_unix_nanos, value: self.value.map(|v| v.to_string()) })
    }
}

/// Puts `phase` among `phases` in start order, after any that start at the
/// same moment.
pub fn insert(phases: &mut Vec<Phase>, phase: Phase) {
    let at = phases.partition_point(|p| p.start_unix_nanos <= phase.start_unix_nanos);
    phases.insert(at, phase);
}

/// `base`'s phases with those of `extra` that it lacks, in start order.
pub fn merged(base: &[Phase], extra: &[Phase]) -> Vec<Phase> {
    let mut phases = base.to_vec();
    for phase in extra {
        if !phases.contains(phase) {
            insert(&mut phases, phase.clone());
        }
    }
    phases
}

/// Records `phase` in session `id`'s metadata.json on the store; returns the
/// state written. `NotFound` when the store has no such session.
pub async fn mark(catalog: &Catalog, id: &str, phase: Phase) -> Result<SessionState, TapError> {
    let key = catalog.metadata_key(id).await?;
    let storage = catalog.storage();
    for _ in 0..MARK_ATTEMPTS {
        let Some((document, version)) = storage.get_versioned(&key).await? else {
            return Err(TapError::NotFound(format!("no session {id} in the store")));
        };
        let mut state = catalog.parse(document).await?;
        if !state.phases.contains(&phase) {
            insert(&mut state.phases, phase.clone());
        }
        let text = catalog.render_text(state.clone()).await?;
        match storage.put_if(&key, text.into(), "application/json", Some(&version)).await? {
            ConditionalWrite::Written | ConditionalWrite::Unconditional => return Ok(state),
            ConditionalWrite::Conflict => continue,
        }
    }
    Err(TapError::Busy {
        reason: format!("{key} kept changing under {MARK_ATTEMPTS} writes; try again"),
        retry_after: crate::error::RETRY_AFTER,
    })
}

/// The telemetry window of the first phase named `name`: from its start to
/// just before the next phase, the last to the session's end (no bound
/// while the session is active). `(from, to)` in unix nanos, inclusive, 0
/// for no bound.
pub fn window(state: &SessionState, name: &str) -> Result<(u64, u64), TapError> {
    let Some(at) = state.phases.iter().position(|p| p.name == name) else {
        let known: Vec<&str> = state.phases.iter().map(|p| p.name.as_str()).collect();
        return Err(TapError::NotFound(format!(
            "session {} has no phase {name:?} (its phases: {})",
            state.id(),
            if known.is_empty() { "none".to_owned() } else { known.join(", ") }
        )));
    };
    let from = state.phases[at].start_unix_nanos;
    let next = state.phases[at + 1..].iter().map(|p| p.start_unix_nanos).find(|start| *start > from);
    let to = match (next, state.end_unix_nanos) {
        (Some(next), _) => next - 1,
        (None, Some(end)) => end.max(from),
        (None, None) => 0,
    };
    Ok((from, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phase(name: &str, start: u64) -> Phase {
        Phase { name: name.into(), start_unix_nanos: start, value: None }
    }

    #[test]
    fn marks_keep_start_order_and_merge_without_doubles() {
        let mut phases = vec![phase("baseline", 10), phase("recovery", 30)];
        insert(&mut phases, phase("anomaly", 20));
        insert(&mut phases, phase("note", 20));
        let names: Vec<&str> = phases.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["baseline", "anomaly", "note", "recovery"]);
        let merged = merged(&phases[..2], &phases);
        assert_eq!(merged, phases);
    }

    #[test]
    fn requests_take_times_as_text_or_numbers_and_refuse_bad_names() {
        let request = |json: &str| serde_json::from_str::<MarkRequest>(json).unwrap().into_phase(99);
        assert_eq!(request(r#"{"name":"anomaly"}"#).unwrap(), phase("anomaly", 0), "milliseconds, as stored");
        assert_eq!(
            request(r#"{"name":"a","at":1700000000000000000}"#).unwrap().start_unix_nanos,
            1_700_000_000_000_000_000
        );
        assert_eq!(
            request(r#"{"name":"a","at":"2023-11-14T22:13:20Z"}"#).unwrap().start_unix_nanos,
            1_700_000_000_000_000_000
        );
        assert_eq!(request(r#"{"name":"a","value":{"score":1}}"#).unwrap().value.as_deref(), Some(r#"{"score":1}"#));
        assert!(request(r#"{"name":"  "}"#).is_err());
        assert!(request(r#"{"name":"a","at":true}"#).is_err());
        assert!(serde_json::from_str::<MarkRequest>(r#"{"name":"a","start":1}"#).is_err());
    }
}
