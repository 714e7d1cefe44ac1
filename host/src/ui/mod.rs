//! The web UI on the tap's HTTP port: `GET /ui` serves a page that lists
//! the store's sessions and shows one session's timeline, phases and
//! replays, with its actions (stop, mark a phase, start a replay). The
//! files are compiled into the binary and reference nothing outside it, so
//! the page works offline. They carry no data: everything the page shows
//! comes from the control API, under its rules (the control token, or a
//! loopback peer), which the page asks for and keeps in the browser's
//! session storage only.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

/// The page: a shell that `app.js` fills in.
const INDEX_HTML: &str = include_str!("assets/index.html");
/// The page's behaviour: routing, API calls, the chart.
const APP_JS: &str = include_str!("assets/app.js");
/// The page's look.
const STYLE_CSS: &str = include_str!("assets/style.css");

/// The tab's icon.
const FAVICON_SVG: &str = include_str!("assets/favicon.svg");

/// Scripts, styles and connections from the tap's own origin only; no
/// framing (clickjacking), no inline script.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The UI's routes: `/ui` (and `/ui/`) and its files under `/ui/`.
pub fn routes() -> Router {
    Router::new()
        .route("/ui", get(|| async { asset(INDEX_HTML, "text/html; charset=utf-8") }))
        .route("/ui/", get(|| async { Redirect::permanent("/ui") }))
        .route("/ui/app.js", get(|| async { asset(APP_JS, "text/javascript; charset=utf-8") }))
        .route("/ui/style.css", get(|| async { asset(STYLE_CSS, "text/css; charset=utf-8") }))
        .route("/ui/favicon.svg", get(|| async { asset(FAVICON_SVG, "image/svg+xml") }))
}

/// An embedded file with the headers every UI answer carries.
fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    // The files change with the binary only; a short cache keeps a restart's new page visible.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
