//! An OTLP receiver for replay and forwarding tests, over HTTP and over
//! gRPC (h2c) on one port: records every request it accepts with its
//! headers (gRPC metadata) and arrival time, and can refuse the first few
//! with 503 and Retry-After (gRPC UNAVAILABLE) to exercise retries. Runs on
//! 127.0.0.1 until dropped.

use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use otlp_capture::otlp::grpc::RawCodec;
use tokio::sync::oneshot;
use tonic::server::{Grpc, UnaryService};

/// One accepted request.
#[derive(Debug, Clone)]
pub struct Received {
    /// `/v1/traces`, `/v1/metrics` or `/v1/logs`; the Export method's path over gRPC.
    pub path: String,
    /// Its headers, or its gRPC metadata.
    pub headers: HeaderMap,
    /// The protobuf body (the message, over gRPC).
    pub body: Vec<u8>,
    /// When it arrived.
    pub at: Instant,
    /// When it arrived, unix nanos.
    pub at_unix_nanos: u64,
}

#[derive(Default)]
struct Log {
    accepted: Vec<Received>,
    refused: usize,
    refuse_first: usize,
}

/// The running receiver.
pub struct Receiver {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    log: Arc<Mutex<Log>>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Log {
    /// Records a request unless it is one of the first to refuse; whether it was accepted.
    fn take(&mut self, path: String, headers: HeaderMap, body: &[u8]) -> bool {
        if self.refused < self.refuse_first {
            self.refused += 1;
            return false;
        }
        let at_unix_nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64;
        self.accepted.push(Received { path, headers, body: body.to_vec(), at: Instant::now(), at_unix_nanos });
        true
    }
}

async fn receive(State(log): State<Arc<Mutex<Log>>>, request: Request) -> Response {
    let is_grpc = request.headers().get("content-type").is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"));
    if is_grpc {
        let path = request.uri().path().to_owned();
        return Grpc::new(RawCodec).unary(GrpcExport { log, path }, request).await.map(Body::new);
    }
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    if !log.lock().unwrap().take(parts.uri.path().to_owned(), parts.headers, &body) {
        return (StatusCode::SERVICE_UNAVAILABLE, [("retry-after", "1")], Bytes::new()).into_response();
    }
    (StatusCode::OK, [("content-type", "application/x-protobuf")], Bytes::new()).into_response()
}

struct GrpcExport {
    log: Arc<Mutex<Log>>,
    path: String,
}

impl UnaryService<Bytes> for GrpcExport {
    type Response = Bytes;
    type Future = std::future::Ready<Result<tonic::Response<Bytes>, tonic::Status>>;

    fn call(&mut self, request: tonic::Request<Bytes>) -> Self::Future {
        let headers = request.metadata().clone().into_headers();
        let accepted = self.log.lock().unwrap().take(self.path.clone(), headers, request.get_ref());
        std::future::ready(if accepted {
            Ok(tonic::Response::new(Bytes::new()))
        } else {
            Err(tonic::Status::unavailable("refused to exercise retries"))
        })
    }
}

impl Receiver {
    /// Starts a receiver that answers 503 (Retry-After: 1) to its first `refuse_first` requests.
    pub fn start(refuse_first: usize) -> Self {
        let log = Arc::new(Mutex::new(Log { refuse_first, ..Default::default() }));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let app = Router::new().fallback(receive).with_state(log.clone());
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, app).with_graceful_shutdown(async { stopped.await.unwrap_or(()) }).await.unwrap();
            });
        });
        Receiver { base, log, stop: Some(stop), thread: Some(thread) }
    }

    /// The requests accepted so far.
    pub fn accepted(&self) -> Vec<Received> {
        self.log.lock().unwrap().accepted.clone()
    }

    /// How many requests were refused with 503.
    pub fn refused(&self) -> usize {
        self.log.lock().unwrap().refused
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
