//! The replay routes of the control API: `POST /api/replay` starts a replay
//! the tap runs, `GET /api/replay/{id}` reads its status.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::Control;
use crate::error::TapError;
use crate::replay::{ReplayChoices, ReplaySettings};

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
    let settings = ReplaySettings::choose(&request.session_id, &request.choices).map_err(TapError::InvalidRequest)?;
    let exporter = settings.exporter(&request.endpoint).map_err(TapError::InvalidRequest)?;
    allowed(&request.endpoint, &control.replay_allow)?;
    if control.sessions.get(&settings.session_id).await?.is_none() {
        return Err(TapError::NotFound(format!("no session {}", settings.session_id)));
    }
    let status = control.replays.start(exporter, settings);
    Ok((StatusCode::ACCEPTED, axum::Json(status)).into_response())
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
