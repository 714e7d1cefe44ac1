//! A panic in a handler answers 500 with a JSON body and one ERROR line,
//! instead of resetting the connection: the client learns the request
//! failed, and the log says where (the panic hook adds the place).

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::FutureExt;

use crate::error::TapError;

/// The middleware: runs the rest of the stack, turning a panic into 500.
pub async fn catch_panic(request: Request, next: Next) -> Response {
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    match std::panic::AssertUnwindSafe(next.run(request)).catch_unwind().await {
        Ok(response) => response,
        Err(_) => {
            tracing::error!(%method, %path, "a handler failed on an internal error; answered 500");
            TapError::Internal("internal error".into()).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::middleware::from_fn;
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    #[tokio::test]
    async fn a_panicking_handler_answers_500_with_json() {
        async fn broken() -> &'static str {
            panic!("a bug in a handler")
        }
        let app = Router::new().route("/broken", get(broken)).layer(from_fn(catch_panic));
        let response = app.oneshot(Request::get("/broken").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), 1024).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body, serde_json::json!({"error": "internal error"}), "no details reach the client");
    }
}
