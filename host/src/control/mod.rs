//! The control API on the tap's HTTP port: sessions (`sessions`) and the
//! replays the tap runs (`replays`). Every request passes [`guard`] first:
//! the control token, or a loopback peer when none is set, and JSON bodies
//! only. Errors answer with the status of [`TapError`] and a JSON body
//! `{"error": "..."}`.

mod audit;
mod replay_routes;
mod session_routes;

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

pub use replay_routes::{OtelAiReplayRequest, ReplayRequest};
pub use session_routes::StartRequest;

use crate::capture::SessionRegistry;
use crate::catalog::Catalog;
use crate::error::TapError;
use crate::replay::jobs::ReplayJobs;
use crate::runtime::state::Clock;

/// What the control handlers share.
#[derive(Clone)]
pub struct Control {
    /// The tap's live sessions.
    pub registry: Arc<SessionRegistry>,
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
        .route("/api/capture/sessions", get(session_routes::list).post(session_routes::start))
        .route("/api/capture/sessions/{id}", get(session_routes::show).delete(session_routes::stop))
        .route("/api/capture/sessions/{id}/phases", post(session_routes::mark))
        .route("/api/capture/sessions/{id}/timeline", get(session_routes::timeline))
        .route("/api/replay", get(replay_routes::list).post(replay_routes::start))
        .route("/api/replay/available", get(replay_routes::available))
        .route("/api/replay/start", post(replay_routes::start_otel_ai))
        .route("/api/replay/status/{id}", get(replay_routes::status))
        .route("/api/replay/stream/{session}/{signal}", get(replay_routes::stream))
        .route("/api/replay/{id}", get(replay_routes::status).delete(replay_routes::cancel))
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
