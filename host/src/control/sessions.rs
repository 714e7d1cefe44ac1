//! The session routes of the control API, as in the otel-ai capture
//! package: `POST/GET /api/capture/sessions`, `GET/DELETE
//! /api/capture/sessions/{id}`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::Control;
use crate::error::TapError;
use crate::session::{SessionConfig, SessionStatus};

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
}

impl StartRequest {
    /// The session configuration this request asks for, defaults filled in.
    pub fn into_config(self) -> Result<SessionConfig, TapError> {
        let positive = |value: Option<f64>, name: &str, unit: f64| match value {
            None => Ok(None),
            Some(v) if v.is_finite() && v > 0.0 => Ok(Some((v * unit).ceil() as u64)),
            Some(v) => Err(TapError::InvalidRequest(format!("{name} must be a number greater than 0, not {v}"))),
        };
        Ok(SessionConfig {
            session_id: self.session_id,
            diagnostic_session_id: self.diagnostic_session_id,
            description: self.description,
            enabled_flags: self.enabled_flags.unwrap_or_default(),
            capture_traces: self.capture_traces.unwrap_or(true),
            capture_metrics: self.capture_metrics.unwrap_or(true),
            capture_logs: self.capture_logs.unwrap_or(true),
            sample_ratio: self.sample_ratio.unwrap_or(1.0),
            created_by: self.created_by.unwrap_or_else(|| "otlp-capture".to_owned()),
            max_size_bytes: positive(self.max_size_mb, "maxSizeMB", 1_048_576.0)?,
            max_duration_millis: positive(self.max_duration_minutes, "maxDurationMinutes", 60_000.0)?,
            gzip_level: self.gzip_level,
        })
    }
}

pub(super) async fn start(State(control): State<Control>, body: Bytes) -> Result<Response, TapError> {
    let request: StartRequest = serde_json::from_slice(&body)
        .map_err(|e| TapError::InvalidRequest(format!("the body is not a session request: {e}")))?;
    let state = control.sessions.start(request.into_config()?).await?;
    Ok((StatusCode::CREATED, axum::Json(control.catalog.render(state).await?)).into_response())
}

pub(super) async fn list(State(control): State<Control>) -> Result<Response, TapError> {
    let mut rendered = Vec::new();
    for state in control.sessions.list().await? {
        rendered.push(control.catalog.render(state).await?);
    }
    Ok(axum::Json(serde_json::json!({ "sessions": rendered })).into_response())
}

pub(super) async fn show(State(control): State<Control>, Path(id): Path<String>) -> Result<Response, TapError> {
    let state = control.sessions.get(&id).await?.ok_or_else(|| TapError::NotFound(format!("no session {id}")))?;
    Ok(axum::Json(control.catalog.render(state).await?).into_response())
}

pub(super) async fn stop(State(control): State<Control>, Path(id): Path<String>) -> Result<Response, TapError> {
    let state = control.sessions.stop(&id, SessionStatus::Completed, None).await?;
    Ok(axum::Json(control.catalog.render(state).await?).into_response())
}
