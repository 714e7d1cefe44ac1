//! The OTLP/gRPC receiver: the three collector services' Export methods,
//! gzip accepted, answers with OTLP's gRPC status codes. Served by axum over
//! HTTP/2 on its own port.

use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::response::Response;
use axum::routing::post;
use bytes::Bytes;
use tonic::codec::CompressionEncoding;
use tonic::server::{Grpc, UnaryService};

use super::Receiver;
use super::status::grpc_status;
use crate::capture::Recorder;
use crate::capture::SESSION_HEADER;
use crate::grpc_wire::{LOGS_PATH, METRICS_PATH, RawCodec, TRACES_PATH};
use crate::runtime::bindings::{PayloadEncoding, Signal};
use crate::tap_metrics::{Outcome, Protocol};
use crate::upstream::Upstream;

/// The OTLP/gRPC routes; with an upstream, requests are forwarded to it.
pub fn routes(receiver: Receiver) -> Router {
    Router::new()
        .route(TRACES_PATH, post(|s, r| export(s, Signal::Traces, r)))
        .route(METRICS_PATH, post(|s, r| export(s, Signal::Metrics, r)))
        .route(LOGS_PATH, post(|s, r| export(s, Signal::Logs, r)))
        .with_state(receiver)
}

async fn export(State(receiver): State<Receiver>, signal: Signal, request: Request) -> Response {
    let mut grpc = Grpc::new(RawCodec)
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(receiver.limits.max_body_bytes);
    let service = ExportService { recorder: receiver.recorder, upstream: receiver.upstream, signal };
    grpc.unary(service, request).await.map(axum::body::Body::new)
}

struct ExportService {
    recorder: Arc<Recorder>,
    upstream: Option<Arc<Upstream>>,
    signal: Signal,
}

type ExportFuture = Pin<Box<dyn Future<Output = Result<tonic::Response<Bytes>, tonic::Status>> + Send>>;

impl UnaryService<Bytes> for ExportService {
    type Response = Bytes;
    type Future = ExportFuture;

    fn call(&mut self, request: tonic::Request<Bytes>) -> ExportFuture {
        let (recorder, upstream, signal) = (self.recorder.clone(), self.upstream.clone(), self.signal);
        let route = request.metadata().get(SESSION_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let message = request.into_inner();
        let counters = recorder.counters().clone();
        let size = message.len();
        let handled = async move {
            let Some(upstream) = upstream else {
                return match recorder.record(signal, PayloadEncoding::Protobuf, message, route.as_deref()).await {
                    // An empty Export*ServiceResponse: full success.
                    Ok(_) => Ok(tonic::Response::new(Bytes::new())),
                    Err(e) => Err(grpc_status(&e)),
                };
            };
            let reservation = recorder.reserve(signal, route.as_deref()).map_err(|e| grpc_status(&e))?;
            let answer = upstream.forward_message(signal, message.clone()).await;
            if let (Ok(_), Some(reservation)) = (&answer, reservation) {
                recorder.record_later(reservation, signal, PayloadEncoding::Protobuf, move || Ok(message), route);
            }
            answer.map(tonic::Response::new)
        };
        Box::pin(async move {
            let answer = handled.await;
            let code = answer.as_ref().map_or_else(tonic::Status::code, |_| tonic::Code::Ok);
            counters.request(signal, Protocol::Grpc, size, Outcome::of_grpc(code));
            answer
        })
    }
}
