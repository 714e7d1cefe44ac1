//! The session routes of the control API, as in the otel-ai capture
//! package: `POST/GET /api/capture/sessions`, `GET/DELETE
//! /api/capture/sessions/{id}` (`?purge=true` deletes it from the store),
//! and `POST /api/capture/sessions/{id}/phases`. Metadata is answered as the
//! component writes it, in its key order.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::Control;
use crate::error::TapError;
use crate::phases::{self, MarkRequest};
use crate::retention;
use crate::session::{SessionConfig, SessionStatus};
use crate::session_pick::{self, SessionFilter};
use crate::timeline::{self, Step};
use crate::times::StartBound;

/// The body of `POST /api/capture/sessions`.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StartRequest {
    /// The new session's id (checked by the component).
    pub session_id: String,
    /// The incident or load test it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnostic_session_id: Option<String>,
    /// Free text for people; shown by `session show`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Feature flags enabled during the session, tagged on every resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled_flags: Option<Vec<String>>,
    /// Record traces (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture_traces: Option<bool>,
    /// Record metrics (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture_metrics: Option<bool>,
    /// Record logs (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture_logs: Option<bool>,
    /// Fraction of traces kept, in (0, 1] (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_ratio: Option<f64>,
    /// Who starts it (default "otlp-capture").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// End the session once its objects take this many MiB (compressed).
    #[serde(default, rename = "maxSizeMB", skip_serializing_if = "Option::is_none")]
    pub max_size_mb: Option<f64>,
    /// End the session after this many minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_duration_minutes: Option<f64>,
    /// gzip level of the session's objects, 0-9 (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gzip_level: Option<u8>,
    /// Redaction rules applied before anything is written (an object of the
    /// redactionprocessor's settings in camelCase; checked by the component).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redaction: Option<serde_json::Value>,
}

impl StartRequest {
    /// The session configuration this request asks for, defaults filled in.
    pub fn into_config(self) -> Result<SessionConfig, TapError> {
        // A petabyte, and a century: past them a bound bounds nothing.
        let positive = |value: Option<f64>, name: &str, unit: f64, max: f64| match value {
            None => Ok(None),
            Some(v) if v.is_finite() && v > 0.0 && v <= max => Ok(Some((v * unit).ceil() as u64)),
            Some(v) => Err(TapError::InvalidRequest(format!(
                "{name} {} is out of range: more than 0, at most {max}",
                crate::ranges::shown(v)
            ))),
        };
        let defaults = SessionConfig::new(self.session_id);
        let sample_ratio = self.sample_ratio.unwrap_or(defaults.sample_ratio);
        if !(sample_ratio > 0.0 && sample_ratio <= 1.0) {
            let shown = crate::ranges::shown(sample_ratio);
            return Err(TapError::InvalidRequest(format!(
                "sampleRatio {shown} is out of range: more than 0, at most 1"
            )));
        }
        Ok(SessionConfig {
            diagnostic_session_id: self.diagnostic_session_id,
            description: self.description,
            enabled_flags: self.enabled_flags.unwrap_or_default(),
            capture_traces: self.capture_traces.unwrap_or(defaults.capture_traces),
            capture_metrics: self.capture_metrics.unwrap_or(defaults.capture_metrics),
            capture_logs: self.capture_logs.unwrap_or(defaults.capture_logs),
            sample_ratio,
            created_by: self.created_by.unwrap_or_else(|| defaults.created_by.clone()),
            max_size_bytes: positive(self.max_size_mb, "maxSizeMB", 1_048_576.0, 1_073_741_824.0)?,
            max_duration_millis: positive(self.max_duration_minutes, "maxDurationMinutes", 60_000.0, 52_560_000.0)?,
            gzip_level: self.gzip_level,
            redaction: match self.redaction {
                None | Some(serde_json::Value::Null) => None,
                Some(rules @ serde_json::Value::Object(_)) => Some(rules.to_string()),
                Some(_) => return Err(TapError::InvalidRequest("redaction must be an object of rules".into())),
            },
            ..defaults
        })
    }
}

/// A metadata.json document as the component writes it (its key order).
fn document(status: StatusCode, text: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], text).into_response()
}

pub(super) async fn start(State(control): State<Control>, body: Bytes) -> Result<Response, TapError> {
    let request: StartRequest = serde_json::from_slice(&body)
        .map_err(|e| TapError::InvalidRequest(format!("the body is not a session request: {e}")))?;
    let state = control.registry.start(request.into_config()?).await?;
    Ok(document(StatusCode::CREATED, control.catalog.render_text(state).await?))
}

/// The filters of `GET /api/capture/sessions` and of a picker in
/// `GET /api/capture/sessions/{latest|largest|smallest}`, as the command
/// line's `--prefix`, `--since`, `--until`.
#[derive(Debug, Default, Deserialize)]
pub(super) struct FilterQuery {
    #[serde(default)]
    prefix: Option<String>,
    #[serde(default)]
    since: Option<String>,
    #[serde(default)]
    until: Option<String>,
}

impl FilterQuery {
    fn filter(&self) -> Result<SessionFilter, TapError> {
        let bound = |text: &Option<String>| -> Result<Option<u64>, TapError> {
            text.as_deref().map(|t| t.parse::<StartBound>().map(|b| b.0).map_err(TapError::InvalidRequest)).transpose()
        };
        Ok(SessionFilter { prefix: self.prefix.clone(), since: bound(&self.since)?, until: bound(&self.until)? })
    }
}

pub(super) async fn list(
    State(control): State<Control>,
    Query(query): Query<FilterQuery>,
) -> Result<Response, TapError> {
    let filter = query.filter()?;
    let mut rendered = Vec::new();
    for state in control.registry.list().await?.into_iter().filter(|s| filter.matches(s)) {
        rendered.push(control.catalog.render_text(state).await?);
    }
    Ok(document(StatusCode::OK, format!("{{\"sessions\": [{}]}}", rendered.join(", "))))
}

pub(super) async fn show(
    State(control): State<Control>,
    Path(id): Path<String>,
    Query(query): Query<FilterQuery>,
) -> Result<Response, TapError> {
    let id = session_pick::resolve(&control.catalog, &id, &query.filter()?).await?;
    let state = control.registry.get(&id).await?.ok_or_else(|| TapError::NotFound(format!("no session {id}")))?;
    Ok(document(StatusCode::OK, control.catalog.render_text(state).await?))
}

/// `DELETE /api/capture/sessions/{id}`'s query.
#[derive(Debug, Default, Deserialize)]
pub(super) struct StopQuery {
    /// Delete the session from the store too (stopping it first when this tap records it).
    #[serde(default)]
    purge: bool,
}

pub(super) async fn stop(
    State(control): State<Control>,
    Path(id): Path<String>,
    Query(query): Query<StopQuery>,
) -> Result<Response, TapError> {
    if query.purge {
        if control.registry.is_active(&id) {
            control.registry.stop(&id, SessionStatus::Completed, None).await?;
        }
        let deleted = retention::delete(&control.catalog, &id).await?;
        return Ok(axum::Json(deleted).into_response());
    }
    let state = control.registry.stop(&id, SessionStatus::Completed, None).await?;
    Ok(document(StatusCode::OK, control.catalog.render_text(state).await?))
}

/// `POST /api/capture/sessions/{id}/phases`: records a phase, in the
/// session this tap records (kept through its refreshes) or in a stopped
/// one on the store; answers 201 with the metadata.
pub(super) async fn mark(
    State(control): State<Control>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, TapError> {
    let request: MarkRequest = serde_json::from_slice(&body)
        .map_err(|e| TapError::InvalidRequest(format!("the body is not a phase {{name, at?, value?}}: {e}")))?;
    let phase = request.into_phase(control.clock.now_unix_nanos())?;
    control.registry.add_phase(&id, &phase);
    let state = phases::mark(&control.catalog, &id, phase).await?;
    Ok(document(StatusCode::CREATED, control.catalog.render_text(state).await?))
}

/// `GET /api/capture/sessions/{id}/timeline`'s query.
#[derive(Debug, Default, Deserialize)]
pub(super) struct TimelineQuery {
    /// The bucket width (`1s` when unset).
    #[serde(default)]
    step: Option<String>,
}

/// `GET /api/capture/sessions/{id}/timeline?step=1s`: items per step by
/// signal and the phases as bands (see `timeline`).
pub(super) async fn timeline(
    State(control): State<Control>,
    Path(id): Path<String>,
    Query(query): Query<TimelineQuery>,
) -> Result<Response, TapError> {
    let step = match &query.step {
        Some(text) => text.parse::<Step>().map_err(TapError::InvalidRequest)?,
        None => Step::default(),
    };
    let id = session_pick::resolve(&control.catalog, &id, &SessionFilter::default()).await?;
    let state = control.registry.get(&id).await?.ok_or_else(|| TapError::NotFound(format!("no session {id}")))?;
    let unindexed = control.registry.unindexed(&id);
    let now_millis = control.clock.now_unix_nanos() / 1_000_000;
    Ok(axum::Json(timeline::build(&control.catalog, &state, unindexed, step, now_millis).await?).into_response())
}
