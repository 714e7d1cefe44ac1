//! An OTLP/HTTP receiver for replay tests: records every request it accepts
//! with its arrival time, and can refuse the first few with 503 and
//! Retry-After to exercise retries. Runs on 127.0.0.1 until dropped.

use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::IntoResponse;
use tokio::sync::oneshot;

/// One accepted request.
#[derive(Debug, Clone)]
pub struct Received {
    /// `/v1/traces`, `/v1/metrics` or `/v1/logs`.
    pub path: String,
    /// The protobuf body.
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

async fn receive(State(log): State<Arc<Mutex<Log>>>, uri: Uri, body: Bytes) -> impl IntoResponse {
    let mut log = log.lock().unwrap();
    if log.refused < log.refuse_first {
        log.refused += 1;
        return (StatusCode::SERVICE_UNAVAILABLE, [("retry-after", "1")], Bytes::new());
    }
    let at_unix_nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64;
    log.accepted.push(Received { path: uri.path().to_owned(), body: body.to_vec(), at: Instant::now(), at_unix_nanos });
    (StatusCode::OK, [("content-type", "application/x-protobuf")], Bytes::new())
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
