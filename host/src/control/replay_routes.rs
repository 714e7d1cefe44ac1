//! The replay routes of the control API: `POST /api/replay` starts a replay
//! the tap runs, `GET /api/replay` lists the jobs, `GET /api/replay/{id}`
//! reads one and `DELETE /api/replay/{id}` cancels it; beside them the
//! otel-ai capture package's routes (`/api/replay/available`, `start`,
//! `status/{id}`, `stream/{session}/{signal}`).

use axum::body::Bytes;
use axum::extract::{Path, State};
use std::str::FromStr;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::Deserialize;

use super::Control;
use crate::error::TapError;
use crate::otlp::Signal;
use crate::replay::plan::{self, Speed};
use crate::replay::{ReplayChoices, ReplaySettings, TimestampMode};
use crate::session::SessionStatus;
use crate::session_pick::{self, SessionFilter};

/// The body of `POST /api/replay`: the session, the endpoint, and any of
/// the replay's choices under the names the command line uses, in camelCase
/// (`timestamps`, `speed`, `signals`, `protocol`, `maxIdleSeconds`,
/// `services`, `from`, `to`, `loop`, `rewriteIds`, `seed`, `timeout`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ReplayRequest {
    /// The session to replay.
    pub session_id: String,
    /// The OTLP endpoint's base URL.
    pub endpoint: String,
    /// How to replay; unset choices take the defaults.
    #[serde(flatten)]
    pub choices: ReplayChoices,
}

pub(super) async fn start(State(control): State<Control>, body: Bytes) -> Result<Response, TapError> {
    let request: ReplayRequest = serde_json::from_slice(&body)
        .map_err(|e| TapError::InvalidRequest(format!("the body is not a replay request: {e}")))?;
    start_job(&control, &request.session_id, &request.endpoint, &request.choices).await
}

/// Starts a replay job: the session (an id or picker) must exist and the
/// endpoint be allowed. Answers 202 with the job.
async fn start_job(
    control: &Control,
    session: &str,
    endpoint: &str,
    choices: &ReplayChoices,
) -> Result<Response, TapError> {
    let id = session_pick::resolve(&control.catalog, session, &SessionFilter::default()).await?;
    let settings = ReplaySettings::choose(&id, choices).map_err(TapError::InvalidRequest)?;
    let exporter = settings.exporter(endpoint).map_err(TapError::InvalidRequest)?;
    allowed(endpoint, &control.replay_allow)?;
    if control.registry.get(&settings.session_id).await?.is_none() {
        return Err(TapError::NotFound(format!("no session {}", settings.session_id)));
    }
    let status = control.replays.start(exporter, settings);
    Ok((StatusCode::ACCEPTED, axum::Json(status)).into_response())
}

/// The body of otel-ai's `POST /api/replay/start`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OtelAiReplayRequest {
    /// The session to replay (an id, or latest, largest, smallest).
    pub session_id: String,
    /// The OTLP endpoint (default http://localhost:4318, the OTLP/HTTP default).
    #[serde(default)]
    pub target_endpoint: Option<String>,
    /// none, relative or current (default current).
    #[serde(default)]
    pub timestamp_adjustment: Option<TimestampMode>,
    /// Speed factor (default 1).
    #[serde(default)]
    pub speed_multiplier: Option<f64>,
    /// Replay traces (default true).
    #[serde(default)]
    pub replay_traces: Option<bool>,
    /// Replay metrics (default true).
    #[serde(default)]
    pub replay_metrics: Option<bool>,
    /// Replay logs (default true).
    #[serde(default)]
    pub replay_logs: Option<bool>,
}

/// Where otel-ai's replays go when the request names no endpoint.
const OTEL_AI_DEFAULT_ENDPOINT: &str = "http://localhost:4318";

impl OtelAiReplayRequest {
    /// The replay choices this asks for.
    pub fn choices(&self) -> Result<ReplayChoices, TapError> {
        let speed = match self.speed_multiplier {
            None => None,
            Some(factor) => Some(Speed::from_str(&factor.to_string()).map_err(TapError::InvalidRequest)?),
        };
        let switches = [
            (self.replay_traces, Signal::Traces),
            (self.replay_metrics, Signal::Metrics),
            (self.replay_logs, Signal::Logs),
        ];
        let signals: Vec<Signal> =
            switches.into_iter().filter(|(on, _)| on.unwrap_or(true)).map(|(_, signal)| signal).collect();
        if signals.is_empty() {
            return Err(TapError::InvalidRequest("replayTraces, replayMetrics and replayLogs are all false".into()));
        }
        Ok(ReplayChoices { timestamps: self.timestamp_adjustment, speed, signals: Some(signals), ..Default::default() })
    }
}

/// otel-ai's `POST /api/replay/start`.
pub(super) async fn start_otel_ai(State(control): State<Control>, body: Bytes) -> Result<Response, TapError> {
    let request: OtelAiReplayRequest = serde_json::from_slice(&body)
        .map_err(|e| TapError::InvalidRequest(format!("the body is not a replay request: {e}")))?;
    let endpoint = request.target_endpoint.clone().unwrap_or_else(|| OTEL_AI_DEFAULT_ENDPOINT.to_owned());
    start_job(&control, &request.session_id, &endpoint, &request.choices()?).await
}

/// otel-ai's `GET /api/replay/available`: the completed sessions, newest first.
pub(super) async fn available(State(control): State<Control>) -> Result<Response, TapError> {
    let mut sessions = control.catalog.list().await?;
    sessions.retain(|s| s.status == SessionStatus::Completed);
    sessions.reverse();
    let mut rendered = Vec::with_capacity(sessions.len());
    for state in sessions {
        rendered.push(control.catalog.render(state).await?);
    }
    Ok(axum::Json(serde_json::json!({ "sessions": rendered })).into_response())
}

/// `GET /api/replay`: every job kept, newest first.
pub(super) async fn list(State(control): State<Control>) -> Response {
    axum::Json(serde_json::json!({ "jobs": control.replays.list() })).into_response()
}

/// `DELETE /api/replay/{id}`: cancels a running job.
pub(super) async fn cancel(State(control): State<Control>, Path(id): Path<String>) -> Result<Response, TapError> {
    let status = control.replays.cancel(&id).ok_or_else(|| TapError::NotFound(format!("no replay {id}")))?;
    Ok(axum::Json(status).into_response())
}

/// otel-ai's `GET /api/replay/stream/{session}/{signal}`: the session's
/// objects of that signal, in capture order, one OTLP/JSON request per line
/// (NDJSON), read and rendered one at a time.
pub(super) async fn stream(
    State(control): State<Control>,
    Path((session, signal)): Path<(String, String)>,
) -> Result<Response, TapError> {
    let signal: Signal = signal.parse().map_err(TapError::NotFound)?;
    let id = session_pick::resolve(&control.catalog, &session, &SessionFilter::default()).await?;
    if control.catalog.get(&id).await?.is_none() {
        return Err(TapError::NotFound(format!("no session {id}")));
    }
    let mut objects = control.catalog.raw_objects(&id).await?;
    objects.retain(|o| o.signal == signal);
    plan::order(&mut objects);
    let catalog = control.catalog.clone();
    let lines = futures::stream::iter(objects).then(move |object| {
        let catalog = catalog.clone();
        async move {
            let bytes = catalog
                .object(&object.key)
                .await?
                .ok_or_else(|| TapError::NotFound(format!("{} disappeared", object.key)))?;
            let mut json = catalog.object_json(object.signal, bytes).await?;
            json.push('\n');
            Ok::<_, TapError>(Bytes::from(json))
        }
    });
    let body = axum::body::Body::from_stream(lines.map(|line| line.map_err(std::io::Error::other)));
    Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], body).into_response())
}

/// Refuses an endpoint outside the allowed prefixes (loopback hosts only
/// when none is configured), so the API cannot be made to send stored data
/// anywhere else.
fn allowed(endpoint: &str, prefixes: &[String]) -> Result<(), TapError> {
    let url = url::Url::parse(endpoint).map_err(|e| TapError::InvalidRequest(format!("endpoint {endpoint:?}: {e}")))?;
    let permitted = if prefixes.is_empty() {
        match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
            None => false,
        }
    } else {
        prefixes.iter().any(|prefix| url.as_str().starts_with(prefix.as_str()))
    };
    if permitted {
        return Ok(());
    }
    let rule = if prefixes.is_empty() {
        "loopback endpoints only (serve --replay-allow PREFIX allows more)"
    } else {
        "the --replay-allow prefixes only"
    };
    Err(TapError::Forbidden(format!("replays started through the API may go to {rule}")))
}

pub(super) async fn status(State(control): State<Control>, Path(id): Path<String>) -> Result<Response, TapError> {
    let status = control.replays.status(&id).ok_or_else(|| TapError::NotFound(format!("no replay {id}")))?;
    Ok(axum::Json(status).into_response())
}
