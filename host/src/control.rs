//! The control API on the tap's HTTP port: sessions as in the otel-ai
//! capture package (`POST/GET /api/capture/sessions`,
//! `GET/DELETE /api/capture/sessions/{id}`) and replays run by the tap
//! (`POST /api/replay`, `GET /api/replay/{id}`).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use std::time::Duration;

use crate::error::TapError;
use crate::exporters::Exporter;
use crate::replay::jobs::ReplayJobs;
use crate::replay::{ReplayChoices, ReplaySettings};
use crate::runtime::bindings::{SessionConfig, SessionStatus};
use crate::sessions::Sessions;

/// The body of `POST /api/capture/sessions`.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StartRequest {
    /// The new session's id.
    pub session_id: String,
    /// The diagnostic session it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnostic_session_id: Option<String>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Feature flags enabled for the session.
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
    /// Fraction of traces kept (default 1).
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

/// The body of `POST /api/replay`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ReplayRequest {
    /// The session to replay.
    pub session_id: String,
    /// The OTLP endpoint's base URL.
    pub endpoint: String,
    /// none, relative or current (default current).
    #[serde(default)]
    pub timestamps: Option<String>,
    /// A factor or "max" (default 1).
    #[serde(default)]
    pub speed: Option<serde_json::Value>,
    /// Signals (default all).
    #[serde(default)]
    pub signals: Option<Vec<String>>,
    /// http (default).
    #[serde(default)]
    pub protocol: Option<String>,
    /// Remap trace and span ids.
    #[serde(default)]
    pub rewrite_ids: Option<bool>,
    /// Times to replay (default 1).
    #[serde(default, rename = "loop")]
    pub loops: Option<u32>,
    /// Longest wait between objects, seconds.
    #[serde(default)]
    pub max_idle_seconds: Option<f64>,
    /// Only these services.
    #[serde(default)]
    pub services: Option<Vec<String>>,
}

impl ReplayRequest {
    /// The settings and exporter this request asks for.
    pub fn into_settings(self) -> Result<(ReplaySettings, Exporter), String> {
        let speed = match &self.speed {
            None => "1".to_owned(),
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Number(n)) => n.to_string(),
            Some(other) => return Err(format!("speed {other} is not a number or \"max\"")),
        };
        let all_signals = ["traces", "metrics", "logs"].map(str::to_owned).to_vec();
        let choices = ReplayChoices {
            timestamps: self.timestamps.as_deref().unwrap_or("current"),
            speed: &speed,
            signals: self.signals.as_deref().unwrap_or(&all_signals),
            max_idle_seconds: self.max_idle_seconds,
            services: self.services.as_deref().unwrap_or_default(),
            loops: self.loops.unwrap_or(1),
            rewrite_ids: self.rewrite_ids.unwrap_or(false),
        };
        let settings = ReplaySettings::choose(&self.session_id, choices)?;
        let exporter =
            Exporter::new(&self.endpoint, self.protocol.as_deref().unwrap_or("http"), Duration::from_secs(30))?;
        Ok((settings, exporter))
    }
}

/// What the control handlers share.
#[derive(Clone)]
struct Control {
    sessions: Arc<Sessions>,
    replays: Arc<ReplayJobs>,
}

/// The control API routes.
pub fn routes(sessions: Arc<Sessions>, replays: Arc<ReplayJobs>) -> Router {
    Router::new()
        .route("/api/capture/sessions", get(list).post(start))
        .route("/api/capture/sessions/{id}", get(show).delete(stop))
        .route("/api/replay", post(start_replay))
        .route("/api/replay/{id}", get(replay_status))
        .with_state(Control { sessions, replays })
}

async fn start_replay(State(control): State<Control>, body: Bytes) -> Result<Response, TapError> {
    let request: ReplayRequest = serde_json::from_slice(&body)
        .map_err(|e| TapError::InvalidRequest(format!("the body is not a replay request: {e}")))?;
    let (settings, exporter) = request.into_settings().map_err(TapError::InvalidRequest)?;
    if control.sessions.get(&settings.session_id).await?.is_none() {
        return Err(TapError::NotFound(format!("no session {}", settings.session_id)));
    }
    let status = control.replays.start(control.sessions.clone(), exporter, settings);
    Ok((StatusCode::ACCEPTED, axum::Json(status)).into_response())
}

async fn replay_status(State(control): State<Control>, Path(id): Path<String>) -> Result<Response, TapError> {
    let status = control.replays.status(&id).ok_or_else(|| TapError::NotFound(format!("no replay {id}")))?;
    Ok(axum::Json(status).into_response())
}

async fn start(State(Control { sessions, .. }): State<Control>, body: Bytes) -> Result<Response, TapError> {
    let request: StartRequest = serde_json::from_slice(&body)
        .map_err(|e| TapError::InvalidRequest(format!("the body is not a session request: {e}")))?;
    let state = sessions.start(request.into_config()?).await?;
    let metadata = sessions.render(state).await?;
    Ok((StatusCode::CREATED, axum::Json(metadata)).into_response())
}

async fn list(State(Control { sessions, .. }): State<Control>) -> Result<Response, TapError> {
    let mut rendered = Vec::new();
    for state in sessions.list().await? {
        rendered.push(sessions.render(state).await?);
    }
    Ok(axum::Json(serde_json::json!({ "sessions": rendered })).into_response())
}

async fn show(State(Control { sessions, .. }): State<Control>, Path(id): Path<String>) -> Result<Response, TapError> {
    let state = sessions.get(&id).await?.ok_or_else(|| TapError::NotFound(format!("no session {id}")))?;
    Ok(axum::Json(sessions.render(state).await?).into_response())
}

async fn stop(State(Control { sessions, .. }): State<Control>, Path(id): Path<String>) -> Result<Response, TapError> {
    let state = sessions.stop(&id, SessionStatus::Completed, None).await?;
    Ok(axum::Json(sessions.render(state).await?).into_response())
}
