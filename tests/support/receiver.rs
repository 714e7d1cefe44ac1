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
    refusal: Refusal,
    /// How long each OTLP/HTTP request is held before it is answered.
    delay: std::time::Duration,
    /// OTLP/HTTP requests being held now, and the most at once.
    in_flight: usize,
    most_in_flight: usize,
}

/// How the receiver refuses its first requests.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// The HTTP status.
    pub http: StatusCode,
    /// The Retry-After header's value, if any.
    pub retry_after: Option<String>,
    /// The gRPC code.
    pub grpc: tonic::Code,
    /// The RetryInfo delay of the gRPC status, if any.
    pub retry_info: Option<std::time::Duration>,
}

impl Default for Refusal {
    fn default() -> Self {
        Refusal {
            http: StatusCode::SERVICE_UNAVAILABLE,
            retry_after: Some("1".into()),
            grpc: tonic::Code::Unavailable,
            retry_info: None,
        }
    }
}

/// The running receiver.
pub struct Receiver {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    log: Arc<Mutex<Log>>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Received {
    /// The protobuf message: the body without its Content-Encoding (gzip,
    /// as exporters send by default); gRPC messages arrive decoded.
    pub fn message(&self) -> Vec<u8> {
        match self.headers.get("content-encoding").and_then(|v| v.to_str().ok()) {
            Some("gzip") => {
                let mut decoded = Vec::new();
                std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&self.body[..]), &mut decoded).unwrap();
                decoded
            }
            _ => self.body.clone(),
        }
    }
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
        let mut grpc = Grpc::new(RawCodec).accept_compressed(tonic::codec::CompressionEncoding::Gzip);
        return grpc.unary(GrpcExport { log, path }, request).await.map(Body::new);
    }
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let delay = {
        let mut log = log.lock().unwrap();
        log.in_flight += 1;
        log.most_in_flight = log.most_in_flight.max(log.in_flight);
        log.delay
    };
    // Even a zero sleep waits for the timer's next millisecond tick.
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let mut log = log.lock().unwrap();
    log.in_flight -= 1;
    if !log.take(parts.uri.path().to_owned(), parts.headers, &body) {
        let mut refused = (log.refusal.http, Bytes::new()).into_response();
        if let Some(wait) = &log.refusal.retry_after {
            refused.headers_mut().insert("retry-after", wait.parse().unwrap());
        }
        return refused;
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
        let mut log = self.log.lock().unwrap();
        let accepted = log.take(self.path.clone(), headers, request.get_ref());
        std::future::ready(if accepted {
            Ok(tonic::Response::new(Bytes::new()))
        } else {
            let Refusal { grpc, retry_info, .. } = log.refusal.clone();
            let message = "refused to exercise retries";
            Err(match retry_info {
                Some(delay) => {
                    use tonic_types::StatusExt;
                    tonic::Status::with_error_details(
                        grpc,
                        message,
                        tonic_types::ErrorDetails::with_retry_info(Some(delay)),
                    )
                }
                None => tonic::Status::new(grpc, message),
            })
        })
    }
}

impl Receiver {
    /// Starts a receiver that answers 503 (Retry-After: 1) to its first `refuse_first` requests.
    pub fn start(refuse_first: usize) -> Self {
        Self::refusing(refuse_first, Refusal::default())
    }

    /// Starts a receiver that answers its first `refuse_first` requests with `refusal`.
    pub fn refusing(refuse_first: usize, refusal: Refusal) -> Self {
        Self::with_log(Log { refuse_first, refusal, ..Default::default() })
    }

    /// Starts a receiver that holds every OTLP/HTTP request for `delay`
    /// before accepting it, as a slow backend does.
    pub fn slow(delay: std::time::Duration) -> Self {
        Self::with_log(Log { delay, ..Default::default() })
    }

    fn with_log(log: Log) -> Self {
        let log = Arc::new(Mutex::new(log));
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

    /// The most OTLP/HTTP requests it held at once.
    pub fn most_in_flight(&self) -> usize {
        self.log.lock().unwrap().most_in_flight
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
