//! The OTLP/gRPC receiver: the three collector services' Export methods,
//! the Collector's request encodings accepted, answers with OTLP's gRPC
//! status codes. Served by axum over
//! HTTP/2 on its own port.

use std::pin::Pin;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use bytes::Bytes;
use tonic::Status;
use tonic::codec::CompressionEncoding;
use tonic::server::{Grpc, UnaryService};

use super::Receiver;
use crate::capture::SESSION_HEADER;
use crate::metrics::{Outcome, Protocol};
use crate::otlp::compression::Coding;
use crate::otlp::grpc::{RawCodec, frame, unary_message};
use crate::otlp::{Encoding, Signal};

/// The OTLP/gRPC routes; with an upstream, requests are forwarded to it.
pub fn routes(receiver: Receiver) -> Router {
    let mut router = Router::new();
    for signal in Signal::ALL {
        router = router.route(signal.grpc_path(), post(move |s, r| export(s, signal, r)));
    }
    router.fallback(unknown_method).with_state(receiver)
}

async fn export(State(receiver): State<Receiver>, signal: Signal, request: Request) -> Response {
    let request = match unframed(request, receiver.limits.max_body_bytes).await {
        Ok(request) => request,
        Err(refused) => return refused,
    };
    let mut grpc = Grpc::new(RawCodec)
        .send_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(receiver.limits.max_body_bytes);
    let service = ExportService { receiver, signal };
    grpc.unary(service, request).await.map(axum::body::Body::new)
}

/// The request with its one message decoded and framed uncompressed, so
/// every encoding the Collector accepts (gzip, zstd, snappy, deflate) is
/// taken, not only tonic's; or the answer that refuses it: HTTP 415 for a
/// content type that is not gRPC, UNIMPLEMENTED (with the encodings
/// accepted) for an unknown `grpc-encoding`, INTERNAL for a unary call
/// without exactly one message.
async fn unframed(request: Request, limit: usize) -> Result<Request, Response> {
    let (mut parts, body) = request.into_parts();
    let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !content_type.starts_with("application/grpc") {
        let refused = format!("gRPC takes content-type application/grpc, not {content_type:?}");
        return Err((StatusCode::UNSUPPORTED_MEDIA_TYPE, refused).into_response());
    }
    let named = parts.headers.get(GRPC_ENCODING).and_then(|v| v.to_str().ok()).unwrap_or("identity");
    let coding = Coding::from_grpc(named).map_err(|unknown| {
        let mut refused =
            Status::unimplemented(format!("grpc-encoding {unknown:?} is not supported")).into_http::<Body>();
        refused.headers_mut().insert(GRPC_ACCEPT_ENCODING, HeaderValue::from_static(Coding::GRPC_ACCEPTED));
        refused
    })?;
    // Compressed messages are at most the decoded limit in practice; framing adds 5 bytes.
    let body = axum::body::to_bytes(body, limit.saturating_add(5))
        .await
        .map_err(|_| Status::resource_exhausted(format!("the request is over {limit} bytes")).into_http())?;
    let message = unary_message(&body, coding, limit).map_err(Status::into_http)?;
    parts.headers.remove(GRPC_ENCODING);
    parts.headers.remove(header::CONTENT_LENGTH);
    Ok(Request::from_parts(parts, Body::from(frame(&message))))
}

/// The answer to a method the tap does not serve: UNIMPLEMENTED, as gRPC
/// servers answer it (not an HTTP 404).
pub async fn unknown_method(uri: axum::http::Uri) -> Response {
    Status::unimplemented(format!("unknown method {}", uri.path())).into_http()
}

const GRPC_ENCODING: &str = "grpc-encoding";
const GRPC_ACCEPT_ENCODING: &str = "grpc-accept-encoding";

struct ExportService {
    receiver: Receiver,
    signal: Signal,
}

type ExportFuture = Pin<Box<dyn Future<Output = Result<tonic::Response<Bytes>, tonic::Status>> + Send>>;

impl UnaryService<Bytes> for ExportService {
    type Response = Bytes;
    type Future = ExportFuture;

    fn call(&mut self, request: tonic::Request<Bytes>) -> ExportFuture {
        let (receiver, signal) = (self.receiver.clone(), self.signal);
        let recorder = receiver.recorder.clone();
        let route = request.metadata().get(SESSION_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let (metadata, _, message) = request.into_parts();
        let headers = metadata.into_headers();
        let counters = recorder.counters().clone();
        let size = message.len();
        let handled = async move {
            receiver.admit(&headers).map_err(|e| e.grpc_status())?;
            recorder.check_route(route.as_deref()).map_err(|e| e.grpc_status())?;
            let Some(upstream) = receiver.upstream.clone() else {
                return match recorder.record(signal, Encoding::Protobuf, message, route.as_deref()).await {
                    // An empty Export*ServiceResponse: full success.
                    Ok(_) => Ok(tonic::Response::new(Bytes::new())),
                    Err(e) => Err(e.grpc_status()),
                };
            };
            let reservation = recorder.reserve(signal, route.as_deref());
            let answer = upstream.forward_message(signal, message.clone(), receiver.forwarded_headers(&headers)).await;
            if let (Ok(_), Some(reservation)) = (&answer, reservation) {
                recorder.record_later(reservation, signal, Encoding::Protobuf, move || Ok(message), route);
            }
            answer.map(tonic::Response::new)
        };
        let started = std::time::Instant::now();
        Box::pin(async move {
            let answer = handled.await;
            let code = answer.as_ref().map_or_else(tonic::Status::code, |_| tonic::Code::Ok);
            counters.request(signal, Protocol::Grpc, size, Outcome::of_grpc(code), started.elapsed());
            answer
        })
    }
}
