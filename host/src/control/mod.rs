//! The control API on the tap's HTTP port: sessions (`sessions`) and the
//! replays the tap runs (`replays`). Every request passes [`guard`] first:
//! the control token, or a loopback peer when none is set, and JSON bodies
//! only. Errors answer with the status of [`TapError`] and a JSON body
//! `{"error": "..."}`.

mod audit;
mod replays;
mod sessions;

use std::sync::Arc;

use axum::Router;
use axum::extract::connect_info::MockConnectInfo;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::auth::{ControlAccess, Peer};
use crate::otlp::Encoding;

pub use replays::{OtelAiReplayRequest, ReplayRequest};
pub use sessions::StartRequest;

use crate::capture::Sessions;
use crate::catalog::Catalog;
use crate::error::TapError;
use crate::replay::jobs::ReplayJobs;
use crate::runtime::state::Clock;

/// What the control handlers share.
#[derive(Clone)]
pub struct Control {
    /// The tap's live sessions.
    pub sessions: Arc<Sessions>,
    /// Renders metadata as stored.
    pub catalog: Catalog,
    /// Replays started through the API.
    pub replays: Arc<ReplayJobs>,
    /// Who may use the API.
    pub access: Arc<ControlAccess>,
    /// URL prefixes replays may send to; empty allows loopback endpoints only.
    pub replay_allow: Arc<[String]>,
    /// The tap's clock (the one its component stamps with), for phases and the timeline's "now".
    pub clock: Arc<dyn Clock>,
}

/// The control API's routes. The peer's address comes from the server's
/// `ConnectInfo<Peer>`; without it, only a control token admits.
pub fn routes(control: Control) -> Router {
    let access = control.access.clone();
    Router::new()
        .route("/api/capture/sessions", get(sessions::list).post(sessions::start))
        .route("/api/capture/sessions/{id}", get(sessions::show).delete(sessions::stop))
        .route("/api/capture/sessions/{id}/phases", post(sessions::mark))
        .route("/api/capture/sessions/{id}/timeline", get(sessions::timeline))
        .route("/api/replay", get(replays::list).post(replays::start))
        .route("/api/replay/available", get(replays::available))
        .route("/api/replay/start", post(replays::start_otel_ai))
        .route("/api/replay/status/{id}", get(replays::status))
        .route("/api/replay/stream/{session}/{signal}", get(replays::stream))
        .route("/api/replay/{id}", get(replays::status).delete(replays::cancel))
        .with_state(control)
        .route_layer(from_fn_with_state(access, guard))
}

/// Admits a control request by its token or peer, and a body only as JSON:
/// a browser page can send `text/plain` across origins without asking, so
/// nothing else is read.
async fn guard(State(access): State<Arc<ControlAccess>>, request: Request, next: Next) -> Response {
    // As the ConnectInfo extractor does: the server's, else a test's MockConnectInfo.
    let extensions = request.extensions();
    let peer = extensions
        .get::<ConnectInfo<Peer>>()
        .map(|ConnectInfo(Peer(peer))| *peer)
        .or_else(|| extensions.get::<MockConnectInfo<Peer>>().map(|MockConnectInfo(Peer(peer))| *peer));
    if let Err(e) = access.check(peer, request.headers()) {
        return e.into_response();
    }
    let credential = match access.as_ref() {
        ControlAccess::Token(_) => "control token",
        ControlAccess::Loopback => "loopback",
    };
    let content_type = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if request.method() == Method::POST && Encoding::from_content_type(content_type) != Some(Encoding::Json) {
        let refused = TapError::UnsupportedMediaType(format!(
            "the control API takes application/json bodies, not {content_type:?}"
        ));
        return refused.into_response();
    }
    audit::run(request, next, peer, credential).await
}

impl IntoResponse for TapError {
    fn into_response(self) -> Response {
        let mut response =
            (self.http_status(), axum::Json(serde_json::json!({ "error": self.to_string() }))).into_response();
        if let Some(wait) = self.retry_after() {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait.as_secs().max(1)));
        }
        response
    }
}
