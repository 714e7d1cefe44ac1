//! The OTLP/gRPC receiver: the three collector services' Export methods,
//! gzip accepted, answers with OTLP's gRPC status codes. Served by axum over
//! HTTP/2 on its own port.

use std::pin::Pin;

use axum::Router;
use axum::extract::{Request, State};
use axum::response::Response;
use axum::routing::post;
use bytes::Bytes;
use tonic::codec::CompressionEncoding;
use tonic::server::{Grpc, UnaryService};

use super::Receiver;
use crate::capture::SESSION_HEADER;
use crate::metrics::{Outcome, Protocol};
use crate::otlp::grpc::RawCodec;
use crate::otlp::{Encoding, Signal};

/// The OTLP/gRPC routes; with an upstream, requests are forwarded to it.
pub fn routes(receiver: Receiver) -> Router {
    let mut router = Router::new();
    for signal in Signal::ALL {
        router = router.route(signal.grpc_path(), post(move |s, r| export(s, signal, r)));
    }
    router.with_state(receiver)
}

async fn export(State(receiver): State<Receiver>, signal: Signal, request: Request) -> Response {
    let mut grpc = Grpc::new(RawCodec)
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(receiver.limits.max_body_bytes);
    let service = ExportService { receiver, signal };
    grpc.unary(service, request).await.map(axum::body::Body::new)
}

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
        Box::pin(async move {
            let answer = handled.await;
            let code = answer.as_ref().map_or_else(tonic::Status::code, |_| tonic::Code::Ok);
            counters.request(signal, Protocol::Grpc, size, Outcome::of_grpc(code));
            answer
        })
    }
}
