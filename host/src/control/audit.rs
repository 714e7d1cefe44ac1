//! One INFO line for each control action (start, stop, purge, mark, replay
//! start and cancel, stream): what was done to which session, from which
//! peer, with which credential, and the answer's status. Never the token.
//! Reads of lists and documents are not actions and are not logged here.

use axum::body::{Body, to_bytes};
use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::response::{IntoResponse, Response};

use crate::error::TapError;

/// Control bodies read to find the session they name; larger ones are
/// refused before any handler reads them.
pub const MAX_CONTROL_BODY: usize = 1 << 20;

/// What a request does, when it is an action: its name and the session
/// (or job) it names in its path.
fn action(method: &Method, route: &str, path: &str, query: &str) -> Option<(&'static str, Option<String>)> {
    let segment = |n: usize| {
        path.split('/').nth(n).map(|s| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned())
    };
    let name = match (method, route) {
        (&Method::POST, "/api/capture/sessions") => return Some(("session.start", None)),
        (&Method::DELETE, "/api/capture/sessions/{id}") if query.contains("purge=true") => "session.purge",
        (&Method::DELETE, "/api/capture/sessions/{id}") => "session.stop",
        (&Method::POST, "/api/capture/sessions/{id}/phases") => "session.mark",
        (&Method::POST, "/api/replay" | "/api/replay/start") => return Some(("replay.start", None)),
        (&Method::DELETE, "/api/replay/{id}") => return Some(("replay.cancel", segment(3))),
        (&Method::GET, "/api/replay/stream/{session}/{signal}") => return Some(("replay.stream", segment(4))),
        _ => return None,
    };
    Some((name, segment(4)))
}

/// The session a JSON body names (`sessionId`), when it names one.
fn body_session(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value.get("sessionId").and_then(|v| v.as_str()).map(|s| s.chars().take(128).collect())
}

/// Runs `request` through `next`, logging it when it is an action.
/// `credential` says what admitted it (`control token` or `loopback`).
pub async fn run(
    request: Request,
    next: axum::middleware::Next,
    peer: Option<std::net::SocketAddr>,
    credential: &'static str,
) -> Response {
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_default();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or("").to_owned();
    let Some((action, mut session)) = action(request.method(), &route, &path, &query) else {
        return next.run(request).await;
    };
    let request = if session.is_none() && request.method() == Method::POST {
        let (parts, body) = request.into_parts();
        let Ok(bytes) = to_bytes(body, MAX_CONTROL_BODY).await else {
            return TapError::PayloadTooLarge(MAX_CONTROL_BODY).into_response();
        };
        session = body_session(&bytes);
        Request::from_parts(parts, Body::from(bytes))
    } else {
        request
    };
    let response = next.run(request).await;
    let peer = peer.map_or_else(|| "unknown".to_owned(), |p| p.to_string());
    tracing::info!(
        target: "otlp_capture::audit",
        action,
        session = session.as_deref().unwrap_or("-"),
        peer = %peer,
        credential,
        status = response.status().as_u16(),
        "control action"
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_are_told_by_route_and_method() {
        let stop = action(&Method::DELETE, "/api/capture/sessions/{id}", "/api/capture/sessions/s-1", "");
        assert_eq!(stop, Some(("session.stop", Some("s-1".into()))));
        let purge = action(&Method::DELETE, "/api/capture/sessions/{id}", "/api/capture/sessions/s-1", "purge=true");
        assert_eq!(purge.map(|a| a.0), Some("session.purge"));
        let stream =
            action(&Method::GET, "/api/replay/stream/{session}/{signal}", "/api/replay/stream/s%2D2/traces", "");
        assert_eq!(stream, Some(("replay.stream", Some("s-2".into()))));
        assert_eq!(action(&Method::GET, "/api/capture/sessions", "/api/capture/sessions", ""), None);
        assert_eq!(body_session(br#"{"sessionId": "s-3", "endpoint": "x"}"#), Some("s-3".into()));
    }
}
