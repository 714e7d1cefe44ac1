//! The session control API on the tap's HTTP port, as in the otel-ai
//! capture package: `POST/GET /api/capture/sessions`,
//! `GET/DELETE /api/capture/sessions/{id}`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::error::TapError;
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
}

impl StartRequest {
    /// The session configuration this request asks for, defaults filled in.
    pub fn into_config(self) -> SessionConfig {
        SessionConfig {
            session_id: self.session_id,
            diagnostic_session_id: self.diagnostic_session_id,
            description: self.description,
            enabled_flags: self.enabled_flags.unwrap_or_default(),
            capture_traces: self.capture_traces.unwrap_or(true),
            capture_metrics: self.capture_metrics.unwrap_or(true),
            capture_logs: self.capture_logs.unwrap_or(true),
            sample_ratio: self.sample_ratio.unwrap_or(1.0),
            created_by: self.created_by.unwrap_or_else(|| "otlp-capture".to_owned()),
        }
    }
}

/// The control API routes.
pub fn routes(sessions: Arc<Sessions>) -> Router {
    Router::new()
        .route("/api/capture/sessions", get(list).post(start))
        .route("/api/capture/sessions/{id}", get(show).delete(stop))
        .with_state(sessions)
}

async fn start(State(sessions): State<Arc<Sessions>>, body: Bytes) -> Result<Response, TapError> {
    let request: StartRequest = serde_json::from_slice(&body)
        .map_err(|e| TapError::InvalidRequest(format!("the body is not a session request: {e}")))?;
    let state = sessions.start(request.into_config()).await?;
    let metadata = sessions.render(state).await?;
    Ok((StatusCode::CREATED, axum::Json(metadata)).into_response())
}

async fn list(State(sessions): State<Arc<Sessions>>) -> Result<Response, TapError> {
    let mut rendered = Vec::new();
    for state in sessions.list().await? {
        rendered.push(sessions.render(state).await?);
    }
    Ok(axum::Json(serde_json::json!({ "sessions": rendered })).into_response())
}

async fn show(State(sessions): State<Arc<Sessions>>, Path(id): Path<String>) -> Result<Response, TapError> {
    let state = sessions.get(&id).await?.ok_or_else(|| TapError::NotFound(format!("no session {id}")))?;
    Ok(axum::Json(sessions.render(state).await?).into_response())
}

async fn stop(State(sessions): State<Arc<Sessions>>, Path(id): Path<String>) -> Result<Response, TapError> {
    let state = sessions.stop(&id, SessionStatus::Completed, None).await?;
    Ok(axum::Json(sessions.render(state).await?).into_response())
}
