//! The control API on the tap's HTTP port: sessions (`sessions`) and the
//! replays the tap runs (`replays`). Errors answer with the status of
//! [`TapError`] and a JSON body `{"error": "..."}`.

mod replays;
mod sessions;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

pub use replays::ReplayRequest;
pub use sessions::StartRequest;

use crate::capture::Sessions;
use crate::catalog::Catalog;
use crate::error::TapError;
use crate::replay::jobs::ReplayJobs;

/// What the control handlers share.
#[derive(Clone)]
pub struct Control {
    /// The tap's live sessions.
    pub sessions: Arc<Sessions>,
    /// Renders metadata as stored.
    pub catalog: Catalog,
    /// Replays started through the API.
    pub replays: Arc<ReplayJobs>,
}

/// The control API's routes.
pub fn routes(control: Control) -> Router {
    Router::new()
        .route("/api/capture/sessions", get(sessions::list).post(sessions::start))
        .route("/api/capture/sessions/{id}", get(sessions::show).delete(sessions::stop))
        .route("/api/replay", post(replays::start))
        .route("/api/replay/{id}", get(replays::status))
        .with_state(control)
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
